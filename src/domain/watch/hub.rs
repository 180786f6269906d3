//! [`Hub`]: the latest state of every watched id of one kind, in `tokio::sync::watch`
//! channels that watchers subscribe to and the poller and callbacks publish into.

use crate::domain::watch::observed_at::ObservedAt;
use crate::domain::watch::watcher_limit::{Permit, WatcherLimit};
use crate::support::error::Error;
use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};
use tokio::{
    sync::{watch, Notify},
    time::Instant,
};

/// How long a new id waits before its first fetch, so a burst of new watchers shares
/// one upstream request.
const COALESCE: Duration = Duration::from_millis(20);

/// Failed polls in a row after which watchers are told their state is stale. One
/// failure is routine (a timeout, a busy answer) and the next poll usually heals it;
/// three in a row (about five intervals, as failures are retried an interval late)
/// means the upstream is out and a caller should know its state may be old.
pub const STALE_AFTER_FAILED_POLLS: u32 = 3;

/// Why a watcher's state may be out of date: the last polls of the upstream failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// When the first of the failed polls in a row happened (wall clock: callers
    /// compare it with their own clocks, and tokio's clock means nothing to them).
    pub since: SystemTime,
    /// Failed polls in a row so far.
    pub failed_polls: u32,
    /// The last failure's `ErrorInfo.reason` (a code such as `UPSTREAM_TIMEOUT`, never
    /// a message, so nothing the upstream said, and no secret, reaches the watcher).
    pub reason: Cow<'static, str>,
}

/// What the poller last learned about an id.
#[derive(Debug)]
pub enum Observed<V> {
    /// The current state.
    Value(Arc<V>),
    /// The upstream does not know the id.
    Missing,
    /// The first fetch failed; watchers waiting for a snapshot get this error.
    Failed(Error),
    /// The last known state, no longer refreshed: the last
    /// [`STALE_AFTER_FAILED_POLLS`] or more polls failed.
    Stale(Arc<V>, Stale),
}

impl<V> Observed<V> {
    /// The state, fresh or stale.
    pub fn value(&self) -> Option<&Arc<V>> {
        match self {
            Observed::Value(v) | Observed::Stale(v, _) => Some(v),
            Observed::Missing | Observed::Failed(_) => None,
        }
    }
}

// Manual impl: cloning shares the `Arc`, so `V` itself need not be `Clone`.
impl<V> Clone for Observed<V> {
    fn clone(&self) -> Self {
        match self {
            Observed::Value(v) => Observed::Value(v.clone()),
            Observed::Missing => Observed::Missing,
            Observed::Failed(e) => Observed::Failed(e.clone()),
            Observed::Stale(v, stale) => Observed::Stale(v.clone(), stale.clone()),
        }
    }
}

/// A watcher's view of one id.
pub struct Subscription<V> {
    /// The latest state (`None` until the first fetch).
    pub rx: watch::Receiver<Option<Observed<V>>>,
    /// The watcher slot; `None` for the gateway's own tracking ([`Hub::track`]), which
    /// counts against no caller's cap.
    _permit: Option<Permit>,
}

struct Slot<V> {
    tx: watch::Sender<Option<Observed<V>>>,
    /// When the poller should fetch this id next.
    next_due: Instant,
    /// When the first watcher arrived (long-running ids are polled less often).
    since: Instant,
    /// Terminal ids are not polled any more.
    terminal: bool,
    /// The failed polls since the last success (`None` while polls succeed), counted
    /// before watchers are told, so one failure does not alarm anyone.
    failing: Option<Stale>,
    /// When the current state was read from the upstream: a state read earlier is never
    /// published over it ([`Hub::publish_observed`]).
    observed_at: Option<ObservedAt>,
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

    /// Lets go of every id: each open subscription sees its channel close and its
    /// stream ends with UNAVAILABLE at once. Called when shutdown begins; a later
    /// subscription's stream ends at its first step, which checks the signal.
    pub fn close(&self) {
        self.lock().clear();
    }

    /// Subscribes to `key`, scheduling its first fetch when nobody watched it yet.
    pub fn subscribe(&self, key: &str) -> Result<Subscription<V>, Error> {
        self.subscribe_held(key, None)
    }

    /// Subscribes to `key` with the watcher slot `held` (taken earlier from this hub's
    /// limit), or a new one when `None`.
    pub fn subscribe_held(
        &self,
        key: &str,
        held: Option<Permit>,
    ) -> Result<Subscription<V>, Error> {
        let permit = match held {
            Some(permit) => permit,
            None => self.limit.acquire()?,
        };
        Ok(self.subscribe_with(key, Some(permit)))
    }

