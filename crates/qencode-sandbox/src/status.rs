//! `/v1/status` (basic attributes) and `/master-<id>/v1/status` (extended
//! attributes) for one or more task tokens.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::base_url::BaseUrl;
use super::codes::{ApiError, BAD_TOKENS, MASTER_NOT_FOUND};
use super::form::FormFields;
use super::ids;
use super::status_json::{self, Detail, StatusView};
use super::Sandbox;

/// Form keys clients use for the token list (PHP-style clients add `[]`).
const TOKEN_KEYS: [&str; 2] = ["task_tokens", "task_tokens[]"];

/// `POST /v1/status`.
pub(crate) async fn status(
    State(sandbox): State<Sandbox>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let tokens = task_tokens(&FormFields::parse(&headers, &body))?;
    Ok(Json(statuses(&sandbox, &base, &tokens, Detail::Basic)))
}

/// `POST /master-<id>/v1/status`. The path segment must be `master-<id>` for a
/// master the sandbox handed out; anything else is answered like an unknown host.
pub(crate) async fn master_status(
    State(sandbox): State<Sandbox>,
    Path(segment): Path<String>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(master_id) = segment
        .strip_prefix("master-")
        .filter(|id| ids::is_hex32(id))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if sandbox.shared.lock().master_id != master_id {
        return ApiError::new(
            MASTER_NOT_FOUND,
            "Internal server error occurred, please contact support@qencode.com.",
        )
        .into_response();
    }
    match task_tokens(&FormFields::parse(&headers, &body)) {
        Ok(tokens) => Json(statuses(&sandbox, &base, &tokens, Detail::Master)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// The requested tokens: one, comma-separated, or the key repeated. Empty or
/// not token-shaped lists are ERROR_BAD_TOKENS.
fn task_tokens(form: &FormFields) -> Result<Vec<String>, ApiError> {
    let tokens: Vec<String> = form
        .all(&TOKEN_KEYS)
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_string)
        .collect();
    if tokens.is_empty() {
        return Err(ApiError::new(
            BAD_TOKENS,
            "Task_tokens field value does not pass validation.",
        ));
    }
    if let Some(bad) = tokens.iter().find(|t| !ids::is_hex32(t)) {
        return Err(ApiError::new(
            BAD_TOKENS,
            format!(
                "Task_tokens field value does not pass validation: '{bad}' is not a task token."
            ),
        ));
    }
    Ok(tokens)
}

/// `{"error": 0, "statuses": {token: status | null}}`; null for unknown tokens
/// and for tasks not started yet.
fn statuses(sandbox: &Sandbox, base: &str, tokens: &[String], detail: Detail) -> Value {
    let now = Instant::now();
    let inner = sandbox.shared.lock();
    let phase_duration = inner.config.phase_duration;
    let mut statuses = Map::new();
    for token in tokens {
        let status = inner.tasks.get(token).and_then(|task| {
            let started = task.started.as_ref()?;
            let view = StatusView {
                task_token: token,
                plan: &started.plan,
                phase: started.phase(now, phase_duration),
                base,
                master_id: &task.master_id,
            };
            Some(status_json::render(&view, detail))
        });
        statuses.insert(token.clone(), status.unwrap_or(Value::Null));
    }
    json!({"error": 0, "statuses": statuses})
}
