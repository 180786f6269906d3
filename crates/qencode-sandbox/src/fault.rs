//! Injected faults: what tests queue to make the sandbox misbehave the ways the
//! real service (or the network in front of it) does.

use std::collections::VecDeque;
use std::time::Duration;

use axum::http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::codes::{ApiError, SYSTEM_BUSY};
use super::record::Endpoint;

/// A queued misbehaviour: the next `times` requests to `endpoint` get `kind`
/// instead of (or, for `Delay`, before) the normal answer.
///
/// Faults are consumed in the order they were injected: each request takes the
/// first queued fault whose endpoint matches and whose kind applies to it
/// (`PatchFailAfter` applies only to TUS PATCH, `NoHead` only to TUS HEAD).
/// A fault with `times == 0` is ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Which requests the fault hits ([`Endpoint::Any`] for all).
    pub endpoint: Endpoint,
    /// What happens to them.
    pub kind: FaultKind,
    /// How many requests it hits before it is used up.
    pub times: usize,
}

impl Fault {
    /// A fault hitting the next request to `endpoint` once.
    pub fn once(endpoint: Endpoint, kind: FaultKind) -> Self {
        Self {
            endpoint,
            kind,
            times: 1,
        }
    }
}

/// The ways a faulted request is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// ERROR_SYSTEM_BUSY (8) with `retry_after` in the body and a `Retry-After`
    /// header. On a Live Streaming API endpoint, which reports errors by HTTP
    /// status, it is HTTP 429 `{"message": ...}` with the same header instead.
    Busy {
        /// Seconds the client is told to wait.
        retry_after_secs: u64,
    },
    /// A documented Qencode error: `{"error": code, "message": message}`, HTTP 200.
    Error {
        /// Qencode error code.
        code: i64,
        /// Message text.
        message: String,
    },
    /// An nginx-style HTML error page with this HTTP status (invalid statuses
    /// become 502), as a proxy in front of Qencode would send.
    Html {
        /// HTTP status code.
        status: u16,
    },
    /// `{"message": message}` with this HTTP status (invalid statuses become
    /// 502), and `Retry-After` when set: how the Live Streaming API reports
    /// errors (403, 409, 429, 5xx, ...).
    HttpStatus {
        /// HTTP status code.
        status: u16,
        /// The `message` text.
        message: String,
        /// Seconds for a `Retry-After` header, if any.
        retry_after_secs: Option<u64>,
    },
    /// HTTP 429 `{"message": ...}` with this `Retry-After` value sent verbatim:
    /// either form HTTP allows (delay seconds or an HTTP-date), or anything else
    /// a rate limiter in front of either API might send.
    TooManyRequests {
        /// The `Retry-After` header's value (no header when it is not a valid
        /// header value).
        retry_after: String,
    },
    /// HTTP 200 whose JSON body is cut off mid-way.
    MalformedJson,
    /// Waits this long (on tokio's clock) before answering normally.
    Delay(Duration),
    /// TUS PATCH: stores only the first `bytes` bytes of the body, then answers
    /// 500, like an upload broken mid-way. The client must resume from HEAD.
    PatchFailAfter {
        /// Bytes of the body kept.
        bytes: usize,
    },
    /// TUS HEAD answers 405, like a server without HEAD support.
    NoHead,
}

impl FaultKind {
    /// A documented Transcoding error `code` with the document's description as
    /// the message (`Error` with an empty message for an undocumented code).
    /// For the codes the sandbox has no natural trigger for, such as 6
    /// (ERROR_SERVICE_SUSPENDED) and 10 (ERROR_PROJECT_NOT_FOUND).
    pub fn documented(code: i64) -> Self {
        Self::Error {
            code,
            message: super::codes::description(code)
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// Whether this kind can hit a request to `endpoint`.
    fn applies_to(&self, endpoint: Endpoint) -> bool {
        match self {
            Self::PatchFailAfter { .. } => endpoint == Endpoint::TusPatch,
            Self::NoHead => endpoint == Endpoint::TusHead,
            _ => true,
        }
    }
}

/// Injected faults in injection order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    queue: VecDeque<Fault>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.queue.push_back(fault);
        }
    }

    /// Drops every queued fault (the end of an outage injected with a large `times`).
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }

    /// The kind of the first fault that would hit a request to `endpoint`.
    pub(crate) fn peek(&self, endpoint: Endpoint) -> Option<&FaultKind> {
        self.position(endpoint).map(|i| &self.queue[i].kind)
    }

    /// Takes one use of the first fault that would hit a request to `endpoint`.
    pub(crate) fn take(&mut self, endpoint: Endpoint) -> Option<FaultKind> {
        let index = self.position(endpoint)?;
        let fault = self.queue.get_mut(index)?;
        fault.times = fault.times.saturating_sub(1);
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.queue.remove(index);
        }
        Some(kind)
    }

    fn position(&self, endpoint: Endpoint) -> Option<usize> {
        self.queue
            .iter()
            .position(|f| f.endpoint.matches(endpoint) && f.kind.applies_to(endpoint))
    }
}

