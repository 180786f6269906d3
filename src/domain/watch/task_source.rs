//! Watching transcoding tasks: the poller's source for task statuses.

use super::poller::{Fetched, Source};
use crate::{domain::transcoding::Transcoding, pb::TaskStatus, upstream::task_status::is_terminal};
use futures::future::BoxFuture;
use std::{collections::HashMap, sync::Arc};

/// Fetches task statuses in batches through the Transcoding domain.
pub struct TaskSource {
    /// The domain (it knows each task's status endpoint).
    pub transcoding: Arc<Transcoding>,
    /// Most tasks per upstream `/v1/status` request.
    pub batch_size: usize,
    /// Bound of each batch request ([`super::poller::PollSettings::fetch_timeout`]).
    pub batch_timeout: std::time::Duration,
}

impl Source<TaskStatus> for TaskSource {
    fn fetch<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, HashMap<String, Fetched<TaskStatus>>> {
        Box::pin(async move {
            self.transcoding
                .poll_statuses(keys, self.batch_size, self.batch_timeout)
                .await
                .into_iter()
                .map(|(token, result)| {
                    let fetched = match result {
                        Ok(Some(status)) => Fetched::Value(status),
                        Ok(None) => Fetched::Missing,
                        Err(error) => Fetched::Failed(error),
                    };
                    (token, fetched)
                })
                .collect()
        })
    }

    fn is_terminal(&self, value: &TaskStatus) -> bool {
        is_terminal(value)
    }
}
