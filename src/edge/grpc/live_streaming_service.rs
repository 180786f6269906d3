//! The `LiveStreaming` gRPC service: a thin adapter over [`crate::domain::live`].

use super::{context, deadline, event_kind, status::to_status, ResponseStream};
use crate::{
    access::check::CallContext,
    domain::{live::LiveStreaming, watch::Watchers},
    pb::{self, live_streaming_server},
};
use futures::StreamExt;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Serves `qencode.gateway.v1.LiveStreaming`.
#[derive(Clone)]
pub struct LiveStreamingService {
    /// The domain, for every project (each call brings its own).
    live: Arc<LiveStreaming>,
    watchers: Arc<Watchers>,
}

impl LiveStreamingService {
    /// The service over the domain and the watchers.
    pub fn new(live: Arc<LiveStreaming>, watchers: Arc<Watchers>) -> Self {
        LiveStreamingService { live, watchers }
    }
}

/// The call's context after noting `stream_id` for the audit.
fn about(ctx: CallContext, stream_id: &str) -> CallContext {
    ctx.note("stream_id", stream_id);
    ctx
}

#[tonic::async_trait]
impl live_streaming_server::LiveStreaming for LiveStreamingService {
    type WatchStreamStream = ResponseStream<pb::WatchStreamResponse>;

    async fn watch_stream(
        &self,
        request: Request<pb::WatchStreamRequest>,
    ) -> Result<Response<Self::WatchStreamStream>, Status> {
        let ctx = context(&request)?;
        let held = super::held_watcher(&request);
        let stream_id = request.into_inner().stream_id;
        let ctx = about(ctx, &stream_id);
        self.live.claim_stream(&ctx.project, &stream_id)?;
        let events = self.watchers.watch_stream(&stream_id, held)?;
        let messages = events.map(|event| {
            event
                .map(|e| pb::WatchStreamResponse {
                    kind: event_kind(e.kind) as i32,
                    stream: Some((*e.value).clone()),
                    stale: super::stale(e.stale),
                })
                .map_err(to_status)
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn create_stream(
        &self,
        request: Request<pb::CreateStreamRequest>,
    ) -> Result<Response<pb::CreateStreamResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let stream = self
            .live
            .create_stream(
                &ctx.project,
                r.params.as_ref(),
                r.extra_json.as_deref(),
                deadline,
            )
            .await?;
        ctx.note("stream_id", &stream.id);
        Ok(Response::new(pb::CreateStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn get_stream(
        &self,
        request: Request<pb::GetStreamRequest>,
    ) -> Result<Response<pb::GetStreamResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let stream_id = request.into_inner().stream_id;
        let ctx = about(ctx, &stream_id);
        let stream = self
            .live
            .get_stream(&ctx.project, &stream_id, deadline)
            .await?;
        Ok(Response::new(pb::GetStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn list_streams(
        &self,
        request: Request<pb::ListStreamsRequest>,
    ) -> Result<Response<pb::ListStreamsResponse>, Status> {
        let ctx = context(&request)?;
        let streams = self
            .live
            .list_streams(&ctx.project, deadline(request.metadata()))
            .await?;
        Ok(Response::new(pb::ListStreamsResponse { streams }))
    }

    async fn update_stream(
        &self,
        request: Request<pb::UpdateStreamRequest>,
    ) -> Result<Response<pb::UpdateStreamResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let ctx = about(ctx, &r.stream_id);
        let stream = self
            .live
            .update_stream(
                &ctx.project,
                &r.stream_id,
                r.params.as_ref(),
                r.extra_json.as_deref(),
                deadline,
            )
            .await?;
        Ok(Response::new(pb::UpdateStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn delete_stream(
        &self,
        request: Request<pb::DeleteStreamRequest>,
    ) -> Result<Response<pb::DeleteStreamResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let stream_id = request.into_inner().stream_id;
        let ctx = about(ctx, &stream_id);
        let status = self
            .live
            .delete_stream(&ctx.project, &stream_id, deadline)
            .await?;
        Ok(Response::new(pb::DeleteStreamResponse {
            status: Some(status),
        }))
    }

    async fn start_stream(
        &self,
        request: Request<pb::StartStreamRequest>,
    ) -> Result<Response<pb::StartStreamResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let stream_id = request.into_inner().stream_id;
        let ctx = about(ctx, &stream_id);
        let stream = self
            .live
            .start_stream(&ctx.project, &stream_id, deadline)
            .await?;
        Ok(Response::new(pb::StartStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn stop_stream(
        &self,
        request: Request<pb::StopStreamRequest>,
    ) -> Result<Response<pb::StopStreamResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let stream_id = request.into_inner().stream_id;
        let ctx = about(ctx, &stream_id);
        let stream = self
            .live
            .stop_stream(&ctx.project, &stream_id, deadline)
            .await?;
        Ok(Response::new(pb::StopStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn add_playback_id(
        &self,
        request: Request<pb::AddPlaybackIdRequest>,
    ) -> Result<Response<pb::AddPlaybackIdResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let ctx = about(ctx, &r.stream_id);
        let stream = self
            .live
            .add_playback_id(&ctx.project, &r.stream_id, &r.policy, deadline)
            .await?;
        Ok(Response::new(pb::AddPlaybackIdResponse {
            stream: Some(stream),
        }))
    }

    async fn remove_playback_id(
        &self,
        request: Request<pb::RemovePlaybackIdRequest>,
    ) -> Result<Response<pb::RemovePlaybackIdResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let ctx = about(ctx, &r.stream_id);
        let stream = self
            .live
            .remove_playback_id(&ctx.project, &r.stream_id, &r.playback_id, deadline)
            .await?;
        Ok(Response::new(pb::RemovePlaybackIdResponse {
            stream: Some(stream),
        }))
    }

    async fn add_simulcast_target(
        &self,
        request: Request<pb::AddSimulcastTargetRequest>,
    ) -> Result<Response<pb::AddSimulcastTargetResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let ctx = about(ctx, &r.stream_id);
        let stream = self
            .live
            .add_simulcast_target(&ctx.project, &r.stream_id, &r.url, &r.stream_key, deadline)
            .await?;
        Ok(Response::new(pb::AddSimulcastTargetResponse {
            stream: Some(stream),
        }))
    }

    async fn remove_simulcast_target(
        &self,
        request: Request<pb::RemoveSimulcastTargetRequest>,
    ) -> Result<Response<pb::RemoveSimulcastTargetResponse>, Status> {
        let ctx = context(&request)?;
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let ctx = about(ctx, &r.stream_id);
        let stream = self
            .live
            .remove_simulcast_target(&ctx.project, &r.stream_id, &r.target_id, deadline)
            .await?;
        Ok(Response::new(pb::RemoveSimulcastTargetResponse {
            stream: Some(stream),
        }))
    }
}
