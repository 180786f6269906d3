//! The `Transcoding` gRPC service: a thin adapter over [`crate::domain::transcoding`].

use super::{context, deadline, event_kind, status::to_status, ResponseStream};
use crate::domain::watch::Watchers;
use crate::support::reasons;
use crate::{
    domain::{
        transcoding::{QueryInput, Submission, Transcoding},
        upload,
    },
    pb::{self, transcoding_server},
    support::error::{Error, ErrorKind, GATEWAY_DOMAIN},
};
use futures::StreamExt;
use std::sync::Arc;
use tonic::{Code, Request, Response, Status, Streaming};

/// Serves `qencode.gateway.v1.Transcoding`.
#[derive(Clone)]
pub struct TranscodingService {
    domain: Arc<Transcoding>,
    watchers: Arc<Watchers>,
}

impl TranscodingService {
    /// The service over the domain.
    pub fn new(domain: Arc<Transcoding>, watchers: Arc<Watchers>) -> Self {
        TranscodingService { domain, watchers }
    }
}

fn start_query(kind: Option<pb::start_encode_request::QueryKind>) -> Option<QueryInput> {
    use pb::start_encode_request::QueryKind;
    kind.map(|k| match k {
        QueryKind::Query(q) => QueryInput::Typed(q),
        QueryKind::QueryJson(j) => QueryInput::Raw(j),
    })
}

fn transcode_query(kind: Option<pb::transcode_request::QueryKind>) -> Option<QueryInput> {
    use pb::transcode_request::QueryKind;
    kind.map(|k| match k {
        QueryKind::Query(q) => QueryInput::Typed(q),
        QueryKind::QueryJson(j) => QueryInput::Raw(j),
    })
}

/// Who submits a call, with its request id and labels.
fn submission(
    ctx: &crate::access::check::CallContext,
    request_id: String,
    labels: std::collections::HashMap<String, String>,
) -> Submission {
    Submission {
        caller: ctx.caller.as_deref().unwrap_or_default().to_owned(),
        request_id,
        labels,
        budgets: ctx.budgets,
    }
}

/// A failure of the incoming stream as a domain error: an oversized message is the
/// caller's to fix; anything else (a reset, a cancelled call) ends the upload.
fn stream_error(status: Status) -> Error {
    let kind = match status.code() {
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidArgument,
        _ => ErrorKind::Aborted,
    };
    Error::new(
        kind,
        GATEWAY_DOMAIN,
        reasons::UPLOAD_STREAM_FAILED,
        format!("reading the upload stream failed: {}", status.message()),
    )
}

#[tonic::async_trait]
impl transcoding_server::Transcoding for TranscodingService {
    type WatchStatusStream = ResponseStream<pb::WatchStatusResponse>;

    async fn watch_status(
        &self,
        request: Request<pb::WatchStatusRequest>,
    ) -> Result<Response<Self::WatchStatusStream>, Status> {
        let ctx = context(&request)?;
        let held = super::held_watcher(&request);
        let task_token = request.into_inner().task_token;
        self.domain.check_task(&ctx.project, &task_token)?;
        let events = self.watchers.watch_task(&task_token, held)?;
        let messages = events.map(|event| {
            event
                .map(|e| pb::WatchStatusResponse {
                    kind: event_kind(e.kind) as i32,
                    status: Some((*e.value).clone()),
                    stale: super::stale(e.stale),
                })
                .map_err(to_status)
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn create_task(
        &self,
        request: Request<pb::CreateTaskRequest>,
    ) -> Result<Response<pb::CreateTaskResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let request = request.into_inner();
        let sub = submission(&ctx, request.request_id, request.labels);
        let task = self
            .domain
            .create_task_submitted(&ctx.project, &sub, deadline)
            .await?;
        ctx.note("task_token", &task.task_token);
        Ok(Response::new(pb::CreateTaskResponse {
            task_token: task.task_token,
            upload_url: task.upload_url,
        }))
    }

    async fn start_encode(
        &self,
        request: Request<pb::StartEncodeRequest>,
    ) -> Result<Response<pb::StartEncodeResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let request = request.into_inner();
        ctx.note("task_token", &request.task_token);
        let query = start_query(request.query_kind);
        let sub = submission(&ctx, request.request_id, Default::default());
        let status_url = self
            .domain
            .start_encode_submitted(
                &ctx.project,
                &sub,
                &request.task_token,
                query.as_ref(),
                request.payload,
                deadline,
            )
            .await?;
        Ok(Response::new(pb::StartEncodeResponse { status_url }))
    }

    async fn start_encode_profiles(
        &self,
        request: Request<pb::StartEncodeProfilesRequest>,
    ) -> Result<Response<pb::StartEncodeProfilesResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let request = request.into_inner();
        ctx.note("task_token", &request.task_token);
        let sub = submission(&ctx, request.request_id.clone(), Default::default());
        let status_url = self
            .domain
            .start_encode_profiles_submitted(&ctx.project, &sub, &request, deadline)
            .await?;
        Ok(Response::new(pb::StartEncodeProfilesResponse {
            status_url,
        }))
    }

