//! Qencode-compatible sandbox: a real HTTP server speaking Qencode's documented
//! Transcoding API (`/v1/access_token`, `/v1/create_task`, `/v1/start_encode2`,
//! `/v1/status`, the per-task master status endpoint and TUS direct upload) and
//! Live Streaming API (`/v1/access_token/<api_key>` and `/v1/live-streams...`),
//! on one router: their paths do not collide.
//!
//! It exists so the gateway, and other teams' tests, can run end to end without a
//! Qencode account. Behaviour follows the upstream documents: every Transcoding
//! method answers HTTP 200 with `error: 0` or `error: <code>` plus `message`;
//! Live Streaming methods answer errors by HTTP status with `{"message": ...}`.
//!
//! Task progress and live stream status are computed from the time elapsed since
//! `start_encode2`/`start_encode` (or a stream's start/stop) on every request,
//! using [`tokio::time::Instant`] so tests running on tokio's paused clock drive
//! the lifecycle with `tokio::time::advance`. The only background work is
//! callbacks: a task or stream with a `callback_url` gets one spawned task that
//! sleeps on the same clock until each event is due and POSTs it (see
//! [`CallbackAttempt`]; [`SandboxConfig::callbacks`] turns them off).
//!
//! Tests steer the server through [`SandboxHandle`]: inspect recorded requests,
//! queue [`Fault`]s, revoke tokens, rotate API keys and read back what the client
//! sent.

mod access;
mod base_url;
mod callback;
pub mod cli;
mod codes;
mod config;
mod fault;
mod form;
mod ids;
mod lifecycle;
mod live;
mod metadata;
mod middleware;
mod outputs;
mod plan;
mod profiles;
mod query;
mod record;
mod routes;
mod start;
mod state;
mod status;
mod status_json;
mod task_callbacks;
mod tokens;
mod tus;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use callback::{CallbackAttempt, CallbackKind, CallbackOutcome};
pub use config::{SandboxConfig, DEFAULT_PROFILES};
pub use fault::{Fault, FaultKind};
pub use live::{LivePlaybackId, LiveSimulcastTarget, LiveStreamSnapshot};
pub use record::{Endpoint, KeyUse, RecordedRequest};
pub use state::TaskSnapshot;

use state::Shared;

