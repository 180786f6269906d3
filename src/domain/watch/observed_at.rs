//! [`ObservedAt`]: when a watched state was read from the upstream, so a state that
//! arrives late never replaces one read after it.
//!
//! In a fleet a state can reach a replica long after it was read: a stored snapshot
//! read back from Redis, or channel messages Redis delivers only when it resumes (a
//! stopped Redis keeps every command and publication queued on open connections). While
//! Redis was away the replica polled for itself and its watchers saw newer states, so
//! such a state would take them back in time (20 s back, after a 20 s SIGSTOP). The
//! stamp travels with every shared state and the hub refuses a state stamped earlier
//! than the one it holds ([`crate::domain::watch::Hub::publish_observed`]).
//!
//! Wall-clock milliseconds, because replicas compare each other's stamps and share no
//! other clock; replicas a few milliseconds apart only delay a state by as much.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch at which a state was read from the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObservedAt(pub u64);

impl ObservedAt {
    /// Now, by the wall clock.
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        ObservedAt(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// Whether a state stamped `at` (`None`: unstamped, from a replica of an earlier
    /// version) must not replace one stamped `current`: only when both are known and
    /// `at` is earlier. An equal stamp is the same reading arriving twice.
    pub fn is_behind(at: Option<ObservedAt>, current: Option<ObservedAt>) -> bool {
        matches!((at, current), (Some(at), Some(current)) if at < current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_known_earlier_stamp_is_behind() {
        let (early, late) = (Some(ObservedAt(1_000)), Some(ObservedAt(2_000)));
        assert!(ObservedAt::is_behind(early, late));
        assert!(!ObservedAt::is_behind(late, early));
        assert!(!ObservedAt::is_behind(late, late), "the same reading twice");
        assert!(!ObservedAt::is_behind(None, late), "unstamped: as before");
        assert!(
            !ObservedAt::is_behind(early, None),
            "nothing to compare with"
        );
        assert!(ObservedAt::now() > ObservedAt(1_600_000_000_000));
    }
}
