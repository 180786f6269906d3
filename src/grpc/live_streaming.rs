//! The `LiveStreaming` gRPC service: a thin adapter over [`crate::live`].

use super::{deadline, event_kind, status::to_status, ResponseStream};
use crate::watch::Watchers;
use crate::{
    live::LiveStreaming,
    pb::{self, live_streaming_server},
};
use futures::StreamExt;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Serves `qencode.gateway.v1.LiveStreaming`.
#[derive(Clone)]
pub struct LiveStreamingService {
    domain: Arc<LiveStreaming>,
    watchers: Arc<Watchers>,
}

impl LiveStreamingService {
    /// The service over the domain.
    pub fn new(domain: Arc<LiveStreaming>, watchers: Arc<Watchers>) -> Self {
        LiveStreamingService { domain, watchers }
    }
}

#[tonic::async_trait]
impl live_streaming_server::LiveStreaming for LiveStreamingService {
    type WatchStreamStream = ResponseStream<pb::WatchStreamResponse>;

    async fn watch_stream(
        &self,
        request: Request<pb::WatchStreamRequest>,
    ) -> Result<Response<Self::WatchStreamStream>, Status> {
        let events = self
            .watchers
            .watch_stream(&request.into_inner().stream_id)?;
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
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let stream = self
            .domain
            .create_stream(r.params.as_ref(), r.extra_json.as_deref(), deadline)
            .await?;
        Ok(Response::new(pb::CreateStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn get_stream(
        &self,
        request: Request<pb::GetStreamRequest>,
    ) -> Result<Response<pb::GetStreamResponse>, Status> {
        let deadline = deadline(request.metadata());
        let stream = self
            .domain
            .get_stream(&request.into_inner().stream_id, deadline)
            .await?;
        Ok(Response::new(pb::GetStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn list_streams(
        &self,
        request: Request<pb::ListStreamsRequest>,
    ) -> Result<Response<pb::ListStreamsResponse>, Status> {
        let streams = self
            .domain
            .list_streams(deadline(request.metadata()))
            .await?;
        Ok(Response::new(pb::ListStreamsResponse { streams }))
    }

    async fn update_stream(
        &self,
        request: Request<pb::UpdateStreamRequest>,
    ) -> Result<Response<pb::UpdateStreamResponse>, Status> {
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let stream = self
            .domain
            .update_stream(
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
        let deadline = deadline(request.metadata());
        let status = self
            .domain
            .delete_stream(&request.into_inner().stream_id, deadline)
            .await?;
        Ok(Response::new(pb::DeleteStreamResponse {
            status: Some(status),
        }))
    }

    async fn start_stream(
        &self,
        request: Request<pb::StartStreamRequest>,
    ) -> Result<Response<pb::StartStreamResponse>, Status> {
        let deadline = deadline(request.metadata());
        let stream = self
            .domain
            .start_stream(&request.into_inner().stream_id, deadline)
            .await?;
        Ok(Response::new(pb::StartStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn stop_stream(
        &self,
        request: Request<pb::StopStreamRequest>,
    ) -> Result<Response<pb::StopStreamResponse>, Status> {
        let deadline = deadline(request.metadata());
        let stream = self
            .domain
            .stop_stream(&request.into_inner().stream_id, deadline)
            .await?;
        Ok(Response::new(pb::StopStreamResponse {
            stream: Some(stream),
        }))
    }

    async fn add_playback_id(
        &self,
        request: Request<pb::AddPlaybackIdRequest>,
    ) -> Result<Response<pb::AddPlaybackIdResponse>, Status> {
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let stream = self
            .domain
            .add_playback_id(&r.stream_id, &r.policy, deadline)
            .await?;
        Ok(Response::new(pb::AddPlaybackIdResponse {
            stream: Some(stream),
        }))
    }

    async fn remove_playback_id(
        &self,
        request: Request<pb::RemovePlaybackIdRequest>,
    ) -> Result<Response<pb::RemovePlaybackIdResponse>, Status> {
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let stream = self
            .domain
            .remove_playback_id(&r.stream_id, &r.playback_id, deadline)
            .await?;
        Ok(Response::new(pb::RemovePlaybackIdResponse {
            stream: Some(stream),
        }))
    }

    async fn add_simulcast_target(
        &self,
        request: Request<pb::AddSimulcastTargetRequest>,
    ) -> Result<Response<pb::AddSimulcastTargetResponse>, Status> {
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let stream = self
            .domain
            .add_simulcast_target(&r.stream_id, &r.url, &r.stream_key, deadline)
            .await?;
        Ok(Response::new(pb::AddSimulcastTargetResponse {
            stream: Some(stream),
        }))
    }

    async fn remove_simulcast_target(
        &self,
        request: Request<pb::RemoveSimulcastTargetRequest>,
    ) -> Result<Response<pb::RemoveSimulcastTargetResponse>, Status> {
        let deadline = deadline(request.metadata());
        let r = request.into_inner();
        let stream = self
            .domain
            .remove_simulcast_target(&r.stream_id, &r.target_id, deadline)
            .await?;
        Ok(Response::new(pb::RemoveSimulcastTargetResponse {
            stream: Some(stream),
        }))
    }
}
