//! The access policy (`GATEWAY_POLICY_FILE`): which callers exist, how each proves who
//! it is, which methods it may use and how much of the gateway it may take.
//!
//! ```toml
//! [[callers]]
//! name = "encoder"
//! identity = "spiffe://example.org/ns/media/sa/encoder"   # mTLS or mesh identity
//! bearer_sha256 = "<hex SHA-256 of the token>"             # and/or a bearer token
//! allow = ["qencode.gateway.v1.Transcoding/*", "qencode.gateway.v1.LiveStreaming/GetStream"]
//! rate_per_second = 20
//! burst = 40
//! max_watchers = 100
//! ```
//!
//! Tokens are stored only as digests, so the file holds nothing that lets its reader
//! call the gateway. It is validated whole (a bad file is refused with its line and
//! problem, at start with exit 64, on reload by keeping the previous policy);
//! [`reload`] watches it.

pub mod bucket;
pub mod reload;

use serde::Deserialize;
use std::sync::Arc;

/// One caller of the policy, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// Its name, in logs, audit lines and PERMISSION_DENIED details.
    pub name: Arc<str>,
    /// The certificate or mesh identity it must present, when set.
    pub identity: Option<String>,
    /// The SHA-256 digest of the bearer token it must present, when set.
    pub bearer_sha256: Option<[u8; 32]>,
    /// `Service/Method`, `Service/*` or `*`.
    pub allow: Vec<String>,
    /// Sustained calls per second, when limited.
    pub rate_per_second: Option<f64>,
    /// Calls that may come at once above the rate.
    pub burst: f64,
    /// Most watch streams it may hold open, when limited.
    pub max_watchers: Option<usize>,
}

impl Caller {
    /// May this caller use `method` (`package.Service/Method`)?
    pub fn allows(&self, method: &str) -> bool {
        self.allow
            .iter()
            .any(|pattern| match pattern.strip_suffix("/*") {
                _ if pattern == "*" => true,
                Some(service) => method
                    .strip_prefix(service)
                    .is_some_and(|rest| rest.starts_with('/')),
                None => pattern == method,
            })
    }
}

/// A validated policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Callers, in file order (the first whose credentials match is the caller).
    pub callers: Vec<Caller>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    callers: Vec<RawCaller>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaller {
    name: toml::Spanned<String>,
    identity: Option<String>,
    bearer_sha256: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    rate_per_second: Option<f64>,
    burst: Option<u32>,
    max_watchers: Option<u32>,
}

impl Policy {
    /// Parses and validates the policy file's `text`; the problem names its line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map_or(String::new(), |s| format!("line {}: ", line_of(s.start)));
            format!("{line}{}", e.message())
        })?;
        let mut callers: Vec<Caller> = Vec::with_capacity(file.callers.len());
        for raw in file.callers {
            let line = line_of(raw.name.span().start);
            let name = raw.name.into_inner();
            let problem = |what: &str| format!("line {line}: caller {name:?}: {what}");
            if name.trim().is_empty() {
                return Err(problem("name must not be empty"));
            }
            if callers.iter().any(|c| *c.name == *name) {
                return Err(problem("a caller of this name is already defined"));
            }
            let bearer_sha256 = match raw.bearer_sha256.as_deref() {
                None => None,
                Some(text) => {
                    let mut digest = [0u8; 32];
                    hex::decode_to_slice(text.trim(), &mut digest).map_err(|_| {
                        problem("bearer_sha256 must be 64 hex digits (the SHA-256 of the token)")
                    })?;
                    Some(digest)
                }
            };
            let identity = raw.identity.filter(|i| !i.trim().is_empty());
            if identity.is_none() && bearer_sha256.is_none() {
                return Err(problem("needs an identity, a bearer_sha256 or both"));
            }
            if let Some(bad) = raw.allow.iter().find(|p| !valid_pattern(p)) {
                return Err(problem(&format!(
                    "allow entry {bad:?} is not Service/Method, Service/* or *"
                )));
            }
            if let Some(rate) = raw.rate_per_second {
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(problem("rate_per_second must be above 0"));
                }
            }
            if raw.burst == Some(0) || raw.max_watchers == Some(0) {
                return Err(problem("burst and max_watchers must be at least 1"));
            }
            let burst = raw.burst.map_or_else(
                || raw.rate_per_second.map_or(1.0, |r| r.ceil().max(1.0)),
                f64::from,
            );
            callers.push(Caller {
                name: Arc::from(name.as_str()),
                identity,
                bearer_sha256,
                allow: raw.allow,
                rate_per_second: raw.rate_per_second,
                burst,
                max_watchers: raw.max_watchers.map(|m| m as usize),
            });
        }
        Ok(Policy { callers })
    }

    /// The caller whose every declared credential matches: the connection's or mesh's
    /// `identity` and the digest of the bearer token. A token that matches no one
    /// identifies no one, even when the identity alone would.
    pub fn caller(&self, identity: Option<&str>, bearer: Option<&[u8; 32]>) -> Option<&Caller> {
        let token_matches = |caller: &Caller| match (&caller.bearer_sha256, bearer) {
            (Some(expected), Some(given)) => same_digest(expected, given),
            _ => false,
        };
        if bearer.is_some() && !self.callers.iter().any(token_matches) {
            return None;
        }
        self.callers.iter().find(|caller| {
            let identity_ok = caller
                .identity
                .as_deref()
                .is_none_or(|expected| Some(expected) == identity);
            let token_ok = caller.bearer_sha256.is_none() || token_matches(caller);
            identity_ok && token_ok
        })
    }
}

