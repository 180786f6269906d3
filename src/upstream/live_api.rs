//! Qencode Live Streaming API client: JSON over REST with a bearer token, errors by HTTP
//! status.

use super::{
    client::{Body, HttpClient, JsonResponse, Operation},
    Deadline,
};
use crate::support::reasons;
use crate::{
    support::{
        error::{Error, ErrorKind},
        secret::Secret,
    },
    upstream::{
        auth::{IssuedToken, TokenCallError, TokenSource},
        lenient::string_of,
    },
};
use base64::Engine;
use futures::future::BoxFuture;
use http::{header, Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

/// Lifetime assumed when the token's `exp` claim cannot be read (the documented 24 h).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// One Live Streaming API operation: its HTTP shape and how its errors read.
#[derive(Debug, Clone)]
pub struct LiveOp {
    /// Retry/log identity.
    pub op: Operation,
    /// HTTP method.
    pub method: Method,
}

macro_rules! live_op {
    ($name:ident, $method:ident, $op:literal, $route:literal, $idempotent:literal) => {
        /// The `
        #[doc = $op]
        /// ` operation.
        pub const $name: LiveOp = LiveOp {
            op: Operation {
                api: "live",
                name: $op,
                route: $route,
                idempotent: $idempotent,
                // Live errors go by HTTP status, but a numeric `error` field is still
                // labelled as the Transcoding API's would be, as it always was.
                error_code: super::codes::error_code,
            },
            method: Method::$method,
        };
    };
}

live_op!(
    ACCESS_TOKEN,
    POST,
    "access_token",
    "/v1/access_token/{api_key}",
    true
);
live_op!(
    CREATE_STREAM,
    POST,
    "create_stream",
    "/v1/live-streams",
    false
);
live_op!(
    GET_STREAM,
    GET,
    "get_stream",
    "/v1/live-streams/{stream_id}",
    true
);
live_op!(LIST_STREAMS, GET, "list_streams", "/v1/live-streams", true);
live_op!(
    UPDATE_STREAM,
    PUT,
    "update_stream",
    "/v1/live-streams/{stream_id}",
    true
);
live_op!(
    DELETE_STREAM,
    DELETE,
    "delete_stream",
    "/v1/live-streams/{stream_id}",
    false
);
live_op!(
    START_STREAM,
    POST,
    "start_stream",
    "/v1/live-streams/{stream_id}/start",
    false
);
live_op!(
    STOP_STREAM,
    POST,
    "stop_stream",
    "/v1/live-streams/{stream_id}/stop",
    false
);
live_op!(
    ADD_PLAYBACK_ID,
    POST,
    "add_playback_id",
    "/v1/live-streams/{stream_id}/playback-ids",
    false
);
live_op!(
    REMOVE_PLAYBACK_ID,
    DELETE,
    "remove_playback_id",
    "/v1/live-streams/{stream_id}/playback-ids/{playback_id}",
    false
);
live_op!(
    ADD_SIMULCAST_TARGET,
    POST,
    "add_simulcast_target",
    "/v1/live-streams/{stream_id}/simulcast-targets",
    false
);
live_op!(
    REMOVE_SIMULCAST_TARGET,
    DELETE,
    "remove_simulcast_target",
    "/v1/live-streams/{stream_id}/simulcast-targets/{target_id}",
    false
);

/// The Live Streaming API at one base URL.
#[derive(Clone)]
pub struct LiveClient {
    http: HttpClient,
    base: Url,
}

impl LiveClient {
    /// A client for the API at `base` (e.g. `https://api-live.qencode.com`).
    pub fn new(http: HttpClient, base: Url) -> Self {
        LiveClient { http, base }
    }

    /// `<base>/v1/<segments joined by '/'>`; each segment is percent-encoded, so even an
    /// id that slipped past validation stays one segment.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1");
            for segment in segments {
                path.push(segment);
            }
        }
        url
    }

    /// `POST /v1/access_token/<api_key>`.
    pub async fn access_token(&self, api_key: &Secret) -> Result<IssuedToken, Error> {
        let url = self.endpoint(&["access_token", api_key.expose()]);
        let response = self
            .http
            .send(
                ACCESS_TOKEN.op,
                ACCESS_TOKEN.method,
                &url,
                &[],
                &Body::Empty,
                Deadline::NONE,
            )
            .await?;
        if !response.status.is_success() {
            let mut error = map_status(&ACCESS_TOKEN, &response);
            if matches!(
                response.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
            ) {
                // The operator's key, not the caller's identity: see `codes`.
                error.kind = ErrorKind::FailedPrecondition;
                error.reason = reasons::QENCODE_LIVE_BAD_API_KEY.into();
                error.message = format!(
                    "Qencode refused the gateway's Live API key; an operator must fix it (QENCODE_LIVE_API_KEY or the project's key) ({})",
                    error.message
                );
            }
            return Err(error);
        }
        let token = string_of(response.body.get("access_token")).ok_or_else(|| {
            Error::upstream(
                ErrorKind::Unavailable,
                reasons::UPSTREAM_UNEXPECTED_RESPONSE,
                "Qencode's access_token answer has no access_token",
            )
        })?;
        let lifetime = jwt_lifetime(&token, SystemTime::now()).unwrap_or(DEFAULT_TOKEN_LIFETIME);
        Ok(IssuedToken {
            value: Secret::new(token),
            lifetime,
        })
    }

    /// Calls `op` on `segments` with the bearer token; returns the JSON body on success.
    pub async fn call(
        &self,
        op: &LiveOp,
        token: &Secret,
        segments: &[&str],
        body: Option<Value>,
        deadline: Deadline,
    ) -> Result<Value, TokenCallError> {
        let url = self.endpoint(segments);
        let auth = vec![(header::AUTHORIZATION, format!("Bearer {}", token.expose()))];
        let body = body.map_or(Body::Empty, Body::Json);
        let response = self
            .http
            .send(op.op, op.method.clone(), &url, &auth, &body, deadline)
            .await
            .map_err(TokenCallError::Other)?;
        if response.status.is_success() {
            return Ok(response.body);
        }
        let error = map_status(op, &response);
        if response.status == StatusCode::UNAUTHORIZED {
            Err(TokenCallError::TokenRejected(error))
        } else {
            Err(TokenCallError::Other(error))
        }
    }
}

