//! The transactions that record a submission's progress together with its task, so the
//! ledger never says a request got further than its task record, or the other way round.

use super::{
    requests::{Lease, Step},
    tasks::NewTask,
    unavailable, Ledger,
};
use crate::support::error::Error;

impl Ledger {
    /// A task was created: its record, and the submission's step (`done` with
    /// `response` when creating was all it asked, else `created`).
    pub async fn task_created(
        &self,
        task: &NewTask,
        lease: &Lease,
        response: Option<&str>,
    ) -> Result<(), Error> {
        let mut tx = self
            .pool()
            .await?
            .begin()
            .await
            .map_err(|e| unavailable("recording a task", &e))?;
        Ledger::insert_task(&mut tx, task).await?;
        let step = if response.is_some() {
            Step::Done
        } else {
            Step::Created
        };
        Ledger::set_step(&mut tx, lease, step, Some(&task.task_token), response).await?;
        tx.commit()
            .await
            .map_err(|e| unavailable("recording a task", &e))
    }

    /// A task was started with `query` (already redacted): its record, and the
    /// submission's response.
    pub async fn task_started(
        &self,
        lease: &Lease,
        task_token: &str,
        query: &serde_json::Value,
        response: &str,
    ) -> Result<(), Error> {
        let mut tx = self
            .pool()
            .await?
            .begin()
            .await
            .map_err(|e| unavailable("recording a task's start", &e))?;
        Ledger::mark_started(&mut tx, task_token, query).await?;
        Ledger::set_step(&mut tx, lease, Step::Done, None, Some(response)).await?;
        tx.commit()
            .await
            .map_err(|e| unavailable("recording a task's start", &e))?;
        // Nobody following (no tracker yet) is not an error.
        let _ = self.started.send(task_token.to_owned());
        Ok(())
    }
}