/// Compares two digests in time independent of where they differ. (ring's
/// `constant_time::verify_slices_are_equal` is deprecated, "no promises regarding side
/// channels"; comparing digests rather than tokens already leaks nothing usable, this
/// keeps it so.)
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.split_once('/') {
        Some((service, method)) => {
            !service.is_empty()
                && !method.is_empty()
                && !method.contains('/')
                && service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                && (method == "*"
                    || method
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::digest::{digest, SHA256};

    fn sha(token: &str) -> String {
        hex::encode(digest(&SHA256, token.as_bytes()))
    }

    #[test]
    fn a_policy_parses_and_matches_callers() {
        let text = format!(
            r#"
[[callers]]
name = "encoder"
identity = "spiffe://example.org/encoder"
allow = ["qencode.gateway.v1.Transcoding/*"]
rate_per_second = 2.5

[[callers]]
name = "dashboard"
bearer_sha256 = "{}"
allow = ["qencode.gateway.v1.LiveStreaming/GetStream"]
max_watchers = 3
"#,
            sha("dash-token")
        );
        let policy = Policy::parse(&text).unwrap();
        let encoder = policy
            .caller(Some("spiffe://example.org/encoder"), None)
            .unwrap();
        assert_eq!(&*encoder.name, "encoder");
        assert_eq!(encoder.burst, 3.0);
        assert!(encoder.allows("qencode.gateway.v1.Transcoding/CreateTask"));
        assert!(!encoder.allows("qencode.gateway.v1.TranscodingX/CreateTask"));
        let token = |t: &str| {
            let mut d = [0u8; 32];
            d.copy_from_slice(digest(&SHA256, t.as_bytes()).as_ref());
            d
        };
        let dashboard = policy.caller(None, Some(&token("dash-token"))).unwrap();
        assert_eq!(&*dashboard.name, "dashboard");
        assert!(dashboard.allows("qencode.gateway.v1.LiveStreaming/GetStream"));
        assert!(!dashboard.allows("qencode.gateway.v1.LiveStreaming/StopStream"));
        assert!(policy.caller(None, Some(&token("wrong"))).is_none());
        assert!(policy
            .caller(Some("spiffe://example.org/encoder"), Some(&token("wrong")))
            .is_none());
        assert!(policy
            .caller(Some("spiffe://example.org/other"), None)
            .is_none());
        assert!(policy.caller(None, None).is_none());
    }

    #[test]
    fn problems_name_their_line() {
        let err = Policy::parse("[[callers]]\nname = \"a\"\nallow = [\"x\"\n").unwrap_err();
        assert!(err.starts_with("line "), "{err}");
        let err =
            Policy::parse("[[callers]]\n\nname = \"a\"\nbearer_sha256 = \"abc\"\n").unwrap_err();
        assert!(
            err.starts_with("line 3: caller \"a\"") && err.contains("64 hex"),
            "{err}"
        );
        let err = Policy::parse("[[callers]]\nname = \"a\"\nallow = [\"*\"]\n").unwrap_err();
        assert!(err.contains("needs an identity"), "{err}");
        let err = Policy::parse("[[callers]]\nname = \"a\"\nidentity = \"i\"\nallow = [\"Svc\"]\n")
            .unwrap_err();
        assert!(err.contains("allow entry"), "{err}");
        let err =
            Policy::parse("[[callers]]\nname = \"a\"\nidentity = \"i\"\ncolour = 1\n").unwrap_err();
        assert!(err.starts_with("line 4"), "{err}");
        assert_eq!(Policy::parse("").unwrap(), Policy::default());
    }
}
