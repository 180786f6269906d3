//! [`Hub`]: the latest state of every watched id of one kind, in `tokio::sync::watch`
//! channels that watchers subscribe to and the poller and callbacks publish into.

use super::limit::{Permit, WatcherLimit};
use crate::error::Error;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    sync::{watch, Notify},
    time::Instant,
};

/// How long a new id waits before its first fetch, so a burst of new watchers shares
/// one upstream request.
const COALESCE: Duration = Duration::from_millis(20);

/// What the poller last learned about an id.
#[derive(Debug)]
pub enum Observed<V> {
    /// The current state.
    Value(Arc<V>),
    /// The upstream does not know the id.
    Missing,
    /// The first fetch failed; watchers waiting for a snapshot get this error.
    Failed(Error),
}

// Manual impl: cloning shares the `Arc`, so `V` itself need not be `Clone`.
impl<V> Clone for Observed<V> {
    fn clone(&self) -> Self {
        match self {
            Observed::Value(v) => Observed::Value(v.clone()),
            Observed::Missing => Observed::Missing,
            Observed::Failed(e) => Observed::Failed(e.clone()),
        }
    }
}

/// A watcher's view of one id.
pub struct Subscription<V> {
    /// The latest state (`None` until the first fetch).
    pub rx: watch::Receiver<Option<Observed<V>>>,
    _permit: Permit,
}

struct Slot<V> {
    tx: watch::Sender<Option<Observed<V>>>,
    /// When the poller should fetch this id next.
    next_due: Instant,
    /// When the first watcher arrived (long-running ids are polled less often).
    since: Instant,
    /// Terminal ids are not polled any more.
    terminal: bool,
}

/// Latest states of watched ids of one kind (tasks or live streams).
pub struct Hub<V> {
    slots: Mutex<HashMap<String, Slot<V>>>,
    limit: Arc<WatcherLimit>,
    /// Wakes the poller when a new id needs its first fetch.
    wake: Notify,
}

