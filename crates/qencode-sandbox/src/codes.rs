//! Qencode error codes and the JSON error body every API method answers with.
//!
//! Qencode reports failures in the body (`error` > 0 plus `message`) with HTTP
//! 200, so clients must look at the body, not the status line.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// ERROR_SERVER_INTERNAL: the server's own fault, never the client's request
/// (an invalid request field is [`ApiError::invalid_field`]).
pub(crate) const SERVER_INTERNAL: i64 = 1;
/// ERROR_BAD_API_KEY: the key did not pass validation.
pub(crate) const BAD_API_KEY: i64 = 2;
/// ERROR_API_KEY_NOT_FOUND: well-formed but unknown key.
pub(crate) const API_KEY_NOT_FOUND: i64 = 3;
/// ERROR_BAD_TOKEN: missing or malformed (access or task) token.
pub(crate) const BAD_TOKEN: i64 = 4;
/// ERROR_TOKEN_NOT_FOUND: unknown, expired or revoked token.
pub(crate) const TOKEN_NOT_FOUND: i64 = 5;
/// ERROR_SERVICE_SUSPENDED: billing trouble; reachable through a fault only.
pub(crate) const SERVICE_SUSPENDED: i64 = 6;
/// ERROR_MASTER_NOT_FOUND: a master status URL naming no known master.
pub(crate) const MASTER_NOT_FOUND: i64 = 7;
/// ERROR_SYSTEM_BUSY: retry after the number of seconds in `retry_after`.
pub(crate) const SYSTEM_BUSY: i64 = 8;
/// ERROR_BAD_PAYLOAD: payload longer than 1000 characters.
pub(crate) const BAD_PAYLOAD: i64 = 9;
/// ERROR_PROJECT_NOT_FOUND: a server issue; reachable through a fault only.
pub(crate) const PROJECT_NOT_FOUND: i64 = 10;
/// ERROR_BAD_PROFILE: the `profiles` list of `/v1/start_encode` is malformed.
pub(crate) const BAD_PROFILE: i64 = 11;
/// ERROR_PROFILE_NOT_FOUND: a profile id the sandbox does not know.
pub(crate) const PROFILE_NOT_FOUND: i64 = 12;
/// ERROR_BAD_TOKENS: the `task_tokens` list did not pass validation.
pub(crate) const BAD_TOKENS: i64 = 13;
/// ERROR_FIELD_REQUIRED: a required form field is missing.
pub(crate) const FIELD_REQUIRED: i64 = 14;

/// Every documented Transcoding error code above 0 with its name and the
/// document's description, used as the message when the sandbox (or a
/// [`crate::FaultKind::documented`] fault) answers it, so clients see the
/// upstream's wording.
pub(crate) const DOCUMENTED: [(i64, &str, &str); 14] = [
    (SERVER_INTERNAL, "ERROR_SERVER_INTERNAL", "Internal server error occurred, please contact support@qencode.com."),
    (BAD_API_KEY, "ERROR_BAD_API_KEY", "Your API key did not pass validation."),
    (API_KEY_NOT_FOUND, "ERROR_API_KEY_NOT_FOUND", "We can't find such API key in our database."),
    (BAD_TOKEN, "ERROR_BAD_TOKEN", "Token did not pass validation."),
    (TOKEN_NOT_FOUND, "ERROR_TOKEN_NOT_FOUND", "We can't find such token in our database"),
    (SERVICE_SUSPENDED, "ERROR_SERVICE_SUSPENDED", "Service is suspended. Please log into your account and clear any billing issues associated with your account. If you have any questions, contact support@qencode.com."),
    (MASTER_NOT_FOUND, "ERROR_MASTER_NOT_FOUND", "Internal server error occurred, please contact support@qencode.com."),
    (SYSTEM_BUSY, "ERROR_SYSTEM_BUSY", "We don't have enough resources to process request at the moment. You should retry it in a number of seconds specified in response."),
    (BAD_PAYLOAD, "ERROR_BAD_PAYLOAD", "Payload value is too long."),
    (PROJECT_NOT_FOUND, "ERROR_PROJECT_NOT_FOUND", "Server issue. Internal server error occurred, please contact support@qencode.com."),
    (BAD_PROFILE, "ERROR_BAD_PROFILE", "Profile field value does not pass validation."),
    (PROFILE_NOT_FOUND, "ERROR_PROFILE_NOT_FOUND", "We can't find specified profile in our database."),
    (BAD_TOKENS, "ERROR_BAD_TOKENS", "Task_tokens field value does not pass validation."),
    (FIELD_REQUIRED, "ERROR_FIELD_REQUIRED", "Value for field specified in response is required in request."),
];

/// The document's description of `code`, if it is a documented error.
pub(crate) fn description(code: i64) -> Option<&'static str> {
    DOCUMENTED
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, _, text)| *text)
}

/// A failed API call, rendered as `{"error": code, "message": ...}` with HTTP 200.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) code: i64,
    pub(crate) message: String,
    /// Names the missing field for ERROR_FIELD_REQUIRED.
    pub(crate) field: Option<String>,
}

impl ApiError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// ERROR_FIELD_REQUIRED for `field`. The document says the field is
    /// "specified in response": it is named both in `message` (worded like the
    /// document's description) and in a `field` attribute clients can read
    /// without parsing text.
    pub(crate) fn field_required(field: impl Into<String>) -> Self {
        let field = field.into();
        Self {
            code: FIELD_REQUIRED,
            message: format!("Value for field '{field}' is required in request."),
            field: Some(field),
        }
    }

    /// A request field whose value the sandbox cannot use (a query it refuses,
    /// `stitch` that is not a list, a number that is not one). The code table
    /// has no code for "invalid value" and 1 (ERROR_SERVER_INTERNAL) would tell
    /// the client the server failed; the documented code that names the
    /// client's field is ERROR_FIELD_REQUIRED: a usable value for `field` is
    /// required. `message` says what is wrong with it; `field` names it.
    pub(crate) fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: FIELD_REQUIRED,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// The JSON body, shared with the `Error` fault.
    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        if let Some(field) = &self.field {
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
