//! What makes a failed upstream attempt worth repeating, and how long to wait first.
//!
//! It exists apart from the HTTP client so the rules can be read and tested on their
//! own: a [`Failure`] says whether the upstream may answer differently next time
//! (`transient`) and whether the request never left the gateway (`never_sent`, always
//! safe to repeat); [`backoff`] spaces the attempts, [`retry_after`] reads the
//! upstream's own hint, and [`MAX_ATTEMPTS`] bounds them. The client applies these
//! together with its retry budget.

use super::{
    cause::{describe, Cause},
    deadline::AttemptTimeout,
    transport::TransportError,
};
use crate::support::error::{Error, ErrorKind};
use crate::support::reasons;
use chrono::{DateTime, NaiveDateTime, Utc};
use http::{header, StatusCode};
use rand::Rng;
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};
use tracing::warn;

/// Attempts for an operation that is safe to repeat.
pub const MAX_ATTEMPTS: u32 = 3;
/// The first backoff cap; it doubles with every attempt.
const BASE_BACKOFF: Duration = Duration::from_millis(50);
/// No backoff is longer than this.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// `Retry-After` values beyond this (in seconds) are clamped to it.
const MAX_RETRY_AFTER_SECS: u64 = 3600;

/// A failed attempt and whether another attempt may help.
#[derive(Debug)]
pub struct Failure {
    /// What the caller gets if no further attempt is made.
    pub error: Error,
    /// The upstream may answer differently next time (5xx, timeout, reset).
    pub transient: bool,
    /// The request never left the gateway (connect failed), so repeating is always safe.
    pub never_sent: bool,
}

impl Failure {
    /// A failure that another attempt cannot fix.
    pub fn fatal(error: Error) -> Self {
        Failure {
            error,
            transient: false,
            never_sent: false,
        }
    }

    /// True when the request may be sent again: always when it was never sent, otherwise
    /// only for a transient failure of an `idempotent` operation.
    pub fn retryable(&self, idempotent: bool) -> bool {
        self.never_sent || (idempotent && self.transient)
    }

    /// A transport failure of `operation` on `url` (connect, reset, timeout). A timeout
    /// set by the caller's deadline is `DEADLINE_EXCEEDED` and not transient: the caller
    /// has no time for another attempt.
    pub fn transport(
        operation: &str,
        e: TransportError,
        url: &url::Url,
        attempt: AttemptTimeout,
    ) -> Self {
        // `describe` names the host, never the path or query, where a URL may carry a
        // key (the Live API's token route does).
        let (timed_out, never_sent) = (e.timed_out, e.connect);
        let described = describe(&e, url);
        let at = if described.host.is_empty() {
            String::new()
        } else {
            format!(" at {}", described.host)
        };
        let timeout = attempt.timeout;
        if timed_out {
            let error = if attempt.deadline_bound {
                Error::deadline_exceeded(format!(
                    "the call's deadline expired while waiting for Qencode{at} ({operation}) after {timeout:?}"
                ))
            } else {
                Error::upstream(
                    ErrorKind::Unavailable,
                    reasons::UPSTREAM_TIMEOUT,
                    format!("Qencode{at} did not answer {operation} within {timeout:?}"),
                )
            };
            return Failure {
                error: error
                    .with_metadata("host", &described.host)
                    .with_metadata("cause", Cause::Timeout.as_str()),
                transient: !attempt.deadline_bound,
                never_sent: false,
            };
        }
        let what = if never_sent {
            "could not connect to Qencode"
        } else {
            "the connection to Qencode failed"
        };
        if let Some(suppressed) = transport_throttle(operation, described.cause).allow() {
            warn!(
                operation,
                host = %described.host,
                cause = described.cause.as_str(),
                error = %described.detail,
                suppressed,
                "upstream transport failure"
            );
        }
        Failure {
            error: Error::upstream(
                ErrorKind::Unavailable,
                reasons::UPSTREAM_UNREACHABLE,
                format!("{what}{at} ({operation}): {}", described.detail),
            )
            .with_metadata("host", &described.host)
            .with_metadata("cause", described.cause.as_str()),
            transient: true,
            never_sent,
        }
    }

    /// An answer whose body is not JSON; transient when the status is 5xx.
    pub fn not_json(
        operation: &str,
        status: StatusCode,
        content_type: &str,
        retry_after: Option<Duration>,
    ) -> Self {
        let mut error = Error::upstream(
            ErrorKind::Unavailable,
            reasons::UPSTREAM_NOT_JSON,
            format!(
                "Qencode answered {operation} with HTTP {status} and a {content_type} body instead of JSON"
            ),
        )
        .with_metadata("http_status", status.as_u16());
        if let Some(delay) = retry_after {
            error = error.with_retry_after(delay);
        }
        Failure {
            error,
            transient: status.is_server_error(),
            never_sent: false,
        }
    }

