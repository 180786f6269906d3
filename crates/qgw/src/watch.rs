//! `qgw watch`: follows a task over WatchStatus until it ends.
//!
//! The gateway's watch stream pushes each change (and heartbeats), so the CLI never
//! polls; it stops at the first terminal state and prints where the outputs are.

use crate::{
    connect::Clients,
    fail::Failure,
    output::{line, outputs, task_json, task_state, Output},
    progress::TaskProgress,
};
use qencode_gateway_proto::pb::{self, TaskState, WatchEventKind};
use serde_json::json;
use tokio_stream::StreamExt;

/// Watches `token` to its end; an error or failed task is [`Failure::Ended`].
pub async fn run(clients: &Clients, output: Output, token: &str) -> Result<(), Failure> {
    let mut events = clients
        .transcoding()
        .watch_status(pb::WatchStatusRequest {
            task_token: token.to_owned(),
        })
        .await?
        .into_inner();
    let mut progress = (!output.json).then(|| TaskProgress::new(token, output));
    while let Some(event) = events.next().await {
        let event = event?;
        let kind = event.kind();
        if kind == WatchEventKind::Heartbeat {
            continue;
        }
        // While Qencode cannot be polled, say so in JSON lines (the STALE event and the
        // snapshot that ends it carry the event word already).
        let stale = event
            .stale
            .as_ref()
            .map(|s| json!({"failed_polls": s.failed_polls, "reason": s.reason}));
        let Some(status) = event.status else { continue };
        match &mut progress {
            Some(progress) => progress.update(&status)?,
            None => {
                let mut event_line = task_json(token, &status)?;
                event_line["event"] =
                    json!(crate::output::word(kind.as_str_name(), "WATCH_EVENT_KIND_"));
                if let Some(stale) = stale {
                    event_line["stale"] = stale;
                }
                line(event_line)?;
            }
        }
        if is_terminal(status.state()) {
            if let Some(progress) = &progress {
                progress.finish();
                print_urls(&status)?;
            }
            return ended(token, &status);
        }
    }
    Err(Failure::Rpc(tonic::Status::unavailable(
        "the watch stream ended before the task finished (gateway shutting down?)",
    )))
}

/// Whether a task can change no more.
pub fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::Completed | TaskState::Saved | TaskState::Error | TaskState::Failed
    )
}

/// Ok for a finished task, [`Failure::Ended`] for one that failed.
pub fn ended(token: &str, status: &pb::TaskStatus) -> Result<(), Failure> {
    if matches!(status.state(), TaskState::Error | TaskState::Failed) || status.error {
        return Err(Failure::Ended(format!(
            "task {token} ended {}: {}",
            task_state(status.state()),
            status
                .error_description
                .as_deref()
                .unwrap_or("no description")
        )));
    }
    Ok(())
}

fn print_urls(status: &pb::TaskStatus) -> Result<(), Failure> {
    for output in outputs(status) {
        if let Some(url) = &output.url {
            line(format!("{}: {url}", crate::output::output_label(output)))?;
        }
    }
    Ok(())
}
