//! Qencode error codes and the JSON error body every API method answers with.
//!
//! Qencode reports failures in the body (`error` > 0 plus `message`) with HTTP
//! 200, so clients must look at the body, not the status line.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// ERROR_SERVER_INTERNAL; also what Qencode answers for an invalid query.
pub(crate) const SERVER_INTERNAL: i64 = 1;
/// ERROR_BAD_API_KEY: the key did not pass validation.
pub(crate) const BAD_API_KEY: i64 = 2;
/// ERROR_API_KEY_NOT_FOUND: well-formed but unknown key.
pub(crate) const API_KEY_NOT_FOUND: i64 = 3;
/// ERROR_BAD_TOKEN: missing or malformed (access or task) token.
pub(crate) const BAD_TOKEN: i64 = 4;
/// ERROR_TOKEN_NOT_FOUND: unknown, expired or revoked token.
pub(crate) const TOKEN_NOT_FOUND: i64 = 5;
/// ERROR_MASTER_NOT_FOUND: a master status URL naming no known master.
pub(crate) const MASTER_NOT_FOUND: i64 = 7;
/// ERROR_SYSTEM_BUSY: retry after the number of seconds in `retry_after`.
pub(crate) const SYSTEM_BUSY: i64 = 8;
/// ERROR_BAD_PAYLOAD: payload longer than 1000 characters.
pub(crate) const BAD_PAYLOAD: i64 = 9;
/// ERROR_BAD_TOKENS: the `task_tokens` list did not pass validation.
pub(crate) const BAD_TOKENS: i64 = 13;
/// ERROR_FIELD_REQUIRED: a required form field is missing.
pub(crate) const FIELD_REQUIRED: i64 = 14;

/// A failed API call, rendered as `{"error": code, "message": ...}` with HTTP 200.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) code: i64,
    pub(crate) message: String,
    /// Names the missing field for ERROR_FIELD_REQUIRED.
    pub(crate) field: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// ERROR_FIELD_REQUIRED for `field`; the document says the response names it.
    pub(crate) fn field_required(field: &'static str) -> Self {
        Self {
            code: FIELD_REQUIRED,
            message: format!("value for field '{field}' is required"),
            field: Some(field),
        }
    }

    /// The JSON body, shared with the `Error` fault.
    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        if let Some(field) = self.field {
            body.insert("field".into(), json!(field));
        }
        Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (StatusCode::OK, Json(self.body())).into_response()
    }
}
