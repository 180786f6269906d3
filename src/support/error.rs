//! The gateway's domain error: what went wrong, in terms a caller can act on.
//!
//! It knows nothing of tonic. [`ErrorKind`] is a deliberately small set that mirrors
//! gRPC's semantics; `grpc::status` turns an [`Error`] into a `tonic::Status` with its
//! `ErrorInfo`, `BadRequest` and `RetryInfo` details in one place.

use crate::support::reasons;
use qencode_gateway_proto::proto_json;
use std::{borrow::Cow, collections::BTreeMap, fmt, time::Duration};

/// Domain for errors that originate upstream (in `ErrorInfo.domain`).
pub const UPSTREAM_DOMAIN: &str = "qencode.com";
/// Domain for errors the gateway raises itself (local validation, limits, deadlines).
pub const GATEWAY_DOMAIN: &str = "qencode-gateway";

/// What kind of failure this is; decides the gRPC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller's input is wrong; repeating it will fail again.
    InvalidArgument,
    /// The task, stream or other entity does not exist upstream.
    NotFound,
    /// The gateway's credentials were refused upstream.
    Unauthenticated,
    /// The credentials are valid but not allowed to do this.
    PermissionDenied,
    /// The system is not in a state that allows this (suspended account, stream running).
    FailedPrecondition,
    /// A concurrency conflict upstream.
    Aborted,
    /// A gateway limit was reached.
    ResourceExhausted,
    /// The upstream is unreachable, overloaded or answered garbage; retrying may help.
    Unavailable,
    /// The caller's deadline expired before the upstream answered.
    DeadlineExceeded,
    /// The upstream reported an internal failure, or the gateway hit a bug.
    Internal,
}

/// One invalid request field, reported to the caller in a `BadRequest` detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field path in the request message, e.g. `query.format[0].output`.
    pub field: String,
    /// Why the value is not acceptable.
    pub description: String,
}

/// A failure with everything the caller needs to act on it. Boxed so a `Result` stays
/// one pointer wide on the hot path; fields are reached through `Deref`.
#[derive(Debug, Clone)]
pub struct Error(Box<ErrorData>);

/// The contents of an [`Error`].
#[derive(Debug, Clone)]
pub struct ErrorData {
    /// Decides the gRPC code.
    pub kind: ErrorKind,
    /// `ErrorInfo.domain`: [`UPSTREAM_DOMAIN`] or [`GATEWAY_DOMAIN`].
    pub domain: &'static str,
    /// `ErrorInfo.reason`, UPPER_SNAKE (e.g. `QENCODE_SYSTEM_BUSY`).
    pub reason: Cow<'static, str>,
    /// Human-readable message; says what the upstream did. Never holds a secret.
    pub message: String,
    /// `ErrorInfo.metadata`, e.g. `code` = Qencode's numeric error code.
    pub metadata: BTreeMap<String, String>,
    /// When set, the caller may retry after this long (`RetryInfo`).
    pub retry_after: Option<Duration>,
    /// Invalid fields (`BadRequest`).
    pub violations: Vec<FieldViolation>,
    /// Used-up quotas (`QuotaFailure`): (subject, description).
    pub quota: Vec<(String, String)>,
}

impl Error {
    /// A new error with no details.
    pub fn new(
        kind: ErrorKind,
        domain: &'static str,
        reason: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Error(Box::new(ErrorData {
            kind,
            domain,
            reason: reason.into(),
            message: message.into(),
            metadata: BTreeMap::new(),
            retry_after: None,
            violations: Vec::new(),
            quota: Vec::new(),
        }))
    }

    /// The contents, by value.
    pub fn into_data(self) -> ErrorData {
        *self.0
    }

    /// Input rejected before any upstream call.
    pub fn invalid_argument(violations: Vec<FieldViolation>) -> Self {
        let message = match violations.as_slice() {
            [] => "invalid request".to_owned(),
            [one] => format!("invalid {}: {}", one.field, one.description),
            [first, rest @ ..] => format!(
                "invalid {}: {} (and {} more)",
                first.field,
                first.description,
                rest.len()
            ),
        };
        let mut error = Error::new(
            ErrorKind::InvalidArgument,
            GATEWAY_DOMAIN,
            reasons::INVALID_ARGUMENT,
            message,
        );
        error.violations = violations;
        error
    }

    /// One invalid field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::invalid_argument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// An error attributed to the upstream (domain [`UPSTREAM_DOMAIN`]).
    pub fn upstream(
        kind: ErrorKind,
        reason: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Error::new(kind, UPSTREAM_DOMAIN, reason, message)
    }

    /// The caller's deadline left no time for the upstream call.
    pub fn deadline_exceeded(message: impl Into<String>) -> Self {
        Error::new(
            ErrorKind::DeadlineExceeded,
            GATEWAY_DOMAIN,
            reasons::DEADLINE_EXCEEDED,
            message,
        )
    }

    /// Adds an `ErrorInfo.metadata` entry.
    pub fn with_metadata(mut self, key: &str, value: impl ToString) -> Self {
        self.metadata.insert(key.to_owned(), value.to_string());
        self
    }