/// The canned answer for a fault that replaces the response to a request for
/// `endpoint`; `None` for kinds that only delay or that the handler applies itself.
pub(crate) fn canned_response(kind: &FaultKind, endpoint: Endpoint) -> Option<Response> {
    match kind {
        FaultKind::Busy { retry_after_secs } if endpoint.is_live() => Some(http_status(
            StatusCode::TOO_MANY_REQUESTS.as_u16(),
            "too many requests, retry later",
            Some(*retry_after_secs),
        )),
        FaultKind::Busy { retry_after_secs } => Some(busy(*retry_after_secs)),
        FaultKind::HttpStatus {
            status,
            message,
            retry_after_secs,
        } => Some(http_status(*status, message, *retry_after_secs)),
        FaultKind::Error { code, message } => {
            Some(ApiError::new(*code, message.clone()).into_response())
        }
        FaultKind::TooManyRequests { retry_after } => {
            let mut response = http_status(429, "too many requests, retry later", None);
            if let Ok(value) = HeaderValue::from_str(retry_after) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            Some(response)
        }
        FaultKind::Html { status } => Some(html(*status)),
        FaultKind::MalformedJson => Some(
            (
                StatusCode::OK,
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                "{\"error\": 0, \"status",
            )
                .into_response(),
        ),
        FaultKind::NoHead => Some(
            (
                StatusCode::METHOD_NOT_ALLOWED,
                [(ALLOW, HeaderValue::from_static("OPTIONS, PATCH"))],
            )
                .into_response(),
        ),
        FaultKind::Delay(_) | FaultKind::PatchFailAfter { .. } => None,
    }
}

fn busy(retry_after_secs: u64) -> Response {
    let body = json!({
        "error": SYSTEM_BUSY,
        "message": "We don't have enough resources to process request at the moment. \
                    You should retry it in a number of seconds specified in response.",
        "retry_after": retry_after_secs,
    });
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// `{"message": message}` with `status`, as the Live Streaming API answers errors.
fn http_status(status: u16, message: &str, retry_after_secs: Option<u64>) -> Response {
    let mut response = (valid_status(status), Json(json!({"message": message}))).into_response();
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// `status` if it can be answered, else 502 (informational ones cannot end a
/// response).
fn valid_status(status: u16) -> StatusCode {
    StatusCode::from_u16(status)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::BAD_GATEWAY)
}

fn html(status: u16) -> Response {
    let status = valid_status(status);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n\
         <center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n\
         </body>\r\n</html>\r\n"
    );
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("text/html"))],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: i64) -> FaultKind {
        FaultKind::Error {
            code,
            message: String::new(),
        }
    }

    #[test]
    fn consumed_in_order_per_endpoint() {
        let mut queue = FaultQueue::default();
        queue.push(Fault {
            endpoint: Endpoint::Status,
            kind: error(1),
            times: 2,
        });
        queue.push(Fault::once(Endpoint::CreateTask, error(2)));
        queue.push(Fault::once(Endpoint::Any, error(3)));
        assert_eq!(queue.take(Endpoint::CreateTask), Some(error(2)));
        assert_eq!(queue.take(Endpoint::Status), Some(error(1)));
        assert_eq!(queue.take(Endpoint::Status), Some(error(1)));
        assert_eq!(queue.take(Endpoint::Status), Some(error(3)));
        assert_eq!(queue.take(Endpoint::Status), None);
        assert_eq!(queue.take(Endpoint::CreateTask), None);
    }

    #[test]
    fn tus_only_kinds_skip_other_endpoints() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::once(Endpoint::Any, FaultKind::NoHead));
        queue.push(Fault::once(
            Endpoint::Any,
            FaultKind::PatchFailAfter { bytes: 1 },
        ));
        assert_eq!(queue.take(Endpoint::Status), None);
        assert_eq!(
            queue.peek(Endpoint::TusPatch),
            Some(&FaultKind::PatchFailAfter { bytes: 1 })
        );
        assert_eq!(queue.take(Endpoint::TusHead), Some(FaultKind::NoHead));
    }

    #[test]
    fn zero_times_is_ignored() {
        let mut queue = FaultQueue::default();
        queue.push(Fault {
            endpoint: Endpoint::Any,
            kind: FaultKind::MalformedJson,
            times: 0,
        });
        assert_eq!(queue.take(Endpoint::Status), None);
    }

    #[test]
    fn invalid_html_status_becomes_bad_gateway() {
        let response = html(42);
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        let response = html(100);
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        let response = html(503);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let response = http_status(1000, "x", None);
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn too_many_requests_sends_retry_after_verbatim() {
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        let kind = FaultKind::TooManyRequests {
            retry_after: date.into(),
        };
        let response = canned_response(&kind, Endpoint::Status).expect("answered");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], date);
    }

    #[test]
    fn busy_is_429_on_live_endpoints_only() {
        let busy = FaultKind::Busy {
            retry_after_secs: 3,
        };
        let live = canned_response(&busy, Endpoint::LiveGet).map(|r| r.status());
        assert_eq!(live, Some(StatusCode::TOO_MANY_REQUESTS));
        let transcoding = canned_response(&busy, Endpoint::Status).map(|r| r.status());
        assert_eq!(transcoding, Some(StatusCode::OK));
    }
}
