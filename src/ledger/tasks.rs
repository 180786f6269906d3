//! Task records: written when a task is created and started, updated as its status
//! changes, read by GetTask and ListTasks.

use super::{now_ms, page_token::PageToken, unavailable, Ledger};
use crate::{pb, support::error::Error};
use base64::Engine;
use prost::Message;
use sqlx::{any::AnyRow, Row};
use std::collections::{BTreeMap, HashMap};

/// Longest page ListTasks returns.
pub const MAX_PAGE_SIZE: i64 = 1000;
/// ListTasks' page size when the caller asks for none.
pub const DEFAULT_PAGE_SIZE: i64 = 50;

/// A task just created, as the ledger records it.
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    /// Qencode's task token.
    pub task_token: String,
    /// The project whose key created it.
    pub project: String,
    /// The caller's policy name (empty without a policy).
    pub caller: String,
    /// The request id it came with (empty: none).
    pub request_id: String,
    /// The caller's labels.
    pub labels: BTreeMap<String, String>,
}

/// Which tasks a list returns.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// The caller's project: lists never cross projects.
    pub project: String,
    /// `active`, `completed`, `failed`, or `None` for any.
    pub phase: Option<&'static str>,
    /// Only this caller's tasks.
    pub caller: Option<String>,
    /// Only tasks with every one of these labels.
    pub labels: BTreeMap<String, String>,
    /// Created at or after (Unix ms).
    pub created_after: Option<i64>,
    /// Created before (Unix ms).
    pub created_before: Option<i64>,
}

impl TaskFilter {
    /// A digest of the filter, which a page token carries so it is used with the same one.
    pub fn digest(&self) -> String {
        let text = format!(
            "{}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            self.project,
            self.phase,
            self.caller,
            self.labels,
            self.created_after,
            self.created_before
        );
        hex::encode(&ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref()[..8])
    }
}

/// The phase ListTasks filters on, from a status.
pub fn phase_of(status: &pb::TaskStatus) -> &'static str {
    use pb::TaskState;
    match TaskState::try_from(status.state).unwrap_or(TaskState::Unspecified) {
        TaskState::Completed => "completed",
        TaskState::Error | TaskState::Failed => "failed",
        _ if status.error => "failed",
        _ => "active",
    }
}

const COLUMNS: &str = "task_token, project, caller, request_id, labels, query, state, status, restarted_as, created_at, started_at, updated_at";

impl Ledger {
    /// Records a created task (and its labels), on `conn` so it joins the caller's
    /// transaction.
    pub(crate) async fn insert_task(
        conn: &mut sqlx::AnyConnection,
        task: &NewTask,
    ) -> Result<(), Error> {
        let now = now_ms();
        let labels = serde_json::to_string(&task.labels).unwrap_or_else(|_| "{}".into());
        sqlx::query(
            "INSERT INTO ledger_tasks (task_token, project, caller, request_id, labels, state, phase, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'created', 'active', $6, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&task.task_token)
        .bind(&task.project)
        .bind(&task.caller)
        .bind(Some(task.request_id.as_str()).filter(|r| !r.is_empty()))
        .bind(labels)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| unavailable("recording a task", &e))?;
        for (name, value) in &task.labels {
            sqlx::query(
                "INSERT INTO ledger_task_labels (task_token, name, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(&task.task_token)
            .bind(name)
            .bind(value)
            .execute(&mut *conn)
            .await
            .map_err(|e| unavailable("recording a task's labels", &e))?;
        }
        Ok(())
    }

    /// Records a task's start with its (redacted) query, on `conn`.
    pub(crate) async fn mark_started(
        conn: &mut sqlx::AnyConnection,
        task_token: &str,
        query: &serde_json::Value,
    ) -> Result<(), Error> {
        let now = now_ms();
        sqlx::query(
            "UPDATE ledger_tasks SET state = CASE WHEN state = 'created' THEN 'started' ELSE state END, \
             query = $1, started_at = COALESCE(started_at, $2), updated_at = $2 WHERE task_token = $3",
        )
        .bind(query.to_string())
        .bind(now)
        .bind(task_token)
        .execute(&mut *conn)
        .await
        .map_err(|e| unavailable("recording a task's start", &e))?;
        Ok(())
    }

    /// Records a task's latest status. A task that reached a terminal phase keeps it
    /// (a late, older poll never makes it active again).
    pub async fn record_status(
        &self,
        task_token: &str,
        status: &pb::TaskStatus,
    ) -> Result<(), Error> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(status.encode_to_vec());
        sqlx::query(
            "UPDATE ledger_tasks SET state = $1, phase = $2, status = $3, error = $4, updated_at = $5 \
             WHERE task_token = $6 AND phase = 'active' AND (status IS NULL OR status <> $3)",
        )
        .bind(&status.status)
        .bind(phase_of(status))
        .bind(encoded)
        .bind(status.error_description.as_deref())
        .bind(now_ms())
        .bind(task_token)
        .execute(self.pool().await?)
        .await
        .map_err(|e| unavailable("recording a task's status", &e))?;
        Ok(())
    }

