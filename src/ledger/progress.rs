//! The transactions that record a submission's progress together with its task, so the
//! ledger never says a request got further than its task record, or the other way round.
//!
//! A submission without a request id has no row of its own ([`Lease::is_none`]): its
//! task record is written alone, one statement, no transaction. Each write reports
//! whether the ledger could be written ([`Ledger::is_writable`]), which decides whether
//! the next submissions without a request id may skip the claim.

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
        let written = self.task_created_inner(task, lease, response).await;
        self.note_write(&written);
        written
    }

    async fn task_created_inner(
        &self,
        task: &NewTask,
        lease: &Lease,
        response: Option<&str>,
    ) -> Result<(), Error> {
        if lease.is_none() {
            let task = task.clone();
            return self
                .write(|reply| super::batcher::Job::Created(task, reply))
                .await;
        }
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
        let written = self
            .task_started_inner(lease, task_token, query, response)
            .await;
        self.note_write(&written);
        if written.is_ok() {
            // Nobody following (no tracker yet) is not an error.
            let _ = self.started.send(task_token.to_owned());
        }
        written
    }

    async fn task_started_inner(
        &self,
        lease: &Lease,
        task_token: &str,
        query: &serde_json::Value,
        response: &str,
    ) -> Result<(), Error> {
        if lease.is_none() {
            let (token, query) = (task_token.to_owned(), query.to_string());
            return self
                .write(|reply| super::batcher::Job::Started(token, query, reply))
                .await;
        }
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
            .map_err(|e| unavailable("recording a task's start", &e))
    }
}

impl Ledger {
    /// True unless the last write failed: submissions without a request id then skip
    /// the claim (their first write comes after the upstream call), and go through it
    /// again while writes fail, so a ledger that cannot be written refuses them before
    /// anything reaches Qencode.
    pub fn is_writable(&self) -> bool {
        self.writable.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records whether a write went through.
    pub(super) fn note_write<T>(&self, written: &Result<T, Error>) {
        self.writable
            .store(written.is_ok(), std::sync::atomic::Ordering::Relaxed);
    }
}
