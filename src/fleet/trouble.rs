//! [`Trouble`]: whether Redis answers, so every fleet feature can fall back to local work
//! at once instead of waiting on a dead Redis.
//!
//! After a failure Redis is treated as down for [`PROBE_AFTER`]: fleet operations return
//! at once and callers do the local thing (fetch their own token, poll their own tasks).
//! The next operation after that probes again. The log says so on every change and at
//! most once a minute while it lasts; the metrics carry the state and an error count.

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Mutex,
};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// How long a failure keeps fleet operations off Redis before the next probe.
pub const PROBE_AFTER: Duration = Duration::from_secs(1);
/// Least time between two log lines about the same outage.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Redis reachability, shared by every fleet feature of one gateway.
#[derive(Debug)]
pub struct Trouble {
    /// `host:port` of Redis, for log lines (never the password).
    target: String,
    up: AtomicBool,
    errors: AtomicU64,
    /// Until when operations skip Redis, and when the last outage line was logged.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    skip_until: Option<Instant>,
    last_log: Option<Instant>,
}

impl Trouble {
    /// Redis at `target` (`host:port`), assumed up until an operation fails.
    pub fn new(target: String) -> Self {
        Trouble {
            target,
            up: AtomicBool::new(true),
            errors: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// False while a recent failure says not to try Redis yet.
    pub fn may_try(&self) -> bool {
        self.lock()
            .skip_until
            .is_none_or(|until| Instant::now() >= until)
    }

    /// Records a failed operation; `what` is a fixed description (never a value).
    pub fn failed(&self, what: &'static str, error: &dyn std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let was_up = self.up.swap(false, Ordering::AcqRel);
        let mut state = self.lock();
        state.skip_until = Some(now + PROBE_AFTER);
        let due = state
            .last_log
            .is_none_or(|last| now.duration_since(last) >= LOG_EVERY);
        if was_up || due {
            state.last_log = Some(now);
            warn!(redis = %self.target, operation = what, error = %redacted(error), "Redis unreachable: this replica polls and serves callbacks locally until it answers");
        }
    }

    /// Records a successful operation.
    pub fn succeeded(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            self.lock().skip_until = None;
            info!(redis = %self.target, "Redis answers again: sharing tokens, callbacks and polling with the fleet");
        }
    }

    /// Whether the last operation succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Failed operations so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

/// The error's text, cut at anything that looks like a URL (redis errors may quote the
/// connection URL, password included).
fn redacted(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    match text.find("redis") {
        Some(at) if text[at..].contains("://") => format!("{}[url redacted]", &text[..at]),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_failure_skips_redis_until_the_next_probe() {
        let trouble = Trouble::new("127.0.0.1:6379".into());
        assert!(trouble.may_try() && trouble.is_up());
        trouble.failed("GET", &"connection refused");
        assert!(!trouble.may_try() && !trouble.is_up());
        tokio::time::advance(PROBE_AFTER).await;
        assert!(trouble.may_try(), "probe again after a while");
        trouble.succeeded();
        assert!(trouble.is_up() && trouble.may_try());
        assert_eq!(trouble.errors(), 1);
    }

    #[test]
    fn urls_in_errors_are_cut() {
        let text = redacted(&"failed to connect to redis://:pw@host:1");
        assert!(!text.contains("pw"), "{text}");
    }
}
