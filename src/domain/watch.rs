//! Server-streaming watchers: any number of watchers, one quiet upstream.
//!
//! A [`Hub`] keeps, per watched id, a `tokio::sync::watch` channel holding the latest
//! observed state. Watchers subscribe to it; a [`poller`] refreshes the due ids in batches
//! and publishes what changed; Qencode's task callbacks publish too ([`task_push`]).
//! Because a watch channel holds only the latest value, a slow reader can never slow the
//! poller or other watchers: it skips intermediate states and always reads the newest.
//! A watcher's messages come from [`watch_stream`] (a plain `Stream` over the subscription)
//! through [`outbox`], whose one sweeper notices a client that stops taking messages
//! (hyper stops polling a stream whose window is shut, and an unpolled stream cannot run
//! a timer) and ends its watch after `GATEWAY_WATCH_STALL_TIMEOUT`. A client that goes away frees its watcher the moment
//! tonic drops the response stream.
//!
//! An id is polled while it has watchers and is not terminal; the poller forgets it when
//! its last watcher leaves.

pub mod callback_body;
mod hub;
pub mod observed_at;
pub mod outbox;
pub mod poller;
pub mod shared;
pub mod stream_push;
pub mod stream_source;
pub mod task_push;
pub mod task_source;
pub mod tracker;
pub mod watch_stream;
mod watcher_limit;

use crate::support::reasons;
use crate::{
    access::projects::Projects,
    domain::{live::LiveStreaming, transcoding::Transcoding},
    pb::{LiveStream, TaskStatus},
    support::{
        error::{Error, Violations},
        shutdown::Shutdown,
    },
};
use futures::Stream;
use poller::PollSettings;
use std::{sync::Arc, time::Duration};
use task_push::CallbackSigner;
use watch_stream::{Event, StreamSettings};

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
    /// How long a message may wait for a client that takes none before its stream is
    /// ended ([`outbox`]).
    pub stall_timeout: Duration,
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
    shutdown: Shutdown,
    /// Ends the watches of clients that stopped taking messages.
    outbox: outbox::Outbox,
    /// Fleet mode: task and stream polling shared through leases, states through Redis.
    fleet: Option<Arc<crate::fleet::Fleet>>,
}

impl Watchers {
    /// Watchers with `settings`; `signer` enables push from callbacks. Streams end and
    /// pollers stop when `shutdown` begins.
    pub fn new(
        settings: WatchSettings,
        signer: Option<Arc<CallbackSigner>>,
        shutdown: Shutdown,
    ) -> Self {
        let limit = WatcherLimit::new(settings.max_watchers);
        Watchers {
            tasks: Arc::new(Hub::new(limit.clone())),
            streams: Arc::new(Hub::new(limit.clone())),
            limit,
            settings,
            signer,
            shutdown,
            outbox: outbox::Outbox::new(settings.stall_timeout),
            fleet: None,
        }
    }

    /// Starts everything watchers need in the background (the gateway calls it once,
    /// from `Gateway::spawn_background`): the two pollers, the outbox's sweeper, and the
    /// task that closes both hubs when shutdown begins. Live streams are fetched through
    /// `live`, each with its project's token (`projects`).
    pub fn spawn_background(
        &self,
        transcoding: Arc<Transcoding>,
        live: Arc<LiveStreaming>,
        projects: Arc<Projects>,
    ) {
        self.spawn_upkeep();
        if transcoding.ledger().is_on() {
            tokio::spawn(tracker::run(
                self.tasks.clone(),
                transcoding.ledger().clone(),
                self.settings.poll_interval * tracker::RESCAN_INTERVALS,
                self.shutdown.clone(),
            ));
        }
        self.spawn_pollers(transcoding, live, projects);
    }

    /// The sweeper of stalled watches, and the closing of both hubs at shutdown: open
    /// watch streams end when their hub lets go of them ([`watch_stream::events`]).
    fn spawn_upkeep(&self) {
        self.outbox.spawn_sweeper();
        let (tasks, streams) = (self.tasks.clone(), self.streams.clone());
        self.shutdown.spawn_after_begin(Duration::ZERO, move || {
            tasks.close();
            streams.close();
        });
    }

    /// Shares task and stream watching with the fleet behind `fleet` (set before the
    /// pollers start).
    pub fn with_fleet(mut self, fleet: Option<Arc<crate::fleet::Fleet>>) -> Self {
        self.fleet = fleet;
        self
    }

    /// The fleet, in fleet mode.
    pub fn fleet(&self) -> Option<Arc<crate::fleet::Fleet>> {
        self.fleet.clone()
    }

    /// The callback signer, when callbacks are configured.
    pub fn signer(&self) -> Option<Arc<CallbackSigner>> {
        self.signer.clone()
    }

    /// Starts the two pollers; they stop when shutdown begins.
    fn spawn_pollers(
        &self,
        transcoding: Arc<Transcoding>,
        live: Arc<LiveStreaming>,
        projects: Arc<Projects>,
    ) {
        let task_settings = PollSettings {
            interval: self.settings.poll_interval,
        };
        let tasks = Arc::new(task_source::TaskSource {
            transcoding,
            batch_size: self.settings.batch_size,
            batch_timeout: task_settings.fetch_timeout(),
        });
        self.spawn_poller(self.tasks.clone(), tasks, task_settings);
        let live_settings = PollSettings {
            interval: self.settings.live_poll_interval,
        };
        let streams = Arc::new(stream_source::LiveSource {
            live,
            projects,
            timeout: live_settings.fetch_timeout(),
        });
        self.spawn_poller(self.streams.clone(), streams, live_settings);
    }

