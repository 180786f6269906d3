//! The caller's gRPC deadline, carried to the upstream call.
//!
//! It exists apart from the HTTP client because nearly every layer passes a
//! [`Deadline`] along (services, watchers, uploads), while only the client turns it into
//! a per-attempt timeout ([`attempt_timeout`]). A small [`DEADLINE_MARGIN`] is kept back
//! so the gateway can still answer before the caller gives up.

use crate::support::error::Error;
use std::time::Duration;
use tokio::time::Instant;

/// Time kept back from the caller's deadline so the gateway can still answer in time.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(20);

/// The caller's deadline, if it sent one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deadline(pub Option<Instant>);

impl Deadline {
    /// No deadline: only the configured timeouts apply.
    pub const NONE: Deadline = Deadline(None);

    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Deadline(Some(Instant::now() + timeout))
    }

    /// Time left before the deadline, less a small margin to answer in.
    pub fn remaining(&self) -> Option<Duration> {
        self.0.map(|at| {
            at.saturating_duration_since(Instant::now())
                .saturating_sub(DEADLINE_MARGIN)
        })
    }
}

/// The timeout of one upstream attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptTimeout {
    /// How long the attempt may take.
    pub timeout: Duration,
    /// True when the caller's deadline, not the configured limit, set `timeout`: a
    /// timeout then reads as the caller's deadline expiring.
    pub deadline_bound: bool,
}

/// The timeout of one attempt of `operation`: `limit`, shortened to the time the
/// caller's deadline leaves. `DEADLINE_EXCEEDED` when the deadline leaves no time.
pub fn attempt_timeout(
    operation: &str,
    limit: Duration,
    deadline: Deadline,
) -> Result<AttemptTimeout, Error> {
    match deadline.remaining() {
        Some(left) if left.is_zero() => Err(Error::deadline_exceeded(format!(
            "the call's deadline left no time to call Qencode ({operation})"
        ))),
        Some(left) if left < limit => Ok(AttemptTimeout {
            timeout: left,
            deadline_bound: true,
        }),
        _ => Ok(AttemptTimeout {
            timeout: limit,
            deadline_bound: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::error::ErrorKind;

    const LIMIT: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn a_shorter_deadline_bounds_the_attempt() {
        let deadline = Deadline::after(Duration::from_secs(2));
        let attempt = attempt_timeout("status", LIMIT, deadline).unwrap();
        assert_eq!(
            attempt,
            AttemptTimeout {
                timeout: Duration::from_secs(2) - DEADLINE_MARGIN,
                deadline_bound: true,
            }
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        let attempt = attempt_timeout("status", LIMIT, deadline).unwrap();
        assert_eq!(attempt.timeout, Duration::from_secs(1) - DEADLINE_MARGIN);
    }

    #[tokio::test(start_paused = true)]
    async fn a_longer_deadline_leaves_the_limit() {
        let deadline = Deadline::after(Duration::from_secs(60));
        let attempt = attempt_timeout("status", LIMIT, deadline).unwrap();
        assert_eq!(
            attempt,
            AttemptTimeout {
                timeout: LIMIT,
                deadline_bound: false,
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_deadline_means_the_limit() {
        let attempt = attempt_timeout("status", LIMIT, Deadline::NONE).unwrap();
        assert_eq!(attempt.timeout, LIMIT);
        assert!(!attempt.deadline_bound);
        assert_eq!(Deadline::NONE.remaining(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn no_time_left_is_deadline_exceeded() {
        let deadline = Deadline::after(Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        let error = attempt_timeout("create_task", LIMIT, deadline).unwrap_err();
        assert_eq!(error.kind, ErrorKind::DeadlineExceeded);
        assert_eq!(error.reason, "DEADLINE_EXCEEDED");
        assert!(error.message.contains("create_task"), "{}", error.message);
        // Within the margin counts as no time left, too.
        let deadline = Deadline::after(DEADLINE_MARGIN / 2);
        let error = attempt_timeout("status", LIMIT, deadline).unwrap_err();
        assert_eq!(error.kind, ErrorKind::DeadlineExceeded);
    }
}