/// The request fields of `op` that a 400 can blame: only CreateStream and UpdateStream
/// send the caller's values in a body (`params`, with `extra_json`); the others send an
/// id checked before the call, or fields Qencode does not name in its answer.
fn blamed_field(op: &LiveOp) -> Option<&'static str> {
    [CREATE_STREAM.op.name, UPDATE_STREAM.op.name]
        .contains(&op.op.name)
        .then_some("params")
}

/// Maps a Live API error answer by its HTTP status, keeping the upstream's message.
///
/// By meaning, as in `codes`: a 401 here comes after the token was refreshed once, so it
/// is the gateway's credential (FAILED_PRECONDITION, UPSTREAM_TOKEN_REJECTED), not the
/// caller's; a 409 says the stream's state does not allow the call, which repeating it
/// will not change (FAILED_PRECONDITION, not ABORTED's invitation to retry); a 400 on
/// DELETE is "not stopped" only when Qencode says so.
pub fn map_status(op: &LiveOp, response: &JsonResponse) -> Error {
    use ErrorKind::*;
    let status = response.status;
    let upstream = upstream_message(&response.body);
    let not_stopped = op.op.name == DELETE_STREAM.op.name
        && upstream
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("stop"));
    let (kind, reason, what) = match status.as_u16() {
        400 if not_stopped => (
            FailedPrecondition,
            reasons::QENCODE_LIVE_STREAM_NOT_STOPPED,
            "the stream must be stopped before it is deleted",
        ),
        400 | 422 => (
            InvalidArgument,
            reasons::QENCODE_LIVE_BAD_REQUEST,
            "Qencode rejected the request",
        ),
        401 => (
            FailedPrecondition,
            reasons::UPSTREAM_TOKEN_REJECTED,
            "Qencode refused the gateway's Live API token, also one issued just now for its key; an operator must look into the key",
        ),
        403 => (
            PermissionDenied,
            reasons::QENCODE_LIVE_FORBIDDEN,
            "Qencode does not allow this for the gateway's Live API key",
        ),
        404 => (
            NotFound,
            reasons::QENCODE_LIVE_NOT_FOUND,
            "Qencode does not know this live stream resource",
        ),
        409 => (
            FailedPrecondition,
            reasons::QENCODE_LIVE_CONFLICT,
            "the live stream's state does not allow this now",
        ),
        429 => (
            Unavailable,
            reasons::QENCODE_LIVE_RATE_LIMITED,
            "Qencode is rate limiting; retry later",
        ),
        500..=599 => (
            Unavailable,
            reasons::QENCODE_LIVE_SERVER_ERROR,
            "Qencode's Live API failed",
        ),
        _ => (
            Internal,
            reasons::QENCODE_LIVE_UNEXPECTED_STATUS,
            "Qencode answered with an unexpected status",
        ),
    };
    let message = match upstream {
        Some(upstream) => format!("{what} ({}): {upstream}", op.op.name),
        None => format!("{what} ({}, HTTP {})", op.op.name, status.as_u16()),
    };
    let mut error =
        Error::upstream(kind, reason, message).with_metadata("http_status", status.as_u16());
    if status == StatusCode::TOO_MANY_REQUESTS {
        error = error.with_retry_after(response.retry_after.unwrap_or(Duration::from_secs(5)));
    }
    if let Some(field) = blamed_field(op).filter(|_| kind == InvalidArgument) {
        error = error.with_violation(field, "rejected upstream");
    }
    error
}

/// The message an error body carries, in any of the usual shapes.
fn upstream_message(body: &Value) -> Option<String> {
    ["message", "detail", "error_description", "description"]
        .iter()
        .find_map(|key| string_of(body.get(*key)))
        .or_else(|| match body.get("error") {
            Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
            Some(Value::Object(inner)) => string_of(inner.get("message")),
            _ => None,
        })
        .map(|text| text.chars().take(500).collect())
}

/// The remaining lifetime of a JWT from its `exp` claim, when readable and in the future.
pub fn jwt_lifetime(token: &str, now: SystemTime) -> Option<Duration> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = crate::upstream::lenient::f64_of(claims.get("exp"))?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    let left = exp - now;
    (left > 0.0).then(|| Duration::from_secs_f64(left.min(7.0 * 24.0 * 3600.0)))
}

/// The Live Streaming API's token source for the shared token manager.
pub struct LiveTokens {
    /// The client that asks for tokens.
    pub client: LiveClient,
    /// The API key; sent only in the token request's path, which is never logged.
    pub api_key: Secret,
}

impl TokenSource for LiveTokens {
    fn api(&self) -> &'static str {
        "live"
    }

    fn fetch(&self) -> BoxFuture<'_, Result<IssuedToken, Error>> {
        Box::pin(self.client.access_token(&self.api_key))
    }
}

#[cfg(test)]
mod live_api_tests;
