//! The base URL put into returned URLs (`upload_url`, `status_url`, TUS
//! `Location`), so clients reach the sandbox the same way they reached it first,
//! whether it was bound to 127.0.0.1:0 in a test or embedded behind `--listen`.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;

use super::Sandbox;

/// Used when neither configuration, request nor listener gives a base.
const LAST_RESORT_BASE: &str = "http://127.0.0.1";

/// Extracts the base URL for this request: the configured `public_url`, else
/// `http://<Host>`, else the listener address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl(pub(crate) String);

impl FromRequestParts<Sandbox> for BaseUrl {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, sandbox: &Sandbox) -> Result<Self, Infallible> {
        let inner = sandbox.shared.lock();
        if let Some(public) = &inner.config.public_url {
            return Ok(Self(public.trim_end_matches('/').to_string()));
        }
        let authority = parts
            .uri
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| {
                parts
                    .headers
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
            })
            .filter(|host| is_plausible_host(host));
        let base = match authority {
            Some(host) => format!("http://{host}"),
            None => inner
                .fallback_base
                .clone()
                .unwrap_or_else(|| LAST_RESORT_BASE.to_string()),
        };
        Ok(Self(base))
    }
}

/// Whether a `Host` value is safe to echo into URLs (host, optional port, IPv6
/// brackets); anything else could inject paths or credentials.
fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_values_are_vetted() {
        assert!(is_plausible_host("127.0.0.1:8080"));
        assert!(is_plausible_host("[::1]:80"));
        assert!(is_plausible_host("sandbox.internal"));
        assert!(!is_plausible_host(""));
        assert!(!is_plausible_host("evil.com/path"));
        assert!(!is_plausible_host("user@host"));
    }
}