/// How long [`SandboxHandle::shutdown`] waits for in-flight connections to finish
/// before abandoning the server task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The sandbox state: accepted keys, issued tokens, tasks, uploads, live
/// streams, queued faults and the request log. Cheap to clone (an `Arc` inside); every clone sees the same
/// state, so a router built from it and the test hooks stay in sync.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Creates sandbox state from `config` without serving it; use
    /// [`Sandbox::router`] to embed it or [`Sandbox::serve`] to run it.
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            shared: Arc::new(Shared::new(config)),
        }
    }

    /// Serves a fresh sandbox built from `config` on an already-bound listener
    /// (tests bind `127.0.0.1:0`). Spawns the server task on the current runtime.
    pub async fn start(
        listener: TcpListener,
        config: SandboxConfig,
    ) -> std::io::Result<SandboxHandle> {
        Self::new(config).serve(listener).await
    }

    /// Serves this sandbox on an already-bound listener. URLs in responses use the
    /// request's `Host` header, falling back to the listener address.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<SandboxHandle> {
        let addr = listener.local_addr()?;
        self.shared.set_fallback_base(format!("http://{addr}"));
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let app = self.router();
        let join = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender also means "stop": both outcomes end the wait.
                    let _ = shutdown_rx.await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "sandbox server stopped with an error");
            }
        });
        tracing::info!(%addr, "sandbox listening");
        Ok(SandboxHandle {
            sandbox: self,
            addr,
            shutdown_tx: Some(shutdown_tx),
            join: Some(join),
        })
    }

    /// An axum router serving the sandbox API, for embedding in another server
    /// (e.g. `qencode-gateway sandbox --listen ADDR`).
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Every request received so far, in arrival order (only the most recent
    /// 10 000 are kept). API keys in paths are redacted.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Which API key each accepted token request, task creation and live call used,
    /// oldest first (only the most recent 10 000 are kept): what tells two projects'
    /// requests apart.
    pub fn key_uses(&self) -> Vec<KeyUse> {
        self.shared.lock().key_uses.iter().cloned().collect()
    }

    /// How many requests hit `endpoint` (including faulted ones);
    /// [`Endpoint::Any`] counts every request. Not limited by the log size.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.shared.count(endpoint)
    }

    /// Every outgoing callback attempt so far (task events and live stream
    /// status changes), oldest first, retries included; only the most recent
    /// 10 000 are kept. Each also appears in [`Sandbox::requests`] as
    /// [`Endpoint::Callback`].
    pub fn callbacks(&self) -> Vec<CallbackAttempt> {
        self.shared.callbacks()
    }

    /// Queues a fault; see [`Fault`] for how faults are matched and consumed.
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
    }

    /// Drops every queued fault at once: an outage injected with a `times` too large
    /// to run out (`usize::MAX`) ends here, whatever number of requests it hit.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Forgets every issued access token, Transcoding and Live alike, as after a
    /// server-side revocation: later Transcoding uses answer error 5
    /// (ERROR_TOKEN_NOT_FOUND), later Live uses HTTP 401.
    pub fn revoke_tokens(&self) {
        self.shared.revoke_tokens();
    }

    /// Replaces the accepted API keys (key rotation, bad-key tests). Access tokens
    /// already issued stay valid until they expire or are revoked.
    pub fn set_api_keys(&self, keys: Vec<String>) {
        self.shared.set_api_keys(keys);
    }

    /// Replaces the accepted Live Streaming API keys. Bearer tokens already
    /// issued stay valid until they expire or are revoked.
    pub fn set_live_api_keys(&self, keys: Vec<String>) {
        self.shared.set_live_api_keys(keys);
    }

    /// What the client set on a live stream and where it is in its lifecycle,
    /// deleted streams included; `None` for an id the sandbox never issued.
    pub fn live_stream(&self, id: &str) -> Option<LiveStreamSnapshot> {
        self.shared.live_stream_snapshot(id)
    }

    /// What the client sent for a task (query JSON, payload) and where it is in its
    /// lifecycle; `None` for an unknown task token.
    pub fn task(&self, task_token: &str) -> Option<TaskSnapshot> {
        self.shared.task_snapshot(task_token)
    }

    /// The bytes stored so far for a TUS upload; `None` for an unknown upload.
    pub fn upload_bytes(&self, file_uuid: &str) -> Option<bytes::Bytes> {
        self.shared.upload_bytes(file_uuid)
    }

    /// How far a TUS upload got and what its clients sent; `None` for an unknown
    /// upload.
    pub fn upload_progress(&self, file_uuid: &str) -> Option<UploadProgress> {
        self.shared.upload_progress(file_uuid)
    }
}

/// A TUS upload's counters, for tests that check what a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadProgress {
    /// The declared `Upload-Length`.
    pub length: u64,
    /// Bytes stored (the offset HEAD reports).
    pub stored: u64,
    /// PATCH body bytes read, kept or not (a fault may drop some): equal to `stored`
    /// when no byte was sent twice.
    pub received: u64,
    /// PATCHes whose body is still being read.
    pub patching: u32,
}

/// A running sandbox server. Dropping it asks the server to stop; call
/// [`SandboxHandle::shutdown`] to also wait for it.
pub struct SandboxHandle {
    sandbox: Sandbox,
    addr: SocketAddr,
    shutdown_tx: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl SandboxHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for clients, e.g. `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared sandbox state behind this server.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Stops accepting connections, lets in-flight requests finish (bounded by a
    /// short grace period) and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(mut join) = self.join.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut join)
                .await
                .is_err()
            {
                tracing::warn!("sandbox did not stop within the grace period; aborting it");
                join.abort();
            }
        }
    }
}

/// A handle is used like the [`Sandbox`] it serves (`handle.count(..)`,
/// `handle.inject(..)`), instead of one delegating method per hook.
impl std::ops::Deref for SandboxHandle {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}
