//! Every `ErrorInfo.reason` the gateway sends, in one place, with what it means.
//!
//! A reason is part of the gateway's API: callers branch on it, alerts match it, and
//! README's reason table ("Every error reason") documents it. Each is a constant here,
//! used where its error is built, and [`ALL`] lists them so a unit test can check that
//! README's table names exactly these. The `qencode.com` domain's reasons come first
//! (what Qencode said or did), then the gateway's own (`qencode-gateway`).

/// Declares reasons: a `&str` constant whose value is its name, and [`ALL`].
macro_rules! reasons {
    ($($(#[doc = $doc:literal])+ $name:ident;)+) => {
        $($(#[doc = $doc])+ pub const $name: &str = stringify!($name);)+
        /// Every reason the gateway sends.
        pub const ALL: &[&str] = &[$(stringify!($name)),+];
    };
}

reasons! {
    // Qencode's error codes (Transcoding API), domain `qencode.com`.
    /// Code 1: Qencode reported an internal error.
    QENCODE_SERVER_INTERNAL;
    /// Code 2: Qencode rejected the gateway's API key (the operator's credential).
    QENCODE_BAD_API_KEY;
    /// Code 3: Qencode does not know the gateway's API key (the operator's credential).
    QENCODE_API_KEY_NOT_FOUND;
    /// Code 4: a task token Qencode finds malformed.
    QENCODE_BAD_TOKEN;
    /// Code 5: Qencode does not know this task token (or another project created it).
    QENCODE_TOKEN_NOT_FOUND;
    /// Code 6: the Qencode account is suspended.
    QENCODE_SERVICE_SUSPENDED;
    /// Code 7: Qencode could not find the master server of the task.
    QENCODE_MASTER_NOT_FOUND;
    /// Code 8: Qencode is busy; retry after the delay in `RetryInfo`.
    QENCODE_SYSTEM_BUSY;
    /// Code 9: Qencode refused the payload.
    QENCODE_BAD_PAYLOAD;
    /// Code 10: Qencode does not know the project of the API key.
    QENCODE_PROJECT_NOT_FOUND;
    /// Code 11: Qencode refused the encoding profile.
    QENCODE_BAD_PROFILE;
    /// Code 12: Qencode does not know the encoding profile.
    QENCODE_PROFILE_NOT_FOUND;
    /// Code 13: Qencode refused the list of task tokens.
    QENCODE_BAD_TOKENS;
    /// Code 14: Qencode says a required field is missing.
    QENCODE_FIELD_REQUIRED;
    /// A Qencode error code the document does not list.
    QENCODE_UNKNOWN_ERROR;
    /// HTTP 429 from the Transcoding API; retry after the delay in `RetryInfo`.
    QENCODE_RATE_LIMITED;

    // The Live Streaming API, domain `qencode.com` (`metadata.http_status`).
    /// HTTP 400 from the Live API.
    QENCODE_LIVE_BAD_REQUEST;
    /// The Live API refused the gateway's API key (the operator's credential).
    QENCODE_LIVE_BAD_API_KEY;
    /// HTTP 403 from the Live API.
    QENCODE_LIVE_FORBIDDEN;
    /// The Live API does not know this stream (or another project's token reached it).
    QENCODE_LIVE_NOT_FOUND;
    /// HTTP 409 from the Live API: the stream's state does not allow the call.
    QENCODE_LIVE_CONFLICT;
    /// Deleting a live stream that is not stopped.
    QENCODE_LIVE_STREAM_NOT_STOPPED;
    /// HTTP 429 from the Live API; retry after the delay in `RetryInfo`.
    QENCODE_LIVE_RATE_LIMITED;
    /// HTTP 5xx from the Live API.
    QENCODE_LIVE_SERVER_ERROR;
    /// A Live API status the gateway does not expect.
    QENCODE_LIVE_UNEXPECTED_STATUS;

    // What the upstream did on the wire, domain `qencode.com`.
    /// Qencode could not be reached (refused, DNS, TLS, reset before an answer).
    UPSTREAM_UNREACHABLE;
    /// Qencode did not answer within the request's bound.
    UPSTREAM_TIMEOUT;
    /// Qencode answered with a non-JSON body (an HTML error page, a proxy's answer).
    UPSTREAM_NOT_JSON;
    /// Qencode answered with an HTTP error and no error code.
    UPSTREAM_HTTP_ERROR;
    /// Qencode's answer lacked what the document says it holds.
    UPSTREAM_UNEXPECTED_RESPONSE;
    /// Qencode refused the gateway's own access token even after one refresh (code 4
    /// or 5 on a session call, the Live API's 401): the operator's credential, not the
    /// caller's.
    UPSTREAM_TOKEN_REJECTED;
    /// Qencode's answer was over the gateway's body limit.
    UPSTREAM_BODY_TOO_LARGE;
    /// Qencode refused the request as too large (HTTP 413).
    UPSTREAM_REQUEST_TOO_LARGE;

    // Direct uploads over TUS, domain `qencode.com` unless noted.
    /// The storage did not find the task to upload to.
    UPLOAD_TASK_NOT_FOUND;
    /// The upload the storage knew is gone; upload the file again.
    UPLOAD_GONE;
    /// The storage refused the file's size.
    UPLOAD_TOO_LARGE;
    /// The storage refused the upload's credentials.
    UPLOAD_FORBIDDEN;
    /// The storage refused the upload for another reason.
    UPLOAD_REFUSED;
    /// The storage answered outside the TUS protocol.
    UPLOAD_PROTOCOL;
    /// The storage holds a different offset than the gateway sent.
    UPLOAD_OFFSET_CONFLICT;
    /// The storage lost bytes it had confirmed; upload the file again.
    UPLOAD_OFFSET_LOST;
    /// A resumed upload's offset is not the storage's (`metadata.bytes_stored`).
    UPLOAD_OFFSET_MISMATCH;
    /// The storage kept failing after every resume (`metadata.resume_token`).
    UPLOAD_INTERRUPTED;
    /// The storage put the upload where a resume token cannot name it.
    UPLOAD_NOT_RESUMABLE;
    /// The upload host, or a location the storage returned, is not trusted.
    UNTRUSTED_UPLOAD_HOST;

    // The gateway's own, domain `qencode-gateway`.
    /// A request field is invalid (`BadRequest` names each); nothing was sent upstream.
    INVALID_ARGUMENT;
    /// The call's deadline (or the default one) expired before its answer.
    DEADLINE_EXCEEDED;
    /// The request message is not valid protobuf.
    MALFORMED_MESSAGE;
    /// The request message is over GATEWAY_MAX_MESSAGE_SIZE.
    MESSAGE_TOO_LARGE;
    /// The request message would take too much memory once decoded.
    REQUEST_TOO_LARGE_DECODED;
    /// GATEWAY_MAX_CONCURRENT_CALLS unary calls are in flight already.
    TOO_MANY_CONCURRENT_CALLS;
    /// GATEWAY_MAX_WATCHERS watch streams are open already.
    TOO_MANY_WATCHERS;
    /// Too many health `Watch` or reflection streams are open, on the connection or in
    /// all (`metadata.limit`).
    TOO_MANY_OPEN_STREAMS;
    /// A watch stream's client took no message for GATEWAY_WATCH_STALL_TIMEOUT.
    WATCH_CLIENT_STALLED;
    /// The gateway is shutting down; call another replica.
    SHUTTING_DOWN;
    /// With a policy file: the caller's identity matches no caller.
    UNKNOWN_CALLER;
    /// The policy does not allow this caller this method.
    METHOD_NOT_ALLOWED;
    /// The caller is over its rate limit; retry after the delay in `RetryInfo`.
    CALLER_RATE_EXCEEDED;
    /// The caller has as many watch streams open as its policy allows.
    CALLER_WATCHERS_EXCEEDED;
    /// `x-qencode-project` names no configured project.
    UNKNOWN_PROJECT;
    /// The caller may not use the project it named.
    PROJECT_NOT_ALLOWED;
    /// A call reached a service without the layer's project (a wiring defect).
    NO_PROJECT;
    /// The upstream issued an access token that had already expired.
    TOKEN_EXPIRED_ON_ARRIVAL;
    /// Fetching an upstream access token ended without an answer.
    TOKEN_FETCH_ABORTED;
    /// Reading an UploadFile request stream failed.
    UPLOAD_STREAM_FAILED;
    /// An UploadFile caller sent nothing for too long.
    UPLOAD_STREAM_IDLE;
    /// A setting or a file it names is unusable (start-up).
    BAD_CONFIGURATION;
    /// No API key is configured (start-up).
    NO_API_KEY;
    /// GATEWAY_REDIS_URL is unusable (start-up).
    BAD_REDIS_URL;
    /// The upstream HTTP client could not be built (start-up).
    HTTP_CLIENT_INIT;
    /// The ledger cannot be written or read (disk full, database down); submissions are
    /// refused before any upstream call. Retry: it recovers by itself.
    LEDGER_UNAVAILABLE;
    /// The gateway runs without a ledger (GATEWAY_DATABASE_URL=off): no request ids,
    /// task lists or budgets.
    LEDGER_OFF;
    /// A request id was used before, by this caller in this project, with a different
    /// request.
    REQUEST_ID_REUSED;
    /// The ledger has no task with this token in the caller's projects.
    TASK_NOT_IN_LEDGER;
    /// A budget of the policy file (max_active_tasks, max_tasks_per_day) is used up;
    /// `QuotaFailure` names it. Nothing was sent to Qencode.
    TASK_BUDGET_EXCEEDED;
}

#[cfg(test)]
mod tests {
    use super::ALL;
    use std::collections::BTreeSet;

    /// The reasons README's "Every error reason" table lists: the first column's
    /// backticked names, from its heading to the next heading.
    fn readme_reasons() -> BTreeSet<String> {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("### Every error reason")
            .expect("README has an \"### Every error reason\" section");
        let section = &readme[start..];
        let end = section[4..].find("\n#").map_or(section.len(), |i| i + 4);
        section[..end]
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split('`').next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn readme_lists_exactly_the_reasons_the_gateway_sends() {
        let code: BTreeSet<String> = ALL.iter().map(|r| r.to_string()).collect();
        assert_eq!(code.len(), ALL.len(), "a reason is declared twice");
        let readme = readme_reasons();
        let missing: Vec<_> = code.difference(&readme).collect();
        let unknown: Vec<_> = readme.difference(&code).collect();
        assert!(
            missing.is_empty(),
            "README's reason table lacks {missing:?}"
        );
        assert!(
            unknown.is_empty(),
            "README lists reasons the gateway never sends: {unknown:?}"
        );
    }

    #[test]
    fn reasons_are_upper_snake() {
        for reason in ALL {
            assert!(
                reason
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()),
                "{reason}"
            );
        }
    }
}
