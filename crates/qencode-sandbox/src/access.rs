//! `/v1/access_token` (API key → session token) and `/v1/create_task`
//! (session token → task token and upload URL).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use chrono::{NaiveDate, Utc};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::base_url::BaseUrl;
use super::codes::{ApiError, API_KEY_NOT_FOUND, BAD_API_KEY, BAD_TOKEN, TOKEN_NOT_FOUND};
use super::form::FormFields;
use super::ids;
use super::state::Task;
use super::Sandbox;

/// `expire` format used by Qencode (UTC).
const EXPIRE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `POST /v1/access_token`: issues a session token for a known API key.
pub(crate) async fn access_token(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = FormFields::parse(&headers, &body);
    let key = form.first("api_key").unwrap_or_default();
    if !ids::is_plausible_api_key(key) {
        return Err(ApiError::new(
            BAD_API_KEY,
            "Your API key did not pass validation.",
        ));
    }
    let now = Instant::now();
    let mut inner = sandbox.shared.lock();
    if !inner.config.api_keys.iter().any(|k| k == key) {
        return Err(ApiError::new(
            API_KEY_NOT_FOUND,
            "We can't find such API key in our database.",
        ));
    }
    let ttl = inner.config.token_ttl;
    let token = ids::new_hex32();
    inner.access_tokens.issue_for(key, token.clone(), now, ttl);
    inner.record_key_use(crate::record::Endpoint::AccessToken, key);
    drop(inner);
    tracing::info!("access token issued");
    Ok(Json(
        json!({"error": 0, "token": token, "expire": expire_at(ttl)}),
    ))
}

/// The wall-clock expiry of a token issued now, clamped to the far future when
/// the TTL is too large to represent.
fn expire_at(ttl: std::time::Duration) -> String {
    let expiry = chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| Utc::now().naive_utc().checked_add_signed(ttl))
        .filter(|t| t.and_utc().timestamp() < 253_402_300_800)
        .or_else(|| NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(23, 59, 59)));
    expiry
        .map(|t| t.format(EXPIRE_FORMAT).to_string())
        .unwrap_or_else(|| "9999-12-31 23:59:59".to_string())
}

/// `POST /v1/create_task`: creates a task for a valid session token.
pub(crate) async fn create_task(
    State(sandbox): State<Sandbox>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = FormFields::parse(&headers, &body);
    let token = form.first("token").unwrap_or_default();
    if !ids::is_hex32(token) {
        return Err(ApiError::new(BAD_TOKEN, "Token did not pass validation."));
    }
    let mut inner = sandbox.shared.lock();
    if !inner.access_tokens.valid(token, Instant::now()) {
        return Err(ApiError::new(
            TOKEN_NOT_FOUND,
            "We can't find such token in our database",
        ));
    }
    if let Some(key) = inner.access_tokens.key_of(token).map(str::to_owned) {
        inner.record_key_use(crate::record::Endpoint::CreateTask, &key);
    }
    let task_token = ids::new_hex32();
    let master_id = inner.master_id.clone();
    inner.tasks.insert(
        task_token.clone(),
        Task {
            master_id,
            started: None,
        },
    );
    drop(inner);
    tracing::info!(%task_token, "task created");
    Ok(Json(json!({
        "error": 0,
        "upload_url": format!("{base}/v1/upload_file"),
        "task_token": task_token,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expiry_is_formatted_like_qencode() {
        let expire = expire_at(Duration::from_secs(60));
        assert!(
            chrono::NaiveDateTime::parse_from_str(&expire, EXPIRE_FORMAT).is_ok(),
            "{expire}"
        );
        assert_eq!(expire_at(Duration::MAX), "9999-12-31 23:59:59");
    }
}
