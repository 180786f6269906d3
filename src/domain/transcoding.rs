//! The Transcoding domain: validates requests, talks to the upstream through the token
//! manager, routes status requests to each task's master endpoint, and sends direct
//! uploads to each task's upload endpoint. No tonic here.

pub mod profiles;
pub mod query_check;
mod submissions;
mod task_records;
mod task_statuses;

pub use submissions::Submission;

use crate::domain::{
    owners::{Owners, Subject},
    signer::CallbackSigner,
};
use crate::support::reasons;
use crate::{
    access::projects::{Project, Projects},
    domain::upload::{self, StoredFile, UploadSettings, Uploader},
    pb,
    support::error::{Error, ErrorKind, Violations},
    upstream::{
        task_status::created_status,
        transcoding_api::{CreatedTask, TranscodingClient},
        Deadline, TrustedHosts,
    },
};
use bytes::Bytes;
use futures::{future::join_all, Stream};
pub use query_check::QueryInput;
use serde_json::{Map, Value};
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};
use tracing::{debug, warn};
use url::Url;

/// The path every followed `status_url` ends with.
const STATUS_PATH: &str = "/v1/status";
/// The path every upload URL ends with (tasks' `upload_url`, `<api>/v1/upload_file`).
const UPLOAD_PATH: &str = "/v1/upload_file";
/// How long a task's master status endpoint is remembered.
const STATUS_URL_TTL: Duration = Duration::from_secs(48 * 3600);
/// How many tasks' master endpoints are remembered.
const STATUS_URL_CAPACITY: u64 = 200_000;
/// How long a task's upload endpoint is remembered (uploads follow task creation).
const UPLOAD_URL_TTL: Duration = Duration::from_secs(24 * 3600);
/// How many tasks' upload endpoints are remembered.
const UPLOAD_URL_CAPACITY: u64 = 100_000;
/// How long a task this gateway created is remembered as existing (as upload URLs).
const CREATED_TTL: Duration = Duration::from_secs(24 * 3600);
/// How many created tasks are remembered.
const CREATED_CAPACITY: u64 = 100_000;

/// What GetStatus found.
#[derive(Debug, Default)]
pub struct StatusReport {
    /// Status of each known task.
    pub statuses: HashMap<String, pb::TaskStatus>,
    /// Requested tokens the upstream does not know (or not started yet).
    pub unknown: Vec<String>,
}

/// The Transcoding API as the gateway offers it.
pub struct Transcoding {
    client: TranscodingClient,
    /// The projects in force (how many: with one, there is nobody to keep out).
    projects: Arc<Projects>,
    /// Which project created each task: Qencode's start, status and upload endpoints
    /// take only the task token, so the gateway keeps projects apart itself.
    owners: Arc<Owners>,
    trusted: TrustedHosts,
    /// Task token -> its master status endpoint, learned from upstream answers, so status
    /// requests go where Qencode says the freshest status is.
    status_urls: moka::sync::Cache<String, Url>,
    /// Signs per-task callback URLs when callbacks are configured.
    callbacks: Option<Arc<CallbackSigner>>,
    /// Task token -> the `upload_url` CreateTask returned, because UploadFile carries
    /// only the task token and Qencode may keep uploads on a storage host of its choice.
    upload_urls: moka::sync::Cache<String, String>,
    /// Sends direct uploads.
    uploader: Uploader,
    /// Tasks this gateway created. Qencode's status is null both for unknown tokens and
    /// for tasks not started yet; for these the watch poller reports "created" instead
    /// of missing, so a watch opened before StartEncode waits for the start.
    created: crate::domain::token_memory::TokenMemory<()>,
    /// Largest `query_json` accepted, in bytes (`GATEWAY_MAX_QUERY_JSON_SIZE`).
    max_query_json: usize,
    /// Where every task created here is recorded, and idempotent submissions are
    /// tracked (off: a pure proxy).
    ledger: crate::ledger::Ledger,
}

impl Transcoding {
    /// The domain over an upstream client, the projects, the ownership store it shares
    /// with `LiveStreaming` and the trusted-host rule.
    pub fn new(
        client: TranscodingClient,
        projects: Arc<Projects>,
        owners: Arc<Owners>,
        trusted: TrustedHosts,
    ) -> Self {
        let uploader = Uploader::new(
            client.http().clone(),
            trusted.clone(),
            UploadSettings::default(),
        );
        Transcoding {
            client,
            projects,
            owners,
            trusted,
            status_urls: moka::sync::Cache::builder()
                .max_capacity(STATUS_URL_CAPACITY)
                .time_to_live(STATUS_URL_TTL)
                .build(),
            callbacks: None,
            upload_urls: moka::sync::Cache::builder()
                .max_capacity(UPLOAD_URL_CAPACITY)
                .time_to_live(UPLOAD_URL_TTL)
                .build(),
            uploader,
            created: crate::domain::token_memory::TokenMemory::new(
                CREATED_CAPACITY as usize,
                CREATED_TTL,
            ),
            max_query_json: crate::support::limit_hits::DEFAULT_MAX_QUERY_JSON,
            ledger: crate::ledger::Ledger::off(),
        }
    }

