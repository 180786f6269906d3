//! Fleet mode: several replicas act as one gateway through one Redis
//! (`GATEWAY_REDIS_URL`).
//!
//! Without Redis every replica works alone: its own access tokens, its own pollers, only
//! the callbacks Qencode happens to send to it. With Redis, what is shared is built on
//! this handle elsewhere: one access token per project and API
//! (`upstream::auth::fleet_tokens`), and watched items' leases, snapshots and channels
//! (`domain::watch::shared`). This module is a leaf: the connection, key names, bounded
//! commands and whether Redis answers ([`trouble`]), and nothing of what is shared.
//!
//! Redis is a helper, never a dependency: every operation is bounded, and while Redis
//! does not answer ([`trouble`]) each replica does the local thing, as without Redis.
//! Redis must be private: the access tokens stored in it are secrets, and so are the
//! stream keys inside stored live stream snapshots.

mod redis_url;
pub mod trouble;

pub use redis_url::RedisUrl;

use crate::support::error::{Error, ErrorKind, GATEWAY_DOMAIN};
use crate::support::reasons;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::{
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Weak,
    },
    time::Duration,
};
use trouble::Trouble;

/// The kinds of watched items the fleet shares (their Redis names are in
/// `domain::watch::shared::kinds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Transcoding tasks, by task token.
    Task,
    /// Live streams, by stream id.
    Stream,
}

impl Kind {
    /// Index into per-kind arrays.
    fn index(self) -> usize {
        match self {
            Kind::Task => 0,
            Kind::Stream => 1,
        }
    }
}

/// Upper bound of one Redis operation: past it the caller falls back to local work.
const OP_TIMEOUT: Duration = Duration::from_secs(1);

/// Redis could not be used for this operation; do the local thing.
#[derive(Debug, Clone, Copy)]
pub struct Down;

/// One gateway's handle on the fleet's Redis.
pub struct Fleet {
    /// Opens the pub/sub connections (the command connection is `conn`).
    client: redis::Client,
    /// Commands and scripts; reconnects by itself after failures.
    conn: ConnectionManager,
    /// Namespace of every key and channel (`GATEWAY_REDIS_PREFIX`).
    prefix: String,
    /// This replica, as lease holder (random per process: a restarted replica is new).
    replica: String,
    /// How long a task lease lasts unless renewed: the longest a dead holder's tasks go
    /// unpolled.
    lease_ttl: Duration,
    /// Whether Redis answers, for fallbacks, logs and metrics (shared with the probe,
    /// which holds it weakly and ends with this handle).
    trouble: Arc<Trouble>,
    /// Leases this replica holds, per [`Kind`] (gauges).
    leases_held: [AtomicUsize; 2],
    /// Whether live-stream states may be shared now ([`Fleet::shares`]); unset: yes.
    streams_shared: std::sync::OnceLock<Box<dyn Fn() -> bool + Send + Sync>>,
}

