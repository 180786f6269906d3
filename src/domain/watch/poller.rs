//! The shared poller: one loop per hub that fetches every due id in batches.
//!
//! After its first fetch an id falls due on the next tick of a fixed grid of intervals
//! (every second, fourth... tick for long-running ones), so every id watched shares the
//! same ticks whenever its first watcher arrived, and one tick costs ceil(ids / batch)
//! requests per status endpoint. Ids due within a small slack are fetched together. When the
//! upstream says it is busy or rate limited, the whole poller pauses for the time it
//! asks (at least one interval). A failed poll keeps the last state and is retried an
//! interval late; after [`crate::domain::watch::STALE_AFTER_FAILED_POLLS`] in a row the hub
//! marks the state stale ([`Hub::fail`]) so watchers are told, until a poll succeeds.

use super::{Hub, Observed, ObservedAt};
use crate::support::error::{Error, ErrorKind};
use crate::support::reasons;
use crate::support::shutdown::Shutdown;
use futures::future::BoxFuture;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::time::Instant;
use tracing::{debug, warn};

/// What one fetch found for one id.
#[derive(Debug)]
pub enum Fetched<V> {
    /// The current state, read from the upstream just now.
    Value(V),
    /// A state read from the upstream at the time given (`None`: unknown), here or by
    /// another replica (fleet mode): published only when no later one is known.
    Shared(V, Option<ObservedAt>),
    /// The upstream does not know the id.
    Missing,
    /// The fetch failed.
    Failed(Error),
    /// Another replica polls this id (fleet mode) and nothing new is known here: keep
    /// the state, look again next tick.
    Elsewhere,
}

/// Fetches the state of many ids (one implementation per API).
pub trait Source<V>: Send + Sync + 'static {
    /// Fetches `keys`, batching as the API allows.
    fn fetch<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, HashMap<String, Fetched<V>>>;
    /// True for states after which the id changes no more.
    fn is_terminal(&self, value: &V) -> bool;
    /// What to publish when an id that had a state disappears upstream (a deleted live
    /// stream): a final state, or `None` to report it missing.
    fn gone(&self, _last: &V) -> Option<V> {
        None
    }
}

/// Poll timing.
#[derive(Debug, Clone, Copy)]
pub struct PollSettings {
    /// Base interval between fetches of one id.
    pub interval: Duration,
}

impl PollSettings {
    /// The bound of one upstream fetch made by the poller: shorter than an interval, so
    /// one stalled request delays only the ids it carries, and by less than a tick
    /// (batches run concurrently; the slowest one bounds the poll).
    pub fn fetch_timeout(&self) -> Duration {
        (self.interval * 4 / 5).max(Duration::from_millis(100))
    }

    /// The interval for an id watched for `age`: jobs that run long change slowly, so
    /// they are polled less often (x2 after 10 min, x4 after an hour, at most 60 s unless
    /// the base is longer).
    pub fn interval_for(&self, age: Duration) -> Duration {
        let factor = match age.as_secs() {
            0..600 => 1,
            600..3600 => 2,
            _ => 4,
        };
        (self.interval * factor).min(Duration::from_secs(60).max(self.interval))
    }

    /// Ids due within this much of each other share a batch.
    fn slack(&self) -> Duration {
        self.interval / 10
    }
}

/// The first grid tick (`origin` + k x `interval`) at or after `at`.
fn on_grid(origin: Instant, at: Instant, interval: Duration) -> Instant {
    let since = at.saturating_duration_since(origin).as_nanos();
    let step = interval.as_nanos().max(1);
    let ticks = since.div_ceil(step);
    origin + Duration::from_nanos(u64::try_from(ticks * step).unwrap_or(u64::MAX))
}

