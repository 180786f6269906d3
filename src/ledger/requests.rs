//! Idempotent submissions (AIP-155): what each request id got to, and who works on it.
//!
//! A submission with a request id first claims its row. The first claimant inserts it
//! and holds a lease; a repeat with the same request waits while the lease is held (on
//! any replica: the row is the lock), gets the stored response once the step is
//! `done`, or takes the row over when the lease has lapsed (its holder died) and
//! resumes from the recorded step. A repeat with a different request is refused.
//!
//! Intent is written before each upstream step: `begun` (nothing sent yet), `created`
//! (the task token is known, nothing started), `starting` (start_encode2 may have
//! reached Qencode: whoever resumes asks Qencode for the task's status before starting
//! it again), `done` (the response is stored). So billing happens at most once even
//! when the process is killed between any two lines.

use super::{now_ms, unavailable, Ledger};
use crate::support::{
    error::{Error, ErrorKind, GATEWAY_DOMAIN},
    reasons,
};
use sqlx::{AnyConnection, Row};
use std::time::Duration;

/// How long a request id is remembered: a retry within a day finds the first call.
pub const REQUEST_ID_TTL: Duration = Duration::from_secs(24 * 3600);

/// Longest request id accepted (a UUID is 36).
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Whose request id this is: ids are scoped by project and caller.
#[derive(Debug, Clone)]
pub struct RequestKey {
    /// The project of the call.
    pub project: String,
    /// The caller's policy name (empty without a policy).
    pub caller: String,
    /// The caller's request id.
    pub request_id: String,
}

/// How far a submission got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Claimed; nothing sent upstream yet.
    Begun,
    /// The task exists upstream (its token is recorded); nothing started.
    Created,
    /// A start was (or is being) sent: check the task's status before sending another.
    Starting,
    /// Finished; the response is stored.
    Done,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Begun => "begun",
            Step::Created => "created",
            Step::Starting => "starting",
            Step::Done => "done",
        }
    }

    fn parse(text: &str) -> Step {
        match text {
            "created" => Step::Created,
            "starting" => Step::Starting,
            "done" => Step::Done,
            _ => Step::Begun,
        }
    }
}

/// The right to work on a claimed request until `until` (or until released).
#[derive(Debug, Clone)]
pub struct Lease {
    key: RequestKey,
    id: String,
}

impl Lease {
    /// True for [`Lease::none`].
    pub fn is_none(&self) -> bool {
        self.id.is_empty()
    }

    /// No lease: a submission with no row of its own (no request id, or no ledger).
    pub fn none() -> Self {
        Lease {
            key: RequestKey {
                project: String::new(),
                caller: String::new(),
                request_id: String::new(),
            },
            id: String::new(),
        }
    }
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// This call works on the request, from `step` (with the task token recorded so far).
    Mine {
        /// The lease to pass to every later write.
        lease: Lease,
        /// Where to resume.
        step: Step,
        /// The task token, once created.
        task_token: Option<String>,
    },
    /// Finished before: the stored response.
    Done(String),
    /// Another call holds the lease: wait and claim again.
    Busy,
}

/// INVALID_ARGUMENT naming `request_id`: the id was used for a different request.
pub fn reused() -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        GATEWAY_DOMAIN,
        reasons::REQUEST_ID_REUSED,
        "request_id was already used for a different request; use a new request id for a new request",
    )
    .with_violation(
        "request_id",
        "was already used with a different request (within 24 h, by this caller in this project)",
    )
}

/// ABORTED: the lease lapsed and another call took the request over.
fn lease_lost() -> Error {
    Error::new(
        ErrorKind::Aborted,
        GATEWAY_DOMAIN,
        reasons::LEDGER_UNAVAILABLE,
        "another call took this request id over while this one worked on it; retry to get its result",
    )
    .with_retry_after(Duration::from_millis(100))
}

