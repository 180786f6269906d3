//! The sandbox's mutable state behind one mutex: accepted keys, issued tokens,
//! tasks, uploads, live streams, queued faults and the request log.
//!
//! One lock keeps multi-step checks (look up a task, then start it) atomic; no
//! lock is ever held across an `.await`.

use crate::tokens::TokenStore;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use axum::http::Method;
use bytes::{Bytes, BytesMut};
use serde_json::Value;
use tokio::time::Instant;

use super::callback::{self, CallbackAttempt};
use super::config::SandboxConfig;
use super::fault::{Fault, FaultKind, FaultQueue};
use super::lifecycle::{self, Phase};
use super::live::{LiveState, LiveStreamSnapshot};
use super::plan::TaskPlan;
use super::record::{Endpoint, KeyUse, RecordedRequest};

/// Most requests kept in the log; older ones are dropped (counts stay exact),
/// so a long-running sandbox does not grow without bound.
pub(crate) const REQUEST_LOG_LIMIT: usize = 10_000;

/// What a test can read back about a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSnapshot {
    /// The task token.
    pub task_token: String,
    /// Whether `start_encode2` or `start_encode` accepted it.
    pub started: bool,
    /// The whole `query` JSON document sent to `start_encode2`, as parsed; for a
    /// `start_encode` (profiles) start, an object of the form fields it used
    /// (`profiles` as a list, `uri` or `stitch`, `transfer_method`,
    /// `output_path_variables`, `start_time`, `duration`).
    pub query: Option<Value>,
    /// The `payload` sent to `start_encode2`.
    pub payload: Option<String>,
    /// Current status name (`downloading` … `completed`, or `error`); `None`
    /// until started.
    pub status: Option<String>,
}

/// A task created by `/v1/create_task`.
#[derive(Debug)]
pub(crate) struct Task {
    /// Identifies the task's master status URL.
    pub(crate) master_id: String,
    pub(crate) started: Option<StartedTask>,
}

/// What `start_encode2` recorded.
#[derive(Debug)]
pub(crate) struct StartedTask {
    pub(crate) at: Instant,
    pub(crate) query: Value,
    pub(crate) payload: Option<String>,
    pub(crate) plan: TaskPlan,
}

impl StartedTask {
    pub(crate) fn phase(&self, now: Instant, phase_duration: std::time::Duration) -> Phase {
        lifecycle::phase_at(
            now.saturating_duration_since(self.at),
            phase_duration,
            self.plan.source_fails,
        )
    }
}

/// A TUS upload held in memory.
#[derive(Debug)]
pub(crate) struct Upload {
    pub(crate) task_token: String,
    pub(crate) length: u64,
    pub(crate) metadata: Option<String>,
    pub(crate) data: BytesMut,
    /// PATCH body bytes read for this upload, kept or not: what a client really sent,
    /// so a test can tell a resumed upload from one that re-sent stored bytes.
    pub(crate) received: u64,
    /// PATCHes of this upload whose body is still being read, so a test can wait for
    /// a client's interrupted PATCH to land before asking for the offset.
    pub(crate) patching: u32,
}

impl Upload {
    pub(crate) fn offset(&self) -> u64 {
        self.data.len() as u64
    }
}

/// The state proper; reach it through [`Shared::lock`].
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: SandboxConfig,
    /// Base URL when the request names no usable host (set from the listener).
    pub(crate) fallback_base: Option<String>,
    /// Issued Transcoding session tokens.
    pub(crate) access_tokens: TokenStore,
    pub(crate) tasks: HashMap<String, Task>,
    /// The one master server of this sandbox: like a Qencode master, it serves the
    /// extended status of every task it runs, so clients can batch per master endpoint.
    pub(crate) master_id: String,
    pub(crate) uploads: HashMap<String, Upload>,
    /// Live Streaming API tokens and streams.
    pub(crate) live: LiveState,
    pub(crate) faults: FaultQueue,
    log: VecDeque<RecordedRequest>,
    /// Outgoing callback attempts, oldest first (bounded like the request log).
    callbacks: VecDeque<CallbackAttempt>,
    /// Which API key each keyed request used, oldest first (bounded like the log).
    pub(crate) key_uses: VecDeque<KeyUse>,
    counts: HashMap<Endpoint, usize>,
    total: usize,
    next_seq: u64,
}

impl Inner {
    /// Notes that a request to `endpoint` used `api_key` (directly or through a token
    /// issued for it).
    pub(crate) fn record_key_use(&mut self, endpoint: Endpoint, api_key: &str) {
        if self.key_uses.len() >= REQUEST_LOG_LIMIT {
            self.key_uses.pop_front();
        }
        self.key_uses.push_back(KeyUse {
            endpoint,
            api_key: api_key.to_owned(),
        });
    }