    /// Starts the poller of `hub`; in fleet mode through leases (one replica polls each
    /// item for the fleet), with the fleet's states pushed into `hub` as they come.
    fn spawn_poller<V, S>(&self, hub: Arc<Hub<V>>, source: Arc<S>, settings: PollSettings)
    where
        V: crate::domain::watch::shared::Watched,
        S: poller::Source<V>,
    {
        let shutdown = self.shutdown.clone();
        match &self.fleet {
            Some(fleet) => {
                use crate::{
                    domain::watch::shared::{leases::LeasedSource, snapshots},
                    fleet::Fleet,
                };
                let ttl = Fleet::lease_ttl_for(settings.interval);
                let leased = Arc::new(LeasedSource::new(source, hub.clone(), fleet.clone(), ttl));
                tokio::spawn(leased.clone().maintain(shutdown.clone()));
                tokio::spawn(snapshots::subscribe(
                    fleet.clone(),
                    hub.clone(),
                    shutdown.clone(),
                ));
                tokio::spawn(poller::run(hub, leased, settings, shutdown));
            }
            None => {
                tokio::spawn(poller::run(hub, source, settings, shutdown));
            }
        }
    }

    /// A watch of one task, holding the watcher slot `held` when the caller took one
    /// already (the gRPC layer does, from the call's HEADERS), else a new one.
    pub fn watch_task(
        &self,
        task_token: &str,
        held: Option<Permit>,
    ) -> Result<impl Stream<Item = Result<Event<TaskStatus>, Error>> + Send + use<>, Error> {
        let mut v = Violations::default();
        crate::domain::ids::check("task_token", task_token, &mut v);
        v.into_result()?;
        let settings = StreamSettings {
            heartbeat: self.settings.heartbeat,
            is_terminal: crate::upstream::task_status::is_terminal,
            not_found: "Qencode does not know this task token",
            not_found_reason: reasons::QENCODE_TOKEN_NOT_FOUND,
        };
        Ok(self.outbox.forward(watch_stream::events(
            self.tasks.subscribe_held(task_token, held)?,
            self.shutdown.clone(),
            settings,
        )))
    }

    /// A watch of one live stream, holding the watcher slot `held` like
    /// [`Watchers::watch_task`].
    pub fn watch_stream(
        &self,
        stream_id: &str,
        held: Option<Permit>,
    ) -> Result<impl Stream<Item = Result<Event<LiveStream>, Error>> + Send + use<>, Error> {
        let mut v = Violations::default();
        crate::domain::ids::check("stream_id", stream_id, &mut v);
        v.into_result()?;
        let settings = StreamSettings {
            heartbeat: self.settings.heartbeat,
            is_terminal: stream_source::is_final,
            not_found: "Qencode does not know this live stream",
            not_found_reason: reasons::QENCODE_LIVE_NOT_FOUND,
        };
        Ok(self.outbox.forward(watch_stream::events(
            self.streams.subscribe_held(stream_id, held)?,
            self.shutdown.clone(),
            settings,
        )))
    }
}

pub use hub::{Hub, Observed, Stale, Subscription, STALE_AFTER_FAILED_POLLS};
pub use observed_at::ObservedAt;
pub use watcher_limit::{Permit, WatcherLimit};

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn watchers(shutdown: Shutdown) -> Watchers {
        Watchers::new(
            WatchSettings {
                poll_interval: Duration::from_secs(1),
                live_poll_interval: Duration::from_secs(1),
                batch_size: 100,
                heartbeat: Duration::from_secs(15),
                stall_timeout: Duration::from_secs(30),
                max_watchers: 10,
            },
            None,
            shutdown,
        )
    }

    /// Streams wait on their subscription alone: what ends them at shutdown is the
    /// hubs closing, which the watchers' upkeep arranged. Nothing polls here, so without the
    /// closing they would wait for a first state for ever (the paused clock would then
    /// run into the timeout).
    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_open_watches_of_both_kinds_at_once() {
        let shutdown = Shutdown::new();
        let watchers = watchers(shutdown.clone());
        watchers.spawn_upkeep();
        let mut task = Box::pin(watchers.watch_task("task", None).unwrap());
        let mut stream = Box::pin(watchers.watch_stream("stream", None).unwrap());
        let waiting = tokio::spawn(async move { (task.next().await, stream.next().await) });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        shutdown.begin();
        let (task, stream) = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("ended at shutdown")
            .expect("task");
        assert_eq!(task.unwrap().unwrap_err().reason, "SHUTTING_DOWN");
        assert_eq!(stream.unwrap().unwrap_err().reason, "SHUTTING_DOWN");
        // A watch opened afterwards ends at its first step.
        let late = watchers.watch_task("late", None).unwrap().next().await;
        assert_eq!(late.unwrap().unwrap_err().reason, "SHUTTING_DOWN");
    }
}