    async fn transcode(
        &self,
        request: Request<pb::TranscodeRequest>,
    ) -> Result<Response<pb::TranscodeResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let request = request.into_inner();
        let query = transcode_query(request.query_kind);
        let sub = submission(&ctx, request.request_id, request.labels);
        let (task_token, status_url) = self
            .domain
            .transcode_submitted(
                &ctx.project,
                &sub,
                query.as_ref(),
                request.payload,
                deadline,
            )
            .await?;
        ctx.note("task_token", &task_token);
        Ok(Response::new(pb::TranscodeResponse {
            task_token,
            status_url,
        }))
    }

    async fn upload_file(
        &self,
        request: Request<Streaming<pb::UploadFileRequest>>,
    ) -> Result<Response<pb::UploadFileResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let parts = request
            .into_inner()
            .map(|message| message.map(|m| m.part).map_err(stream_error));
        let (metadata, chunks) = upload::parts::split(parts).await?;
        ctx.note("task_token", &metadata.task_token);
        let stored = self
            .domain
            .upload_file(&ctx.project, metadata, chunks, deadline)
            .await?;
        Ok(Response::new(pb::UploadFileResponse {
            source_uri: stored.source_uri(),
            bytes_stored: stored.bytes_stored,
            resume_token: stored
                .resume_token
                .map(|token| token.encode())
                .unwrap_or_default(),
        }))
    }

    async fn create_upload(
        &self,
        request: Request<pb::CreateUploadRequest>,
    ) -> Result<Response<pb::CreateUploadResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let metadata = request
            .into_inner()
            .metadata
            .ok_or_else(|| Error::invalid_field("metadata", "is required"))?;
        ctx.note("task_token", &metadata.task_token);
        let token = self
            .domain
            .create_upload(&ctx.project, metadata, deadline)
            .await?;
        Ok(Response::new(pb::CreateUploadResponse {
            resume_token: token.encode(),
        }))
    }

    async fn get_upload(
        &self,
        request: Request<pb::GetUploadRequest>,
    ) -> Result<Response<pb::GetUploadResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let request = request.into_inner();
        let head = self
            .domain
            .get_upload(
                &ctx.project,
                &request.task_token,
                &request.resume_token,
                deadline,
            )
            .await?;
        Ok(Response::new(pb::GetUploadResponse {
            bytes_stored: head.offset,
            size: head.length,
        }))
    }

    async fn get_status(
        &self,
        request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let report = self
            .domain
            .get_status(&ctx.project, request.into_inner().task_tokens, deadline)
            .await?;
        Ok(Response::new(pb::GetStatusResponse {
            statuses: report.statuses.into_iter().collect(),
            unknown_task_tokens: report.unknown,
        }))
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let ctx = context(&request)?;
        let request = request.into_inner();
        ctx.note("task_token", &request.task_token);
        let task = self
            .domain
            .get_task(&ctx.project, &request.task_token)
            .await?;
        Ok(Response::new(pb::GetTaskResponse { task: Some(task) }))
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let ctx = context(&request)?;
        let page = self
            .domain
            .list_tasks(&ctx.project, request.get_ref())
            .await?;
        Ok(Response::new(page))
    }
}
