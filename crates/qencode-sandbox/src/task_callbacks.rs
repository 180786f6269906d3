//! Task callbacks: `queued` right after a start, then `saved` when the task
//! completes or `error` when it fails, POSTed form-encoded to the query's
//! `callback_url` as the document's "Receive Callbacks" section shows.
//!
//! Task status is otherwise derived from elapsed time on each request; callbacks
//! need something to happen without a request, so each started task with a
//! callback URL gets one spawned tokio task that sleeps (on tokio's clock, so a
//! paused test clock drives it) until each event is due, then delivers it.
//! Events of one task go out in order: `saved` waits for `queued` to be
//! delivered or given up on.

use tokio::time::Instant;

use super::callback::{self, Body, Callback, CallbackKind};
use super::lifecycle;
use super::status_json::{self, Detail, StatusView};
use super::Sandbox;

/// Where and about what to call back.
pub(crate) struct TaskCallbacks {
    pub(crate) task_token: String,
    pub(crate) url: String,
    /// The sandbox base URL the start request used, for `status_url` and
    /// storage URLs in the status object.
    pub(crate) base: String,
    /// When the task started.
    pub(crate) started: Instant,
}

/// Spawns the task's callback schedule.
pub(crate) fn schedule(sandbox: Sandbox, callbacks: TaskCallbacks) {
    tokio::spawn(async move {
        send(&sandbox, &callbacks, callbacks.started, "queued").await;
        let Some((end, event)) = final_event(&sandbox, &callbacks) else {
            return;
        };
        tokio::time::sleep_until(end).await;
        send(&sandbox, &callbacks, end, event).await;
    });
}

/// When the task reaches its final phase and the event that announces it.
fn final_event(sandbox: &Sandbox, callbacks: &TaskCallbacks) -> Option<(Instant, &'static str)> {
    let inner = sandbox.shared.lock();
    let started = inner.tasks.get(&callbacks.task_token)?.started.as_ref()?;
    let fails = started.plan.source_fails;
    let end = started.at + lifecycle::end_after(inner.config.phase_duration, fails);
    Some((end, if fails { "error" } else { "saved" }))
}

/// Delivers `event` with the task's status as it is at `at` (the moment the
/// event happened, not when delivery gets round to it, so a callback delayed
/// by retries still describes its own event).
async fn send(sandbox: &Sandbox, callbacks: &TaskCallbacks, at: Instant, event: &str) {
    let Some(body) = form(sandbox, callbacks, at, event) else {
        return;
    };
    let callback = Callback {
        kind: CallbackKind::Task,
        subject: callbacks.task_token.clone(),
        event: event.to_string(),
        url: callbacks.url.clone(),
        body,
    };
    callback::deliver(sandbox, callback).await;
}

/// The callback fields: `status` (the extended status object as JSON, as in
/// the document's example, which carries `source_size`, `duration` and each
/// output's `output_format` and `size`), `callback_type=task`, `task_token`,
/// `event` and, when the start had one, `payload`.
fn form(sandbox: &Sandbox, callbacks: &TaskCallbacks, at: Instant, event: &str) -> Option<Body> {
    let inner = sandbox.shared.lock();
    let task = inner.tasks.get(&callbacks.task_token)?;
    let started = task.started.as_ref()?;
    let view = StatusView {
        task_token: &callbacks.task_token,
        plan: &started.plan,
        phase: started.phase(at, inner.config.phase_duration),
        base: &callbacks.base,
        master_id: &task.master_id,
    };
    let status = status_json::render(&view, Detail::Master);
    let mut fields = vec![
        ("status", status.to_string()),
        ("callback_type", "task".to_string()),
        ("task_token", callbacks.task_token.clone()),
        ("event", event.to_string()),
    ];
    if let Some(payload) = &started.payload {
        fields.push(("payload", payload.clone()));
    }
    Some(Body::Form(fields))
}