impl Ledger {
    /// Claims `key` for a request whose content hashes to `fingerprint`, for `lease_for`.
    pub async fn claim(
        &self,
        key: &RequestKey,
        fingerprint: &str,
        lease_for: Duration,
    ) -> Result<Claim, Error> {
        let pool = self.pool().await?;
        let now = now_ms();
        let until = now + i64::try_from(lease_for.as_millis()).unwrap_or(i64::MAX / 2);
        let lease = Lease {
            key: key.clone(),
            id: uuid::Uuid::new_v4().simple().to_string(),
        };
        let inserted = sqlx::query(
            "INSERT INTO ledger_requests (project, caller, request_id, fingerprint, step, lease_owner, lease_until, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'begun', $5, $6, $7, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&key.project)
        .bind(&key.caller)
        .bind(&key.request_id)
        .bind(fingerprint)
        .bind(&lease.id)
        .bind(until)
        .bind(now)
        .execute(pool)
        .await
        .map_err(|e| unavailable("claiming a request id", &e));
        self.note_write(&inserted);
        let inserted = inserted?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Mine {
                lease,
                step: Step::Begun,
                task_token: None,
            });
        }
        let row = sqlx::query(
            "SELECT fingerprint, step, task_token, response, lease_until, created_at FROM ledger_requests \
             WHERE project = $1 AND caller = $2 AND request_id = $3",
        )
        .bind(&key.project)
        .bind(&key.caller)
        .bind(&key.request_id)
        .fetch_optional(pool)
        .await
        .map_err(|e| unavailable("reading a request id", &e))?;
        // Deleted by pruning between the two statements: claim afresh.
        let Some(row) = row else {
            return Ok(Claim::Busy);
        };
        let created_at: i64 = row.try_get("created_at").unwrap_or(0);
        if now - created_at > ttl_ms() {
            // Older than a day: forgotten, as if pruned. Replace it.
            self.forget(key).await?;
            return Ok(Claim::Busy);
        }
        let stored: String = row.try_get("fingerprint").unwrap_or_default();
        if stored != fingerprint {
            return Err(reused());
        }
        let step = Step::parse(&row.try_get::<String, _>("step").unwrap_or_default());
        if step == Step::Done {
            let response: Option<String> = row.try_get("response").unwrap_or(None);
            return Ok(Claim::Done(response.unwrap_or_default()));
        }
        let held_until: i64 = row.try_get("lease_until").unwrap_or(0);
        if held_until > now {
            return Ok(Claim::Busy);
        }
        let taken = sqlx::query(
            "UPDATE ledger_requests SET lease_owner = $1, lease_until = $2, updated_at = $3 \
             WHERE project = $4 AND caller = $5 AND request_id = $6 AND lease_until <= $3 AND step <> 'done'",
        )
        .bind(&lease.id)
        .bind(until)
        .bind(now)
        .bind(&key.project)
        .bind(&key.caller)
        .bind(&key.request_id)
        .execute(pool)
        .await
        .map_err(|e| unavailable("taking a request id over", &e))?;
        if taken.rows_affected() != 1 {
            return Ok(Claim::Busy);
        }
        let task_token: Option<String> = row.try_get("task_token").unwrap_or(None);
        Ok(Claim::Mine {
            lease,
            step,
            task_token,
        })
    }

    /// Records that the request reached `step` (with its task token, and its response
    /// when done), on `conn` so it joins the caller's transaction. ABORTED when the
    /// lease was lost.
    pub(crate) async fn set_step(
        conn: &mut AnyConnection,
        lease: &Lease,
        step: Step,
        task_token: Option<&str>,
        response: Option<&str>,
    ) -> Result<(), Error> {
        let done = step == Step::Done;
        let updated = sqlx::query(
            "UPDATE ledger_requests SET step = $1, task_token = COALESCE($2, task_token), response = COALESCE($3, response), \
             lease_until = CASE WHEN $4 = 1 THEN 0 ELSE lease_until END, updated_at = $5 \
             WHERE project = $6 AND caller = $7 AND request_id = $8 AND lease_owner = $9",
        )
        .bind(step.as_str())
        .bind(task_token)
        .bind(response)
        .bind(i64::from(done))
        .bind(now_ms())
        .bind(&lease.key.project)
        .bind(&lease.key.caller)
        .bind(&lease.key.request_id)
        .bind(&lease.id)
        .execute(&mut *conn)
        .await
        .map_err(|e| unavailable("recording a submission's progress", &e))?;
        if updated.rows_affected() != 1 {
            return Err(lease_lost());
        }
        Ok(())
    }

    /// `Ledger::set_step` on its own.
    pub async fn advance(
        &self,
        lease: &Lease,
        step: Step,
        task_token: Option<&str>,
    ) -> Result<(), Error> {
        if lease.is_none() {
            return Ok(());
        }
        let mut conn = self
            .pool()
            .await?
            .acquire()
            .await
            .map_err(|e| unavailable("recording a submission's progress", &e))?;
        Self::set_step(&mut conn, lease, step, task_token, None).await
    }

    /// Gives the request up without finishing it (the call failed): a retry takes it
    /// over at once and resumes from the recorded step. Best effort: a lease that
    /// cannot be released lapses by itself.
    pub async fn release(&self, lease: &Lease) {
        if lease.is_none() {
            return;
        }
        let Ok(pool) = self.pool().await else { return };
        let _ = sqlx::query(
            "UPDATE ledger_requests SET lease_until = 0 \
             WHERE project = $1 AND caller = $2 AND request_id = $3 AND lease_owner = $4",
        )
        .bind(&lease.key.project)
        .bind(&lease.key.caller)
        .bind(&lease.key.request_id)
        .bind(&lease.id)
        .execute(pool)
        .await;
    }

    /// Voids every lease (a local ledger at start: whoever held them is gone).
    pub(super) async fn release_all_leases(&self, pool: &sqlx::AnyPool) -> Result<(), Error> {
        sqlx::query("UPDATE ledger_requests SET lease_until = 0 WHERE lease_until > 0")
            .execute(pool)
            .await
            .map_err(|e| unavailable("voiding leases", &e))?;
        Ok(())
    }

    /// Deletes the record of a request id older than a day.
    async fn forget(&self, key: &RequestKey) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM ledger_requests WHERE project = $1 AND caller = $2 AND request_id = $3 AND created_at < $4",
        )
        .bind(&key.project)
        .bind(&key.caller)
        .bind(&key.request_id)
        .bind(now_ms() - ttl_ms())
        .execute(self.pool().await?)
        .await
        .map_err(|e| unavailable("forgetting a request id", &e))?;
        Ok(())
    }

    /// Deletes up to `batch` request ids older than a day; returns how many.
    pub async fn prune_requests(&self, batch: i64) -> Result<u64, Error> {
        let cutoff = now_ms() - ttl_ms();
        let deleted = sqlx::query(
            "DELETE FROM ledger_requests WHERE (project, caller, request_id) IN \
             (SELECT project, caller, request_id FROM ledger_requests WHERE created_at < $1 LIMIT $2)",
        )
        .bind(cutoff)
        .bind(batch)
        .execute(self.pool().await?)
        .await
        .map_err(|e| unavailable("pruning request ids", &e))?;
        Ok(deleted.rows_affected())
    }
}

