//! `POST /v1/live-streams/<id>/playback-ids` and
//! `DELETE /v1/live-streams/<id>/playback-ids/<playback_id>`.

use axum::extract::State;
use axum::Json;
use bytes::Bytes;
use chrono::Utc;
use serde_json::Value;

use super::auth::Authorized;
use super::error::LiveError;
use super::params;
use super::path::{ItemPath, StreamId};
use super::render;
use super::state::LivePlaybackId;
use super::streams::change_stream;
use crate::{ids, Sandbox};

/// Playback policies the document allows.
const POLICIES: [&str; 2] = ["public", "authenticated"];

/// `POST .../playback-ids` with `{"policy": "public" | "authenticated"}`.
pub(crate) async fn add_playback_id(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    StreamId(id): StreamId,
    body: Bytes,
) -> Result<Json<Value>, LiveError> {
    let body = params::parse_body(&body).map_err(LiveError::bad_request)?;
    let policy = body
        .as_ref()
        .and_then(|b| b.get("policy"))
        .and_then(Value::as_str)
        .filter(|p| POLICIES.contains(p))
        .ok_or_else(|| LiveError::bad_request("policy must be 'public' or 'authenticated'"))?
        .to_string();
    let playback = LivePlaybackId {
        id: ids::new_playback_id(),
        policy,
        created: render::timestamp(Utc::now()),
    };
    let playback_id = playback.id.clone();
    let response = change_stream(&sandbox, &id, |stream, _, _| {
        stream.playback_ids.push(playback);
        Ok(())
    })?;
    tracing::info!(stream_id = %id, %playback_id, "live playback id added");
    Ok(response)
}

/// `DELETE .../playback-ids/<playback_id>`; 404 for an id the stream lacks.
pub(crate) async fn remove_playback_id(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    path: ItemPath,
) -> Result<Json<Value>, LiveError> {
    let response = change_stream(&sandbox, &path.stream_id, |stream, _, _| {
        let before = stream.playback_ids.len();
        stream.playback_ids.retain(|p| p.id != path.item_id);
        if stream.playback_ids.len() == before {
            return Err(LiveError::not_found("playback id not found"));
        }
        Ok(())
    })?;
    tracing::info!(stream_id = %path.stream_id, playback_id = %path.item_id, "live playback id removed");
    Ok(response)
}
