//! `/v1/live-streams` and `/v1/live-streams/<id>`: create, list, get, update and
//! delete, plus the lock-change-render step every stream method shares.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use bytes::Bytes;
use chrono::Utc;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::auth::Authorized;
use super::error::LiveError;
use super::params::{self, Changes};
use super::path::StreamId;
use super::phase::Run;
use super::render;
use super::state::{LivePlaybackId, LiveStream};
use crate::{ids, Sandbox};

/// Why a stream may not be deleted; the gateway maps this 400 to "not stopped".
const NOT_STOPPED: &str = "live stream must be stopped before deleting";

/// Applies `change` to the undeleted stream `id` under the lock, then answers
/// `{"stream": ...}` as it is afterwards. `change` sees the request time and the
/// phase duration to work out the current status.
pub(super) fn change_stream(
    sandbox: &Sandbox,
    id: &str,
    change: impl FnOnce(&mut LiveStream, Instant, Duration) -> Result<(), LiveError>,
) -> Result<Json<Value>, LiveError> {
    let now = Instant::now();
    let mut inner = sandbox.shared.lock();
    let phase = inner.config.live_phase_duration;
    let stream = inner.live.stream_mut(id)?;
    change(stream, now, phase)?;
    Ok(Json(json!({"stream": render::stream(stream, now, phase)})))
}

/// `POST /v1/live-streams`, with optional JSON params.
pub(crate) async fn create(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<Value>, LiveError> {
    let body = params::parse_body(&body).map_err(LiveError::bad_request)?;
    let changes = match &body {
        Some(body) => params::validate(body).map_err(LiveError::bad_request)?,
        None => Changes::default(),
    };
    let created = Utc::now();
    let mut stream = LiveStream {
        seq: 0,
        id: ids::new_uuid(),
        name: ids::new_stream_name(),
        stream_key: ids::new_uuid(),
        created,
        params: params::defaults(),
        last_body: body,
        playback_ids: vec![LivePlaybackId {
            id: ids::new_playback_id(),
            policy: "public".into(),
            created: render::timestamp(created),
        }],
        simulcast_targets: Vec::new(),
        run: Run::Created,
        deleted: false,
    };
    changes.apply(&mut stream.name, &mut stream.params);
    let id = stream.id.clone();
    let now = Instant::now();
    let mut inner = sandbox.shared.lock();
    let rendered = render::stream(&stream, now, inner.config.live_phase_duration);
    inner.live.insert(stream);
    drop(inner);
    tracing::info!(stream_id = %id, "live stream created");
    Ok(Json(json!({"stream": rendered})))
}

/// `GET /v1/live-streams`: every undeleted stream, oldest first.
pub(crate) async fn list(_: Authorized, State(sandbox): State<Sandbox>) -> Json<Value> {
    let now = Instant::now();
    let inner = sandbox.shared.lock();
    let phase = inner.config.live_phase_duration;
    let streams: Vec<Value> = inner
        .live
        .active()
        .into_iter()
        .map(|stream| render::stream(stream, now, phase))
        .collect();
    Json(json!({ "streams": streams }))
}

/// `GET /v1/live-streams/<id>`.
pub(crate) async fn get(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    StreamId(id): StreamId,
) -> Result<Json<Value>, LiveError> {
    change_stream(&sandbox, &id, |_, _, _| Ok(()))
}

/// `PUT /v1/live-streams/<id>`: at least one known param is required; the
/// stream may be in any state (the document allows switching DVR while live).
pub(crate) async fn update(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    StreamId(id): StreamId,
    body: Bytes,
) -> Result<Json<Value>, LiveError> {
    let body = params::parse_body(&body).map_err(LiveError::bad_request)?;
    let changes = match &body {
        Some(body) => params::validate(body).map_err(LiveError::bad_request)?,
        None => Changes::default(),
    };
    if changes.is_empty() {
        return Err(LiveError::bad_request(
            "at least one stream param is required",
        ));
    }
    let response = change_stream(&sandbox, &id, |stream, _, _| {
        changes.apply(&mut stream.name, &mut stream.params);
        stream.last_body = body;
        Ok(())
    })?;
    tracing::info!(stream_id = %id, "live stream updated");
    Ok(response)
}

/// `DELETE /v1/live-streams/<id>`: only a stopped (or never started) stream;
/// afterwards the stream is unknown to every method.
pub(crate) async fn delete(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    StreamId(id): StreamId,
) -> Result<Json<Value>, LiveError> {
    let now = Instant::now();
    let mut inner = sandbox.shared.lock();
    let phase = inner.config.live_phase_duration;
    let stream = inner.live.stream_mut(&id)?;
    if !stream.status(now, phase).0.deletable() {
        return Err(LiveError::bad_request(NOT_STOPPED));
    }
    stream.deleted = true;
    let deleted = stream.clone();
    drop(inner);
    super::callbacks::deleted(&sandbox, &deleted, now);
    tracing::info!(stream_id = %id, "live stream deleted");
    Ok(Json(json!({"status": {
        "timestamp": render::timestamp(Utc::now()),
        "name": "deleted",
    }})))
}
