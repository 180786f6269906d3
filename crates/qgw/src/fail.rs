//! Why a command failed, how it is printed, and the exit code it maps to.
//!
//! A gRPC error is printed with everything the gateway put in its rich details (each
//! `BadRequest` field, `RetryInfo`, `ErrorInfo`) because that is what tells the caller
//! what to change; the exit code is `10 + code` so scripts can branch on it.

use serde_json::{json, Value};
use std::process::ExitCode;
use tonic::Status;
use tonic_types::StatusExt;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Something on this machine: a file, a flag combination, TLS material.
    Local(String),
    /// The gateway answered an error (or could not be reached: `UNAVAILABLE`).
    Rpc(Status),
    /// The call worked but the task or stream ended in an error state.
    Ended(String),
    /// Stdout was closed by its reader (`| head`): not an error of the command, which
    /// just stops, silent and with exit 0, as `git log | head` does.
    Closed,
}

impl Failure {
    /// A local failure with `message`.
    pub fn local(message: impl Into<String>) -> Self {
        Self::Local(message.into())
    }

    /// The process exit code (see `qgw --help`).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Closed => ExitCode::SUCCESS,
            Self::Local(_) => ExitCode::from(1),
            Self::Ended(_) => ExitCode::from(3),
            // Codes are 1..=16, so 10 + code always fits a u8.
            Self::Rpc(status) => {
                ExitCode::from(10 + u8::try_from(status.code() as i32).unwrap_or(0))
            }
        }
    }

    /// Prints the failure to stderr, as text or as one JSON object; nothing for
    /// [`Failure::Closed`].
    pub fn print(&self, json: bool) {
        if matches!(self, Self::Closed) {
            return;
        }
        if json {
            eprintln!("{}", self.to_json());
        } else {
            eprint!("{}", self.to_text());
        }
    }

    fn to_text(&self) -> String {
        match self {
            Self::Closed => String::new(),
            Self::Local(message) => format!("error: {message}\n"),
            Self::Ended(message) => format!("failed: {message}\n"),
            Self::Rpc(status) => rpc_text(status),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Closed => Value::Null,
            Self::Local(message) => json!({"error": "local", "message": message}),
            Self::Ended(message) => json!({"error": "ended", "message": message}),
            Self::Rpc(status) => rpc_json(status),
        }
    }
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Self::Rpc(status)
    }
}

/// The standard upper-case name of a gRPC code (as grpcurl and the docs spell it).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

fn rpc_text(status: &Status) -> String {
    let mut text = format!(
        "error: {}: {}\n",
        code_name(status.code()),
        status.message()
    );
    let details = status.get_error_details();
    if let Some(info) = details.error_info() {
        text += &format!("  reason: {} (domain {})\n", info.reason, info.domain);
        let mut metadata: Vec<_> = info.metadata.iter().collect();
        metadata.sort();
        for (key, value) in metadata {
            text += &format!("  {key}: {value}\n");
        }
    }
    if let Some(bad) = details.bad_request() {
        for violation in &bad.field_violations {
            text += &format!("  field {}: {}\n", violation.field, violation.description);
        }
    }
    if let Some(delay) = details.retry_info().and_then(|r| r.retry_delay) {
        text += &format!("  retry after: {:.1}s\n", delay.as_secs_f64());
    }
    text
}

fn rpc_json(status: &Status) -> Value {
    let details = status.get_error_details();
    let violations: Vec<Value> = details
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| json!({"field": v.field, "description": v.description}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "error": "rpc",
        "code": code_name(status.code()),
        "message": status.message(),
        "reason": details.error_info().map(|i| i.reason.clone()),
        "metadata": details.error_info().map(|i| i.metadata.clone()),
        "field_violations": violations,
        "retry_delay_seconds": details
            .retry_info()
            .and_then(|r| r.retry_delay)
            .map(|d| d.as_secs_f64()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, StatusExt};

    #[test]
    fn exit_codes_and_details() {
        let mut details = ErrorDetails::with_bad_request_violation("query.source", "required");
        details.set_error_info("INVALID_ARGUMENT", "qencode-gateway", []);
        let status = Status::with_error_details(tonic::Code::InvalidArgument, "bad", details);
        let failure = Failure::from(status);
        assert_eq!(failure.exit_code(), ExitCode::from(13));
        let text = failure.to_text();
        assert!(text.contains("INVALID_ARGUMENT: bad"), "{text}");
        assert!(text.contains("field query.source: required"), "{text}");
        assert!(text.contains("reason: INVALID_ARGUMENT"), "{text}");
        assert_eq!(
            failure.to_json()["field_violations"][0]["field"],
            "query.source"
        );
        assert_eq!(Failure::local("x").exit_code(), ExitCode::from(1));
        assert_eq!(Failure::Closed.exit_code(), ExitCode::SUCCESS);
    }
}
