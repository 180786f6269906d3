//! Qencode Transcoding API error codes, mapped by meaning.
//!
//! The same code means different things per call: in the Transcoding API only
//! `create_task` carries the access token, so "bad token"/"token not found" there means
//! the gateway's session token went stale (refresh and retry), while on `start_encode2`
//! and `status` it means the caller's task token is malformed or unknown.
//!
//! Whose mistake an error is decides its code. The API key (codes 2, 3) and the session
//! token refused even when freshly issued are the operator's credentials, not the
//! caller's: FAILED_PRECONDITION (nothing the caller retries or changes helps until an
//! operator fixes the deployment), never UNAUTHENTICATED, which generic clients answer
//! by refreshing their own credentials and which stays for the caller's own identity.
//! INTERNAL would say the gateway or Qencode broke, which a wrong key is not. Likewise a
//! field Qencode says is missing (14) is the caller's only when the caller supplies it:
//! one the gateway fills in ([`GATEWAY_FIELDS`]) is a gateway fault.

use crate::support::error::{Error, ErrorKind};
use crate::support::reasons;
use std::time::Duration;

/// Form fields the gateway fills in itself (the caller's values are checked before
/// any request): Qencode requiring one of them (code 14) is the gateway's fault.
pub const GATEWAY_FIELDS: &[&str] = &["api_key", "token", "task_token", "task_tokens"];

/// Which kind of token a call sends, which decides what codes 4 and 5 mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// The API key (`/v1/access_token`).
    ApiKey,
    /// The gateway's session token (`/v1/create_task`).
    SessionToken,
    /// The caller's task token(s) (`/v1/start_encode2`, `/v1/start_encode`, `/v1/status`).
    TaskToken,
}

/// An error answer from the Transcoding API, mapped.
#[derive(Debug)]
pub struct CodeError {
    /// The mapped error.
    pub error: Error,
    /// True when the session token was refused: invalidate it and retry once.
    pub session_token_rejected: bool,
}

/// Maps Qencode's `error` code (non-zero) with its `message` to an [`Error`]. `field` is
/// the answer's `field` attribute, which names the missing field of error 14.
pub fn map_code(
    code: i64,
    message: Option<&str>,
    field: Option<&str>,
    token_use: TokenUse,
    retry_after: Option<Duration>,
) -> CodeError {
    use ErrorKind::*;
    let upstream = message.map(str::trim).filter(|m| !m.is_empty());
    // The field error 14 names: its `field` attribute, else the one its message quotes.
    let named = field
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .or_else(|| upstream.and_then(quoted_field));
    let gateways_field = named
        .as_deref()
        .is_some_and(|f| GATEWAY_FIELDS.contains(&f));
    let (kind, reason, text): (ErrorKind, &'static str, &str) = match code {
        1 => (
            Internal,
            reasons::QENCODE_SERVER_INTERNAL,
            "Qencode reported an internal server error",
        ),
        2 => (
            FailedPrecondition,
            reasons::QENCODE_BAD_API_KEY,
            "Qencode rejected the gateway's API key; an operator must fix it (QENCODE_API_KEY or the project's key)",
        ),
        3 => (
            FailedPrecondition,
            reasons::QENCODE_API_KEY_NOT_FOUND,
            "Qencode does not know the gateway's API key; an operator must fix it (QENCODE_API_KEY or the project's key)",
        ),
        4 if token_use == TokenUse::TaskToken => (
            InvalidArgument,
            reasons::QENCODE_BAD_TOKEN,
            "Qencode says the task token is malformed",
        ),
        4 => (
            FailedPrecondition,
            reasons::UPSTREAM_TOKEN_REJECTED,
            "Qencode rejected the gateway's session token, also one issued just now for its API key; an operator must look into the key's project",
        ),
        5 if token_use == TokenUse::TaskToken => (
            NotFound,
            reasons::QENCODE_TOKEN_NOT_FOUND,
            "Qencode does not know this task token",
        ),
        5 => (
            FailedPrecondition,
            reasons::UPSTREAM_TOKEN_REJECTED,
            "Qencode does not know the gateway's session token, also one issued just now for its API key; an operator must look into the key's project",
        ),
        6 => (
            FailedPrecondition,
            reasons::QENCODE_SERVICE_SUSPENDED,
            "the Qencode account is suspended; clear its billing issues",
        ),
        7 => (
            Internal,
            reasons::QENCODE_MASTER_NOT_FOUND,
            "Qencode could not find the task's master server",
        ),
        8 => (
            Unavailable,
            reasons::QENCODE_SYSTEM_BUSY,
            "Qencode is busy; retry later",
        ),
        9 => (
            InvalidArgument,
            reasons::QENCODE_BAD_PAYLOAD,
            "Qencode rejected the payload (over 1000 characters?)",
        ),
        10 => (
            Internal,
            reasons::QENCODE_PROJECT_NOT_FOUND,
            "Qencode could not find the project of the gateway's API key",
        ),
        11 => (
            InvalidArgument,
            reasons::QENCODE_BAD_PROFILE,
            "Qencode rejected a profile value",
        ),
        12 => (
            NotFound,
            reasons::QENCODE_PROFILE_NOT_FOUND,
            "Qencode does not know the profile",
        ),
        13 => (
            InvalidArgument,
            reasons::QENCODE_BAD_TOKENS,
            "Qencode rejected the task token list",
        ),
        14 if gateways_field => (
            Internal,
            reasons::QENCODE_FIELD_REQUIRED,
            "Qencode says the gateway's request lacked a field the gateway fills in itself (a gateway fault, not the caller's)",
        ),
        14 => (
            InvalidArgument,
            reasons::QENCODE_FIELD_REQUIRED,
            "Qencode requires a field the request did not carry",
        ),
        _ => (
            Internal,
            reasons::QENCODE_UNKNOWN_ERROR,
            "Qencode returned an error code this gateway does not know",
        ),
    };
    let message = match upstream {
        Some(m) => format!("{text}: {m}"),
        None => text.to_owned(),
    };
    let mut error = Error::upstream(kind, reason, message).with_metadata("code", code);
    match code {
        8 => error = error.with_retry_after(retry_after.unwrap_or(Duration::from_secs(5))),
        4 if token_use == TokenUse::TaskToken => {
            error = error.with_violation("task_token", "malformed upstream")
        }
        9 => error = error.with_violation("payload", "rejected upstream"),
        11 => error = error.with_violation("profiles", "a profile value was rejected upstream"),
        13 => error = error.with_violation("task_tokens", "rejected upstream"),
        14 => {
            if let Some(named) = named {
                error = error.with_metadata("field", &named);
                if !gateways_field {
                    error = error.with_violation(&named, "required upstream");
                }
            }
        }
        _ => {}
    }
    CodeError {
        error,
        session_token_rejected: token_use == TokenUse::SessionToken && matches!(code, 4 | 5),
    }
}

