//! The outbox: ends a watch whose client has stopped taking messages, without a task or
//! a queue per watcher.
//!
//! hyper polls a response body only while the client's HTTP/2 window (and h2's send
//! buffer) has room. A watcher's stream wakes its task when it has something to send (a
//! new state, a heartbeat); a healthy watch is then polled at once. So a watch that was
//! woken `stall` ago and has not been polled since belongs to a client that has stopped
//! reading, and a quiet watch (not woken) never counts as stalled. Nothing polls such a
//! watch, so it cannot notice by itself; one sweeper per [`Outbox`] (a task for all
//! watchers) checks every watch a few times per `stall` and ends the stalled ones: their
//! watcher stream
//! is dropped at once (which frees the hub subscription and the watcher slot), the limit
//! hit is counted, and RESOURCE_EXHAUSTED is left for the client to read should it ever
//! read again. What is left until then is the HTTP/2 stream itself; the keepalive,
//! `GATEWAY_MAX_CONNECTION_AGE` and `GATEWAY_WRITE_STALL_TIMEOUT` bound how long the
//! connection lives (`listener/write_stall.rs`).
//!
//! Why not a task per watcher (the first design): its channel, timers and task state
//! cost about 2 KiB per open watcher, 40 % of everything else a watcher holds. Here a
//! watch costs one registry entry and the lock around its stream.
//!
//! A slow client still gets the newest state when it reads: the watch channel under the
//! stream skips intermediate states, so nothing queues up here.

use crate::support::error::{Error, ErrorKind, GATEWAY_DOMAIN};
use crate::support::limit_hits::{bite, Throttle};
use crate::support::reasons;
use futures::task::AtomicWaker;
use futures::Stream;
use std::{
    collections::HashMap,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, Weak,
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};
use tokio::time::Instant;

/// The error a watch ends with when its client took no message for `stall`.
pub fn stalled(stall: Duration) -> Error {
    Error::new(
        ErrorKind::ResourceExhausted,
        GATEWAY_DOMAIN,
        reasons::WATCH_CLIENT_STALLED,
        format!(
            "the client took no message for {stall:?}, so the watch was ended to free what it held (GATEWAY_WATCH_STALL_TIMEOUT); read messages as they come and watch again"
        ),
    )
}

/// The open watches of one gateway and the sweeper that ends stalled ones.
pub struct Outbox {
    stall: Duration,
    registry: Arc<Registry>,
    /// The sweeper starts with the first watch (so building an `Outbox` needs no runtime).
    sweeping: AtomicBool,
}

struct Registry {
    next: AtomicU64,
    watches: Mutex<HashMap<u64, Arc<dyn Stallable>>>,
    /// Wake times are kept as nanoseconds since this instant (0: not woken).
    epoch: Instant,
}

impl Registry {
    fn nanos_since_epoch(&self, now: Instant) -> u64 {
        // 1 at the least, so a wake at the epoch itself is not "not woken".
        (now.saturating_duration_since(self.epoch).as_nanos() as u64).max(1)
    }
}

/// A watch as the sweeper sees it.
trait Stallable: Send + Sync {
    /// Ends the watch if it was woken `stall` or more before `now` (both nanoseconds
    /// since the registry's epoch) and not polled since; true when it did.
    fn end_if_stalled(&self, now: u64, stall: u64) -> bool;
}

impl Outbox {
    /// An outbox ending watches whose client took no message for `stall`.
    pub fn new(stall: Duration) -> Self {
        Outbox {
            stall,
            registry: Arc::new(Registry {
                next: AtomicU64::new(0),
                watches: Mutex::new(HashMap::new()),
                epoch: Instant::now(),
            }),
            sweeping: AtomicBool::new(false),
        }
    }

