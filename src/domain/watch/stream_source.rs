//! Watching live streams: the poller's source for stream states.

use super::poller::{Fetched, Source};
use crate::{
    access::projects::Projects,
    domain::live::LiveStreaming,
    pb::{LiveStream, StreamState, StreamStatus},
    support::error::ErrorKind,
    upstream::Deadline,
};
use futures::{future::BoxFuture, StreamExt};
use std::{collections::HashMap, sync::Arc};

/// Streams fetched at once (one GET each; the Live API has no batch read by id).
const CONCURRENCY: usize = 16;

/// Fetches live streams through the LiveStreaming domain, each with its project's token.
pub struct LiveSource {
    /// The domain.
    pub live: Arc<LiveStreaming>,
    /// The projects: each stream is fetched with its own project's token.
    pub projects: Arc<Projects>,
    /// Bound of each stream's fetch ([`super::poller::PollSettings::fetch_timeout`]).
    pub timeout: std::time::Duration,
}

/// True for states after which a watch ends: stopped and deleted.
pub fn is_final(stream: &LiveStream) -> bool {
    matches!(
        stream.status.as_ref().map(|s| s.state()),
        Some(StreamState::Stopped | StreamState::Deleted)
    )
}

impl Source<LiveStream> for LiveSource {
    fn fetch<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, HashMap<String, Fetched<LiveStream>>> {
        Box::pin(async move {
            let timeout = self.timeout;
            futures::stream::iter(keys.to_vec())
                .map(move |id| {
                    let project = self.live.project_for(&self.projects, &id);
                    async move {
                        let Some(project) = project else {
                            return (id, Fetched::Missing);
                        };
                        let deadline = Deadline::after(timeout);
                        let fetched = match self.live.get_stream(&project, &id, deadline).await {
                            Ok(stream) => Fetched::Value(stream),
                            Err(error) if error.kind == ErrorKind::NotFound => Fetched::Missing,
                            Err(error) => Fetched::Failed(error),
                        };
                        (id, fetched)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await
        })
    }

    fn is_terminal(&self, value: &LiveStream) -> bool {
        is_final(value)
    }

    /// A watched stream that disappears was deleted: its last state, marked deleted.
    fn gone(&self, last: &LiveStream) -> Option<LiveStream> {
        let mut deleted = last.clone();
        let timestamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
        deleted.status = Some(StreamStatus {
            state: StreamState::Deleted as i32,
            name: "deleted".into(),
            timestamp,
        });
        Some(deleted)
    }
}