    /// Records every task in `ledger`, and makes request ids work.
    pub fn with_ledger(mut self, ledger: crate::ledger::Ledger) -> Self {
        self.ledger = ledger;
        self
    }

    /// Sets the largest `query_json` accepted, in bytes.
    pub fn with_max_query_json(mut self, bytes: usize) -> Self {
        self.max_query_json = bytes;
        self
    }

    /// Sets the direct-upload limits (chunk size, maximum size).
    pub fn with_upload_settings(mut self, settings: UploadSettings) -> Self {
        self.uploader = Uploader::new(self.client.http().clone(), self.trusted.clone(), settings);
        self
    }

    /// Adds a signed `callback_url` to every started task whose query has none.
    pub fn with_callbacks(mut self, signer: Option<Arc<CallbackSigner>>) -> Self {
        self.callbacks = signer;
        self
    }

    /// The projects (health checks and metrics read their token managers).
    pub fn projects(&self) -> &Arc<Projects> {
        &self.projects
    }

    /// NOT_FOUND, as Qencode answers an unknown task, when another project created
    /// `task_token` (also for watches, which the watch hub serves without coming here).
    pub fn check_task(&self, project: &Project, task_token: &str) -> Result<(), Error> {
        if self.may_see_task(project, task_token) {
            return Ok(());
        }
        Err(Error::upstream(
            ErrorKind::NotFound,
            reasons::QENCODE_TOKEN_NOT_FOUND,
            "Qencode does not know this task token",
        ))
    }

    /// True unless the task is known to belong to another project.
    fn may_see_task(&self, project: &Project, task_token: &str) -> bool {
        self.owners
            .may_see(Subject::Task, task_token, &project.name)
    }

    /// Remembers a created task's upload endpoint for UploadFile. Only what the fallback
    /// would not find: an upload URL equal to `<api_url>/v1/upload_file` costs no entry,
    /// so memory does not grow with tasks that upload to the API's own origin.
    fn remember_upload_url(&self, task: &CreatedTask) {
        if !task.upload_url.is_empty()
            && task.upload_url.trim_end_matches('/')
                != self
                    .client
                    .fallback_upload_url()
                    .as_str()
                    .trim_end_matches('/')
        {
            self.upload_urls
                .insert(task.task_token.clone(), task.upload_url.clone());
        }
    }

    /// Creates a task upstream and remembers that it exists (Transcode starts it at once,
    /// so its upload endpoint is not remembered).
    async fn create(&self, project: &Project, deadline: Deadline) -> Result<CreatedTask, Error> {
        let task = project
            .transcoding
            .with_token(deadline, |token| async move {
                self.client.create_task(&token, deadline).await
            })
            .await?;
        self.created.insert(&task.task_token, ());
        // With one project there is nobody to keep out, so nothing is stored: a task no
        // project is remembered for is visible to all, as another replica's tasks are.
        if self.projects.count() > 1 {
            self.owners
                .own(Subject::Task, &task.task_token, &project.name);
        }
        Ok(task)
    }

    /// Uploads a task's source file from `chunks` (exactly `metadata.size` bytes), after
    /// checking the metadata and the upload endpoint.
    pub async fn upload_file<S>(
        &self,
        project: &Project,
        metadata: pb::UploadMetadata,
        chunks: S,
        deadline: Deadline,
    ) -> Result<StoredFile, Error>
    where
        S: Stream<Item = Result<Bytes, Error>> + Unpin,
    {
        let mut v = Violations::default();
        upload::metadata_check::metadata(&metadata, self.uploader.settings().max_size, &mut v);
        let resume = upload::metadata_check::resume(&metadata, &mut v);
        v.into_result()?;
        self.check_task(project, &metadata.task_token)?;
        let upload_url = match &resume {
            Some(token) => self.resume_endpoint(token, "metadata.resume_token")?,
            None => self.upload_endpoint(&metadata)?,
        };
        self.uploader
            .upload(&upload_url, &metadata, resume.as_ref(), chunks, deadline)
            .await
    }

