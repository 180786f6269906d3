//! The LiveStreaming domain: validates requests and calls the Live Streaming API through
//! the shared token manager. No tonic here.

pub mod params_check;

use crate::{
    domain::signer::CallbackSigner,
    pb::{LiveStream, StreamParams, StreamStatus},
    support::error::{Error, ErrorKind, Violations},
    upstream::{
        auth::TokenManager,
        live_api::{self as api, LiveClient, LiveOp},
        live_stream::{parse_status, parse_stream},
        Deadline,
    },
};
use serde_json::Value;
use std::sync::Arc;

/// The Live Streaming API as the gateway offers it.
pub struct LiveStreaming {
    client: LiveClient,
    tokens: TokenManager,
    /// Signs the `callback_url` set on streams created without one (push to watchers).
    callbacks: Option<Arc<CallbackSigner>>,
}

impl LiveStreaming {
    /// The domain over an upstream client and its token manager.
    pub fn new(client: LiveClient, tokens: TokenManager) -> Self {
        LiveStreaming {
            client,
            tokens,
            callbacks: None,
        }
    }

    /// Sets a signed `callback_url` on every stream created without one.
    pub fn with_callbacks(mut self, signer: Option<Arc<CallbackSigner>>) -> Self {
        self.callbacks = signer;
        self
    }

    /// The token manager (health checks and metrics read it).
    pub fn tokens(&self) -> &TokenManager {
        &self.tokens
    }

    async fn call(
        &self,
        op: &LiveOp,
        segments: &[&str],
        body: Option<Value>,
        deadline: Deadline,
    ) -> Result<Value, Error> {
        self.tokens
            .with_token(deadline, |token| {
                let body = body.clone();
                async move { self.client.call(op, &token, segments, body, deadline).await }
            })
            .await
    }

    async fn stream_call(
        &self,
        op: &LiveOp,
        segments: &[&str],
        body: Option<Value>,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        let answer = self.call(op, segments, body, deadline).await?;
        answer
            .get("stream")
            .and_then(parse_stream)
            .ok_or_else(|| unexpected(op, "has no stream object"))
    }

    /// Creates a stream.
    pub async fn create_stream(
        &self,
        params: Option<&StreamParams>,
        extra_json: Option<&str>,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        let mut v = Violations::default();
        let body = params_check::body(params, extra_json, false, &mut v);
        v.into_result()?;
        let caller_set_callback = body.contains_key("callback_url");
        let created = self
            .stream_call(
                &api::CREATE_STREAM,
                &["live-streams"],
                Some(Value::Object(body)),
                deadline,
            )
            .await?;
        match &self.callbacks {
            Some(signer) if !caller_set_callback && !created.id.is_empty() => {
                Ok(self.add_callback(signer, created, deadline).await)
            }
            _ => Ok(created),
        }
    }

    /// Sets this gateway's signed `callback_url` on a new stream (the signature needs
    /// the id, so it cannot go into the create request). A failure costs only push:
    /// the stream exists, watchers still poll, so it is logged, not returned.
    async fn add_callback(
        &self,
        signer: &CallbackSigner,
        created: LiveStream,
        deadline: Deadline,
    ) -> LiveStream {
        let mut body = serde_json::Map::new();
        body.insert(
            "callback_url".into(),
            Value::String(signer.stream_url_for(&created.id)),
        );
        match self
            .stream_call(
                &api::UPDATE_STREAM,
                &["live-streams", &created.id],
                Some(Value::Object(body)),
                deadline,
            )
            .await
        {
            Ok(updated) => updated,
            Err(error) => {
                tracing::warn!(reason = %error.reason, "could not set the stream's callback_url; its watchers rely on polling");
                created
            }
        }
    }

    /// Gets a stream.
    pub async fn get_stream(
        &self,
        stream_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        checked_ids(&[("stream_id", stream_id)])?;
        self.stream_call(
            &api::GET_STREAM,
            &["live-streams", stream_id],
            None,
            deadline,
        )
        .await
    }

    /// Lists the account's streams.
    pub async fn list_streams(&self, deadline: Deadline) -> Result<Vec<LiveStream>, Error> {
        let answer = self
            .call(&api::LIST_STREAMS, &["live-streams"], None, deadline)
            .await?;
        match answer.get("streams") {
            Some(Value::Array(items)) => Ok(items.iter().filter_map(parse_stream).collect()),
            _ => Err(unexpected(&api::LIST_STREAMS, "has no streams list")),
        }
    }

