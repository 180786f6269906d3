//! The LiveStreaming domain: validates requests and calls the Live Streaming API with the
//! call's project's token, keeping each project to its own streams. One object serves
//! every project, as `Transcoding` does. No tonic here.

pub mod params_check;

use crate::support::reasons;
use crate::{
    access::projects::{Project, Projects},
    domain::{
        owners::{Owners, Subject},
        signer::CallbackSigner,
    },
    pb::{LiveStream, StreamParams, StreamStatus},
    support::error::{Error, ErrorKind, Violations},
    upstream::{
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
    /// Which project reached each stream: a caller of another project gets NOT_FOUND.
    owners: Arc<Owners>,
    /// Signs the `callback_url` set on streams created without one (push to watchers).
    callbacks: Option<Arc<CallbackSigner>>,
}

impl LiveStreaming {
    /// The domain over an upstream client and the ownership store it shares with
    /// `Transcoding`.
    pub fn new(client: LiveClient, owners: Arc<Owners>) -> Self {
        LiveStreaming {
            client,
            owners,
            callbacks: None,
        }
    }

    /// Sets a signed `callback_url` on every stream created without one.
    pub fn with_callbacks(mut self, signer: Option<Arc<CallbackSigner>>) -> Self {
        self.callbacks = signer;
        self
    }

    /// NOT_FOUND, as the Live API answers an unknown stream, when the stream is known
    /// to belong to another project.
    fn check(&self, project: &Project, stream_id: &str) -> Result<(), Error> {
        if self
            .owners
            .may_see(Subject::Stream, stream_id, &project.name)
        {
            return Ok(());
        }
        Err(Error::upstream(
            ErrorKind::NotFound,
            reasons::QENCODE_LIVE_NOT_FOUND,
            "Qencode does not know this live stream",
        ))
    }

    /// Remembers that `project`'s token reached `stream`.
    fn owned(&self, project: &Project, stream: LiveStream) -> LiveStream {
        self.owners.own(Subject::Stream, &stream.id, &project.name);
        stream
    }

    /// Before a watch: refuses another project's stream, and remembers `project` for a
    /// stream no project is known for, so the watch poller fetches it with the
    /// watcher's token. A wrong claim costs only NOT_FOUND for that watcher (the
    /// upstream refuses another project's stream).
    pub fn claim_stream(&self, project: &Project, stream_id: &str) -> Result<(), Error> {
        self.check(project, stream_id)?;
        self.owners.claim(Subject::Stream, stream_id, &project.name);
        Ok(())
    }

    /// The project whose token the watch poller fetches `stream_id` with: its owner's,
    /// else the default project's.
    pub fn project_for(&self, projects: &Projects, stream_id: &str) -> Option<Arc<Project>> {
        self.owners
            .owner(Subject::Stream, stream_id)
            .and_then(|owner| projects.get(&owner))
            .or_else(|| projects.default_project())
    }

    async fn call(
        &self,
        project: &Project,
        op: &LiveOp,
        segments: &[&str],
        body: Option<Value>,
        deadline: Deadline,
    ) -> Result<Value, Error> {
        project
            .live
            .with_token(deadline, |token| {
                let body = body.clone();
                async move { self.client.call(op, &token, segments, body, deadline).await }
            })
            .await
    }

    async fn stream_call(
        &self,
        project: &Project,
        op: &LiveOp,
        segments: &[&str],
        body: Option<Value>,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        let answer = self.call(project, op, segments, body, deadline).await?;
        answer
            .get("stream")
            .and_then(parse_stream)
            .ok_or_else(|| unexpected(op, "has no stream object"))
    }

    /// Creates a stream.
    pub async fn create_stream(
        &self,
        project: &Project,
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
                project,
                &api::CREATE_STREAM,
                &["live-streams"],
                Some(Value::Object(body)),
                deadline,
            )
            .await?;
        let created = self.owned(project, created);
        match &self.callbacks {
            Some(signer) if !caller_set_callback && !created.id.is_empty() => {
                Ok(self.add_callback(project, signer, created, deadline).await)
            }
            _ => Ok(created),
        }
    }

    /// Sets this gateway's signed `callback_url` on a new stream (the signature needs
    /// the id, so it cannot go into the create request). A failure costs only push:
    /// the stream exists, watchers still poll, so it is logged, not returned.
    async fn add_callback(
        &self,
        project: &Project,
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
                project,
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
        project: &Project,
        stream_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        self.check(project, stream_id)?;
        checked_ids(&[("stream_id", stream_id)])?;
        self.stream_call(
            project,
            &api::GET_STREAM,
            &["live-streams", stream_id],
            None,
            deadline,
        )
        .await
        .map(|stream| self.owned(project, stream))
    }

    /// Lists the account's streams.
    pub async fn list_streams(
        &self,
        project: &Project,
        deadline: Deadline,
    ) -> Result<Vec<LiveStream>, Error> {
        let answer = self
            .call(
                project,
                &api::LIST_STREAMS,
                &["live-streams"],
                None,
                deadline,
            )
            .await?;
        match answer.get("streams") {
            Some(Value::Array(items)) => Ok(items
                .iter()
                .filter_map(parse_stream)
                .map(|stream| self.owned(project, stream))
                .collect()),
            _ => Err(unexpected(&api::LIST_STREAMS, "has no streams list")),
        }
    }

    /// Updates a stream's settings.
    pub async fn update_stream(
        &self,
        project: &Project,
        stream_id: &str,
        params: Option<&StreamParams>,
        extra_json: Option<&str>,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        self.check(project, stream_id)?;
        let mut v = Violations::default();
        crate::domain::ids::check("stream_id", stream_id, &mut v);
        let body = params_check::body(params, extra_json, true, &mut v);
        v.into_result()?;
        self.stream_call(
            project,
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
        project: &Project,
        stream_id: &str,
        deadline: Deadline,
    ) -> Result<StreamStatus, Error> {
        self.check(project, stream_id)?;
        checked_ids(&[("stream_id", stream_id)])?;
        let answer = self
            .call(
                project,
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
        project: &Project,
        stream_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        self.check(project, stream_id)?;
        checked_ids(&[("stream_id", stream_id)])?;
        self.stream_call(
            project,
            &api::START_STREAM,
            &["live-streams", stream_id, "start"],
            None,
            deadline,
        )
        .await
        .map(|stream| self.owned(project, stream))
    }

    /// Stops a stream.
    pub async fn stop_stream(
        &self,
        project: &Project,
        stream_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        self.check(project, stream_id)?;
        checked_ids(&[("stream_id", stream_id)])?;
        self.stream_call(
            project,
            &api::STOP_STREAM,
            &["live-streams", stream_id, "stop"],
            None,
            deadline,
        )
        .await
        .map(|stream| self.owned(project, stream))
    }

    /// Adds a playback id with `policy`.
    pub async fn add_playback_id(
        &self,
        project: &Project,
        stream_id: &str,
        policy: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        self.check(project, stream_id)?;
        let mut v = Violations::default();
        crate::domain::ids::check("stream_id", stream_id, &mut v);
        params_check::policy(policy, &mut v);
        v.into_result()?;
        let body = serde_json::json!({ "policy": policy });
        self.stream_call(
            project,
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
        project: &Project,
        stream_id: &str,
        playback_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        self.check(project, stream_id)?;
        checked_ids(&[("stream_id", stream_id), ("playback_id", playback_id)])?;
        self.stream_call(
            project,
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
        project: &Project,
        stream_id: &str,
        url: &str,
        stream_key: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        self.check(project, stream_id)?;
        let mut v = Violations::default();
        crate::domain::ids::check("stream_id", stream_id, &mut v);
        params_check::simulcast_target(url, stream_key, &mut v);
        v.into_result()?;
        let body = serde_json::json!({ "url": url, "stream_key": stream_key });
        self.stream_call(
            project,
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
        project: &Project,
        stream_id: &str,
        target_id: &str,
        deadline: Deadline,
    ) -> Result<LiveStream, Error> {
        self.check(project, stream_id)?;
        checked_ids(&[("stream_id", stream_id), ("target_id", target_id)])?;
        self.stream_call(
            project,
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
        reasons::UPSTREAM_UNEXPECTED_RESPONSE,
        format!("Qencode's answer to {} {what}", op.op.name),
    )
}
