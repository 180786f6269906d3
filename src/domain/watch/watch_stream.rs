//! One watcher's messages: snapshot, changes, heartbeats, stale markers, then the end.
//!
//! Built with `futures::stream::unfold` rather than a spawned task feeding a channel:
//! the state is one receiver, one timer and the last value sent, and when the client
//! goes away tonic drops the stream, which releases the watcher at once.

use super::{hub::Stale, Observed, Subscription};
use crate::support::error::{Error, ErrorKind, GATEWAY_DOMAIN};
use crate::support::reasons;
use crate::support::shutdown::Shutdown;
use futures::Stream;
use std::{sync::Arc, time::Duration};
use tokio::time::Instant;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The current state: first, and again when polls succeed after [`EventKind::Stale`].
    Snapshot,
    /// The state changed.
    Change,
    /// Nothing changed for the heartbeat interval.
    Heartbeat,
    /// Updates stopped: the last polls failed ([`crate::domain::watch::STALE_AFTER_FAILED_POLLS`]
    /// in a row); the state is the last known one. Sent once per outage.
    Stale,
}

/// One message of a watch stream.
#[derive(Debug, Clone)]
pub struct Event<V> {
    /// Snapshot, change or heartbeat.
    pub kind: EventKind,
    /// The full current state.
    pub value: Arc<V>,
    /// Set while the state is stale: on the [`EventKind::Stale`] event, on heartbeats
    /// that follow it, and on the snapshot of a watcher that arrives during an outage.
    pub stale: Option<Stale>,
}

/// How a watch stream behaves.
#[derive(Clone, Copy)]
pub struct StreamSettings<V> {
    /// Quiet time after which the state is repeated as a heartbeat.
    pub heartbeat: Duration,
    /// States after which the stream ends with OK.
    pub is_terminal: fn(&V) -> bool,
    /// The NOT_FOUND message for an unknown id (names the kind of id).
    pub not_found: &'static str,
    /// The NOT_FOUND `ErrorInfo.reason`: the one the unary calls use for the same
    /// condition, so callers handle one vocabulary (domain [`crate::support::error::UPSTREAM_DOMAIN`]).
    pub not_found_reason: &'static str,
}

enum Phase<V> {
    First,
    Streaming(Arc<V>),
    Done,
}

struct State<V> {
    sub: Subscription<V>,
    shutdown: Shutdown,
    settings: StreamSettings<V>,
    phase: Phase<V>,
    /// True once this watcher was told its state is stale, until a fresh one is sent.
    told_stale: bool,
    /// When the next heartbeat is due: a deadline moved only when a message is sent,
    /// so updates that send nothing (failed polls during an outage) never put it off.
    heartbeat_at: Instant,
}

/// The error every open watch stream ends with when the gateway shuts down.
pub fn shutting_down() -> Error {
    Error::new(
        ErrorKind::Unavailable,
        GATEWAY_DOMAIN,
        reasons::SHUTTING_DOWN,
        "server shutting down; reconnect to watch again",
    )
    .with_retry_after(Duration::ZERO)
}

/// The messages of one watcher; they end with UNAVAILABLE when the hub lets go of the
/// subscription, which it does for all of them when shutdown begins ([`crate::domain::watch::Hub::close`]),
/// or when a step finds that `shutdown` has begun.
///
/// The stream waits on its subscription alone, not on the shutdown signal as well: a
/// shutdown future in every wait was 168 of the 592 bytes each open watcher held here.
pub fn events<V>(
    sub: Subscription<V>,
    shutdown: Shutdown,
    settings: StreamSettings<V>,
) -> impl Stream<Item = Result<Event<V>, Error>> + Send
where
    V: PartialEq + Send + Sync + 'static,
{
    let heartbeat_at = Instant::now() + settings.heartbeat;
    let state = State {
        sub,
        shutdown,
        settings,
        phase: Phase::First,
        told_stale: false,
        heartbeat_at,
    };
    futures::stream::unfold(state, |mut st| async move {
        let item = next(&mut st).await?;
        Some((item, st))
    })
}

