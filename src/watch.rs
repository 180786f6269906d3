//! Server-streaming watchers: any number of watchers, one quiet upstream.
//!
//! A [`Hub`] keeps, per watched id, a `tokio::sync::watch` channel holding the latest
//! observed state. Watchers subscribe to it; a [`poller`] refreshes the due ids in batches
//! and publishes what changed; Qencode's task callbacks publish too ([`callback`]).
//! Because a watch channel holds only the latest value, a slow reader can never slow the
//! poller or other watchers: it skips intermediate states and always reads the newest.
//! A watcher holds no task of its own ([`stream`] is a plain `Stream`), so an open
//! watcher costs a receiver, a timer and its HTTP/2 stream, and a client that goes away
//! frees it the moment tonic drops the response stream.
//!
//! An id is polled while it has watchers and is not terminal; the poller forgets it when
//! its last watcher leaves.

pub mod callback;
pub mod live;
pub mod poller;
pub mod stream;
pub mod tasks;

use crate::{
    error::{Error, ErrorKind, Violations, GATEWAY_DOMAIN},
    live::LiveStreaming,
    pb::{LiveStream, TaskStatus},
    transcoding::Transcoding,
};
use callback::CallbackSigner;
use futures::Stream;
use poller::PollSettings;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use stream::{Event, StreamSettings};
use tokio::{
    sync::{watch, Notify},
    time::Instant,
};

/// Watch settings.
#[derive(Debug, Clone, Copy)]
pub struct WatchSettings {
    /// Base poll interval of tasks.
    pub poll_interval: Duration,
    /// Base poll interval of live streams.
    pub live_poll_interval: Duration,
    /// Most tasks per upstream status request.
    pub batch_size: usize,
    /// Quiet time after which a watch stream repeats the state as a heartbeat.
    pub heartbeat: Duration,
    /// Most open watchers.
    pub max_watchers: usize,
}

/// Everything watch streams need: the hubs, their limit, settings, the callback signer
/// and the shutdown signal that ends every open stream.
pub struct Watchers {
    /// Watched tasks.
    pub tasks: Arc<Hub<TaskStatus>>,
    /// Watched live streams.
    pub streams: Arc<Hub<LiveStream>>,
    /// Open watchers across both.
    pub limit: Arc<WatcherLimit>,
    settings: WatchSettings,
    signer: Option<Arc<CallbackSigner>>,
    shutdown: watch::Sender<bool>,
}

impl Watchers {
    /// Watchers with `settings`; `signer` enables push from callbacks.
    pub fn new(settings: WatchSettings, signer: Option<Arc<CallbackSigner>>) -> Self {
        let limit = WatcherLimit::new(settings.max_watchers);
        Watchers {
            tasks: Arc::new(Hub::new(limit.clone())),
            streams: Arc::new(Hub::new(limit.clone())),
            limit,
            settings,
            signer,
            shutdown: watch::Sender::new(false),
        }
    }

    /// The callback signer, when callbacks are configured.
    pub fn signer(&self) -> Option<Arc<CallbackSigner>> {
        self.signer.clone()
    }

    /// Starts the two pollers; they stop at [`Watchers::shutdown`].
    pub fn spawn_pollers(&self, transcoding: Arc<Transcoding>, live: Arc<LiveStreaming>) {
        let tasks = tasks::TaskSource {
            transcoding,
            batch_size: self.settings.batch_size,
        };
        tokio::spawn(poller::run(
            self.tasks.clone(),
            Arc::new(tasks),
            PollSettings {
                interval: self.settings.poll_interval,
            },
            self.shutdown.subscribe(),
        ));
        tokio::spawn(poller::run(
            self.streams.clone(),
            Arc::new(live::LiveSource { live }),
            PollSettings {
                interval: self.settings.live_poll_interval,
            },
            self.shutdown.subscribe(),
        ));
    }

    /// Flips to true when the gateway begins to shut down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Ends every open watch stream with UNAVAILABLE and stops the pollers.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// A watch of one task.
    pub fn watch_task(
        &self,
        task_token: &str,
    ) -> Result<impl Stream<Item = Result<Event<TaskStatus>, Error>> + Send + use<>, Error> {
        let mut v = Violations::default();
        crate::transcoding::validate::task_token("task_token", task_token, &mut v);
        v.into_result()?;
        let settings = StreamSettings {
            heartbeat: self.settings.heartbeat,
            is_terminal: crate::upstream::task_status::is_terminal,
            not_found: "Qencode does not know this task token (or the task was not started)",
        };
        Ok(stream::events(
            self.tasks.subscribe(task_token)?,
            self.shutdown.subscribe(),
            settings,
        ))
    }

    /// A watch of one live stream.
    pub fn watch_stream(
        &self,
        stream_id: &str,
    ) -> Result<impl Stream<Item = Result<Event<LiveStream>, Error>> + Send + use<>, Error> {
        let mut v = Violations::default();
        crate::live::validate::id("stream_id", stream_id, &mut v);
        v.into_result()?;
        let settings = StreamSettings {
            heartbeat: self.settings.heartbeat,
            is_terminal: live::is_final,
            not_found: "Qencode does not know this live stream",
        };
        Ok(stream::events(
            self.streams.subscribe(stream_id)?,
            self.shutdown.subscribe(),
            settings,
        ))
    }
}

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

    fn acquire(self: &Arc<Self>) -> Result<Permit, Error> {
        let mut current = self.open.load(Ordering::Relaxed);
        loop {
            if current >= self.max {
                return Err(Error::new(
                    ErrorKind::ResourceExhausted,
                    GATEWAY_DOMAIN,
                    "TOO_MANY_WATCHERS",
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