    /// The task `task_token` of `project`, if the ledger holds it.
    pub async fn task(
        &self,
        project: &str,
        task_token: &str,
    ) -> Result<Option<pb::TaskRecord>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ledger_tasks WHERE task_token = $1 AND project = $2"
        ))
        .bind(task_token)
        .bind(project)
        .fetch_optional(self.pool().await?)
        .await
        .map_err(|e| unavailable("reading a task", &e))?;
        Ok(row.map(|row| record(&row)))
    }

    /// One page of tasks matching `filter`, newest first, after `after` (the previous
    /// page's last task); and whether more follow.
    pub async fn list_tasks(
        &self,
        filter: &TaskFilter,
        page_size: i64,
        after: Option<&PageToken>,
    ) -> Result<(Vec<pb::TaskRecord>, Option<PageToken>), Error> {
        let mut sql = format!("SELECT {COLUMNS} FROM ledger_tasks WHERE project = $1");
        let mut n = 1;
        let mut next = |sql: &mut String, clause: &str| {
            n += 1;
            sql.push_str(&clause.replace('#', &format!("${n}")));
        };
        if filter.phase.is_some() {
            next(&mut sql, " AND phase = #");
        }
        if filter.caller.is_some() {
            next(&mut sql, " AND caller = #");
        }
        if filter.created_after.is_some() {
            next(&mut sql, " AND created_at >= #");
        }
        if filter.created_before.is_some() {
            next(&mut sql, " AND created_at < #");
        }
        for _ in &filter.labels {
            n += 2;
            sql.push_str(&format!(
                " AND task_token IN (SELECT task_token FROM ledger_task_labels WHERE name = ${} AND value = ${})",
                n - 1,
                n
            ));
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (created_at < ${a} OR (created_at = ${a} AND task_token < ${b}))",
                a = n + 1,
                b = n + 2
            ));
            n += 2;
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, task_token DESC LIMIT ${}",
            n + 1
        ));
        let mut query = sqlx::query(&sql).bind(&filter.project);
        if let Some(phase) = filter.phase {
            query = query.bind(phase);
        }
        if let Some(caller) = &filter.caller {
            query = query.bind(caller.clone());
        }
        if let Some(at) = filter.created_after {
            query = query.bind(at);
        }
        if let Some(at) = filter.created_before {
            query = query.bind(at);
        }
        for (name, value) in &filter.labels {
            query = query.bind(name.clone()).bind(value.clone());
        }
        if let Some(after) = after {
            query = query.bind(after.created_at).bind(after.task_token.clone());
        }
        let rows = query
            .bind(page_size + 1)
            .fetch_all(self.pool().await?)
            .await
            .map_err(|e| unavailable("listing tasks", &e))?;
        let more = rows.len() as i64 > page_size;
        let tasks: Vec<pb::TaskRecord> = rows
            .iter()
            .take(usize::try_from(page_size).unwrap_or(0))
            .map(record)
            .collect();
        let next = match (more, tasks.last()) {
            (true, Some(last)) => Some(PageToken {
                created_at: last
                    .create_time
                    .as_ref()
                    .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos / 1_000_000)),
                task_token: last.task_token.clone(),
                filter: filter.digest(),
            }),
            _ => None,
        };
        Ok((tasks, next))
    }
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// A row as the API's record. Lenient: a column it cannot read stays empty.
fn record(row: &AnyRow) -> pb::TaskRecord {
    let text = |name: &str| {
        row.try_get::<Option<String>, _>(name)
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    let time = |name: &str| {
        row.try_get::<Option<i64>, _>(name)
            .ok()
            .flatten()
            .map(timestamp)
    };
    let labels: HashMap<String, String> = serde_json::from_str(&text("labels")).unwrap_or_default();
    let stored = text("status");
    let status = (!stored.is_empty())
        .then(|| {
            base64::engine::general_purpose::STANDARD
                .decode(stored)
                .ok()
        })
        .flatten()
        .and_then(|bytes| pb::TaskStatus::decode(bytes.as_slice()).ok())
        .unwrap_or_else(|| {
            let state = text("state");
            pb::TaskStatus {
                state: if state == "created" {
                    pb::TaskState::Created as i32
                } else {
                    pb::TaskState::Unspecified as i32
                },
                status: state,
                ..Default::default()
            }
        });
    pb::TaskRecord {
        task_token: text("task_token"),
        project: text("project"),
        caller: text("caller"),
        request_id: text("request_id"),
        labels,
        create_time: time("created_at"),
        start_time: time("started_at"),
        update_time: time("updated_at"),
        status: Some(status),
        query_json: text("query"),
        restarted_as: text("restarted_as"),
    }
}
