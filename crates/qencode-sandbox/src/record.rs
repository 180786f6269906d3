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
    /// `/v1/start_encode` (a task from transcoding profiles).
    StartEncodeProfiles,
    /// `GET /storage/...` (output files in sandbox storage; only metadata
    /// documents have content).
    Storage,
    /// An outgoing callback attempt (task or live stream), logged when it
    /// ends; see [`crate::Sandbox::callbacks`] for the details. Never faulted,
    /// and not counted by `count(Endpoint::Any)`.
    Callback,
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
    /// `POST /v1/access_token/<api_key>` (Live Streaming API token).
    LiveAccessToken,
    /// `POST /v1/live-streams`.
    LiveCreate,
    /// `GET /v1/live-streams/<id>`.
    LiveGet,
    /// `GET /v1/live-streams`.
    LiveList,
    /// `PUT /v1/live-streams/<id>`.
    LiveUpdate,
    /// `DELETE /v1/live-streams/<id>`.
    LiveDelete,
    /// `/v1/live-streams/<id>/start`.
    LiveStart,
    /// `/v1/live-streams/<id>/stop`.
    LiveStop,
    /// `/v1/live-streams/<id>/playback-ids`.
    LivePlaybackAdd,
    /// `/v1/live-streams/<id>/playback-ids/<playback_id>`.
    LivePlaybackRemove,
    /// `/v1/live-streams/<id>/simulcast-targets`.
    LiveSimulcastAdd,
    /// `/v1/live-streams/<id>/simulcast-targets/<target_id>`.
    LiveSimulcastRemove,
    /// Anything else (unknown path or method).
    Other,
    /// Matches every endpoint: a fault for `Any` hits the next request whatever it
    /// is, and `count(Endpoint::Any)` counts all requests received (outgoing
    /// callbacks are counted only under [`Endpoint::Callback`]). Never recorded
    /// itself.
    Any,
}