    /// Creates a task's upload without sending a byte, so the caller holds its resume
    /// token before any byte flows (and before anything can cut the call short).
    pub async fn create_upload(
        &self,
        project: &Project,
        metadata: pb::UploadMetadata,
        deadline: Deadline,
    ) -> Result<upload::resume_token::ResumeToken, Error> {
        let mut v = Violations::default();
        upload::metadata_check::metadata(&metadata, self.uploader.settings().max_size, &mut v);
        if metadata.resume_token.is_some() {
            v.add(
                "metadata.resume_token",
                "must be unset: CreateUpload creates a new upload",
            );
        }
        if metadata.offset.is_some() {
            v.add("metadata.offset", "must be unset: a new upload starts at 0");
        }
        v.into_result()?;
        self.check_task(project, &metadata.task_token)?;
        let upload_url = self.upload_endpoint(&metadata)?;
        let created = self
            .uploader
            .create_upload(&upload_url, &metadata, deadline)
            .await?;
        created.token.ok_or_else(|| {
            Error::upstream(
                ErrorKind::Internal,
                reasons::UPLOAD_NOT_RESUMABLE,
                "Qencode's storage put the upload at a location a resume token cannot name; use UploadFile without a resume token",
            )
        })
    }

    /// What the storage holds of the upload a resume token names.
    pub async fn get_upload(
        &self,
        project: &Project,
        task_token: &str,
        resume_token: &str,
        deadline: Deadline,
    ) -> Result<crate::upstream::tus::Head, Error> {
        let mut v = Violations::default();
        crate::domain::ids::check("task_token", task_token, &mut v);
        let token = upload::metadata_check::token("resume_token", resume_token, &mut v);
        v.into_result()?;
        self.check_task(project, task_token)?;
        // `token` records a violation whenever it is `None`, so this is never taken.
        let Some(token) = token else {
            return Err(Error::invalid_field("resume_token", "is required"));
        };
        let upload_url = self.resume_endpoint(&token, "resume_token")?;
        self.uploader
            .stored(&upload_url, task_token, &token, deadline)
            .await
    }

    /// The upload endpoint a resume token names, on a trusted host and path. The token
    /// came from the caller, so a refusal is INVALID_ARGUMENT naming `field`.
    fn resume_endpoint(
        &self,
        token: &upload::resume_token::ResumeToken,
        field: &str,
    ) -> Result<Url, Error> {
        self.trusted
            .check_endpoint(&token.upload_url, UPLOAD_PATH)
            .ok_or_else(|| {
                Error::invalid_field(
                    field,
                    "names an upload on a host or path this gateway does not trust",
                )
            })
    }

    /// Where a task's upload goes: the caller's `upload_url`, else the one CreateTask
    /// returned here, else `<api_url>/v1/upload_file`; always on a trusted host.
    fn upload_endpoint(&self, metadata: &pb::UploadMetadata) -> Result<Url, Error> {
        if let Some(given) = metadata.upload_url.as_deref().filter(|u| !u.is_empty()) {
            // The caller's own value: a refusal is theirs to fix, hence INVALID_ARGUMENT.
            return self.trusted.check_endpoint(given, UPLOAD_PATH).ok_or_else(|| {
                Error::invalid_field(
                    "metadata.upload_url",
                    "must be an upload_url CreateTask returned: the Qencode API's origin or an https host under the trusted domain",
                )
            });
        }
        match self.upload_urls.get(&metadata.task_token) {
            Some(known) => self
                .trusted
                .check_endpoint(&known, UPLOAD_PATH)
                .ok_or_else(|| upload::untrusted_host(&known)),
            None => Ok(self.client.fallback_upload_url()),
        }
    }

    fn prepare(
        &self,
        query: Option<&QueryInput>,
        payload: Option<&str>,
        mut v: Violations,
    ) -> Result<Map<String, Value>, Error> {
        query_check::payload(payload, &mut v);
        let inner = query_check::query(query, self.max_query_json, &mut v);
        v.into_result()?;
        inner.ok_or_else(|| Error::invalid_field("query", "could not be read"))
    }

    async fn start_prepared(
        &self,
        task_token: &str,
        mut inner: Map<String, Value>,
        payload: Option<String>,
        deadline: Deadline,
    ) -> Result<String, Error> {
        if let Some(signer) = &self.callbacks {
            inner
                .entry("callback_url")
                .or_insert_with(|| Value::String(signer.url_for(task_token)));
        }
        let query = serde_json::json!({ "query": inner }).to_string();
        let status_url = self
            .client
            .start_encode2(task_token, query, payload, deadline)
            .await?;
        self.remember_status_url(task_token, &status_url);
        Ok(status_url)
    }
}
