//! `/v1/start_encode2`: validates the task token, payload and query, records
//! them and starts the task's lifecycle clock. The checks and the start itself
//! are shared with `/v1/start_encode` (see [`crate::profiles`]), so both
//! methods answer the same codes in the same order and run the same lifecycle.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::base_url::BaseUrl;
use super::codes::{ApiError, BAD_PAYLOAD, BAD_TOKEN, SERVER_INTERNAL, TOKEN_NOT_FOUND};
use super::config::SandboxConfig;
use super::form::FormFields;
use super::ids;
use super::plan;
use super::query::{self, ParsedQuery, QueryError};
use super::state::{Inner, StartedTask};
use super::task_callbacks::{self, TaskCallbacks};
use super::Sandbox;

/// Longest payload accepted, in characters.
const MAX_PAYLOAD_CHARS: usize = 1000;

/// `POST /v1/start_encode2`.
pub(crate) async fn start_encode2(
    State(sandbox): State<Sandbox>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = FormFields::parse(&headers, &body);
    let raw_query = form.first("query").filter(|q| !q.trim().is_empty());
    // Parsing needs no state; do it before taking the lock.
    let parsed = raw_query.map(query::parse);
    begin(&sandbox, &base, &form, |_| match parsed {
        None => Err(ApiError::field_required("query")),
        Some(Err(error)) => Err(query_error(error)),
        Some(Ok(parsed)) => Ok(parsed),
    })
}

/// The API error for a refused query: 14 naming a missing attribute, or 14
/// naming `query` with what is wrong with it ([`ApiError::invalid_field`]): the
/// client's mistake, never a server fault (1).
pub(crate) fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::Required(field) => ApiError::field_required(field),
        QueryError::Invalid(message) => ApiError::invalid_field("query", message),
    }
}

/// Starts the task named by the form's `task_token` with the query `parse`
/// yields (it runs under the state lock, after the token and payload checks,
/// and sees the configuration). Answers the document's start response.
pub(crate) fn begin(
    sandbox: &Sandbox,
    base: &str,
    form: &FormFields,
    parse: impl FnOnce(&SandboxConfig) -> Result<ParsedQuery, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let task_token = form.first("task_token").unwrap_or_default();
    if !ids::is_hex32(task_token) {
        return Err(ApiError::new(BAD_TOKEN, "Token did not pass validation."));
    }
    let payload = form.first("payload").map(str::to_string);

    let mut inner = sandbox.shared.lock();
    let Some(task) = inner.tasks.get(task_token) else {
        return Err(ApiError::new(
            TOKEN_NOT_FOUND,
            "We can't find such token in our database",
        ));
    };
    if task.started.is_some() {
        return Err(ApiError::new(SERVER_INTERNAL, "task already started"));
    }
    if payload
        .as_deref()
        .is_some_and(|p| p.chars().count() > MAX_PAYLOAD_CHARS)
    {
        return Err(ApiError::new(BAD_PAYLOAD, "Payload value is too long."));
    }
    let parsed = parse(&inner.config)?;
    let plan = plan::build(&parsed, |uuid| upload_len(&inner, uuid))
        .map_err(|message| ApiError::invalid_field("query", message))?;
    let at = Instant::now();
    let callback_url = parsed.callback_url.filter(|_| inner.config.callbacks);
    let started = StartedTask {
        at,
        query: parsed.document,
        payload,
        plan,
    };
    if let Some(task) = inner.tasks.get_mut(task_token) {
        task.started = Some(started);
    }
    drop(inner);
    tracing::info!(%task_token, "task started");
    if let Some(url) = callback_url {
        let callbacks = TaskCallbacks {
            task_token: task_token.to_string(),
            url,
            base: base.to_string(),
            started: at,
        };
        task_callbacks::schedule(sandbox.clone(), callbacks);
    }
    Ok(Json(
        json!({"error": 0, "status_url": format!("{base}/v1/status")}),
    ))
}

/// The size of a complete upload usable as a `tus:` source.
fn upload_len(inner: &Inner, uuid: &str) -> Result<u64, String> {
    let upload = inner
        .uploads
        .get(uuid)
        .ok_or_else(|| "unknown upload".to_string())?;
    if upload.offset() < upload.length {
        return Err(format!(
            "upload incomplete: {} of {} bytes received",
            upload.offset(),
            upload.length
        ));
    }
    Ok(upload.length)
}