impl Endpoint {
    /// Classifies a request. API endpoints are classified by path alone, so a wrong
    /// method still shows up under the endpoint the client was aiming at; only
    /// live paths that several endpoints share (`/v1/live-streams[/<id>]`) need
    /// the method too.
    pub(crate) fn classify(method: &Method, path: &str) -> Self {
        match path {
            "/v1/access_token" => return Self::AccessToken,
            "/v1/create_task" => return Self::CreateTask,
            "/v1/start_encode2" => return Self::StartEncode,
            "/v1/start_encode" => return Self::StartEncodeProfiles,
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
        if path.starts_with("/storage/") {
            return Self::Storage;
        }
        if let Some(endpoint) = Self::classify_live(method, path) {
            return endpoint;
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

    /// The live endpoint a request is for, if any.
    fn classify_live(method: &Method, path: &str) -> Option<Self> {
        if let Some(key) = path.strip_prefix("/v1/access_token/") {
            return (!key.is_empty() && !key.contains('/')).then_some(Self::LiveAccessToken);
        }
        let rest = path.strip_prefix("/v1/live-streams")?;
        let segments: Vec<&str> = match rest {
            "" => Vec::new(),
            _ => rest.strip_prefix('/')?.split('/').collect(),
        };
        if segments.iter().any(|s| s.is_empty()) {
            return None;
        }
        let endpoint = match (segments.as_slice(), method.clone()) {
            ([], Method::POST) => Self::LiveCreate,
            ([], Method::GET) => Self::LiveList,
            ([_], Method::GET) => Self::LiveGet,
            ([_], Method::PUT) => Self::LiveUpdate,
            ([_], Method::DELETE) => Self::LiveDelete,
            ([_, "start"], _) => Self::LiveStart,
            ([_, "stop"], _) => Self::LiveStop,
            ([_, "playback-ids"], _) => Self::LivePlaybackAdd,
            ([_, "playback-ids", _], _) => Self::LivePlaybackRemove,
            ([_, "simulcast-targets"], _) => Self::LiveSimulcastAdd,
            ([_, "simulcast-targets", _], _) => Self::LiveSimulcastRemove,
            _ => return None,
        };
        Some(endpoint)
    }

    /// Whether this is a Live Streaming API endpoint, which reports errors by
    /// HTTP status rather than in a 200 body.
    pub(crate) fn is_live(self) -> bool {
        matches!(
            self,
            Self::LiveAccessToken
                | Self::LiveCreate
                | Self::LiveGet
                | Self::LiveList
                | Self::LiveUpdate
                | Self::LiveDelete
                | Self::LiveStart
                | Self::LiveStop
                | Self::LivePlaybackAdd
                | Self::LivePlaybackRemove
                | Self::LiveSimulcastAdd
                | Self::LiveSimulcastRemove
        )
    }

    /// Whether a fault aimed at `self` applies to a request classified as `actual`.
    pub(crate) fn matches(self, actual: Endpoint) -> bool {
        self == Endpoint::Any || self == actual
    }
}

/// Which API key a request used: the key itself (token requests) or the key the
/// request's token was issued for. For tests that run several projects (accounts)
/// against one sandbox; never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    /// The endpoint the request was classified as.
    pub endpoint: Endpoint,
    /// The API key.
    pub api_key: String,
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
    /// The W3C `traceparent` header the client sent, so tests can check that a trace
    /// crosses into the upstream.
    pub traceparent: Option<String>,
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
            (
                Method::POST,
                "/v1/start_encode",
                Endpoint::StartEncodeProfiles,
            ),
            (
                Method::GET,
                "/storage/t/metadata/1/f.json",
                Endpoint::Storage,
            ),
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
            (
                Method::POST,
                "/v1/access_token/k",
                Endpoint::LiveAccessToken,
            ),
            (Method::POST, "/v1/access_token/", Endpoint::Other),
            (Method::POST, "/v1/access_token/k/x", Endpoint::Other),
            (Method::POST, "/v1/live-streams", Endpoint::LiveCreate),
            (Method::GET, "/v1/live-streams", Endpoint::LiveList),
            (Method::PATCH, "/v1/live-streams", Endpoint::Other),
            (Method::GET, "/v1/live-streams/s", Endpoint::LiveGet),
            (Method::PUT, "/v1/live-streams/s", Endpoint::LiveUpdate),
            (Method::DELETE, "/v1/live-streams/s", Endpoint::LiveDelete),
            (Method::POST, "/v1/live-streams/s", Endpoint::Other),
            (
                Method::POST,
                "/v1/live-streams/s/start",
                Endpoint::LiveStart,
            ),
            (Method::POST, "/v1/live-streams/s/stop", Endpoint::LiveStop),
            (
                Method::POST,
                "/v1/live-streams/s/playback-ids",
                Endpoint::LivePlaybackAdd,
            ),
            (
                Method::DELETE,
                "/v1/live-streams/s/playback-ids/p",
                Endpoint::LivePlaybackRemove,
            ),
            (
                Method::POST,
                "/v1/live-streams/s/simulcast-targets",
                Endpoint::LiveSimulcastAdd,
            ),
            (
                Method::DELETE,
                "/v1/live-streams/s/simulcast-targets/t",
                Endpoint::LiveSimulcastRemove,
            ),
            (Method::GET, "/v1/live-streams/", Endpoint::Other),
            (Method::GET, "/v1/live-streams//start", Endpoint::Other),
            (Method::GET, "/v1/live-streamsx", Endpoint::Other),
            (Method::POST, "/v1/live-streams/s/other", Endpoint::Other),
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
        assert_eq!(
            redact_path("/v1/access_token/sec%2Fret"),
            "/v1/access_token/REDACTED"
        );
        assert_eq!(
            redact_path("/v1/live-streams/s/start"),
            "/v1/live-streams/s/start"
        );
    }
}
