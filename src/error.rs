//! The gateway's domain error: what went wrong, in terms a caller can act on.
//!
//! It knows nothing of tonic. [`ErrorKind`] is a deliberately small set that mirrors
//! gRPC's semantics; `grpc::status` turns an [`Error`] into a `tonic::Status` with its
//! `ErrorInfo`, `BadRequest` and `RetryInfo` details in one place.

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
            "INVALID_ARGUMENT",
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
            "DEADLINE_EXCEEDED",
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

/// Collects field violations so a request reports all its problems at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Records one invalid field.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// `Ok(())` when nothing was recorded, else an `INVALID_ARGUMENT` error.
    pub fn into_result(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_argument(self.0))
        }
    }
}
