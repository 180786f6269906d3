//! The bearer-token check every live method but `/v1/access_token` makes.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use tokio::time::Instant;

use super::error::LiveError;
use crate::Sandbox;

/// Proof that the request carried a current bearer token. Handlers take it as
/// their first extractor, so an unauthenticated request is 401 before its path
/// or body is looked at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authorized;

impl FromRequestParts<Sandbox> for Authorized {
    type Rejection = LiveError;

    async fn from_request_parts(parts: &mut Parts, sandbox: &Sandbox) -> Result<Self, LiveError> {
        let Some(token) = bearer(&parts.headers) else {
            tracing::debug!("live request without a bearer token");
            return Err(LiveError::unauthorized(
                "an Authorization: Bearer <access_token> header is required",
            ));
        };
        let mut inner = sandbox.shared.lock();
        if inner.live.tokens.valid(token, Instant::now()) {
            if let Some(key) = inner.live.tokens.key_of(token).map(str::to_owned) {
                let endpoint = crate::record::Endpoint::classify(&parts.method, parts.uri.path());
                inner.record_key_use(endpoint, &key);
            }
            Ok(Self)
        } else {
            tracing::debug!("live request with an unknown, expired or revoked token");
            Err(LiveError::unauthorized(
                "access token is invalid or expired",
            ))
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn reads_bearer_tokens_only() {
        assert_eq!(bearer(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&with("Basic abc")), None);
        assert_eq!(bearer(&with("Bearer ")), None);
        assert_eq!(bearer(&with("Bearer")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