/// The field named in error 14's message, "Value for field 'X' is required in request.",
/// for answers that carry no `field` attribute.
fn quoted_field(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("field '")?;
    let (name, _) = rest.split_once('\'')?;
    (!name.trim().is_empty()).then(|| name.trim().to_owned())
}

/// The `error` code of a Transcoding API answer: `None` for success (0 or absent).
pub fn error_code(body: &serde_json::Value) -> Option<i64> {
    let code = crate::upstream::lenient::f64_of(body.get("error"))? as i64;
    (code != 0).then_some(code)
}

/// The retry delay an answer carries in its body (Qencode's "retry in N seconds").
pub fn body_retry_after(body: &serde_json::Value) -> Option<Duration> {
    ["retry_after", "retry", "retry_in"]
        .iter()
        .find_map(|key| crate::upstream::lenient::f64_of(body.get(*key)))
        .filter(|s| *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_a_meaning() {
        for code in 1..=14 {
            let mapped = map_code(code, None, None, TokenUse::SessionToken, None);
            assert_eq!(mapped.error.metadata.get("code"), Some(&code.to_string()));
            let reason = &mapped.error.reason;
            assert!(reason.starts_with("QENCODE_") || reason == "UPSTREAM_TOKEN_REJECTED");
            assert_ne!(mapped.error.reason, "QENCODE_UNKNOWN_ERROR", "code {code}");
        }
        assert_eq!(
            map_code(99, None, None, TokenUse::TaskToken, None)
                .error
                .reason,
            "QENCODE_UNKNOWN_ERROR"
        );
    }

    #[test]
    fn token_codes_depend_on_the_call() {
        let session = map_code(5, None, None, TokenUse::SessionToken, None);
        assert!(session.session_token_rejected);
        assert_eq!(session.error.kind, ErrorKind::FailedPrecondition);
        assert_eq!(session.error.reason, "UPSTREAM_TOKEN_REJECTED");
        let session = map_code(4, None, None, TokenUse::SessionToken, None).error;
        assert_eq!(
            (session.kind, session.reason.as_ref()),
            (ErrorKind::FailedPrecondition, "UPSTREAM_TOKEN_REJECTED")
        );
        let task = map_code(5, Some("no such task"), None, TokenUse::TaskToken, None);
        assert!(!task.session_token_rejected);
        assert_eq!(task.error.kind, ErrorKind::NotFound);
        assert!(task.error.message.ends_with("no such task"));
        assert_eq!(
            map_code(4, None, None, TokenUse::TaskToken, None)
                .error
                .kind,
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn busy_carries_retry_info() {
        let busy = map_code(
            8,
            None,
            None,
            TokenUse::TaskToken,
            Some(Duration::from_secs(7)),
        );
        assert_eq!(busy.error.kind, ErrorKind::Unavailable);
        assert_eq!(busy.error.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(
            map_code(8, None, None, TokenUse::TaskToken, None)
                .error
                .retry_after,
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn field_required_names_the_upstream_field() {
        let message = "Value for field 'profiles' is required in request.";
        let mapped = map_code(
            14,
            Some(message),
            Some("profiles"),
            TokenUse::TaskToken,
            None,
        );
        assert_eq!(mapped.error.kind, ErrorKind::InvalidArgument);
        assert_eq!(mapped.error.reason, "QENCODE_FIELD_REQUIRED");
        assert_eq!(mapped.error.violations.len(), 1);
        assert_eq!(mapped.error.violations[0].field, "profiles");
        assert_eq!(
            mapped.error.metadata.get("field").map(String::as_str),
            Some("profiles")
        );
        assert!(mapped.error.message.ends_with(message));
        // Without the attribute, the field comes from the message.
        let from_text = map_code(
            14,
            Some("Value for field 'uri' is required in request."),
            None,
            TokenUse::TaskToken,
            None,
        );
        assert_eq!(from_text.error.violations[0].field, "uri");
        // Neither: still INVALID_ARGUMENT, with no made-up field.
        let bare = map_code(14, None, None, TokenUse::TaskToken, None);
        assert_eq!(bare.error.kind, ErrorKind::InvalidArgument);
        assert!(bare.error.violations.is_empty());
    }

    #[test]
    fn documented_codes_map_by_meaning() {
        use ErrorKind::*;
        let expected = [
            (1, Internal, "QENCODE_SERVER_INTERNAL"),
            (2, FailedPrecondition, "QENCODE_BAD_API_KEY"),
            (3, FailedPrecondition, "QENCODE_API_KEY_NOT_FOUND"),
            (4, InvalidArgument, "QENCODE_BAD_TOKEN"),
            (5, NotFound, "QENCODE_TOKEN_NOT_FOUND"),
            (6, FailedPrecondition, "QENCODE_SERVICE_SUSPENDED"),
            (7, Internal, "QENCODE_MASTER_NOT_FOUND"),
            (8, Unavailable, "QENCODE_SYSTEM_BUSY"),
            (9, InvalidArgument, "QENCODE_BAD_PAYLOAD"),
            (10, Internal, "QENCODE_PROJECT_NOT_FOUND"),
            (11, InvalidArgument, "QENCODE_BAD_PROFILE"),
            (12, NotFound, "QENCODE_PROFILE_NOT_FOUND"),
            (13, InvalidArgument, "QENCODE_BAD_TOKENS"),
            (14, InvalidArgument, "QENCODE_FIELD_REQUIRED"),
        ];
        for (code, kind, reason) in expected {
            let mapped = map_code(code, None, None, TokenUse::TaskToken, None).error;
            assert_eq!(
                (mapped.kind, mapped.reason.as_ref()),
                (kind, reason),
                "code {code}"
            );
            assert_eq!(mapped.domain, crate::support::error::UPSTREAM_DOMAIN);
        }
        let bad_profile = map_code(11, None, None, TokenUse::TaskToken, None).error;
        assert_eq!(bad_profile.violations[0].field, "profiles");
    }

    #[test]
    fn no_upstream_code_is_unauthenticated() {
        for token_use in [
            TokenUse::ApiKey,
            TokenUse::SessionToken,
            TokenUse::TaskToken,
        ] {
            for code in 1..=15 {
                let mapped = map_code(code, None, Some("token"), token_use, None).error;
                assert_ne!(
                    mapped.kind,
                    ErrorKind::Unauthenticated,
                    "{code} {token_use:?}"
                );
            }
        }
    }

    #[test]
    fn a_required_field_the_gateway_fills_in_is_not_the_callers() {
        for field in GATEWAY_FIELDS {
            let message = format!("Value for field '{field}' is required in request.");
            for attribute in [Some(*field), None] {
                let mapped = map_code(14, Some(&message), attribute, TokenUse::TaskToken, None);
                let error = mapped.error;
                assert_eq!(error.kind, ErrorKind::Internal, "{field}");
                assert_eq!(error.reason, "QENCODE_FIELD_REQUIRED");
                assert!(error.violations.is_empty(), "no BadRequest on {field}");
                assert_eq!(
                    error.metadata.get("field").map(String::as_str),
                    Some(*field)
                );
            }
        }
        let callers = map_code(14, None, Some("query"), TokenUse::TaskToken, None).error;
        assert_eq!(callers.kind, ErrorKind::InvalidArgument);
        assert_eq!(callers.violations[0].field, "query");
    }

    #[test]
    fn error_codes_read_leniently() {
        assert_eq!(error_code(&serde_json::json!({"error": 0})), None);
        assert_eq!(error_code(&serde_json::json!({"error": "8"})), Some(8));
        assert_eq!(error_code(&serde_json::json!({})), None);
        assert_eq!(
            body_retry_after(&serde_json::json!({"retry_after": "3"})),
            Some(Duration::from_secs(3))
        );
    }
}
