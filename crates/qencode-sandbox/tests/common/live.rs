//! Live Streaming API helpers for the HTTP tests: bearer tokens and JSON calls
//! answering `(status, body)`.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{str_of, TestSandbox, KEY};

/// A live answer: HTTP status and JSON body (`Null` when not JSON).
pub(crate) type Answer = (StatusCode, Value);

impl TestSandbox {
    /// A fresh live bearer token for the default key.
    pub(crate) async fn live_token(&self) -> String {
        let (status, body) = self
            .live(Method::POST, &format!("/v1/access_token/{KEY}"), None, None)
            .await;
        assert_eq!(status, 200, "{body}");
        str_of(&body["access_token"])
    }

    /// Calls a live endpoint with an optional bearer token and JSON body.
    pub(crate) async fn live(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("send request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a stream with `body` and returns the stream object.
    pub(crate) async fn live_create(&self, token: &str, body: Option<&Value>) -> Value {
        let (status, body) = self
            .live(Method::POST, "/v1/live-streams", Some(token), body)
            .await;
        assert_eq!(status, 200, "{body}");
        body["stream"].clone()
    }

    /// `GET /v1/live-streams/<id>`, expecting success; the stream object.
    pub(crate) async fn live_get(&self, token: &str, id: &str) -> Value {
        let (status, body) = self
            .live(
                Method::GET,
                &format!("/v1/live-streams/{id}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["stream"].clone()
    }
}
