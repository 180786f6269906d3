//! Budgets: how many tasks a caller or a project may have running, and a caller may
//! start a day, counted from the ledger so they hold across replicas and restarts.
//!
//! A check counts, then the submission goes on: calls racing each other can overshoot a
//! budget by the number in flight at once, never by more, and never for long. That is
//! the trade the issue asks for (a bound on the bill, not a lock around every start).

use super::{now_ms, unavailable, Ledger};
use crate::support::{
    error::{Error, ErrorKind, GATEWAY_DOMAIN},
    reasons,
};
use sqlx::Row;

/// The budgets that apply to one call (from the policy file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budgets {
    /// Most tasks the caller may have started and not ended, in all its projects.
    pub caller_active: Option<u32>,
    /// Most tasks the caller may start in 24 hours, in all its projects.
    pub caller_per_day: Option<u32>,
    /// Most tasks the project may have started and not ended, all callers together.
    pub project_active: Option<u32>,
}

impl Budgets {
    /// True when nothing is limited (nothing to count).
    pub fn is_unlimited(&self) -> bool {
        *self == Budgets::default()
    }
}

impl Ledger {
    /// RESOURCE_EXHAUSTED with a `QuotaFailure` naming the first budget `caller` (in
    /// `project`) has used up; `Ok` when there is room for one more task.
    pub async fn check_budgets(
        &self,
        project: &str,
        caller: &str,
        budgets: &Budgets,
    ) -> Result<(), Error> {
        if budgets.is_unlimited() {
            return Ok(());
        }
        let pool = self.pool().await?;
        let count = |sql: &'static str, first: String, second: Option<i64>| async move {
            let mut query = sqlx::query(sql).bind(first);
            if let Some(second) = second {
                query = query.bind(second);
            }
            query
                .fetch_one(pool)
                .await
                .map_err(|e| unavailable("counting tasks for a budget", &e))
                .map(|row| row.try_get::<i64, _>(0).unwrap_or(0))
        };
        if let Some(max) = budgets.caller_active {
            let active = count(
                "SELECT COUNT(*) FROM ledger_tasks WHERE caller = $1 AND phase = 'active' AND state <> 'created'",
                caller.to_owned(),
                None,
            )
            .await?;
            if active >= i64::from(max) {
                return Err(over(
                    format!("caller:{caller}"),
                    format!("max_active_tasks = {max}: {active} of the caller's tasks are running; one must end first"),
                ));
            }
        }
        if let Some(max) = budgets.caller_per_day {
            let today = count(
                "SELECT COUNT(*) FROM ledger_tasks WHERE caller = $1 AND started_at >= $2",
                caller.to_owned(),
                Some(now_ms() - 86_400_000),
            )
            .await?;
            if today >= i64::from(max) {
                return Err(over(
                    format!("caller:{caller}"),
                    format!("max_tasks_per_day = {max}: the caller started {today} tasks in the last 24 hours"),
                ));
            }
        }
        if let Some(max) = budgets.project_active {
            let active = count(
                "SELECT COUNT(*) FROM ledger_tasks WHERE project = $1 AND phase = 'active' AND state <> 'created'",
                project.to_owned(),
                None,
            )
            .await?;
            if active >= i64::from(max) {
                return Err(over(
                    format!("project:{project}"),
                    format!("max_active_tasks = {max}: {active} of the project's tasks are running; one must end first"),
                ));
            }
        }
        Ok(())
    }
}

/// The refusal of a used-up budget: nothing was sent to Qencode.
fn over(subject: String, description: String) -> Error {
    Error::new(
        ErrorKind::ResourceExhausted,
        GATEWAY_DOMAIN,
        reasons::TASK_BUDGET_EXCEEDED,
        format!("over budget ({description}); nothing was sent to Qencode"),
    )
    .with_quota_violation(subject, description)
}