    /// Follows `key` for the gateway itself (the ledger's tracking of every started
    /// task): polled like a watched id, with no watcher slot taken.
    pub fn track(&self, key: &str) -> Subscription<V> {
        self.subscribe_with(key, None)
    }

    fn subscribe_with(&self, key: &str, permit: Option<Permit>) -> Subscription<V> {
        let mut slots = self.lock();
        let now = Instant::now();
        let slot = slots.entry(key.to_owned()).or_insert_with(|| {
            self.wake.notify_one();
            Slot {
                tx: watch::Sender::new(None),
                next_due: now + COALESCE,
                since: now,
                terminal: false,
                failing: None,
                observed_at: None,
            }
        });
        Subscription {
            rx: slot.tx.subscribe(),
            _permit: permit,
        }
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

    /// Publishes what a fetch found just now and schedules the next one. A value equal
    /// to the current one wakes nobody. Returns the previous value.
    pub fn publish(
        &self,
        key: &str,
        observed: Observed<V>,
        terminal: bool,
        next_due: Instant,
    ) -> Option<Arc<V>> {
        let now = Some(ObservedAt::now());
        self.publish_observed(key, observed, terminal, next_due, now)
    }

    /// [`Hub::publish`] of a state read from the upstream at `at` (`None`: unknown, from
    /// a replica of an earlier version). A state read before the current one is
    /// dropped: watchers never go back in time, whatever order states arrive in (a
    /// snapshot stored in Redis before an outage, messages Redis delivers late). Only
    /// the next fetch is scheduled then.
    pub fn publish_observed(
        &self,
        key: &str,
        observed: Observed<V>,
        terminal: bool,
        next_due: Instant,
        at: Option<ObservedAt>,
    ) -> Option<Arc<V>> {
        let mut slots = self.lock();
        let slot = slots.get_mut(key)?;
        slot.next_due = next_due;
        if !matches!(observed, Observed::Failed(_)) {
            if ObservedAt::is_behind(at, slot.observed_at) {
                return slot.tx.borrow().as_ref().and_then(|o| o.value().cloned());
            }
            slot.observed_at = at;
        }
        slot.terminal |= terminal;
        if !matches!(observed, Observed::Failed(_)) {
            slot.failing = None;
        }
        let previous = slot.tx.borrow().as_ref().and_then(|o| o.value().cloned());
        slot.tx.send_if_modified(|current| {
            // A fresh value after a stale one always wakes the watchers, even when it
            // is equal: they were told the state was stale and must hear it is not.
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

    /// Records a failed poll of `key` (its `ErrorInfo.reason`) and schedules the next
    /// one. From the [`STALE_AFTER_FAILED_POLLS`]th failure in a row on, watchers that
    /// hold a state see it as [`Observed::Stale`] with the count so far; a later
    /// [`Hub::publish`] of a value ends that. Returns true when the state is stale.
    pub fn fail(&self, key: &str, reason: Cow<'static, str>, next_due: Instant) -> bool {
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(key) else {
            return false;
        };
        slot.next_due = next_due;
        let failing = slot.failing.get_or_insert_with(|| Stale {
            since: SystemTime::now(),
            failed_polls: 0,
            reason: reason.clone(),
        });
        failing.failed_polls = failing.failed_polls.saturating_add(1);
        failing.reason = reason;
        if failing.failed_polls < STALE_AFTER_FAILED_POLLS {
            return false;
        }
        let stale = failing.clone();
        slot.tx.send_if_modified(|current| {
            let Some(value) = current.as_ref().and_then(|o| o.value().cloned()) else {
                // No state yet: nothing to call stale (first fetches fail as errors).
                return false;
            };
            *current = Some(Observed::Stale(value, stale));
            true
        })
    }

    /// Pushes a state learned just now outside the poller (a callback). Ignored for ids
    /// nobody watches or that already ended. Returns true when watchers exist.
    pub fn push(&self, key: &str, value: V, terminal: bool) -> bool {
        self.push_observed(key, value, terminal, Some(ObservedAt::now()))
    }

    /// [`Hub::push`] of a state read from the upstream at `at` (another replica's, through
    /// Redis); dropped when older than the current one ([`Hub::publish_observed`]).
    pub fn push_observed(
        &self,
        key: &str,
        value: V,
        terminal: bool,
        at: Option<ObservedAt>,
    ) -> bool {
        let due = match self.lock().get(key) {
            Some(slot) if !slot.terminal => slot.next_due,
            _ => return false,
        };
        self.publish_observed(key, Observed::Value(Arc::new(value)), terminal, due, at);
        true
    }

    /// The last state published for `key`, if any.
    pub fn current(&self, key: &str) -> Option<Arc<V>> {
        self.lock()
            .get(key)?
            .tx
            .borrow()
            .as_ref()
            .and_then(|o| o.value().cloned())
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
mod hub_tests;
