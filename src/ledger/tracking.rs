//! What the tracker needs from the ledger: the started tasks not yet at their end, word
//! of each task started here, and the end of a task Qencode does not know.

use super::{now_ms, unavailable, Ledger};
use crate::support::error::Error;
use sqlx::Row;

/// Most tasks followed at once; past it the oldest active ones wait for a later rescan.
pub const MAX_TRACKED: i64 = 200_000;

impl Ledger {
    /// Started tasks in no terminal phase, newest first: the ones to follow.
    pub async fn active_started_tasks(&self) -> Result<Vec<String>, Error> {
        let rows = sqlx::query(
            "SELECT task_token FROM ledger_tasks WHERE phase = 'active' AND state <> 'created' \
             ORDER BY created_at DESC LIMIT $1",
        )
        .bind(MAX_TRACKED)
        .fetch_all(self.pool().await?)
        .await
        .map_err(|e| unavailable("listing the tasks to follow", &e))?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<String, _>("task_token").ok())
            .collect())
    }

    /// Tokens of tasks started through this process from now on (a lagging receiver
    /// misses some; the tracker's periodic rescan finds them).
    pub fn started_tasks(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.started.subscribe()
    }

    /// Ends a task Qencode no longer knows: failed, so nobody waits for it.
    pub async fn record_missing(&self, task_token: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE ledger_tasks SET state = 'missing', phase = 'failed', \
             error = 'Qencode does not know this task', updated_at = $1 \
             WHERE task_token = $2 AND phase = 'active'",
        )
        .bind(now_ms())
        .bind(task_token)
        .execute(self.pool().await?)
        .await
        .map_err(|e| unavailable("recording a task's end", &e))?;
        Ok(())
    }
}
