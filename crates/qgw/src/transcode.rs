//! `qgw transcode`, `qgw start` and `qgw status`.

use crate::{
    cli::{StartArgs, TranscodeArgs},
    connect::Clients,
    fail::Failure,
    output::{task_json, task_text, Output},
    query,
};
use qencode_gateway_proto::pb;
use serde_json::json;

/// One Transcode call (create + start), then optionally a watch.
pub async fn transcode(
    clients: &Clients,
    output: Output,
    args: TranscodeArgs,
) -> Result<(), Failure> {
    let query = query::build(args.source, &args.query)?;
    let started = clients
        .transcoding()
        .transcode(pb::TranscodeRequest {
            query_kind: Some(query.for_transcode()),
            payload: None,
            ..Default::default()
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
    start_task(clients, output, &args.task, query).await?;
    if args.watch {
        crate::watch::run(clients, output, &args.task).await?;
    }
    Ok(())
}

/// StartEncode of `task` with `query`, printing where its status is.
pub async fn start_task(
    clients: &Clients,
    output: Output,
    task: &str,
    query: query::Query,
) -> Result<(), Failure> {
    let started = clients
        .transcoding()
        .start_encode(pb::StartEncodeRequest {
            task_token: task.to_owned(),
            query_kind: Some(query.for_start()),
            payload: None,
            ..Default::default()
        })
        .await?
        .into_inner();
    output.emit(
        json!({"task_token": task, "status_url": started.status_url}),
        || format!("task {task} started\n  status: {}", started.status_url),
    )?;
    Ok(())
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