    /// HTTP 413 or 414: the request (query, payload) is too large for Qencode. The
    /// caller's input decides that, so INVALID_ARGUMENT, never repeated. `None` for any
    /// other status.
    pub fn too_large(operation: &str, status: StatusCode) -> Option<Self> {
        if !matches!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::URI_TOO_LONG
        ) {
            return None;
        }
        let error = Error::new(
            ErrorKind::InvalidArgument,
            crate::support::error::UPSTREAM_DOMAIN,
            reasons::UPSTREAM_REQUEST_TOO_LARGE,
            format!("Qencode refused {operation} as too large (HTTP {status}); send a smaller query or payload"),
        )
        .with_metadata("http_status", status.as_u16());
        Some(Failure::fatal(error))
    }

    /// A 5xx JSON answer with no `error` field to explain it (`names_error` false):
    /// transient, with the answer's `Retry-After` for the caller. `None` for any other
    /// answer, which goes back to the API client to read.
    pub fn unexplained_server_error(
        operation: &str,
        status: StatusCode,
        names_error: bool,
        retry_after: Option<Duration>,
    ) -> Option<Self> {
        if !status.is_server_error() || names_error {
            return None;
        }
        let mut error = Error::upstream(
            ErrorKind::Unavailable,
            reasons::UPSTREAM_HTTP_ERROR,
            format!("Qencode answered {operation} with HTTP {status}"),
        )
        .with_metadata("http_status", status.as_u16());
        if let Some(delay) = retry_after {
            error = error.with_retry_after(delay);
        }
        Some(Failure {
            error,
            transient: true,
            never_sent: false,
        })
    }
}

/// One WARN line per operation and cause every [`crate::support::limit_hits::LOG_EVERY`], with the
/// count held back: an unreachable upstream would otherwise write a line per attempt of
/// every call. The map is bounded by the operations and causes that exist.
fn transport_throttle(operation: &str, cause: Cause) -> Arc<crate::support::limit_hits::Throttle> {
    type Throttles = HashMap<(String, Cause), Arc<crate::support::limit_hits::Throttle>>;
    static THROTTLES: LazyLock<Mutex<Throttles>> = LazyLock::new(Mutex::default);
    let mut throttles = THROTTLES.lock().unwrap_or_else(|e| e.into_inner());
    throttles
        .entry((operation.to_owned(), cause))
        .or_default()
        .clone()
}

/// `Retry-After` as a delay, clamped to an hour: either form RFC 9110 allows, seconds
/// or an HTTP-date (a date in the past is no wait at all).
pub fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    retry_after_at(headers, chrono::Utc::now())
}

/// [`retry_after`] as seen at `now`.
fn retry_after_at(headers: &header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds = if text.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: seconds (more digits than u64 holds is still "very long").
        text.parse::<u64>().unwrap_or(u64::MAX)
    } else {
        let at = http_date(text)?;
        u64::try_from((at - now).num_seconds()).unwrap_or(0)
    };
    (!text.is_empty()).then(|| Duration::from_secs(seconds.min(MAX_RETRY_AFTER_SECS)))
}

/// An HTTP-date: the IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, or either obsolete form
/// recipients must still read (RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`, asctime
/// `Sun Nov  6 08:49:37 1994`).
fn http_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc2822(text) {
        return Some(at.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|at| at.and_utc())
}

/// The wait before attempt `attempt + 1` of a failure whose answer asked for `asked`
/// (`Retry-After`): the backoff, or the upstream's delay when longer; `None` when the
/// upstream asks for more than the longest backoff, so the caller is told (RetryInfo)
/// rather than held.
pub fn wait_before_retry(attempt: u32, asked: Option<Duration>) -> Option<Duration> {
    let wait = backoff(attempt);
    match asked {
        Some(asked) if asked > MAX_BACKOFF => None,
        Some(asked) => Some(asked.max(wait)),
        None => Some(wait),
    }
}

/// The wait before attempt `attempt + 1`: exponential backoff with jitter, between half
/// and all of 50 ms, 100 ms, 200 ms... capped at 2 s.
pub fn backoff(attempt: u32) -> Duration {
    let jitter = rand::rng().random_range(0.5..=1.0);
    backoff_cap(attempt).mul_f64(jitter)
}

/// The longest wait after attempt `attempt` (1-based).
fn backoff_cap(attempt: u32) -> Duration {
    let cap = BASE_BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1));
    cap.min(MAX_BACKOFF)
}

#[cfg(test)]
mod retry_tests;
