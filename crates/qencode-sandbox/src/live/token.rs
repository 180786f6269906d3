//! `POST /v1/access_token/<api_key>`: a live API key buys a JWT bearer token.
//!
//! The JWT's payload carries `iat`, `sub` and `exp` in wall-clock Unix seconds,
//! as Qencode's does, because clients read `exp` to learn the token's lifetime.
//! Its signature is random: only the sandbox checks the token, by looking it up.
//! That check uses tokio's clock (like Transcoding session tokens), so tests on a
//! paused clock expire tokens with `tokio::time::advance`, while `exp` keeps
//! describing the same lifetime in wall-clock terms.

use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::error::LiveError;
use crate::Sandbox;

/// The JOSE header every token carries (HS256, as Qencode's do).
const JWT_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// Largest `exp` written: 9999-12-31 23:59:59 UTC.
const MAX_EXP: i64 = 253_402_300_799;

/// `POST /v1/access_token/<api_key>`.
pub(crate) async fn access_token(
    State(sandbox): State<Sandbox>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, LiveError> {
    let now = Instant::now();
    let mut inner = sandbox.shared.lock();
    let project = key
        .ok()
        .and_then(|Path(key)| inner.config.live_api_keys.iter().position(|k| *k == key));
    let Some(project) = project else {
        drop(inner);
        tracing::info!("live access token refused: unknown api key");
        return Err(LiveError::unauthorized("invalid api key"));
    };
    let ttl = inner.config.live_token_ttl;
    let token = jwt(project as u64 + 1, Utc::now().timestamp(), ttl);
    let key = inner.config.live_api_keys[project].clone();
    inner.live.tokens.issue_for(&key, token.clone(), now, ttl);
    inner.record_key_use(crate::record::Endpoint::LiveAccessToken, &key);
    drop(inner);
    tracing::info!("live access token issued");
    Ok(Json(json!({"access_token": token})))
}

/// A JWT for project `sub` issued at `iat` (Unix seconds) that lasts `ttl`,
/// rounded up to whole seconds and clamped to year 9999.
fn jwt(sub: u64, iat: i64, ttl: Duration) -> String {
    let ttl_secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    let exp = iat
        .saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX))
        .min(MAX_EXP);
    let payload = json!({"iat": iat, "sub": sub, "exp": exp}).to_string();
    let signature = rand::random::<[u8; 32]>();
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(JWT_HEADER),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap_or_default();
        let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    #[test]
    fn tokens_are_three_part_jwts_with_readable_claims() {
        let token = jwt(7, 1_700_000_000, Duration::from_millis(1_500));
        assert_eq!(token.split('.').count(), 3, "{token}");
        assert!(!token.contains('='), "{token}");
        assert_eq!(
            claims(&token),
            json!({"iat": 1_700_000_000, "sub": 7, "exp": 1_700_000_002})
        );
        assert_ne!(token, jwt(7, 1_700_000_000, Duration::from_millis(1_500)));
    }

    #[test]
    fn huge_ttls_are_clamped() {
        let token = jwt(1, 1_700_000_000, Duration::MAX);
        assert_eq!(claims(&token)["exp"], MAX_EXP);
    }
}