impl<V: PartialEq + Send + Sync + 'static> Hub<V> {
    /// An empty hub sharing `limit` with the other hubs.
    pub fn new(limit: Arc<WatcherLimit>) -> Self {
        Hub {
            slots: Mutex::new(HashMap::new()),
            limit,
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot<V>>> {
        // A poisoned lock only means a panic elsewhere; the map is still consistent.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Subscribes to `key`, scheduling its first fetch when nobody watched it yet.
    pub fn subscribe(&self, key: &str) -> Result<Subscription<V>, Error> {
        let permit = self.limit.acquire()?;
        let mut slots = self.lock();
        let now = Instant::now();
        let slot = slots.entry(key.to_owned()).or_insert_with(|| {
            self.wake.notify_one();
            Slot {
                tx: watch::Sender::new(None),
                next_due: now + COALESCE,
                since: now,
                terminal: false,
            }
        });
        Ok(Subscription {
            rx: slot.tx.subscribe(),
            _permit: permit,
        })
    }

    /// Ids due for a fetch by `now + slack` (the slack lets ids due at nearly the same time
    /// share a batch), and when the next one falls due. Forgets ids nobody watches.
    pub fn due(&self, now: Instant, slack: Duration) -> (Vec<String>, Option<Instant>) {
        let mut slots = self.lock();
        slots.retain(|_, slot| slot.tx.receiver_count() > 0);
        let mut due = Vec::new();
        let mut next: Option<Instant> = None;
        for (key, slot) in slots.iter() {
            if slot.terminal {
                continue;
            }
            if slot.next_due <= now + slack {
                due.push(key.clone());
            } else {
                next = Some(next.map_or(slot.next_due, |n| n.min(slot.next_due)));
            }
        }
        (due, next)
    }

    /// Publishes what a fetch found and schedules the next one. A value equal to the
    /// current one wakes nobody. Returns the previous value.
    pub fn publish(
        &self,
        key: &str,
        observed: Observed<V>,
        terminal: bool,
        next_due: Instant,
    ) -> Option<Arc<V>> {
        let mut slots = self.lock();
        let slot = slots.get_mut(key)?;
        slot.next_due = next_due;
        slot.terminal |= terminal;
        let previous = match &*slot.tx.borrow() {
            Some(Observed::Value(v)) => Some(v.clone()),
            _ => None,
        };
        slot.tx.send_if_modified(|current| {
            let same = match (&*current, &observed) {
                (Some(Observed::Value(a)), Observed::Value(b)) => a == b,
                (Some(Observed::Missing), Observed::Missing) => true,
                _ => false,
            };
            if !same {
                *current = Some(observed);
            }
            !same
        });
        previous
    }

    /// Pushes a state learned outside the poller (a callback). Ignored for ids nobody
    /// watches or that already ended. Returns true when watchers exist.
    pub fn push(&self, key: &str, value: V, terminal: bool) -> bool {
        let due = match self.lock().get(key) {
            Some(slot) if !slot.terminal => slot.next_due,
            _ => return false,
        };
        self.publish(key, Observed::Value(Arc::new(value)), terminal, due);
        true
    }

    /// The last state published for `key`, if any.
    pub fn current(&self, key: &str) -> Option<Arc<V>> {
        match &*self.lock().get(key)?.tx.borrow() {
            Some(Observed::Value(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// Moves `key`'s next fetch to `next_due` without publishing anything.
    pub fn reschedule(&self, key: &str, next_due: Instant) {
        if let Some(slot) = self.lock().get_mut(key) {
            slot.next_due = next_due;
        }
    }

    /// True while `key` has watchers and has not ended (fleet leases are kept for these).
    pub fn is_watched(&self, key: &str) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|slot| !slot.terminal && slot.tx.receiver_count() > 0)
    }

    /// When the first watcher of `key` arrived.
    pub fn since(&self, key: &str) -> Option<Instant> {
        self.lock().get(key).map(|slot| slot.since)
    }

    /// Ids currently polled (active pollers, for metrics).
    pub fn active(&self) -> usize {
        self.lock()
            .values()
            .filter(|slot| !slot.terminal && slot.tx.receiver_count() > 0)
            .count()
    }

    /// Waits until a new id needs a first fetch.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn new_ids_coalesce_and_leave_with_their_watchers() {
        let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
        let a = hub.subscribe("a").unwrap();
        let _b = hub.subscribe("b").unwrap();
        let now = Instant::now();
        assert!(
            hub.due(now, Duration::ZERO).0.is_empty(),
            "coalescing window"
        );
        let (mut due, _) = hub.due(now + COALESCE, Duration::ZERO);
        due.sort();
        assert_eq!(due, ["a", "b"]);
        drop(a);
        let (due, _) = hub.due(now + COALESCE, Duration::ZERO);
        assert_eq!(due, ["b"], "a has no watchers left");
    }

    #[tokio::test(start_paused = true)]
    async fn equal_values_wake_nobody_and_terminal_ids_stop() {
        let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
        let mut sub = hub.subscribe("a").unwrap();
        let later = Instant::now() + Duration::from_secs(5);
        hub.publish("a", Observed::Value(Arc::new(1)), false, later);
        assert!(sub.rx.has_changed().unwrap());
        sub.rx.borrow_and_update();
        hub.publish("a", Observed::Value(Arc::new(1)), false, later);
        assert!(!sub.rx.has_changed().unwrap(), "same value, no wake-up");
        hub.publish("a", Observed::Value(Arc::new(2)), true, later);
        assert!(sub.rx.has_changed().unwrap());
        assert!(
            hub.due(later, Duration::ZERO).0.is_empty(),
            "terminal ids are not polled"
        );
        assert!(
            !hub.push("a", 3, false),
            "callbacks after the end are ignored"
        );
    }
}