/// Runs until `shutdown` flips to true.
pub async fn run<V, S>(hub: Arc<Hub<V>>, source: Arc<S>, settings: PollSettings, shutdown: Shutdown)
where
    V: PartialEq + Send + Sync + 'static,
    S: Source<V>,
{
    let mut paused_until: Option<Instant> = None;
    let origin = Instant::now();
    loop {
        if shutdown.has_begun() {
            return;
        }
        let now = Instant::now();
        let (due, next) = hub.due(now, settings.slack());
        let wake_at = match (paused_until.filter(|p| *p > now), due.is_empty()) {
            (Some(pause), _) => Some(pause),
            (None, true) => Some(next.unwrap_or(now + Duration::from_secs(3600))),
            (None, false) => None,
        };
        if let Some(at) = wake_at {
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = hub.woken() => {}
                () = shutdown.begun() => return,
            }
            continue;
        }
        let mut results = source.fetch(&due).await;
        let now = Instant::now();
        for key in &due {
            let age = hub.since(key).map_or(Duration::ZERO, |since| now - since);
            // The tick nearest to one interval from now (not the one after it, which
            // would double the pace for fetches that land just after a tick).
            let target = now + settings.interval_for(age) - settings.interval / 2;
            let next_due = on_grid(origin, target, settings.interval);
            match results.remove(key) {
                Some(Fetched::Value(value)) => {
                    let terminal = source.is_terminal(&value);
                    hub.publish(key, Observed::Value(Arc::new(value)), terminal, next_due);
                }
                Some(Fetched::Shared(value, at)) => {
                    let terminal = source.is_terminal(&value);
                    let value = Observed::Value(Arc::new(value));
                    hub.publish_observed(key, value, terminal, next_due, at);
                }
                Some(Fetched::Missing) | None => {
                    let last = hub.current(key).and_then(|last| source.gone(&last));
                    let observed = last.map_or(Observed::Missing, |v| Observed::Value(Arc::new(v)));
                    hub.publish(key, observed, true, next_due);
                }
                Some(Fetched::Elsewhere) => hub.reschedule(key, next_due),
                Some(Fetched::Failed(error)) => {
                    if let Some(delay) = error.retry_after {
                        let pause = now + delay.max(settings.interval);
                        paused_until = Some(paused_until.map_or(pause, |p| p.max(pause)));
                        warn!(reason = %error.reason, pause_ms = delay.as_millis() as u64, "upstream asked the poller to back off");
                    }
                    debug!(reason = %error.reason, "poll failed");
                    // A poll that ran out of its time budget reads as what it is for
                    // watchers: the upstream did not answer, retry.
                    let error = if error.kind == ErrorKind::DeadlineExceeded {
                        Error::upstream(
                            ErrorKind::Unavailable,
                            reasons::UPSTREAM_TIMEOUT,
                            format!(
                                "Qencode did not answer the status poll within {:?}",
                                settings.fetch_timeout()
                            ),
                        )
                        .with_retry_after(settings.interval)
                    } else {
                        error
                    };
                    if hub.current(key).is_some() {
                        // Watchers keep the last state (told it is stale after a few
                        // failures in a row); try again a little later.
                        if hub.fail(key, error.reason.clone(), next_due + settings.interval) {
                            debug!(reason = %error.reason, "watched state is stale");
                        }
                    } else {
                        // Nobody has a snapshot yet: waiting watchers get the error.
                        hub.publish(key, Observed::Failed(error), false, next_due);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_ticks() {
        let origin = Instant::now();
        let second = Duration::from_secs(1);
        assert_eq!(
            on_grid(origin, origin + Duration::from_millis(1300), second),
            origin + 2 * second
        );
        assert_eq!(
            on_grid(origin, origin + 2 * second, second),
            origin + 2 * second
        );
        assert_eq!(on_grid(origin, origin, second), origin);
    }

    /// A source whose answers a test switches between a value and a failure.
    struct Flaky {
        up: std::sync::atomic::AtomicBool,
        fetches: std::sync::atomic::AtomicU32,
    }

    impl Source<u32> for Flaky {
        fn fetch<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, HashMap<String, Fetched<u32>>> {
            use std::sync::atomic::Ordering;
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let up = self.up.load(Ordering::SeqCst);
            Box::pin(async move {
                keys.iter()
                    .map(|k| {
                        let fetched = if up {
                            Fetched::Value(7)
                        } else {
                            Fetched::Failed(Error::upstream(
                                ErrorKind::Unavailable,
                                "UPSTREAM_UNAVAILABLE",
                                "HTTP 503",
                            ))
                        };
                        (k.clone(), fetched)
                    })
                    .collect()
            })
        }

        fn is_terminal(&self, _: &u32) -> bool {
            false
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_is_stale_after_three_failed_polls_and_ends_with_the_next_value() {
        use crate::domain::watch::{hub::STALE_AFTER_FAILED_POLLS, WatcherLimit};
        use std::sync::atomic::Ordering;
        let hub = Arc::new(Hub::<u32>::new(WatcherLimit::new(10)));
        let source = Arc::new(Flaky {
            up: true.into(),
            fetches: 0.into(),
        });
        let settings = PollSettings {
            interval: Duration::from_secs(1),
        };
        let shutdown = Shutdown::new();
        let mut sub = hub.subscribe("t").unwrap();
        tokio::spawn(run(hub.clone(), source.clone(), settings, shutdown.clone()));
        sub.rx
            .wait_for(|o| matches!(o, Some(Observed::Value(_))))
            .await
            .unwrap();
        source.up.store(false, Ordering::SeqCst);
        let before = source.fetches.load(Ordering::SeqCst);
        let stale = sub
            .rx
            .wait_for(|o| matches!(o, Some(Observed::Stale(..))))
            .await
            .unwrap()
            .clone();
        let Some(Observed::Stale(value, stale)) = stale else {
            unreachable!()
        };
        assert_eq!(*value, 7, "the last state stands");
        assert_eq!(stale.failed_polls, STALE_AFTER_FAILED_POLLS);
        assert_eq!(stale.reason, "UPSTREAM_UNAVAILABLE");
        assert_eq!(
            source.fetches.load(Ordering::SeqCst) - before,
            STALE_AFTER_FAILED_POLLS,
            "stale exactly at the third failed poll"
        );
        source.up.store(true, Ordering::SeqCst);
        sub.rx
            .wait_for(|o| matches!(o, Some(Observed::Value(_))))
            .await
            .unwrap();
        shutdown.begin();
    }

    #[test]
    fn long_jobs_are_polled_less_often() {
        let settings = PollSettings {
            interval: Duration::from_secs(5),
        };
        assert_eq!(
            settings.interval_for(Duration::from_secs(10)),
            Duration::from_secs(5)
        );
        assert_eq!(
            settings.interval_for(Duration::from_secs(900)),
            Duration::from_secs(10)
        );
        assert_eq!(
            settings.interval_for(Duration::from_secs(7200)),
            Duration::from_secs(20)
        );
        let slow = PollSettings {
            interval: Duration::from_secs(30),
        };
        assert_eq!(
            slow.interval_for(Duration::from_secs(7200)),
            Duration::from_secs(60)
        );
    }
}
