//! [`Trouble`]: whether Redis answers, so every fleet feature can fall back to local work
//! at once instead of waiting on a dead Redis.
//!
//! After a failure Redis is treated as down until a probe (a PING every [`PROBE_AFTER`],
//! run by `Fleet` in a task of its own) answers: until then fleet operations return at
//! once and callers do the local thing (fetch their own token, poll their own tasks).
//! Operations never probe themselves: a stopped Redis (SIGSTOP, a hung host) keeps its
//! connections open and answers nothing, so each probing operation would wait out its
//! whole timeout, stalling a poll every time; a dead one refuses at once. With the probe
//! apart, both cost callers one timeout at most, when the trouble begins. The log says
//! so on every change and at most once a minute while it lasts; the metrics carry the
//! state and an error count.

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Mutex,
};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// Time between two probes while Redis does not answer.
pub const PROBE_AFTER: Duration = Duration::from_secs(1);
/// Least time between two log lines about the same outage.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Redis reachability, shared by every fleet feature of one gateway.
#[derive(Debug)]
pub struct Trouble {
    /// `host:port` of Redis, for log lines (never the password).
    target: String,
    /// Whether Redis answers; followers ([`Trouble::follow`]) learn of every change.
    up: tokio::sync::watch::Sender<bool>,
    errors: AtomicU64,
    /// True while a probe runs (one at a time).
    probing: AtomicBool,
    /// When the last outage line was logged.
    last_log: Mutex<Option<Instant>>,
}

impl Trouble {
    /// Redis at `target` (`host:port`), assumed up until an operation fails.
    pub fn new(target: String) -> Self {
        Trouble {
            target,
            up: tokio::sync::watch::Sender::new(true),
            errors: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            last_log: Mutex::new(None),
        }
    }

    /// False from a failure until a probe (or a new subscription) succeeds.
    pub fn may_try(&self) -> bool {
        self.is_up()
    }

    /// Records a failed operation; `what` is a fixed description (never a value).
    /// Returns true when a probe should start now (none runs yet); the caller starts it
    /// and calls [`Trouble::probe_ended`] when it ends.
    pub fn failed(&self, what: &'static str, error: &dyn std::fmt::Display) -> bool {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let was_up = self.up.send_replace(false);
        let mut last_log = self.last_log.lock().unwrap_or_else(|e| e.into_inner());
        let due = last_log.is_none_or(|last| now.duration_since(last) >= LOG_EVERY);
        if was_up || due {
            *last_log = Some(now);
            warn!(redis = %self.target, operation = what, error = %redacted(error), "Redis unreachable: this replica polls and serves callbacks locally until it answers");
        }
        !self.probing.swap(true, Ordering::AcqRel)
    }

    /// Records a successful operation or probe.
    pub fn succeeded(&self) {
        if !self.up.send_replace(true) {
            info!(redis = %self.target, "Redis answers again: sharing tokens, callbacks and polling with the fleet");
        }
    }

    /// The probe [`Trouble::failed`] asked for has ended (Redis answered, or the fleet
    /// handle is gone).
    pub fn probe_ended(&self) {
        self.probing.store(false, Ordering::Release);
    }

    /// Whether the last operation succeeded.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Follows whether Redis answers: a subscriber leaves a connection Redis stopped
    /// answering on, and subscribes again once it answers.
    pub fn follow(&self) -> tokio::sync::watch::Receiver<bool> {
        self.up.subscribe()
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
    async fn a_failure_skips_redis_until_a_probe_answers() {
        let trouble = Trouble::new("127.0.0.1:6379".into());
        assert!(trouble.may_try() && trouble.is_up());
        assert!(
            trouble.failed("GET", &"timed out"),
            "the first failure starts a probe"
        );
        assert!(!trouble.may_try() && !trouble.is_up());
        assert!(!trouble.failed("SET", &"timed out"), "one probe at a time");
        tokio::time::advance(PROBE_AFTER * 10).await;
        assert!(!trouble.may_try(), "operations never probe themselves");
        trouble.succeeded();
        trouble.probe_ended();
        assert!(trouble.is_up() && trouble.may_try());
        assert_eq!(trouble.errors(), 2);
        assert!(
            trouble.failed("GET", &"timed out"),
            "a new outage, a new probe"
        );
    }

    #[test]
    fn urls_in_errors_are_cut() {
        let text = redacted(&"failed to connect to redis://:pw@host:1");
        assert!(!text.contains("pw"), "{text}");
    }
}