    /// Updates a stream's settings.
    pub async fn update_stream(
        &self,
        stream_id: &str,
        params: Option<&StreamParams>,
        extra_json: Option<&str>,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        let mut v = Violations::default();
        crate::domain::ids::check("stream_id", stream_id, &mut v);
        let body = params_check::body(params, extra_json, true, &mut v);
        v.into_result()?;
        self.stream_call(
            &api::UPDATE_STREAM,
            &["live-streams", stream_id],
            Some(Value::Object(body)),
            deadline,
        )
        .await
    }

    /// Deletes a stopped stream; returns its final status.
    pub async fn delete_stream(
        &self,
        stream_id: &str,
        deadline: Deadline,
    ) -> Result<StreamStatus, Error> {
        checked_ids(&[("stream_id", stream_id)])?;
        let answer = self
            .call(
                &api::DELETE_STREAM,
                &["live-streams", stream_id],
                None,
                deadline,
            )
            .await?;
        parse_status(answer.get("status"))
            .ok_or_else(|| unexpected(&api::DELETE_STREAM, "has no status"))
    }

    /// Starts a stream.
    pub async fn start_stream(
        &self,
        stream_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        checked_ids(&[("stream_id", stream_id)])?;
        self.stream_call(
            &api::START_STREAM,
            &["live-streams", stream_id, "start"],
            None,
            deadline,
        )
        .await
    }

    /// Stops a stream.
    pub async fn stop_stream(
        &self,
        stream_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        checked_ids(&[("stream_id", stream_id)])?;
        self.stream_call(
            &api::STOP_STREAM,
            &["live-streams", stream_id, "stop"],
            None,
            deadline,
        )
        .await
    }

    /// Adds a playback id with `policy`.
    pub async fn add_playback_id(
        &self,
        stream_id: &str,
        policy: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        let mut v = Violations::default();
        crate::domain::ids::check("stream_id", stream_id, &mut v);
        params_check::policy(policy, &mut v);
        v.into_result()?;
        let body = serde_json::json!({ "policy": policy });
        self.stream_call(
            &api::ADD_PLAYBACK_ID,
            &["live-streams", stream_id, "playback-ids"],
            Some(body),
            deadline,
        )
        .await
    }

    /// Removes a playback id.
    pub async fn remove_playback_id(
        &self,
        stream_id: &str,
        playback_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        checked_ids(&[("stream_id", stream_id), ("playback_id", playback_id)])?;
        self.stream_call(
            &api::REMOVE_PLAYBACK_ID,
            &["live-streams", stream_id, "playback-ids", playback_id],
            None,
            deadline,
        )
        .await
    }

    /// Adds a simulcast target.
    pub async fn add_simulcast_target(
        &self,
        stream_id: &str,
        url: &str,
        stream_key: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        let mut v = Violations::default();
        crate::domain::ids::check("stream_id", stream_id, &mut v);
        params_check::simulcast_target(url, stream_key, &mut v);
        v.into_result()?;
        let body = serde_json::json!({ "url": url, "stream_key": stream_key });
        self.stream_call(
            &api::ADD_SIMULCAST_TARGET,
            &["live-streams", stream_id, "simulcast-targets"],
            Some(body),
            deadline,
        )
        .await
    }

    /// Removes a simulcast target.
    pub async fn remove_simulcast_target(
        &self,
        stream_id: &str,
        target_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        checked_ids(&[("stream_id", stream_id), ("target_id", target_id)])?;
        self.stream_call(
            &api::REMOVE_SIMULCAST_TARGET,
            &["live-streams", stream_id, "simulcast-targets", target_id],
            None,
            deadline,
        )
        .await
    }
}

/// Checks path ids (field name, value) before any upstream call.
fn checked_ids(ids: &[(&str, &str)]) -> Result<(), Error> {
    let mut v = Violations::default();
    for (field, value) in ids {
        crate::domain::ids::check(field, value, &mut v);
    }
    v.into_result()
}

fn unexpected(op: &LiveOp, what: &str) -> Error {
    Error::upstream(
        ErrorKind::Unavailable,
        "UPSTREAM_UNEXPECTED_RESPONSE",
        format!("Qencode's answer to {} {what}", op.op.name),
    )
}
