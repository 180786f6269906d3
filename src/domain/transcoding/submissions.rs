//! Submissions (CreateTask, StartEncode, StartEncodeProfiles, Transcode) recorded in
//! the ledger, and idempotent with a request id.
//!
//! Every submission claims a row in the ledger before anything goes upstream (a caller's
//! request id, or one made up for a call without), so a ledger that cannot be written
//! refuses the call before Qencode sees it, and each upstream step is preceded by the
//! intent to take it ([`crate::ledger::requests`]). On a retry with the same request
//! id the work resumes where the ledger says it stopped: a task known to exist is not
//! created again, and a start that may have reached Qencode is checked (the task's
//! status) before another is sent. A task created but never started costs nothing; an
//! encode started twice is the failure this rules out.

use super::*;
use crate::ledger::{
    redact,
    requests::{self, Claim, Lease, RequestKey, Step},
    tasks::NewTask,
};
use crate::support::reasons;

/// How often a repeat waits on a request another call is working on.
const BUSY_POLL: Duration = Duration::from_millis(50);
/// How long a claim is held past the call's deadline, for a request already sent
/// upstream to land before another call may take the submission over.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// The bound of a claim's wait when the call has no deadline.
const NO_DEADLINE_WAIT: Duration = Duration::from_secs(30);

/// Who submits, and with what id and labels.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The caller's policy name (empty without a policy).
    pub caller: String,
    /// The caller's request id (empty: none).
    pub request_id: String,
    /// The caller's labels.
    pub labels: HashMap<String, String>,
    /// The task budgets that apply (checked before a task is started).
    pub budgets: crate::ledger::budgets::Budgets,
}

/// What a submission's ledger row says when another call finished it.
enum Claimed {
    Mine(Lease, Step, Option<String>),
    Done(Value),
}

impl Submission {
    /// Checks the request id and labels (the fields of the request named as such).
    pub fn check(&self, v: &mut Violations) -> BTreeMap<String, String> {
        requests::check_request_id(&self.request_id, v);
        crate::domain::labels::check("labels", &self.labels, v)
    }
}

impl Transcoding {
    /// The ledger this domain records into.
    pub fn ledger(&self) -> &crate::ledger::Ledger {
        &self.ledger
    }

    /// Claims the submission's row, waiting (within the deadline) while another call
    /// works on the same request id. `fingerprint` is computed only when a row is
    /// claimed (not for calls that need none).
    async fn claim(
        &self,
        project: &Project,
        sub: &Submission,
        fingerprint: impl FnOnce() -> String,
        deadline: Deadline,
    ) -> Result<Claimed, Error> {
        if !self.ledger.is_on() && !sub.request_id.is_empty() {
            return Err(crate::ledger::off());
        }
        if !self.ledger.is_on() || (sub.request_id.is_empty() && self.ledger.is_writable()) {
            // A pure proxy, or a call nobody can repeat: no row of its own, its task
            // recorded as it goes. (While writes fail, such calls claim a row first, so
            // the ledger's refusal comes before any upstream call.)
            return Ok(Claimed::Mine(Lease::none(), Step::Begun, None));
        }
        let key = RequestKey {
            project: project.name.to_string(),
            caller: sub.caller.clone(),
            request_id: if sub.request_id.is_empty() {
                // A space never appears in a caller's id, so these never collide.
                format!("auto {}", uuid::Uuid::new_v4().simple())
            } else {
                sub.request_id.clone()
            },
        };
        let fingerprint = fingerprint();
        let wait = deadline.remaining().unwrap_or(NO_DEADLINE_WAIT);
        let give_up = tokio::time::Instant::now() + wait;
        loop {
            match self.ledger.claim(&key, &fingerprint, wait + LEASE_MARGIN).await? {
                Claim::Mine {
                    lease,
                    step,
                    task_token,
                } => return Ok(Claimed::Mine(lease, step, task_token)),
                Claim::Done(response) => {
                    return Ok(Claimed::Done(
                        serde_json::from_str(&response).unwrap_or(Value::Null),
                    ))
                }
                Claim::Busy if tokio::time::Instant::now() + BUSY_POLL < give_up => {
                    tokio::time::sleep(BUSY_POLL).await;
                }
                Claim::Busy => {
                    return Err(Error::new(
                        ErrorKind::DeadlineExceeded,
                        crate::support::error::GATEWAY_DOMAIN,
                        reasons::DEADLINE_EXCEEDED,
                        "another call with this request_id is still in progress; retry with the same request_id to get its result",
                    ))
                }
            }
        }
    }

