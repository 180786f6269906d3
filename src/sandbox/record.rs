//! The request log: which endpoint each request hit, classified from method and
//! path, with secrets kept out of it.

use axum::http::Method;
use tokio::time::Instant;

use super::fault::FaultKind;

/// A sandbox endpoint, for request counts and for targeting faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/v1/access_token`.
    AccessToken,
    /// `/v1/create_task`.
    CreateTask,
    /// `/v1/start_encode2`.
    StartEncode,
    /// `/v1/status`.
    Status,
    /// `/master-<id>/v1/status`.
    MasterStatus,
    /// `OPTIONS /v1/upload_file[/...]` (TUS capability discovery).
    TusOptions,
    /// `POST /v1/upload_file/<task_token>` (TUS creation).
    TusCreate,
    /// `HEAD /v1/upload_file/<task_token>/<file_uuid>` (TUS offset query).
    TusHead,
    /// `PATCH /v1/upload_file/<task_token>/<file_uuid>` (TUS data).
    TusPatch,
    /// Anything else (unknown path or method).
    Other,
    /// Matches every endpoint: a fault for `Any` hits the next request whatever it
    /// is, and `count(Endpoint::Any)` counts all requests. Never recorded itself.
    Any,
}

impl Endpoint {
    /// Classifies a request. API endpoints are classified by path alone, so a wrong
    /// method still shows up under the endpoint the client was aiming at.
    pub(crate) fn classify(method: &Method, path: &str) -> Self {
        match path {
            "/v1/access_token" => return Self::AccessToken,
            "/v1/create_task" => return Self::CreateTask,
            "/v1/start_encode2" => return Self::StartEncode,
            "/v1/status" => return Self::Status,
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/v1/upload_file") {
            let depth = rest.split('/').filter(|s| !s.is_empty()).count();
            if rest.is_empty() || rest.starts_with('/') {
                return match (method.clone(), depth) {
                    (Method::OPTIONS, 0..=2) => Self::TusOptions,
                    (Method::POST, 1) => Self::TusCreate,
                    (Method::HEAD, 2) => Self::TusHead,
                    (Method::PATCH, 2) => Self::TusPatch,
                    _ => Self::Other,
                };
            }
        }
        if let Some(rest) = path.strip_prefix("/master-") {
            if rest
                .split_once('/')
                .is_some_and(|(_, tail)| tail == "v1/status")
            {
                return Self::MasterStatus;
            }
        }
        Self::Other
    }

    /// Whether a fault aimed at `self` applies to a request classified as `actual`.
    pub(crate) fn matches(self, actual: Endpoint) -> bool {
        self == Endpoint::Any || self == actual
    }
}

/// One request as the sandbox saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Arrival order, starting at 0 and never reused.
    pub seq: u64,
    /// HTTP method.
    pub method: Method,
    /// Request path without the query string; API keys in
    /// `/…/access_token/<key>` style paths are replaced by `REDACTED`.
    pub path: String,
    /// The endpoint the request was classified as.
    pub endpoint: Endpoint,
    /// Arrival time on tokio's clock (follows a paused test clock).
    pub at: Instant,
    /// The fault injected into this request, if any.
    pub fault: Option<FaultKind>,
}

/// Replaces the path segment after any `access_token` segment, where some clients
/// put the API key, so keys never reach the log.
pub(crate) fn redact_path(path: &str) -> String {
    let mut redact_next = false;
    path.split('/')
        .map(|segment| {
            let out = if redact_next && !segment.is_empty() {
                "REDACTED"
            } else {
                segment
            };
            redact_next = segment == "access_token";
            out
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_endpoint() {
        let cases = [
            (Method::POST, "/v1/access_token", Endpoint::AccessToken),
            (Method::GET, "/v1/access_token", Endpoint::AccessToken),
            (Method::POST, "/v1/create_task", Endpoint::CreateTask),
            (Method::POST, "/v1/start_encode2", Endpoint::StartEncode),
            (Method::POST, "/v1/status", Endpoint::Status),
            (
                Method::POST,
                "/master-abc/v1/status",
                Endpoint::MasterStatus,
            ),
            (Method::OPTIONS, "/v1/upload_file", Endpoint::TusOptions),
            (Method::POST, "/v1/upload_file/t", Endpoint::TusCreate),
            (Method::HEAD, "/v1/upload_file/t/u", Endpoint::TusHead),
            (Method::PATCH, "/v1/upload_file/t/u", Endpoint::TusPatch),
            (Method::GET, "/v1/upload_file/t/u", Endpoint::Other),
            (Method::POST, "/v1/upload_filex", Endpoint::Other),
            (Method::POST, "/master-abc/v2/status", Endpoint::Other),
            (Method::POST, "/", Endpoint::Other),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                Endpoint::classify(&method, path),
                expected,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn any_matches_everything_else_only_itself() {
        assert!(Endpoint::Any.matches(Endpoint::Status));
        assert!(Endpoint::Status.matches(Endpoint::Status));
        assert!(!Endpoint::Status.matches(Endpoint::MasterStatus));
    }

    #[test]
    fn redacts_keys_in_paths() {
        assert_eq!(
            redact_path("/v1/access_token/secret-key"),
            "/v1/access_token/REDACTED"
        );
        assert_eq!(
            redact_path("/v1/access_token/secret-key/more"),
            "/v1/access_token/REDACTED/more"
        );
        assert_eq!(redact_path("/v1/access_token"), "/v1/access_token");
        assert_eq!(redact_path("/v1/status"), "/v1/status");
    }
}
