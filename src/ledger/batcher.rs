//! One writer for the records of submissions without a request id: the task records
//! of calls that arrive together are written by one statement.
//!
//! Why: a statement's round trip (SQLite's worker thread, or Postgres's network) costs
//! far more than a row, and under load many calls want a row at once; one writer that
//! takes everything waiting when it starts a statement turns 64 round trips into one,
//! without a timer (a lone call is written at once, so nothing waits that need not).
//! Each caller still gets its own answer: the statement's outcome.

use super::{now_ms, tasks::NewTask, unavailable};
use crate::support::error::Error;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

/// Most records in one statement (7 parameters each: far under both databases' caps).
const MAX_BATCH: usize = 256;
/// Records waiting for the writer; a caller past it waits for room.
const BACKLOG: usize = 4096;

/// A record to write, and where its outcome goes.
pub(super) enum Job {
    /// A created task.
    Created(NewTask, oneshot::Sender<Result<(), Error>>),
    /// A started task: its token and its (redacted) query.
    Started(String, String, oneshot::Sender<Result<(), Error>>),
}

/// The writer's queue.
pub(super) fn spawn(pool: AnyPool) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(BACKLOG);
    tokio::spawn(run(pool, rx));
    tx
}

async fn run(pool: AnyPool, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (mut created, mut started) = (Vec::new(), Vec::new());
        for job in jobs {
            match job {
                Job::Created(task, reply) => created.push((task, reply)),
                Job::Started(token, query, reply) => started.push((token, query, reply)),
            }
        }
        if !created.is_empty() {
            let outcome = insert(&pool, created.iter().map(|(task, _)| task)).await;
            for (_, reply) in created {
                let _ = reply.send(outcome.clone());
            }
        }
        if !started.is_empty() {
            let outcome = mark_started(&pool, started.iter().map(|(t, q, _)| (t, q))).await;
            for (_, _, reply) in started {
                let _ = reply.send(outcome.clone());
            }
        }
    }
}

/// `($1, $2, ...), ($k, ...)`: `rows` groups of `width` parameters, each group wrapped
/// by `row` (which places the `{}` of the group's parameters).
fn values(rows: usize, width: usize, row: &str) -> String {
    (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            row.replace("{}", &params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert<'a>(pool: &AnyPool, tasks: impl Iterator<Item = &'a NewTask>) -> Result<(), Error> {
    let tasks: Vec<&NewTask> = tasks.collect();
    let now = now_ms();
    let sql = format!(
        "INSERT INTO ledger_tasks (task_token, project, caller, request_id, labels, created_at, updated_at, state, phase) \
         VALUES {} ON CONFLICT DO NOTHING",
        values(tasks.len(), 7, "({}, 'created', 'active')")
    );
    let mut query = sqlx::query(&sql);
    for task in &tasks {
        query = query
            .bind(task.task_token.clone())
            .bind(task.project.clone())
            .bind(task.caller.clone())
            .bind(Some(task.request_id.clone()).filter(|r| !r.is_empty()))
            .bind(serde_json::to_string(&task.labels).unwrap_or_else(|_| "{}".into()))
            .bind(now)
            .bind(now);
    }
    query
        .execute(pool)
        .await
        .map_err(|e| unavailable("recording a task", &e))?;
    let labels: Vec<(&str, &str, &str)> = tasks
        .iter()
        .flat_map(|t| {
            t.labels
                .iter()
                .map(|(k, v)| (t.task_token.as_str(), k.as_str(), v.as_str()))
        })
        .collect();
    for chunk in labels.chunks(MAX_BATCH) {
        let sql = format!(
            "INSERT INTO ledger_task_labels (task_token, name, value) VALUES {} ON CONFLICT DO NOTHING",
            values(chunk.len(), 3, "({})")
        );
        let mut query = sqlx::query(&sql);
        for (token, name, value) in chunk {
            query = query.bind(*token).bind(*name).bind(*value);
        }
        query
            .execute(pool)
            .await
            .map_err(|e| unavailable("recording a task's labels", &e))?;
    }
    Ok(())
}

async fn mark_started<'a>(
    pool: &AnyPool,
    started: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<(), Error> {
    let started: Vec<(&String, &String)> = started.collect();
    // VALUES columns are column1, column2... in both SQLite and Postgres.
    let sql = format!(
        "UPDATE ledger_tasks SET state = CASE WHEN ledger_tasks.state = 'created' THEN 'started' ELSE ledger_tasks.state END, \
         query = v.column2, started_at = COALESCE(ledger_tasks.started_at, v.column3), updated_at = v.column3 \
         FROM (VALUES {}) AS v WHERE ledger_tasks.task_token = v.column1",
        values(started.len(), 3, "({})")
    );
    let now = now_ms();
    let mut query = sqlx::query(&sql);
    for (token, json) in &started {
        query = query.bind((*token).clone()).bind((*json).clone()).bind(now);
    }
    query
        .execute(pool)
        .await
        .map_err(|e| unavailable("recording a task's start", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_number_parameters_row_by_row() {
        assert_eq!(
            super::values(2, 2, "({}, 'x')"),
            "($1, $2, 'x'), ($3, $4, 'x')"
        );
    }
}
