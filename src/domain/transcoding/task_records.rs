//! GetTask and ListTasks: the ledger's records of a project's tasks, read without an
//! upstream call.

use super::*;
use crate::ledger::{
    page_token::PageToken,
    tasks::{TaskFilter, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE},
};
use crate::support::reasons;

impl Transcoding {
    /// The ledger's record of `task_token` in `project`.
    pub async fn get_task(
        &self,
        project: &Project,
        task_token: &str,
    ) -> Result<pb::TaskRecord, Error> {
        let mut v = Violations::default();
        crate::domain::ids::check("task_token", task_token, &mut v);
        v.into_result()?;
        self.ledger
            .task(&project.name, task_token)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    crate::support::error::GATEWAY_DOMAIN,
                    reasons::TASK_NOT_IN_LEDGER,
                    "the gateway's ledger holds no task with this token in your project",
                )
            })
    }

    /// One page of `project`'s tasks, newest first.
    pub async fn list_tasks(
        &self,
        project: &Project,
        request: &pb::ListTasksRequest,
    ) -> Result<pb::ListTasksResponse, Error> {
        let mut v = Violations::default();
        let page_size = match i64::from(request.page_size) {
            0 => DEFAULT_PAGE_SIZE,
            n if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                v.add(
                    "page_size",
                    format!("must be from 0 (the default, {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}"),
                );
                DEFAULT_PAGE_SIZE
            }
        };
        let labels = crate::domain::labels::check("labels", &request.labels, &mut v);
        let phase = match pb::TaskPhase::try_from(request.phase) {
            Ok(pb::TaskPhase::Unspecified) => None,
            Ok(pb::TaskPhase::Active) => Some("active"),
            Ok(pb::TaskPhase::Completed) => Some("completed"),
            Ok(pb::TaskPhase::Failed) => Some("failed"),
            Err(_) => {
                v.add("phase", "is not a TaskPhase");
                None
            }
        };
        if request.caller.len() > 256 {
            v.add("caller", "must be at most 256 characters");
        }
        let millis = |t: &Option<prost_types::Timestamp>| {
            t.as_ref().map(|t| {
                t.seconds
                    .saturating_mul(1000)
                    .saturating_add(i64::from(t.nanos / 1_000_000))
            })
        };
        let filter = TaskFilter {
            project: project.name.to_string(),
            phase,
            caller: Some(request.caller.clone()).filter(|c| !c.is_empty()),
            labels,
            created_after: millis(&request.created_after),
            created_before: millis(&request.created_before),
        };
        let after = if request.page_token.is_empty() {
            None
        } else {
            match PageToken::decode(&request.page_token, &filter.digest()) {
                Ok(token) => Some(token),
                Err(error) => {
                    for violation in &error.violations {
                        v.add(violation.field.clone(), violation.description.clone());
                    }
                    None
                }
            }
        };
        v.into_result()?;
        let (tasks, next) = self
            .ledger
            .list_tasks(&filter, page_size, after.as_ref())
            .await?;
        Ok(pb::ListTasksResponse {
            tasks,
            next_page_token: next.map(|t| t.encode()).unwrap_or_default(),
        })
    }
}
