//! Live Streaming API helpers for the HTTP tests: bearer tokens and JSON calls
//! answering `(status, body)`.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{spawn_default, str_of, TestSandbox, KEY};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;

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

/// The claims of a JWT (its payload, base64url JSON).
pub(crate) fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// A canonical UUID string.
pub(crate) fn is_uuid(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok() && s.len() == 36)
}

/// A `YYYY-MM-DD HH:MM:SS` timestamp.
pub(crate) fn is_timestamp(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok())
}

/// The path of a stream.
pub(crate) fn stream_path(id: &Value) -> String {
    format!("/v1/live-streams/{}", str_of(id))
}

/// A sandbox, a live token and one new stream.
pub(crate) async fn with_stream() -> (TestSandbox, String, Value) {
    let sb = spawn_default().await;
    let token = sb.live_token().await;
    let stream = sb.live_create(&token, None).await;
    (sb, token, stream)
}
