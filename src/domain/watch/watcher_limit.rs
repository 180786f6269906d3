//! [`WatcherLimit`]: one cap on open watchers across every hub. A refusal is a limit
//! biting like any other ([`limit_hits`]): counted in `gateway_limit_hits_total` and
//! logged (rate-limited), so an operator sees the cap before the callers complain.

use crate::support::reasons;
use crate::support::{
    error::{Error, ErrorKind, GATEWAY_DOMAIN},
    limit_hits::{self, Throttle},
};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

/// Caps open watchers across all hubs; past it a new watch is RESOURCE_EXHAUSTED.
#[derive(Debug)]
pub struct WatcherLimit {
    open: AtomicUsize,
    max: usize,
}

impl WatcherLimit {
    /// A limit of `max` open watchers.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(WatcherLimit {
            open: AtomicUsize::new(0),
            max,
        })
    }

    /// Open watchers now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// One watcher slot, or RESOURCE_EXHAUSTED (`TOO_MANY_WATCHERS`). The gRPC layer
    /// takes it from a watch's HEADERS and hands it to the watch ([`super::Watchers::watch_task`]),
    /// so a watch whose message never comes still counts.
    pub fn acquire(self: &Arc<Self>) -> Result<Permit, Error> {
        let mut current = self.open.load(Ordering::Relaxed);
        loop {
            if current >= self.max {
                static THROTTLE: Throttle = Throttle::new();
                limit_hits::bite(
                    &THROTTLE,
                    "GATEWAY_MAX_WATCHERS",
                    "watch",
                    "a watch was refused: the gateway already serves its maximum of watchers",
                );
                return Err(Error::new(
                    ErrorKind::ResourceExhausted,
                    GATEWAY_DOMAIN,
                    reasons::TOO_MANY_WATCHERS,
                    format!("the gateway already serves its maximum of {} watchers (GATEWAY_MAX_WATCHERS)", self.max),
                ));
            }
            match self.open.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(Permit(self.clone())),
                Err(actual) => current = actual,
            }
        }
    }
}

/// One open watcher; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit(Arc<WatcherLimit>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::watch::Hub;

    #[test]
    fn the_limit_is_shared_and_released() {
        let limit = WatcherLimit::new(2);
        let tasks: Hub<u32> = Hub::new(limit.clone());
        let streams: Hub<u32> = Hub::new(limit.clone());
        let one = tasks.subscribe("a").unwrap();
        let _two = streams.subscribe("b").unwrap();
        let err = tasks.subscribe("c").err().unwrap();
        assert_eq!(err.kind, ErrorKind::ResourceExhausted);
        drop(one);
        let _three = tasks.subscribe("c").unwrap();
        assert_eq!(limit.open(), 2);
    }
}
