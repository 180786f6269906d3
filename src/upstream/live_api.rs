//! Qencode Live Streaming API client: JSON over REST with a bearer token, errors by HTTP
//! status.

use super::{
    client::{Body, HttpClient, JsonResponse, Operation},
    Deadline,
};
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
                error.kind = ErrorKind::Unauthenticated;
                error.reason = "QENCODE_LIVE_BAD_API_KEY".into();
                error.message = format!(
                    "Qencode refused the gateway's Live API key; check QENCODE_LIVE_API_KEY ({})",
                    error.message
                );
            }
            return Err(error);
        }
        let token = string_of(response.body.get("access_token")).ok_or_else(|| {
            Error::upstream(
                ErrorKind::Unavailable,
                "UPSTREAM_UNEXPECTED_RESPONSE",
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

/// Maps a Live API error answer by its HTTP status, keeping the upstream's message.
pub fn map_status(op: &LiveOp, response: &JsonResponse) -> Error {
    use ErrorKind::*;
    let status = response.status;
    let is_delete = op.op.name == DELETE_STREAM.op.name;
    let (kind, reason, what) = match status.as_u16() {
        400 if is_delete => (
            FailedPrecondition,
            "QENCODE_LIVE_STREAM_NOT_STOPPED",
            "the stream must be stopped before it is deleted",
        ),
        400 | 422 => (
            InvalidArgument,
            "QENCODE_LIVE_BAD_REQUEST",
            "Qencode rejected the request",
        ),
        401 => (
            Unauthenticated,
            "QENCODE_LIVE_UNAUTHORIZED",
            "Qencode refused the gateway's Live API token",
        ),
        403 => (
            PermissionDenied,
            "QENCODE_LIVE_FORBIDDEN",
            "Qencode does not allow this for the gateway's Live API key",
        ),
        404 => (
            NotFound,
            "QENCODE_LIVE_NOT_FOUND",
            "Qencode does not know this live stream resource",
        ),
        409 => (
            Aborted,
            "QENCODE_LIVE_CONFLICT",
            "the live stream's state does not allow this now",
        ),
        429 => (
            Unavailable,
            "QENCODE_LIVE_RATE_LIMITED",
            "Qencode is rate limiting; retry later",
        ),
        500..=599 => (
            Unavailable,
            "QENCODE_LIVE_SERVER_ERROR",
            "Qencode's Live API failed",
        ),
        _ => (
            Internal,
            "QENCODE_LIVE_UNEXPECTED_STATUS",
            "Qencode answered with an unexpected status",
        ),
    };
    let message = match upstream_message(&response.body) {
        Some(upstream) => format!("{what} ({}): {upstream}", op.op.name),
        None => format!("{what} ({}, HTTP {})", op.op.name, status.as_u16()),
    };
    let mut error =
        Error::upstream(kind, reason, message).with_metadata("http_status", status.as_u16());
    if status == StatusCode::TOO_MANY_REQUESTS {
        error = error.with_retry_after(response.retry_after.unwrap_or(Duration::from_secs(5)));
    }
    if kind == InvalidArgument {
        error = error.with_violation("params", "rejected upstream");
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
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64("{\"alg\":\"HS256\"}"), b64(payload))
    }

    #[test]
    fn lifetime_from_exp() {
        let now = UNIX_EPOCH + Duration::from_secs(1_628_158_263);
        assert_eq!(
            jwt_lifetime(&jwt("{\"exp\": 1628244663}"), now),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            jwt_lifetime(&jwt("{\"exp\": \"1628158363\"}"), now),
            Some(Duration::from_secs(100))
        );
        assert_eq!(jwt_lifetime(&jwt("{\"exp\": 1}"), now), None, "expired");
        assert_eq!(jwt_lifetime(&jwt("{}"), now), None);
        assert_eq!(jwt_lifetime("not-a-jwt", now), None);
        assert_eq!(jwt_lifetime("a.!!!.c", now), None);
        // The document's own example token has a corrupted payload; it must not panic.
        let documented = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyjpYXQiOjE2MjgxNTgyNJMsInN1YiI6MTMwLCJleHAiOjE2MjgyNDQ2NjN9.SxS3zLx2CZbZ9ylTpd25kj9el6_4TqqTWUA9RT2iJ9I";
        let _ = jwt_lifetime(documented, now);
    }

    #[test]
    fn ids_stay_single_segments() {
        let http = HttpClient::new(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        let client = LiveClient::new(http, Url::parse("https://api-live.qencode.com").unwrap());
        let url = client.endpoint(&["live-streams", "../access_token/x", "start"]);
        assert_eq!(
            url.as_str(),
            "https://api-live.qencode.com/v1/live-streams/..%2Faccess_token%2Fx/start"
        );
    }

    #[test]
    fn upstream_messages_in_any_shape() {
        assert_eq!(
            upstream_message(&serde_json::json!({"message": "m"})).as_deref(),
            Some("m")
        );
        assert_eq!(
            upstream_message(&serde_json::json!({"error": "e"})).as_deref(),
            Some("e")
        );
        assert_eq!(
            upstream_message(&serde_json::json!({"error": {"message": "n"}})).as_deref(),
            Some("n")
        );
        assert_eq!(
            upstream_message(&serde_json::json!({"detail": "d"})).as_deref(),
            Some("d")
        );
        assert_eq!(upstream_message(&serde_json::json!(null)), None);
    }
}