    /// Creates a task upstream and records it (with the lease's progress, and the
    /// response when `done` is given) in one transaction.
    async fn create_recorded(
        &self,
        project: &Project,
        sub: &Submission,
        labels: &BTreeMap<String, String>,
        lease: &Lease,
        done: Option<fn(&CreatedTask) -> Value>,
        deadline: Deadline,
    ) -> Result<CreatedTask, Error> {
        let task = self.create(project, deadline).await?;
        if !self.ledger.is_on() {
            return Ok(task);
        }
        let record = NewTask {
            task_token: task.task_token.clone(),
            project: project.name.to_string(),
            caller: sub.caller.clone(),
            request_id: sub.request_id.clone(),
            labels: labels.clone(),
        };
        let response = done.map(|f| f(&task).to_string());
        self.ledger
            .task_created(&record, lease, response.as_deref())
            .await?;
        Ok(task)
    }

    /// Records a started task and the submission's response in one transaction.
    async fn finish_started(
        &self,
        lease: &Lease,
        task_token: &str,
        query: Value,
        response: Value,
    ) -> Result<(), Error> {
        if !self.ledger.is_on() {
            return Ok(());
        }
        self.ledger
            .task_started(
                lease,
                task_token,
                &redact::redacted(&query),
                &response.to_string(),
            )
            .await
    }

    /// True when Qencode has a status for the task, that is when it was started.
    async fn started_upstream(&self, task_token: &str, deadline: Deadline) -> Result<bool, Error> {
        let main = self.client.main_status_url().clone();
        let found = self
            .status_group(main, vec![task_token.to_owned()], true, deadline)
            .await?;
        Ok(found.get(task_token).is_some_and(Option::is_some))
    }

    /// CreateTask with no request id or labels (embedding, tests).
    pub async fn create_task(
        &self,
        project: &Project,
        deadline: Deadline,
    ) -> Result<CreatedTask, Error> {
        self.create_task_submitted(project, &Submission::default(), deadline)
            .await
    }

    /// CreateTask, recorded and idempotent.
    pub async fn create_task_submitted(
        &self,
        project: &Project,
        sub: &Submission,
        deadline: Deadline,
    ) -> Result<CreatedTask, Error> {
        let mut v = Violations::default();
        let labels = sub.check(&mut v);
        v.into_result()?;
        let fingerprint =
            || requests::fingerprint("CreateTask", &serde_json::json!({ "labels": labels }));
        let (lease, _, _) = match self.claim(project, sub, fingerprint, deadline).await? {
            Claimed::Done(response) => return Ok(created_from(&response)),
            Claimed::Mine(lease, step, token) => (lease, step, token),
        };
        let done = |task: &CreatedTask| serde_json::json!({ "task_token": task.task_token, "upload_url": task.upload_url });
        let result = self
            .create_recorded(project, sub, &labels, &lease, Some(done), deadline)
            .await;
        let task = self.settle(&lease, result).await?;
        self.remember_upload_url(&task);
        Ok(task)
    }

    /// Transcode, recorded and idempotent: created and started at most once per
    /// request id.
    pub async fn transcode_submitted(
        &self,
        project: &Project,
        sub: &Submission,
        query: Option<&QueryInput>,
        payload: Option<String>,
        deadline: Deadline,
    ) -> Result<(String, String), Error> {
        let mut v = Violations::default();
        let labels = sub.check(&mut v);
        let inner = self.prepare(query, payload.as_deref(), v)?;
        let fingerprint = || {
            requests::fingerprint(
                "Transcode",
                &serde_json::json!({ "query": inner, "payload": payload, "labels": labels }),
            )
        };
        let (lease, step, token) = match self.claim(project, sub, fingerprint, deadline).await? {
            Claimed::Done(response) => return Ok(started_from(&response)),
            Claimed::Mine(lease, step, token) => (lease, step, token),
        };
        self.within_budget(project, sub, &lease).await?;
        let work = async {
            let token = match token {
                Some(token) if step != Step::Begun => token,
                _ => {
                    self.create_recorded(project, sub, &labels, &lease, None, deadline)
                        .await?
                        .task_token
                }
            };
            let query = Value::Object(inner.clone());
            let start = || self.start_prepared(&token, inner, payload, deadline);
            let status_url = self
                .start_once(&lease, step, &token, query, start, deadline)
                .await?;
            Ok((token, status_url))
        };
        let result = work.await;
        self.settle(&lease, result).await
    }