async fn next<V: PartialEq + Send + Sync + 'static>(
    st: &mut State<V>,
) -> Option<Result<Event<V>, Error>> {
    loop {
        let last = match &st.phase {
            Phase::Done => return None,
            Phase::First => None,
            Phase::Streaming(last) => Some(last.clone()),
        };
        if st.shutdown.has_begun() {
            st.phase = Phase::Done;
            return Some(Err(shutting_down()));
        }
        let Some(last) = last else {
            // A closed channel (the hub let go at shutdown) ends the wait with `None`.
            let first = st
                .sub
                .rx
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|v| v.clone());
            return Some(match first {
                Some(Observed::Value(value)) => Ok(emit(st, EventKind::Snapshot, value, None)),
                Some(Observed::Stale(value, stale)) => {
                    // Arriving during an outage: the snapshot itself says it is stale,
                    // so no separate STALE follows.
                    Ok(emit(st, EventKind::Snapshot, value, Some(stale)))
                }
                Some(Observed::Missing) => {
                    st.phase = Phase::Done;
                    Err(Error::upstream(
                        ErrorKind::NotFound,
                        st.settings.not_found_reason,
                        st.settings.not_found,
                    ))
                }
                Some(Observed::Failed(error)) => {
                    st.phase = Phase::Done;
                    Err(error)
                }
                None => {
                    st.phase = Phase::Done;
                    Err(shutting_down())
                }
            });
        };
        tokio::select! {
            biased;
            changed = st.sub.rx.changed() => {
                if changed.is_err() {
                    // The hub let go of this id: the gateway is stopping.
                    st.phase = Phase::Done;
                    return Some(Err(shutting_down()));
                }
                let current = st.sub.rx.borrow_and_update().clone();
                match current {
                    // Fresh again after an outage: the current state, even if unchanged.
                    Some(Observed::Value(value)) if st.told_stale => return Some(Ok(emit(st, EventKind::Snapshot, value, None))),
                    Some(Observed::Value(value)) if *value != *last => return Some(Ok(emit(st, EventKind::Change, value, None))),
                    Some(Observed::Stale(value, stale)) if !st.told_stale => return Some(Ok(emit(st, EventKind::Stale, value, Some(stale)))),
                    // Same value, one more failed poll of a stale state, or a later
                    // fetch failed: the last state stands.
                    _ => continue,
                }
            }
            () = tokio::time::sleep_until(st.heartbeat_at) => {
                // Heartbeats of a stale state say so, with the failure count so far.
                let stale = match &*st.sub.rx.borrow() {
                    Some(Observed::Stale(_, stale)) if st.told_stale => Some(stale.clone()),
                    _ => None,
                };
                st.heartbeat_at = Instant::now() + st.settings.heartbeat;
                return Some(Ok(Event { kind: EventKind::Heartbeat, value: last, stale }));
            }
        }
    }
}