    /// Appends a request to the log and returns its sequence number.
    pub(crate) fn record(
        &mut self,
        method: Method,
        path: String,
        endpoint: Endpoint,
        fault: Option<FaultKind>,
        traceparent: Option<String>,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.log.len() >= REQUEST_LOG_LIMIT {
            self.log.pop_front();
        }
        self.log.push_back(RecordedRequest {
            seq,
            method,
            path,
            endpoint,
            at: Instant::now(),
            fault,
            traceparent,
        });
        *self.counts.entry(endpoint).or_default() += 1;
        // `Any` counts what clients sent; outgoing callbacks run on their own
        // schedule and would make "no further requests" checks racy.
        if endpoint != Endpoint::Callback {
            self.total += 1;
        }
        seq
    }

    /// Appends an outgoing callback attempt to the callback log.
    pub(crate) fn record_callback(&mut self, attempt: CallbackAttempt) {
        if self.callbacks.len() >= REQUEST_LOG_LIMIT {
            self.callbacks.pop_front();
        }
        self.callbacks.push_back(attempt);
    }

    /// Notes a fault a handler applied to an already logged request.
    pub(crate) fn mark_fault(&mut self, seq: u64, fault: FaultKind) {
        if let Some(request) = self.log.iter_mut().rev().find(|r| r.seq == seq) {
            request.fault = Some(fault);
        }
    }
}

/// Shared, lockable sandbox state.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Built on the first callback, so a sandbox that never calls out never
    /// builds an HTTP client.
    callback_client: OnceLock<Result<reqwest::Client, String>>,
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig) -> Self {
        Self {
            inner: Mutex::new(Inner {
                config,
                fallback_base: None,
                access_tokens: TokenStore::default(),
                tasks: HashMap::new(),
                master_id: super::ids::new_hex32(),
                uploads: HashMap::new(),
                live: LiveState::default(),
                faults: FaultQueue::default(),
                log: VecDeque::new(),
                callbacks: VecDeque::new(),
                key_uses: VecDeque::new(),
                counts: HashMap::new(),
                total: 0,
                next_seq: 0,
            }),
            callback_client: OnceLock::new(),
        }
    }

    /// The shared callback HTTP client.
    pub(crate) fn callback_client(&self) -> Result<reqwest::Client, String> {
        self.callback_client
            .get_or_init(callback::build_client)
            .clone()
    }

    pub(crate) fn callbacks(&self) -> Vec<CallbackAttempt> {
        self.lock().callbacks.iter().cloned().collect()
    }

    /// Locks the state. A panic while locked cannot leave it inconsistent in a way
    /// that matters for a sandbox, so poisoning is ignored rather than spread.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_fallback_base(&self, base: String) {
        self.lock().fallback_base = Some(base);
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().log.iter().cloned().collect()
    }

    pub(crate) fn count(&self, endpoint: Endpoint) -> usize {
        let inner = self.lock();
        match endpoint {
            Endpoint::Any => inner.total,
            endpoint => inner.counts.get(&endpoint).copied().unwrap_or(0),
        }
    }

    pub(crate) fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub(crate) fn revoke_tokens(&self) {
        let mut inner = self.lock();
        inner.access_tokens.clear();
        inner.live.tokens.clear();
    }

    pub(crate) fn set_api_keys(&self, keys: Vec<String>) {
        self.lock().config.api_keys = keys;
    }

    pub(crate) fn set_live_api_keys(&self, keys: Vec<String>) {
        self.lock().config.live_api_keys = keys;
    }

    pub(crate) fn live_stream_snapshot(&self, id: &str) -> Option<LiveStreamSnapshot> {
        let inner = self.lock();
        let phase = inner.config.live_phase_duration;
        inner
            .live
            .any(id)
            .map(|stream| stream.snapshot(Instant::now(), phase))
    }

    pub(crate) fn task_snapshot(&self, task_token: &str) -> Option<TaskSnapshot> {
        let inner = self.lock();
        let task = inner.tasks.get(task_token)?;
        let started = task.started.as_ref();
        Some(TaskSnapshot {
            task_token: task_token.to_string(),
            started: started.is_some(),
            query: started.map(|s| s.query.clone()),
            payload: started.and_then(|s| s.payload.clone()),
            status: started.map(|s| {
                s.phase(Instant::now(), inner.config.phase_duration)
                    .name()
                    .to_string()
            }),
        })
    }

    pub(crate) fn upload_bytes(&self, file_uuid: &str) -> Option<Bytes> {
        self.lock()
            .uploads
            .get(file_uuid)
            .map(|upload| Bytes::copy_from_slice(&upload.data))
    }

    pub(crate) fn upload_progress(&self, file_uuid: &str) -> Option<crate::UploadProgress> {
        self.lock()
            .uploads
            .get(file_uuid)
            .map(|upload| crate::UploadProgress {
                length: upload.length,
                stored: upload.offset(),
                received: upload.received,
                patching: upload.patching,
            })
    }
}
