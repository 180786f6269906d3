//! Live stream callbacks: the document says a stream's `callback_url` receives
//! "updates upon each stream status change", so each change (starting, waiting,
//! launching, live after a start; stopping, stopped after a stop; deleted) is
//! POSTed there as the stream object in JSON, the same `{"stream": ...}` body
//! `GET /v1/live-streams/<id>` answers.
//!
//! Statuses follow elapsed time, so a start or stop spawns one tokio task that
//! sleeps (on tokio's clock) until each change is due. A later start, stop or
//! delete supersedes it: the task notices the stream's run changed and ends.
//! The URL is read when each change happens, so a `callback_url` set by an
//! update while the stream starts gets the remaining changes.

use chrono::Utc;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::phase::Run;
use super::render;
use super::state::LiveStream;
use crate::callback::{self, Body, Callback, CallbackKind};
use crate::Sandbox;

/// What the scheduler finds when a change is due.
enum Due {
    /// The stream was deleted, or started or stopped again: stop here.
    Superseded,
    /// The change happened; send `body` to `url`, if the stream has one.
    Changed {
        url: Option<String>,
        status: &'static str,
        body: Value,
    },
}

/// Schedules the callbacks for the run the stream `id` just began (a start or
/// a stop). Call it after the change is stored.
pub(crate) fn schedule(sandbox: &Sandbox, id: &str) {
    let inner = sandbox.shared.lock();
    if !inner.config.callbacks {
        return;
    }
    let phase = inner.config.live_phase_duration;
    let Some(run) = inner.live.any(id).map(|stream| stream.run.clone()) else {
        return;
    };
    drop(inner);
    let (at, changes) = match &run {
        Run::Created => return,
        Run::Started { at, .. } => (*at, 4u32),
        Run::Stopped { at, .. } => (*at, 2u32),
    };
    let sandbox = sandbox.clone();
    let id = id.to_string();
    tokio::spawn(async move {
        let mut last = None;
        for index in 0..changes {
            let Some(due) = phase.checked_mul(index).and_then(|d| at.checked_add(d)) else {
                return;
            };
            tokio::time::sleep_until(due).await;
            let (url, status, body) = match check(&sandbox, &id, &run, due) {
                Due::Superseded => return,
                Due::Changed { url, status, body } => (url, status, body),
            };
            // A zero phase reaches the last status at once: one change, not four.
            if last == Some(status) {
                continue;
            }
            last = Some(status);
            if let Some(url) = url {
                send(&sandbox, &id, status, url, body).await;
            }
        }
    });
}

/// Sends the `deleted` change of a stream just deleted (the stream object as
/// it was, with the `deleted` status the delete answered).
pub(crate) fn deleted(sandbox: &Sandbox, stream: &LiveStream, now: Instant) {
    let inner_phase = {
        let inner = sandbox.shared.lock();
        if !inner.config.callbacks {
            return;
        }
        inner.config.live_phase_duration
    };
    let Some(url) = callback_url(stream) else {
        return;
    };
    let mut object = render::stream(stream, now, inner_phase);
    object["status"] = json!({"timestamp": render::timestamp(Utc::now()), "name": "deleted"});
    let sandbox = sandbox.clone();
    let id = stream.id.clone();
    tokio::spawn(async move {
        send(&sandbox, &id, "deleted", url, json!({ "stream": object })).await;
    });
}

/// The stream as it is at `due`, unless its run changed since `run`.
fn check(sandbox: &Sandbox, id: &str, run: &Run, due: Instant) -> Due {
    let inner = sandbox.shared.lock();
    let phase = inner.config.live_phase_duration;
    match inner.live.any(id) {
        Some(stream) if !stream.deleted && stream.run == *run => Due::Changed {
            url: callback_url(stream),
            status: stream.status(due, phase).0.name(),
            body: json!({ "stream": render::stream(stream, due, phase) }),
        },
        _ => Due::Superseded,
    }
}

fn callback_url(stream: &LiveStream) -> Option<String> {
    stream
        .params
        .get("callback_url")
        .and_then(Value::as_str)
        .filter(|url| !url.trim().is_empty())
        .map(str::to_string)
}

async fn send(sandbox: &Sandbox, id: &str, status: &str, url: String, body: Value) {
    let callback = Callback {
        kind: CallbackKind::LiveStream,
        subject: id.to_string(),
        event: status.to_string(),
        url,
        body: Body::Json(body),
    };
    callback::deliver(sandbox, callback).await;
}