    /// `messages`, ended with [`stalled`] instead of the rest once its client took no
    /// message for the outbox's `stall`. Dropping the returned stream (the client went
    /// away) drops `messages` at once.
    pub fn forward<T, S>(&self, messages: S) -> Forwarded<T, S>
    where
        T: Send + 'static,
        S: Stream<Item = Result<T, Error>> + Send + 'static,
    {
        let signal = Arc::new(Signal {
            woken_at: AtomicU64::new(0),
            task: AtomicWaker::new(),
            registry: Arc::downgrade(&self.registry),
        });
        let watch = Arc::new(Watch {
            state: Mutex::new(State::Open(Box::pin(messages))),
            signal: signal.clone(),
        });
        let key = self.registry.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut watches) = self.registry.watches.lock() {
            watches.insert(key, watch.clone());
        }
        Forwarded {
            waker: Waker::from(signal),
            watch,
            key,
            registry: Arc::downgrade(&self.registry),
            item: std::marker::PhantomData,
        }
    }

    /// Open watches, for tests.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.registry.watches.lock().map_or(0, |w| w.len())
    }

    /// Starts the one task that ends stalled watches (idempotent). It ends when the
    /// outbox is dropped.
    pub fn spawn_sweeper(&self) {
        if self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let registry = Arc::downgrade(&self.registry);
        let stall = self.stall;
        // A few checks per `stall`, so a watch ends within about a quarter more of it.
        let every = (stall / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // Ends with the gateway (the last `Outbox` owner) going away.
                let Some(registry) = registry.upgrade() else {
                    return;
                };
                sweep(&registry, stall);
            }
        });
    }
}

/// Ends every stalled watch; the registry lock is held only to copy the entries.
fn sweep(registry: &Registry, stall: Duration) {
    let watches: Vec<Arc<dyn Stallable>> = match registry.watches.lock() {
        Ok(watches) => watches.values().cloned().collect(),
        Err(_) => return,
    };
    let now = registry.nanos_since_epoch(Instant::now());
    let stall = stall.as_nanos() as u64;
    for watch in watches {
        if watch.end_if_stalled(now, stall) {
            static THROTTLE: Throttle = Throttle::new();
            bite(
                &THROTTLE,
                "GATEWAY_WATCH_STALL_TIMEOUT",
                "watch",
                "ended watch streams whose client took no message in time",
            );
        }
    }
}

struct Watch<S> {
    state: Mutex<State<S>>,
    signal: Arc<Signal>,
}

/// The waker the watcher's stream is polled with. Apart from the watch, because the
/// stream keeps its waker (in the hub's channel, in its heartbeat timer): a waker that
/// owned the watch would own the stream that owns it, and neither would ever be freed.
struct Signal {
    /// When the watcher's stream woke its task and the watch has not been polled since
    /// (nanoseconds since the registry's epoch; 0: not waiting to be polled).
    woken_at: AtomicU64,
    /// The response body's task, woken on the stream's behalf.
    task: AtomicWaker,
    registry: Weak<Registry>,
}

enum State<S> {
    Open(Pin<Box<S>>),
    /// Ended by the sweeper; the error is handed out once, then the stream ends.
    Stalled(Option<Error>),
    Done,
}

/// Notes when the stream woke, then wakes the response body's task.
impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(registry) = self.registry.upgrade() {
            let now = registry.nanos_since_epoch(Instant::now());
            let _ = self
                .woken_at
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
        }
        self.task.wake();
    }
}

impl<T, S> Stallable for Watch<S>
where
    T: Send + 'static,
    S: Stream<Item = Result<T, Error>> + Send + 'static,
{
    fn end_if_stalled(&self, now: u64, stall: u64) -> bool {
        let woken_at = self.signal.woken_at.load(Ordering::Acquire);
        if woken_at == 0 || now < woken_at.saturating_add(stall) {
            return false;
        }
        // Locked means polled right now: not stalled.
        let Ok(mut state) = self.state.try_lock() else {
            return false;
        };
        if !matches!(*state, State::Open(_)) {
            return false;
        }
        // Dropping the watcher's stream frees its subscription and its watcher slot.
        *state = State::Stalled(Some(stalled(Duration::from_nanos(stall))));
        true
    }
}

/// A watch's messages as its response body reads them (see [`Outbox::forward`]).
pub struct Forwarded<T, S> {
    watch: Arc<Watch<S>>,
    /// The watch's [`Signal`] as a waker, made once.
    waker: Waker,
    key: u64,
    registry: Weak<Registry>,
    item: std::marker::PhantomData<fn() -> T>,
}