    /// StartEncode, recorded and idempotent.
    pub async fn start_encode_submitted(
        &self,
        project: &Project,
        sub: &Submission,
        task_token: &str,
        query: Option<&QueryInput>,
        payload: Option<String>,
        deadline: Deadline,
    ) -> Result<String, Error> {
        let mut v = Violations::default();
        crate::domain::ids::check("task_token", task_token, &mut v);
        sub.check(&mut v);
        let inner = self.prepare(query, payload.as_deref(), v)?;
        self.check_task(project, task_token)?;
        let fingerprint = || {
            requests::fingerprint(
                "StartEncode",
                &serde_json::json!({ "task_token": task_token, "query": inner, "payload": payload }),
            )
        };
        let (lease, step) = match self.claim(project, sub, fingerprint, deadline).await? {
            Claimed::Done(response) => return Ok(started_from(&response).1),
            Claimed::Mine(lease, step, _) => (lease, step),
        };
        self.within_budget(project, sub, &lease).await?;
        let query = Value::Object(inner.clone());
        let start = || self.start_prepared(task_token, inner, payload, deadline);
        let result = self
            .start_once(&lease, step, task_token, query, start, deadline)
            .await;
        self.settle(&lease, result).await
    }

    /// Starts `task_token` with `start` unless a start may have reached Qencode before
    /// (`step` is `starting`) and Qencode has a status for it; records the start (with
    /// `query`, redacted) and the response.
    async fn start_once<F, Fut>(
        &self,
        lease: &Lease,
        step: Step,
        task_token: &str,
        query: Value,
        start: F,
        deadline: Deadline,
    ) -> Result<String, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<String, Error>>,
    {
        let status_url =
            if step == Step::Starting && self.started_upstream(task_token, deadline).await? {
                self.client.main_status_url().to_string()
            } else {
                if self.ledger.is_on() {
                    self.ledger
                        .advance(lease, Step::Starting, Some(task_token))
                        .await?;
                }
                start().await?
            };
        let response = serde_json::json!({ "task_token": task_token, "status_url": status_url });
        self.finish_started(lease, task_token, query, response)
            .await?;
        Ok(status_url)
    }

    /// StartEncodeProfiles, recorded and idempotent.
    pub async fn start_encode_profiles_submitted(
        &self,
        project: &Project,
        sub: &Submission,
        request: &pb::StartEncodeProfilesRequest,
        deadline: Deadline,
    ) -> Result<String, Error> {
        let mut v = Violations::default();
        sub.check(&mut v);
        v.into_result()?;
        let form = profiles::form(request)?;
        self.check_task(project, &request.task_token)?;
        let mut unkeyed = request.clone();
        unkeyed.request_id.clear();
        let json = crate::proto_json::to_json(
            &unkeyed,
            "qencode.gateway.v1.StartEncodeProfilesRequest",
            "",
        )
        .map_err(|_| Error::invalid_field("request", "could not be read"))?;
        let fingerprint = || requests::fingerprint("StartEncodeProfiles", &json);
        let (lease, step) = match self.claim(project, sub, fingerprint, deadline).await? {
            Claimed::Done(response) => return Ok(started_from(&response).1),
            Claimed::Mine(lease, step, _) => (lease, step),
        };
        self.within_budget(project, sub, &lease).await?;
        let token = request.task_token.as_str();
        let start = || async move {
            let status_url = self.client.start_encode_profiles(form, deadline).await?;
            self.remember_status_url(token, &status_url);
            Ok(status_url)
        };
        let result = self
            .start_once(&lease, step, token, json, start, deadline)
            .await;
        self.settle(&lease, result).await
    }

    /// Refuses a start over one of `sub`'s budgets (nothing sent upstream), releasing
    /// the claim so the same request id goes through once there is room.
    async fn within_budget(
        &self,
        project: &Project,
        sub: &Submission,
        lease: &Lease,
    ) -> Result<(), Error> {
        if !self.ledger.is_on() {
            return Ok(());
        }
        let checked = self
            .ledger
            .check_budgets(&project.name, &sub.caller, &sub.budgets)
            .await;
        if checked.is_err() {
            self.ledger.release(lease).await;
        }
        checked
    }

    /// Releases the lease of a failed submission (a retry resumes at once), and passes
    /// the result on.
    async fn settle<T>(&self, lease: &Lease, result: Result<T, Error>) -> Result<T, Error> {
        if result.is_err() && self.ledger.is_on() {
            self.ledger.release(lease).await;
        }
        result
    }
}

/// A CreateTask response stored by the first call.
fn created_from(response: &Value) -> CreatedTask {
    let field = |name: &str| response[name].as_str().unwrap_or_default().to_owned();
    CreatedTask {
        task_token: field("task_token"),
        upload_url: field("upload_url"),
    }
}

/// A start's stored response: (task token, status URL).
fn started_from(response: &Value) -> (String, String) {
    let field = |name: &str| response[name].as_str().unwrap_or_default().to_owned();
    (field("task_token"), field("status_url"))
}