fn emit<V>(st: &mut State<V>, kind: EventKind, value: Arc<V>, stale: Option<Stale>) -> Event<V> {
    st.phase = if (st.settings.is_terminal)(&value) {
        Phase::Done
    } else {
        Phase::Streaming(value.clone())
    };
    st.told_stale = stale.is_some();
    st.heartbeat_at = Instant::now() + st.settings.heartbeat;
    Event { kind, value, stale }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::watch::{Hub, WatcherLimit};
    use crate::support::error::UPSTREAM_DOMAIN;
    use futures::StreamExt;

    const SETTINGS: StreamSettings<u32> = StreamSettings {
        heartbeat: Duration::from_secs(15),
        is_terminal: |v| *v >= 100,
        not_found: "no such thing",
        not_found_reason: "NO_SUCH_THING",
    };

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test(start_paused = true)]
    async fn snapshot_changes_heartbeat_and_terminal_end() {
        let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
        let shutdown = Shutdown::new();
        let mut events = Box::pin(events(hub.subscribe("a").unwrap(), shutdown, SETTINGS));
        hub.publish("a", Observed::Value(Arc::new(1)), false, later());
        let e = events.next().await.unwrap().unwrap();
        assert_eq!((e.kind, *e.value), (EventKind::Snapshot, 1));
        hub.publish("a", Observed::Value(Arc::new(2)), false, later());
        let e = events.next().await.unwrap().unwrap();
        assert_eq!((e.kind, *e.value), (EventKind::Change, 2));
        let before = Instant::now();
        let e = events.next().await.unwrap().unwrap();
        assert_eq!((e.kind, *e.value), (EventKind::Heartbeat, 2));
        assert_eq!(Instant::now() - before, Duration::from_secs(15));
        hub.publish("a", Observed::Value(Arc::new(100)), true, later());
        let e = events.next().await.unwrap().unwrap();
        assert_eq!((e.kind, *e.value), (EventKind::Change, 100));
        assert!(
            events.next().await.is_none(),
            "ends OK after the terminal state"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_is_told_once_marked_on_heartbeats_and_ended_by_a_snapshot() {
        use crate::domain::watch::hub::STALE_AFTER_FAILED_POLLS;
        let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
        let shutdown = Shutdown::new();
        let mut events = Box::pin(events(
            hub.subscribe("a").unwrap(),
            shutdown.clone(),
            SETTINGS,
        ));
        hub.publish("a", Observed::Value(Arc::new(1)), false, later());
        let e = events.next().await.unwrap().unwrap();
        assert_eq!((e.kind, e.stale), (EventKind::Snapshot, None));
        for _ in 0..STALE_AFTER_FAILED_POLLS {
            hub.fail("a", "UPSTREAM_TIMEOUT".into(), later());
        }
        let e = events.next().await.unwrap().unwrap();
        assert_eq!((e.kind, *e.value), (EventKind::Stale, 1));
        let stale = e.stale.expect("the stale event says why");
        assert_eq!(
            (stale.failed_polls, stale.reason.as_ref()),
            (STALE_AFTER_FAILED_POLLS, "UPSTREAM_TIMEOUT")
        );
        hub.fail("a", "UPSTREAM_UNAVAILABLE".into(), later());
        let e = events.next().await.unwrap().unwrap();
        assert_eq!(e.kind, EventKind::Heartbeat, "one STALE per outage");
        let stale = e.stale.expect("heartbeats of a stale state are marked");
        assert_eq!(
            (stale.failed_polls, stale.reason.as_ref()),
            (STALE_AFTER_FAILED_POLLS + 1, "UPSTREAM_UNAVAILABLE")
        );

        // A watcher arriving during the outage gets a snapshot marked stale.
        let mut late = Box::pin(super::events(
            hub.subscribe("a").unwrap(),
            shutdown,
            SETTINGS,
        ));
        let e = late.next().await.unwrap().unwrap();
        assert_eq!(e.kind, EventKind::Snapshot);
        assert!(e.stale.is_some());

        hub.publish("a", Observed::Value(Arc::new(1)), false, later());
        for events in [&mut events, &mut late] {
            let e = events.next().await.unwrap().unwrap();
            assert_eq!(
                (e.kind, *e.value, e.stale),
                (EventKind::Snapshot, 1, None),
                "recovered, same state"
            );
            let e = events.next().await.unwrap().unwrap();
            assert_eq!((e.kind, e.stale), (EventKind::Heartbeat, None));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failed_polls_during_an_outage_do_not_put_off_heartbeats() {
        use crate::domain::watch::hub::STALE_AFTER_FAILED_POLLS;
        let hub = Arc::new(Hub::<u32>::new(WatcherLimit::new(10)));
        let mut events = Box::pin(events(
            hub.subscribe("a").unwrap(),
            Shutdown::new(),
            SETTINGS,
        ));
        hub.publish("a", Observed::Value(Arc::new(1)), false, later());
        events.next().await.unwrap().unwrap();
        for _ in 0..STALE_AFTER_FAILED_POLLS {
            hub.fail("a", "UPSTREAM_TIMEOUT".into(), later());
        }
        let e = events.next().await.unwrap().unwrap();
        assert_eq!(e.kind, EventKind::Stale);
        // Polls keep failing every 10 s, faster than the 15 s heartbeat.
        let failing = hub.clone();
        let failer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                failing.fail("a", "UPSTREAM_TIMEOUT".into(), later());
            }
        });
        for _ in 0..3 {
            let before = Instant::now();
            let e = tokio::time::timeout(SETTINGS.heartbeat * 2, events.next())
                .await
                .expect("a heartbeat while polls fail")
                .unwrap()
                .unwrap();
            assert_eq!(e.kind, EventKind::Heartbeat);
            assert!(e.stale.is_some(), "marked stale");
            assert_eq!(Instant::now() - before, SETTINGS.heartbeat);
        }
        failer.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn slow_readers_skip_to_the_latest_and_still_get_the_terminal_state() {
        let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
        let shutdown = Shutdown::new();
        let mut events = Box::pin(events(hub.subscribe("a").unwrap(), shutdown, SETTINGS));
        hub.publish("a", Observed::Value(Arc::new(1)), false, later());
        assert_eq!(*events.next().await.unwrap().unwrap().value, 1);
        for v in 2..=100 {
            hub.publish("a", Observed::Value(Arc::new(v)), v == 100, later());
        }
        let e = events.next().await.unwrap().unwrap();
        assert_eq!((e.kind, *e.value), (EventKind::Change, 100));
        assert!(events.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_ids_failures_and_shutdown() {
        let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let mut missing = Box::pin(events(
            hub.subscribe("m").unwrap(),
            shutdown.clone(),
            SETTINGS,
        ));
        hub.publish("m", Observed::Missing, true, later());
        let not_found = missing.next().await.unwrap().unwrap_err();
        assert_eq!(
            (not_found.kind, not_found.domain, not_found.reason.as_ref()),
            (ErrorKind::NotFound, UPSTREAM_DOMAIN, "NO_SUCH_THING")
        );
        assert!(missing.next().await.is_none());

        let mut failed = Box::pin(events(
            hub.subscribe("f").unwrap(),
            shutdown.clone(),
            SETTINGS,
        ));
        let down = Error::new(ErrorKind::Unavailable, GATEWAY_DOMAIN, "DOWN", "down");
        hub.publish("f", Observed::Failed(down), false, later());
        assert_eq!(failed.next().await.unwrap().unwrap_err().reason, "DOWN");

        let mut open = Box::pin(events(hub.subscribe("o").unwrap(), shutdown, SETTINGS));
        hub.publish("o", Observed::Value(Arc::new(5)), false, later());
        open.next().await.unwrap().unwrap();
        let waiting = tokio::spawn(async move { open.next().await });
        tokio::task::yield_now().await;
        stop.begin();
        hub.close();
        let ended = waiting.await.unwrap().unwrap().unwrap_err();
        assert_eq!(
            (ended.kind, ended.reason.as_ref()),
            (ErrorKind::Unavailable, "SHUTTING_DOWN")
        );
    }
}
