//! Live streaming state kept inside the sandbox's one mutex: issued bearer tokens
//! and every stream ever created (deleted ones stay, flagged, so tests can still
//! read them back), plus the snapshot types tests read.

use crate::tokens::TokenStore;
use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::error::LiveError;
use super::phase::{self, LiveStatus, Run};

/// A playback id of a live stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePlaybackId {
    /// The playback id (12 lowercase alphanumerics).
    pub id: String,
    /// `public` or `authenticated`.
    pub policy: String,
    /// When it was added (UTC, `YYYY-MM-DD HH:MM:SS`).
    pub created: String,
}

/// A simulcast (re-streaming) target of a live stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSimulcastTarget {
    /// The target id (a UUID).
    pub id: String,
    /// The RTMP(S) ingest URL, as sent.
    pub url: String,
    /// The stream key, as sent.
    pub stream_key: String,
}

/// What a test can read back about a live stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStreamSnapshot {
    /// Stream id (a UUID).
    pub id: String,
    /// Stream name (given, or generated as `Stream_XXXXXXXX`).
    pub name: String,
    /// Current status name (`created` … `stopped`), or `deleted`.
    pub status: String,
    /// The stream's ingest key.
    pub stream_key: String,
    /// The stream's `params` object as the sandbox reports it: defaults merged
    /// with every accepted create/update, values kept as the client sent them.
    pub params: Value,
    /// The JSON body of the last accepted create or update, exactly as parsed
    /// (`None` for a create without a body).
    pub last_body: Option<Value>,
    /// Playback ids, oldest first.
    pub playback_ids: Vec<LivePlaybackId>,
    /// Simulcast targets, oldest first.
    pub simulcast_targets: Vec<LiveSimulcastTarget>,
    /// Whether the stream was deleted.
    pub deleted: bool,
}

/// One live stream.
#[derive(Debug, Clone)]
pub(crate) struct LiveStream {
    /// Creation order, for listing.
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) stream_key: String,
    pub(crate) created: DateTime<Utc>,
    pub(crate) params: Map<String, Value>,
    pub(crate) last_body: Option<Value>,
    pub(crate) playback_ids: Vec<LivePlaybackId>,
    pub(crate) simulcast_targets: Vec<LiveSimulcastTarget>,
    pub(crate) run: Run,
    pub(crate) deleted: bool,
}

impl LiveStream {
    /// The current status and when it began.
    pub(crate) fn status(&self, now: Instant, phase: Duration) -> (LiveStatus, DateTime<Utc>) {
        phase::status_at(&self.run, self.created, now, phase)
    }

    pub(crate) fn snapshot(&self, now: Instant, phase: Duration) -> LiveStreamSnapshot {
        let status = if self.deleted {
            "deleted"
        } else {
            self.status(now, phase).0.name()
        };
        LiveStreamSnapshot {
            id: self.id.clone(),
            name: self.name.clone(),
            status: status.to_string(),
            stream_key: self.stream_key.clone(),
            params: Value::Object(self.params.clone()),
            last_body: self.last_body.clone(),
            playback_ids: self.playback_ids.clone(),
            simulcast_targets: self.simulcast_targets.clone(),
            deleted: self.deleted,
        }
    }
}

/// Bearer tokens and streams.
#[derive(Debug, Default)]
pub(crate) struct LiveState {
    /// Issued bearer tokens.
    pub(crate) tokens: TokenStore,
    streams: HashMap<String, LiveStream>,
    next_seq: u64,
}

impl LiveState {
    /// Stores a new stream, numbering it for listing order.
    pub(crate) fn insert(&mut self, mut stream: LiveStream) {
        stream.seq = self.next_seq;
        self.next_seq += 1;
        self.streams.insert(stream.id.clone(), stream);
    }

    /// The stream `id`; deleted streams are as unknown as never-created ones.
    pub(crate) fn stream_mut(&mut self, id: &str) -> Result<&mut LiveStream, LiveError> {
        self.streams
            .get_mut(id)
            .filter(|s| !s.deleted)
            .ok_or_else(LiveError::stream_not_found)
    }

    /// Undeleted streams in creation order.
    pub(crate) fn active(&self) -> Vec<&LiveStream> {
        let mut streams: Vec<_> = self.streams.values().filter(|s| !s.deleted).collect();
        streams.sort_by_key(|s| s.seq);
        streams
    }

    /// Any stream, deleted or not, for test snapshots.
    pub(crate) fn any(&self, id: &str) -> Option<&LiveStream> {
        self.streams.get(id)
    }
}