    /// Sets the `RetryInfo` delay.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Adds a `QuotaFailure` violation: which quota (`subject`) and how it is used up.
    pub fn with_quota_violation(mut self, subject: String, description: String) -> Self {
        self.quota.push((subject, description));
        self
    }

    /// Adds a `BadRequest` field violation.
    pub fn with_violation(mut self, field: &str, description: impl Into<String>) -> Self {
        self.violations.push(FieldViolation {
            field: field.to_owned(),
            description: description.into(),
        });
        self
    }
}

impl std::ops::Deref for Error {
    type Target = ErrorData;
    fn deref(&self) -> &ErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorData {
        &mut self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.reason)
    }
}

impl std::error::Error for Error {}

/// Most violations reported in one error; the rest are counted in a final one, so the
/// `BadRequest` detail (sent base64 in the `grpc-status-details-bin` trailer, which
/// proxies often cap at 8 KiB) stays small.
pub const MAX_VIOLATIONS: usize = 100;
/// Most bytes of field paths and descriptions reported in one error (base64 makes 6 KiB
/// about 8 KiB on the wire); past it, violations are counted instead.
pub const MAX_VIOLATION_BYTES: usize = 6 * 1024;
/// Longest violation description, in bytes (longer ones are cut at a char boundary).
pub const MAX_DESCRIPTION: usize = 256;
/// Longest field path, in bytes.
pub const MAX_FIELD: usize = 128;

/// Collects field violations so a request reports all its problems at once (the first
/// [`MAX_VIOLATIONS`] of them, and how many more there were).
#[derive(Debug, Default)]
pub struct Violations {
    list: Vec<FieldViolation>,
    /// Bytes of fields and descriptions in `list`.
    bytes: usize,
    /// Violations recorded past the bounds.
    more: usize,
}

impl Violations {
    /// Records one invalid field.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        let field = cap(field.into(), MAX_FIELD);
        let description = cap(description.into(), MAX_DESCRIPTION);
        let bytes = field.len() + description.len();
        if self.list.len() >= MAX_VIOLATIONS || self.bytes + bytes > MAX_VIOLATION_BYTES {
            self.more += 1;
            return;
        }
        self.bytes += bytes;
        self.list.push(FieldViolation { field, description });
    }

    /// Records why a typed message has no Qencode JSON: the caller's field, or (for a
    /// build defect in the embedded descriptors) an ERROR log line and nothing for the
    /// caller to fix.
    pub fn add_json_error(&mut self, error: proto_json::Error) {
        match error {
            proto_json::Error::InvalidField { field, description } => self.add(field, description),
            proto_json::Error::Schema(message) => {
                tracing::error!(%message, "a typed message could not be written as JSON");
            }
        }
    }

    /// `Ok(())` when nothing was recorded, else an `INVALID_ARGUMENT` error.
    pub fn into_result(mut self) -> Result<(), Error> {
        if self.list.is_empty() {
            return Ok(());
        }
        let total = self.list.len() + self.more;
        // The message names the first problem and counts all the others, including
        // those past the cap that the details only count.
        let message = match self.list.first() {
            Some(first) if total > 1 => Some(format!(
                "invalid {}: {} (and {} more)",
                first.field,
                first.description,
                total - 1
            )),
            _ => None,
        };
        if self.more > 0 {
            self.list.push(FieldViolation {
                field: "...".into(),
                description: format!("and {} more", self.more),
            });
        }
        let mut error = Error::invalid_argument(self.list);
        if let Some(message) = message {
            error.message = message;
        }
        Err(error)
    }
}

/// `text` cut to at most `max` bytes at a char boundary, marked with an ellipsis.
fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub('…'.len_utf8());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_bounded_in_number_and_length() {
        let mut v = Violations::default();
        for i in 0..1000 {
            v.add(format!("query.format[{i}].output"), "is not a known output");
        }
        let error = v.into_result().unwrap_err();
        assert_eq!(error.violations.len(), MAX_VIOLATIONS + 1);
        let last = error.violations.last().unwrap();
        assert_eq!(
            (last.field.as_str(), last.description.as_str()),
            ("...", "and 900 more")
        );
        assert_eq!(
            error.message,
            "invalid query.format[0].output: is not a known output (and 999 more)"
        );
        let mut long = Violations::default();
        for i in 0..1000 {
            long.add(
                format!("query.format[{i}].{}", "x".repeat(300)),
                "é".repeat(400),
            );
        }
        let error = long.into_result().unwrap_err();
        let first = &error.violations[0];
        assert!(first.description.len() <= MAX_DESCRIPTION && first.description.ends_with('…'));
        assert!(first.field.len() <= MAX_FIELD);
        assert!(
            error.violations.len() < MAX_VIOLATIONS,
            "the byte budget bites first"
        );
        let size: usize = error
            .violations
            .iter()
            .map(|v| v.field.len() + v.description.len() + 8)
            .sum();
        assert!(size < 8 * 1024, "{size} bytes of BadRequest");
    }

    #[test]
    fn one_violation_keeps_its_message() {
        let mut v = Violations::default();
        v.add("query", "is required");
        assert_eq!(
            v.into_result().unwrap_err().message,
            "invalid query: is required"
        );
    }
}