impl<T, S> Stream for Forwarded<T, S>
where
    S: Stream<Item = Result<T, Error>>,
{
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let signal = &this.watch.signal;
        signal.task.register(cx.waker());
        // Polled: whatever woke the watch is being taken now.
        signal.woken_at.store(0, Ordering::Release);
        let Ok(mut state) = this.watch.state.lock() else {
            return Poll::Ready(None);
        };
        let polled = match &mut *state {
            State::Open(messages) => {
                let mut own = Context::from_waker(&this.waker);
                messages.as_mut().poll_next(&mut own)
            }
            State::Stalled(error) => Poll::Ready(error.take().map(Err)),
            State::Done => Poll::Ready(None),
        };
        if let Poll::Ready(None) = polled {
            *state = State::Done;
        }
        polled
    }
}

impl<T, S> Drop for Forwarded<T, S> {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            if let Ok(mut watches) = registry.watches.lock() {
                watches.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    /// Counts as dropped when the outbox lets go of the watcher's stream.
    struct Dropped(Arc<AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn numbers(
        dropped: &Arc<AtomicBool>,
    ) -> impl Stream<Item = Result<u32, Error>> + Send + 'static {
        let guard = Dropped(dropped.clone());
        futures::stream::unfold((0u32, guard), |(n, guard)| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok(n), (n + 1, guard)))
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_gets_every_message_and_a_quiet_watch_never_stalls() {
        let dropped = Arc::new(AtomicBool::new(false));
        // Messages a second apart, a stall bound of a tenth of that: a reader that asks
        // for the next message at once is never stalled, however quiet the watch.
        let outbox = Outbox::new(Duration::from_millis(100));
        outbox.spawn_sweeper();
        let mut out = Box::pin(outbox.forward(numbers(&dropped)));
        for n in 0..5 {
            assert_eq!(out.next().await.unwrap().unwrap(), n);
        }
        assert_eq!(outbox.open(), 1);
        drop(out);
        assert!(
            dropped.load(Ordering::SeqCst),
            "a client that leaves frees the watcher"
        );
        assert_eq!(outbox.open(), 0, "and its registry entry");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_takes_nothing_is_ended_with_resource_exhausted() {
        let dropped = Arc::new(AtomicBool::new(false));
        let outbox = Outbox::new(Duration::from_secs(30));
        outbox.spawn_sweeper();
        let mut out = Box::pin(outbox.forward(numbers(&dropped)));
        assert_eq!(out.next().await.unwrap().unwrap(), 0);
        // As tonic does, ask for more at once (nothing yet); then the client stops
        // reading and nothing polls the stream again. Message 1 is ready at 1 s.
        assert!(futures::poll!(out.next()).is_pending());
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(
            !dropped.load(Ordering::SeqCst),
            "not yet: the next message has waited under 30 s"
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(
            dropped.load(Ordering::SeqCst),
            "the watcher's stream was let go"
        );
        let ended = out.next().await.unwrap().unwrap_err();
        assert_eq!(
            (ended.kind, ended.reason.as_ref()),
            (ErrorKind::ResourceExhausted, "WATCH_CLIENT_STALLED")
        );
        assert!(out.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_stalled_watch_ends() {
        let (stalled_dropped, reading_dropped) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let outbox = Outbox::new(Duration::from_secs(5));
        outbox.spawn_sweeper();
        let mut stalled = Box::pin(outbox.forward(numbers(&stalled_dropped)));
        let mut reading = Box::pin(outbox.forward(numbers(&reading_dropped)));
        assert_eq!(stalled.next().await.unwrap().unwrap(), 0);
        assert!(futures::poll!(stalled.next()).is_pending());
        for n in 0..20 {
            assert_eq!(reading.next().await.unwrap().unwrap(), n);
        }
        assert!(stalled_dropped.load(Ordering::SeqCst));
        assert!(!reading_dropped.load(Ordering::SeqCst));
        assert_eq!(outbox.open(), 2, "entries go with the response streams");
    }
}