fn ttl_ms() -> i64 {
    i64::try_from(REQUEST_ID_TTL.as_millis()).unwrap_or(i64::MAX)
}

/// The fingerprint of a request: SHA-256 of its method and its JSON with object keys
/// sorted (so map order never matters), hex.
pub fn fingerprint(method: &str, request: &serde_json::Value) -> String {
    let mut text = String::with_capacity(256);
    text.push_str(method);
    text.push('\n');
    canonical(request, &mut text);
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

fn canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Checks a request id's form: at most 128 printable ASCII characters. Empty means none.
pub fn check_request_id(request_id: &str, v: &mut crate::support::error::Violations) {
    if request_id.len() > MAX_REQUEST_ID_LEN {
        v.add(
            "request_id",
            format!("must be at most {MAX_REQUEST_ID_LEN} characters (a UUID is 36)"),
        );
    } else if request_id.chars().any(|c| !c.is_ascii_graphic()) {
        v.add(
            "request_id",
            "must be printable ASCII without spaces (a UUID, say)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprints_ignore_key_order_and_see_every_value() {
        let a = fingerprint("T", &json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}));
        let b = fingerprint("T", &json!({"b": {"x": "s", "y": [1, 2]}, "a": 1}));
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint("T", &json!({"a": 1, "b": {"y": [2, 1], "x": "s"}}))
        );
        assert_ne!(
            a,
            fingerprint("U", &json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}))
        );
    }

    #[test]
    fn request_id_forms() {
        let check = |id: &str| {
            let mut v = crate::support::error::Violations::default();
            check_request_id(id, &mut v);
            v.into_result().is_ok()
        };
        assert!(check("9f1c2a4e-0b7d-4a51-8c3e-2f6d7a9b1c0e"));
        assert!(check(""));
        assert!(!check("has space"));
        assert!(!check(&"x".repeat(129)));
        assert!(!check("naïve"));
    }
}
