//! Pruning: tasks older than the retention (`GATEWAY_LEDGER_RETENTION`) and request ids
//! older than a day are deleted in the background, in bounded batches, so a large
//! backlog never holds the database (or SQLite's one writer) for long.

use super::{now_ms, unavailable, Ledger};
use crate::support::{error::Error, shutdown::Shutdown};
use std::time::Duration;

/// Rows deleted per statement.
pub const BATCH: i64 = 1000;
/// How often pruning runs.
pub const EVERY: Duration = Duration::from_secs(600);
/// Pause between two batches of one run, so other writers get their turn.
const BETWEEN_BATCHES: Duration = Duration::from_millis(50);

impl Ledger {
    /// Deletes up to `batch` tasks created before `cutoff_ms` (with their labels);
    /// returns how many.
    pub async fn prune_tasks(&self, cutoff_ms: i64, batch: i64) -> Result<u64, Error> {
        let pool = self.pool().await?;
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| unavailable("pruning tasks", &e))?;
        sqlx::query(
            "DELETE FROM ledger_task_labels WHERE task_token IN \
             (SELECT task_token FROM ledger_tasks WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        )
        .bind(cutoff_ms)
        .bind(batch)
        .execute(&mut *tx)
        .await
        .map_err(|e| unavailable("pruning tasks", &e))?;
        let deleted = sqlx::query(
            "DELETE FROM ledger_tasks WHERE task_token IN \
             (SELECT task_token FROM ledger_tasks WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        )
        .bind(cutoff_ms)
        .bind(batch)
        .execute(&mut *tx)
        .await
        .map_err(|e| unavailable("pruning tasks", &e))?;
        tx.commit()
            .await
            .map_err(|e| unavailable("pruning tasks", &e))?;
        Ok(deleted.rows_affected())
    }

    /// One pruning run: batches until a batch comes back short; returns what it deleted
    /// (tasks, request ids).
    pub async fn prune(&self, retention: Duration) -> Result<(u64, u64), Error> {
        let cutoff = now_ms() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX / 2);
        let tasks = in_batches(|| self.prune_tasks(cutoff, BATCH)).await?;
        let requests = in_batches(|| self.prune_requests(BATCH)).await?;
        Ok((tasks, requests))
    }

    /// Prunes every [`EVERY`] until shutdown; a failed run is logged and retried at the
    /// next.
    pub async fn prune_until(self, retention: Duration, shutdown: Shutdown) {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = shutdown.begun();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = every.tick() => match self.prune(retention).await {
                    Ok((0, 0)) => {}
                    Ok((tasks, requests)) => tracing::info!(tasks, requests, "ledger pruned"),
                    Err(e) => tracing::warn!(error = %e.message, "ledger pruning failed; retrying at the next run"),
                },
            }
        }
    }
}

/// Runs `batch` until one deletes fewer than [`BATCH`] rows, pausing between batches;
/// returns how many it deleted in all.
async fn in_batches<F, Fut>(mut batch: F) -> Result<u64, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, Error>>,
{
    let mut deleted = 0;
    loop {
        let n = batch().await?;
        deleted += n;
        if n < BATCH as u64 {
            return Ok(deleted);
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
}
