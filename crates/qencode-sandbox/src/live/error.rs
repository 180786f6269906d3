//! Live Streaming API failures: `{"message": ...}` with a meaningful HTTP status,
//! which is how that API reports errors (the Transcoding API uses HTTP 200 plus a
//! code instead).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A failed live call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LiveError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl LiveError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// The answer for a stream id that names no (undeleted) stream.
    pub(crate) fn stream_not_found() -> Self {
        Self::not_found("live stream not found")
    }
}

impl IntoResponse for LiveError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"message": self.message}))).into_response()
    }
}

/// Fallback for live paths that match no route, so clients always get JSON.
pub(crate) async fn not_found() -> LiveError {
    LiveError::not_found("not found")
}

/// Fallback for a live route called with a method it does not serve.
pub(crate) async fn method_not_allowed() -> LiveError {
    LiveError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}