impl Fleet {
    /// A handle on Redis at `url`; connects lazily, so a Redis that is down at start
    /// delays nothing. Tasks polled every `poll_interval` get leases of three intervals
    /// (at least a second, at most a minute).
    pub fn new(url: &RedisUrl, prefix: &str, poll_interval: Duration) -> Result<Self, Error> {
        // rediss:// needs a process-wide rustls provider; the HTTP client installs the
        // same one, whichever comes first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let invalid = |_| {
            Error::new(
                ErrorKind::FailedPrecondition,
                GATEWAY_DOMAIN,
                reasons::BAD_REDIS_URL,
                format!("GATEWAY_REDIS_URL ({}) is not usable", url.display()),
            )
        };
        let client = redis::Client::open(url.expose()).map_err(invalid)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(OP_TIMEOUT);
        let conn =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(invalid)?;
        Ok(Fleet {
            client,
            conn,
            prefix: prefix.to_owned(),
            replica: uuid::Uuid::new_v4().simple().to_string(),
            lease_ttl: Self::lease_ttl_for(poll_interval),
            trouble: Arc::new(Trouble::new(url.display())),
            leases_held: Default::default(),
            streams_shared: std::sync::OnceLock::new(),
        })
    }

    /// Shares live-stream states through Redis only while `allowed` says so (set once,
    /// at start). The gateway passes "one Qencode project": a stream's snapshot holds
    /// its stream keys, and a replica that never saw a stream cannot tell which project
    /// it belongs to, so with several projects a caller of one could be served another
    /// project's stored snapshot. Task states stay shared: Qencode's `/v1/status`
    /// answers anyone who has the task token, so a shared task snapshot tells nothing
    /// the token would not.
    pub fn share_streams_while(&self, allowed: impl Fn() -> bool + Send + Sync + 'static) {
        let _ = self.streams_shared.set(Box::new(allowed));
    }

    /// Whether states of `kind` go through Redis now (leases, snapshots, channels);
    /// when not, every replica polls its own watchers' items, as without a fleet.
    pub fn shares(&self, kind: Kind) -> bool {
        match kind {
            Kind::Task => true,
            Kind::Stream => self.streams_shared.get().is_none_or(|allowed| allowed()),
        }
    }

    /// `prefix` + `name`: every key and channel goes through here.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// This replica's id.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Lease period of polled tasks.
    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl
    }

    /// Lease period of items polled every `poll_interval`: three intervals (a holder
    /// renews every third of it, so one slow renewal loses nothing), at least a second,
    /// at most a minute.
    pub fn lease_ttl_for(poll_interval: Duration) -> Duration {
        (poll_interval * 3).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// Redis reachability.
    pub fn trouble(&self) -> &Trouble {
        &self.trouble
    }

    /// Runs one Redis operation, bounded by a second; `what` names it in logs.
    /// Returns [`Down`] at once from a failure until the probe finds Redis answering.
    pub async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, Down>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.trouble.may_try() {
            return Err(Down);
        }
        match tokio::time::timeout(OP_TIMEOUT, op(self.conn.clone())).await {
            Ok(Ok(value)) => {
                self.trouble.succeeded();
                Ok(value)
            }
            Ok(Err(error)) => {
                self.failed(what, &error.kind_name());
                Err(Down)
            }
            Err(_) => {
                self.failed(what, &"timed out");
                Err(Down)
            }
        }
    }

    /// Records that Redis failed `what` (a fixed description) and, unless one runs,
    /// starts the probe: a PING every [`trouble::PROBE_AFTER`], each bounded like an
    /// operation, until one answers. Operations skip Redis meanwhile, so none of them
    /// waits on a Redis that keeps connections open and answers nothing (SIGSTOP).
    pub fn failed(&self, what: &'static str, error: &dyn std::fmt::Display) {
        if !self.trouble.failed(what, error) {
            return;
        }
        let trouble = Arc::downgrade(&self.trouble);
        let conn = self.conn.clone();
        tokio::spawn(probe(trouble, conn));
    }

    /// A pub/sub connection subscribed to `pattern`, within one operation's bound;
    /// [`Down`] (and the failure recorded) when Redis does not answer.
    pub async fn psubscribe(&self, pattern: &str) -> Result<redis::aio::PubSub, Down> {
        let connect = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.psubscribe(pattern).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(OP_TIMEOUT, connect).await {
            Ok(Ok(pubsub)) => {
                self.trouble.succeeded();
                Ok(pubsub)
            }
            Ok(Err(error)) => {
                self.failed("subscribe", &format!("{:?}", error.kind()));
                Err(Down)
            }
            Err(_) => {
                self.failed("subscribe", &"timed out");
                Err(Down)
            }
        }
    }

    /// Records how many leases of `kind` this replica holds (the watch layer renews them).
    pub fn set_leases_held(&self, kind: Kind, held: usize) {
        self.leases_held[kind.index()].store(held, Ordering::Relaxed);
    }

    /// Task leases this replica holds (as of its last renewal).
    pub fn leases_held(&self) -> usize {
        self.leases_held_of(Kind::Task)
    }

    /// Leases of `kind` this replica holds (as of its last renewal).
    pub fn leases_held_of(&self, kind: Kind) -> usize {
        self.leases_held[kind.index()].load(Ordering::Relaxed)
    }

    /// Adds the fleet's metrics, read now, to the scrape-time registry.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
        let up = Gauge::<i64>::default();
        up.set(i64::from(self.trouble.is_up()));
        registry.register(
            "gateway_fleet_redis_up",
            "1 while the fleet's Redis answers; 0 while this replica works alone",
            up,
        );
        let errors = Counter::<u64>::default();
        errors.inc_by(self.trouble.errors());
        registry.register(
            "gateway_fleet_redis_errors",
            "Redis operations that failed or timed out (each fell back to local work)",
            errors,
        );
        let leases = Gauge::<i64>::default();
        leases.set(i64::try_from(self.leases_held()).unwrap_or(i64::MAX));
        registry.register(
            "gateway_fleet_task_leases_held",
            "Watched tasks this replica polls for the fleet",
            leases,
        );
        let streams = Gauge::<i64>::default();
        streams.set(i64::try_from(self.leases_held_of(Kind::Stream)).unwrap_or(i64::MAX));
        registry.register(
            "gateway_fleet_stream_leases_held",
            "Watched live streams this replica polls for the fleet",
            streams,
        );
    }
}

/// PINGs Redis every [`trouble::PROBE_AFTER`] until it answers within [`OP_TIMEOUT`],
/// then marks it up; ends early when the fleet handle is gone.
async fn probe(trouble: Weak<Trouble>, mut conn: ConnectionManager) {
    loop {
        tokio::time::sleep(trouble::PROBE_AFTER).await;
        let Some(trouble) = trouble.upgrade() else {
            return;
        };
        let ping = redis::cmd("PING");
        let answer = tokio::time::timeout(OP_TIMEOUT, ping.query_async::<String>(&mut conn));
        if let Ok(Ok(_)) = answer.await {
            trouble.succeeded();
            trouble.probe_ended();
            return;
        }
    }
}

/// Names a Redis error by kind only: its text can quote the connection URL.
trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for redis::RedisError {
    fn kind_name(&self) -> String {
        format!("{:?}", self.kind())
    }
}
