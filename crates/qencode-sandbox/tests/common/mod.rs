//! Test harness: a sandbox on 127.0.0.1:0 and a plain HTTP client for it.
//!
//! The client keeps no idle connections, so it arms no pool timers: under a
//! paused tokio clock, pending timers would let the runtime auto-advance time
//! while a request waits on the socket and skew lifecycle assertions.
#![allow(dead_code)]

pub mod live;
pub mod receiver;

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use qencode_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

/// API key accepted by the default configuration.
pub(crate) const KEY: &str = "sandbox-api-key";

/// A running sandbox and a client pointed at it.
pub(crate) struct TestSandbox {
    pub(crate) handle: SandboxHandle,
    pub(crate) client: Client,
    pub(crate) base: String,
}

/// Starts a sandbox with `config`.
pub(crate) async fn spawn(config: SandboxConfig) -> TestSandbox {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let handle = Sandbox::start(listener, config)
        .await
        .expect("start sandbox");
    // reqwest is built without a default TLS provider; it needs one installed
    // even for plain http. A second install attempt in the same process fails
    // harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .expect("build client");
    let base = handle.base_url();
    TestSandbox {
        handle,
        client,
        base,
    }
}

/// Starts a sandbox with the default configuration.
pub(crate) async fn spawn_default() -> TestSandbox {
    spawn(SandboxConfig::default()).await
}

/// A minimal valid query for `source`.
pub(crate) fn query_for(source: &str) -> Value {
    json!({"query": {"source": source, "format": [{"output": "mp4", "tag": "720p"}]}})
}

impl TestSandbox {
    /// A request to `path` (relative to the sandbox) or to an absolute URL.
    pub(crate) fn request(&self, method: Method, path_or_url: &str) -> RequestBuilder {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        self.client.request(method, url)
    }

    /// POSTs a form and returns the raw response.
    pub(crate) async fn post_form(&self, path_or_url: &str, form: &[(&str, &str)]) -> Response {
        self.request(Method::POST, path_or_url)
            .form(form)
            .send()
            .await
            .expect("send request")
    }

    /// POSTs a form and decodes the JSON answer, asserting HTTP 200 as Qencode
    /// answers every API call.
    pub(crate) async fn call(&self, path_or_url: &str, form: &[(&str, &str)]) -> Value {
        let response = self.post_form(path_or_url, form).await;
        assert_eq!(response.status(), 200, "{path_or_url}");
        response.json().await.expect("JSON body")
    }

    /// A fresh access token for the default key.
    pub(crate) async fn token(&self) -> String {
        let body = self.call("/v1/access_token", &[("api_key", KEY)]).await;
        assert_eq!(body["error"], 0, "{body}");
        str_of(&body["token"])
    }

    /// A fresh task token.
    pub(crate) async fn task(&self) -> String {
        let token = self.token().await;
        let body = self.call("/v1/create_task", &[("token", &token)]).await;
        assert_eq!(body["error"], 0, "{body}");
        str_of(&body["task_token"])
    }

    /// Starts `task` with `query`; returns the answer.
    pub(crate) async fn start(&self, task: &str, query: &Value) -> Value {
        let query = query.to_string();
        self.call(
            "/v1/start_encode2",
            &[("task_token", task), ("query", &query)],
        )
        .await
    }

    /// A started task for `source`.
    pub(crate) async fn started_task(&self, source: &str) -> String {
        let task = self.task().await;
        let body = self.start(&task, &query_for(source)).await;
        assert_eq!(body["error"], 0, "{body}");
        task
    }

    /// The basic status object of one task.
    pub(crate) async fn status(&self, task: &str) -> Value {
        let body = self.call("/v1/status", &[("task_tokens", task)]).await;
        assert_eq!(body["error"], 0, "{body}");
        body["statuses"][task].clone()
    }

    /// The extended status object of one task, from its master status URL.
    pub(crate) async fn master_status(&self, task: &str) -> Value {
        let url = str_of(&self.status(task).await["status_url"]);
        let body = self.call(&url, &[("task_tokens", task)]).await;
        assert_eq!(body["error"], 0, "{body}");
        body["statuses"][task].clone()
    }
}

/// The string in `value`, failing the test if it is not one.
pub(crate) fn str_of(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_string()
}

/// A response header as text ("" when absent).
pub(crate) fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}
