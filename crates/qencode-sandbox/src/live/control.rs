//! `POST /v1/live-streams/<id>/start` and `/stop`. A start allocates a pretend
//! transcoder (an origin host for the WebRTC and SRT URLs); the status then
//! follows time (see the `phase` module).

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use serde_json::Value;

use super::auth::Authorized;
use super::error::LiveError;
use super::path::StreamId;
use super::phase::{LiveStatus, Run};
use super::streams::change_stream;
use crate::{ids, Sandbox};

/// `POST /v1/live-streams/<id>/start`: from created or stopped only; 409
/// otherwise.
pub(crate) async fn start(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    StreamId(id): StreamId,
) -> Result<Json<Value>, LiveError> {
    let response = change_stream(&sandbox, &id, |stream, now, phase| {
        match stream.status(now, phase).0 {
            LiveStatus::Created | LiveStatus::Stopped => {
                stream.run = Run::Started {
                    at: now,
                    wall: Utc::now(),
                    origin_host: format!("live-{}.qencode.com", ids::new_uuid()),
                };
                Ok(())
            }
            LiveStatus::Stopping => Err(LiveError::conflict(
                "live stream is stopping; start it once it is stopped",
            )),
            status => Err(LiveError::conflict(format!(
                "live stream is already started (status {})",
                status.name()
            ))),
        }
    })?;
    super::callbacks::schedule(&sandbox, &id);
    tracing::info!(stream_id = %id, "live stream started");
    Ok(response)
}

/// `POST /v1/live-streams/<id>/stop`: from starting … live only; 409 for a
/// stream that is not running.
pub(crate) async fn stop(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    StreamId(id): StreamId,
) -> Result<Json<Value>, LiveError> {
    let response = change_stream(&sandbox, &id, |stream, now, phase| {
        let status = stream.status(now, phase).0;
        if !status.is_running() {
            return Err(LiveError::conflict(format!(
                "live stream is not running (status {})",
                status.name()
            )));
        }
        stream.run = Run::Stopped {
            at: now,
            wall: Utc::now(),
        };
        Ok(())
    })?;
    super::callbacks::schedule(&sandbox, &id);
    tracing::info!(stream_id = %id, "live stream stopped");
    Ok(response)
}
