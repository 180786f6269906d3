//! The one place a domain [`Error`] becomes a `tonic::Status`, with `ErrorInfo` always,
//! `BadRequest` for invalid fields and `RetryInfo` when retrying later makes sense.

use crate::support::error::{Error, ErrorKind};
use crate::support::reasons;
use std::collections::HashMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The gRPC code of each error kind.
pub fn code(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::Unauthenticated => Code::Unauthenticated,
        ErrorKind::PermissionDenied => Code::PermissionDenied,
        ErrorKind::FailedPrecondition => Code::FailedPrecondition,
        ErrorKind::Aborted => Code::Aborted,
        ErrorKind::ResourceExhausted => Code::ResourceExhausted,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::DeadlineExceeded => Code::DeadlineExceeded,
        ErrorKind::Internal => Code::Internal,
    }
}

/// Converts a domain error to a status with rich details.
pub fn to_status(error: Error) -> Status {
    let error = error.into_data();
    let mut details = ErrorDetails::new();
    let metadata: HashMap<String, String> = error.metadata.into_iter().collect();
    details.set_error_info(error.reason.into_owned(), error.domain, metadata);
    if !error.violations.is_empty() {
        details.set_bad_request(
            error
                .violations
                .into_iter()
                .map(|v| tonic_types::FieldViolation::new(v.field, v.description))
                .collect::<Vec<_>>(),
        );
    }
    if let Some(delay) = error.retry_after {
        details.set_retry_info(Some(delay));
    }
    if !error.quota.is_empty() {
        details.set_quota_failure(
            error
                .quota
                .into_iter()
                .map(|(subject, description)| {
                    tonic_types::QuotaViolation::new(subject, description)
                })
                .collect::<Vec<_>>(),
        );
    }
    Status::with_error_details(code(error.kind), error.message, details)
}

/// A refusal the tower layer answers itself, before any service runs, as the HTTP
/// response of a trailers-only gRPC error.
pub fn to_http<B>(error: Error) -> http::Response<B>
where
    B: Default,
{
    to_status(error).into_http()
}

/// The trailers that end a server stream the gateway closes at shutdown, so the
/// client reconnects elsewhere ([`crate::domain::watch::watch_stream::shutting_down`] is the error).
pub fn shutdown_trailers() -> http::HeaderMap {
    let mut trailers = http::HeaderMap::new();
    if let Err(status) =
        to_status(crate::domain::watch::watch_stream::shutting_down()).add_header(&mut trailers)
    {
        tracing::warn!(code = ?status.code(), "cannot encode the shutdown status; closing without it");
        trailers.insert(
            "grpc-status",
            http::HeaderValue::from(Code::Unavailable as i32),
        );
    }
    trailers
}

/// A request message the codec cannot decode: INVALID_ARGUMENT (the caller sent it
/// wrong), not the INTERNAL tonic-prost reports, with the decoder's reason.
pub fn malformed_message(decode: Status) -> Status {
    to_status(Error::new(
        ErrorKind::InvalidArgument,
        crate::support::error::GATEWAY_DOMAIN,
        reasons::MALFORMED_MESSAGE,
        format!(
            "the request message cannot be decoded: {}",
            decode.message()
        ),
    ))
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        to_status(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn shutdown_trailers_carry_unavailable_and_its_details() {
        let trailers = shutdown_trailers();
        let status = Status::from_header_map(&trailers).expect("a status");
        assert_eq!(status.code(), Code::Unavailable);
        let details = status.get_error_details();
        assert_eq!(details.error_info().unwrap().reason, "SHUTTING_DOWN");
    }

    #[test]
    fn details_survive_the_conversion() {
        let error = Error::invalid_field("query.format", "must list at least one output format")
            .with_retry_after(Duration::from_secs(3))
            .with_metadata("code", 8);
        let status = to_status(error);
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let info = details.error_info().unwrap();
        assert_eq!(info.reason, "INVALID_ARGUMENT");
        assert_eq!(info.metadata.get("code").map(String::as_str), Some("8"));
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            "query.format"
        );
        assert_eq!(
            details.retry_info().unwrap().retry_delay,
            Some(Duration::from_secs(3))
        );
    }
}
