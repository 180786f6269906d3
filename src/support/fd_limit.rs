//! The process's open-file limit against the connections the listeners may hold.
//!
//! Each of the three listeners holds up to `GATEWAY_MAX_CONNECTIONS` connections, and
//! every connection is a file descriptor. With the default of 10,000 that is 30,000,
//! beyond the 20,000 (or 1,024) many hosts give a process: a flood would then hit the
//! file limit before the caps, and accept() would fail for every listener at once
//! (`cargo bench --bench abuse`, case 2c, reached 20,000 descriptors). So at start the
//! soft limit is raised to the hard one, as Go's runtime does, and when even that is
//! short the gateway says so in one line, with the numbers, instead of failing under load.

use tracing::{debug, info, warn};

/// Descriptors kept for everything that is not an accepted connection: upstream and
/// Redis connections, the listeners themselves, files read at reload, the runtime.
pub const RESERVED: u64 = 1024;

/// What was found and done, for the start-up line and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Descriptors the caps may need (all listeners full, plus [`RESERVED`]).
    pub needed: u64,
    /// The soft limit before and after raising it (`None` when unknown).
    pub before: Option<u64>,
    /// The soft limit now.
    pub after: Option<u64>,
}

impl Outcome {
    /// True when the limit covers every listener at its cap.
    pub fn enough(&self) -> bool {
        self.after.is_none_or(|limit| limit >= self.needed)
    }
}

/// Raises the soft open-file limit to the hard one if it is below what `listeners`
/// listeners of `max_connections` each may need; logs what it found.
pub fn ensure(listeners: u64, max_connections: u64) -> Outcome {
    let needed = listeners
        .saturating_mul(max_connections)
        .saturating_add(RESERVED);
    let outcome = raise(needed);
    report(&outcome, max_connections);
    outcome
}

#[cfg(unix)]
fn raise(needed: u64) -> Outcome {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let current = getrlimit(Resource::Nofile);
    let before = current.current;
    let mut after = before;
    if before.is_some_and(|soft| soft < needed) {
        // The hard limit, or as much as needed if there is no hard limit.
        let target = current.maximum.unwrap_or(needed);
        let raised = Rlimit {
            current: Some(target),
            maximum: current.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            after = getrlimit(Resource::Nofile).current;
        }
    }
    Outcome {
        needed,
        before,
        after,
    }
}

#[cfg(not(unix))]
fn raise(needed: u64) -> Outcome {
    Outcome {
        needed,
        before: None,
        after: None,
    }
}

/// One short WARN line when the limit is short (it shows at every start on hosts with a
/// low hard limit, so it must not fill a terminal), the reasoning and the ways to raise
/// the limit at DEBUG.
fn report(outcome: &Outcome, max_connections: u64) {
    let (Some(before), Some(after)) = (outcome.before, outcome.after) else {
        return;
    };
    if after != before {
        info!(
            before,
            after, "raised the open-file limit (RLIMIT_NOFILE) to its hard limit"
        );
    }
    if !outcome.enough() {
        let per_listener = after.saturating_sub(RESERVED) / 3;
        warn!(
            limit = after,
            needed = outcome.needed,
            "open-file limit below the connection caps: set GATEWAY_MAX_CONNECTIONS to \
             {per_listener} or less, or raise the hard limit"
        );
        debug!(
            max_connections,
            "the listeners may hold 3 x GATEWAY_MAX_CONNECTIONS + {RESERVED} descriptors; \
             under a connection flood accept() would fail on every listener before any cap \
             applies. The hard limit is raised with ulimit -Hn, systemd's LimitNOFILE= or \
             the container runtime's nofile"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_that_covers_the_caps_is_left_alone() {
        let outcome = ensure(3, 1);
        assert!(outcome.enough(), "{outcome:?}");
        assert_eq!(outcome.needed, 3 + RESERVED);
        assert_eq!(outcome.before, outcome.after, "nothing to raise");
    }

    #[test]
    fn a_cap_no_limit_can_cover_is_reported_not_raised_past_the_hard_limit() {
        let outcome = ensure(3, u64::MAX / 4);
        assert!(!outcome.enough(), "{outcome:?}");
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
        if let (Some(after), Some(hard)) = (outcome.after, hard) {
            assert!(after <= hard);
        }
    }
}
