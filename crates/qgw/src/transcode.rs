//! `qgw transcode`, `qgw start` and `qgw status`.
//!
//! Submissions carry a request id and are retried under it (see `retry.rs`), so a lost
//! answer never costs a second encode.

use crate::{
    cli::{StartArgs, TranscodeArgs},
    connect::Clients,
    fail::Failure,
    output::{task_json, task_text, Output},
    query,
    retry::{self, RequestId},
};
use qencode_gateway_proto::pb;
use serde_json::json;
use std::time::Duration;

/// One Transcode call (create + start), then optionally a watch.
pub async fn transcode(
    clients: &Clients,
    output: Output,
    args: TranscodeArgs,
) -> Result<(), Failure> {
    let query = query::build(args.source, &args.query)?;
    let message = pb::TranscodeRequest {
        query_kind: Some(query.for_transcode()),
        payload: None,
        labels: args.labels.into_iter().collect(),
        ..Default::default()
    };
    let request_id = RequestId::from_flag(args.request_id);
    let started = retry::submit(clients.timeout, &request_id, |id, deadline| {
        let message = pb::TranscodeRequest {
            request_id: id,
            ..message.clone()
        };
        let mut transcoding = clients.transcoding();
        async move {
            transcoding
                .transcode(with_deadline(message, deadline))
                .await
        }
    })
    .await?
    .into_inner();
    output.emit(
        json!({"task_token": started.task_token, "status_url": started.status_url}),
        || {
            format!(
                "task {} started\n  status: {}",
                started.task_token, started.status_url
            )
        },
    )?;
    if args.watch {
        crate::watch::run(clients, output, &started.task_token).await?;
    }
    Ok(())
}

/// StartEncode of an existing task, then optionally a watch.
pub async fn start(clients: &Clients, output: Output, args: StartArgs) -> Result<(), Failure> {
    let query = query::build(args.source, &args.query)?;
    let request_id = RequestId::from_flag(args.request_id);
    start_task(clients, output, &args.task, query, &request_id).await?;
    if args.watch {
        crate::watch::run(clients, output, &args.task).await?;
    }
    Ok(())
}

/// StartEncode of `task` with `query` under `request_id` (retried), printing where its
/// status is.
pub async fn start_task(
    clients: &Clients,
    output: Output,
    task: &str,
    query: query::Query,
    request_id: &RequestId,
) -> Result<(), Failure> {
    let message = pb::StartEncodeRequest {
        task_token: task.to_owned(),
        query_kind: Some(query.for_start()),
        payload: None,
        ..Default::default()
    };
    let started = retry::submit(clients.timeout, request_id, |id, deadline| {
        let message = pb::StartEncodeRequest {
            request_id: id,
            ..message.clone()
        };
        let mut transcoding = clients.transcoding();
        async move {
            transcoding
                .start_encode(with_deadline(message, deadline))
                .await
        }
    })
    .await?
    .into_inner();
    output.emit(
        json!({"task_token": task, "status_url": started.status_url}),
        || format!("task {task} started\n  status: {}", started.status_url),
    )?;
    Ok(())
}

/// `message` as a request whose `grpc-timeout` tells the gateway how long this attempt
/// may take (so a request id it is still working on is not held past it).
fn with_deadline<T>(message: T, deadline: Option<Duration>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(deadline) = deadline {
        request.set_timeout(deadline);
    }
    request
}

/// GetStatus of `tasks`, in the order given; unknown tokens are NOT_FOUND.
pub async fn status(clients: &Clients, output: Output, tasks: Vec<String>) -> Result<(), Failure> {
    let report = clients
        .transcoding()
        .get_status(pb::GetStatusRequest {
            task_tokens: tasks.clone(),
        })
        .await?
        .into_inner();
    for token in &tasks {
        if let Some(status) = report.statuses.get(token) {
            let value = task_json(token, status)?;
            output.emit(value, || task_text(token, status))?;
        }
    }
    if !report.unknown_task_tokens.is_empty() {
        return Err(Failure::Rpc(tonic::Status::not_found(format!(
            "unknown task tokens: {}",
            report.unknown_task_tokens.join(", ")
        ))));
    }
    Ok(())
}
