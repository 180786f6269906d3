//! Direct uploads: a caller's stream of chunks becomes a file on Qencode's storage,
//! usable as a task's `tus:<file_uuid>` source. No tonic here.
//!
//! The file goes upstream over resumable TUS 1.0 ([`crate::upstream::tus`]): one POST
//! creates the upload, then one PATCH per piece of the configured chunk size. The
//! gateway holds one piece at a time ([`pieces`]); a piece that fails upstream is resumed
//! from the offset the storage reports ([`resume`]). [`parts`] holds the order rules of
//! the message stream and [`metadata_check`] the metadata checks.
//!
//! An upload outlives the call and the gateway process that started it: the storage
//! keeps what it received, and [`resume_token`] names the upload so a new call (on any
//! gateway process) continues from the storage's offset with only the rest.

pub mod metadata_check;
pub mod parts;
pub mod pieces;
pub mod resume;
pub mod resume_token;
#[cfg(test)]
mod upload_properties;

use crate::support::reasons;
use crate::{
    pb::UploadMetadata,
    support::error::{Error, ErrorKind, GATEWAY_DOMAIN},
    upstream::{
        tus::{Head, TusClient, TusFailure},
        Deadline, HttpClient, TrustedHosts,
    },
};
use base64::{engine::general_purpose::STANDARD, Engine};
use bytes::Bytes;
use futures::Stream;
use pieces::Pieces;
use resume::{Retry, Session};
use resume_token::ResumeToken;
use tokio::time::Instant;
use tracing::{info, warn, Instrument};
use url::Url;

/// Upload limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct UploadSettings {
    /// Bytes per PATCH, and so the memory one upload holds.
    pub chunk_size: u64,
    /// Largest declared size accepted.
    pub max_size: u64,
}

impl Default for UploadSettings {
    /// The configuration's defaults: 8 MiB pieces, 10 GiB files.
    fn default() -> Self {
        UploadSettings {
            chunk_size: 8 << 20,
            max_size: 10 << 30,
        }
    }
}

/// A file the storage holds completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The storage's id of the file (the last segment of its upload location).
    pub file_uuid: String,
    /// Bytes the storage confirmed.
    pub bytes_stored: u64,
    /// The upload's resume token, when its location can be named by one.
    pub resume_token: Option<ResumeToken>,
}

impl StoredFile {
    /// The file as a task source, `tus:<file_uuid>`.
    pub fn source_uri(&self) -> String {
        format!("tus:{}", self.file_uuid)
    }
}

/// Sends files to the storage.
pub struct Uploader {
    tus: TusClient,
    /// Both the upload endpoint and the location the storage answers must pass it.
    trusted: TrustedHosts,
    settings: UploadSettings,
}

impl Uploader {
    /// An uploader sending through `http`.
    pub fn new(http: HttpClient, trusted: TrustedHosts, settings: UploadSettings) -> Self {
        Uploader {
            tus: TusClient::new(http),
            trusted,
            settings,
        }
    }

    /// The limits in effect.
    pub fn settings(&self) -> UploadSettings {
        self.settings
    }

    /// Uploads exactly `metadata.size` bytes from `chunks` to `upload_url` (trusted)
    /// for `metadata.task_token`. The metadata must be valid. Without `resume` the
    /// upload is created first; with it, the storage's offset must be
    /// `metadata.offset` and the chunks carry the rest. Any error after the upload
    /// exists carries its `resume_token` (and `bytes_stored` when known) in its
    /// metadata.
    pub async fn upload<S>(
        &self,
        upload_url: &Url,
        metadata: &UploadMetadata,
        resume: Option<&ResumeToken>,
        chunks: S,
        deadline: Deadline,
    ) -> Result<StoredFile, Error>
    where
        S: Stream<Item = Result<Bytes, Error>> + Unpin,
    {
        let size = metadata.size;
        let span = tracing::info_span!(
            "upload",
            size,
            chunk_size = self.settings.chunk_size,
            resumed = resume.is_some(),
            file_uuid = tracing::field::Empty,
        );
        async move {
            let started = Instant::now();
            let (location, token, offset) = match resume {
                None => {
                    let created = self.create_upload(upload_url, metadata, deadline).await?;
                    (created.location, created.token, 0)
                }
                Some(token) => {
                    let location = self.resumed_location(upload_url, &metadata.task_token, token)?;
                    let head = self
                        .head(&location, deadline)
                        .await
                        .map_err(|e| with_token(e, Some(token)))?;
                    check_resume(metadata, head).map_err(|e| with_token(e, Some(token)))?;
                    (location, Some(token.clone()), head.offset)
                }
            };
            let file_uuid = file_uuid(&location).map_err(|e| with_token(e, token.as_ref()))?;
            tracing::Span::current().record("file_uuid", file_uuid.as_str());
            let mut session = Session::new(&self.tus, location, offset);
            let mut pieces =
                Pieces::starting_at(chunks, size, offset, self.settings.chunk_size);
            let sent = async {
                while let Some((offset, piece)) = pieces.next().await? {
                    session.store(offset, &piece, deadline).await?;
                    pieces.recycle(piece);
                }
                Ok::<_, Error>(())
            }
            .await;
            let stored = session.stored();
            match sent {
                Ok(()) => {
                    crate::support::metrics::record_upload(
                        "stored",
                        stored - offset,
                        u64::from(session.resumes()),
                        started.elapsed(),
                    );
                    info!(
                        bytes = stored - offset,
                        resumed_at = offset,
                        resumes = session.resumes(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "upload stored"
                    );
                    Ok(StoredFile {
                        file_uuid,
                        bytes_stored: stored,
                        resume_token: token,
                    })
                }
                Err(error) => {
                    let outcome = if error.kind == ErrorKind::InvalidArgument {
                        "refused"
                    } else {
                        "failed"
                    };
                    crate::support::metrics::record_upload(
                        outcome,
                        stored - offset,
                        u64::from(session.resumes()),
                        started.elapsed(),
                    );
                    if error.kind == ErrorKind::InvalidArgument {
                        info!(bytes_stored = stored, reason = %error.reason, "upload refused mid-stream");
                    } else {
                        warn!(bytes_stored = stored, reason = %error.reason, "upload failed");
                    }
                    Err(with_token(with_stored(error, stored, size), token.as_ref()))
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Creates the upload of `metadata` under `upload_url` (trusted) without sending a
    /// byte: its trusted location and, when the location can be named by one, its
    /// resume token.
    pub async fn create_upload(
        &self,
        upload_url: &Url,
        metadata: &UploadMetadata,
        deadline: Deadline,
    ) -> Result<Created, Error> {
        let endpoint = task_endpoint(upload_url.clone(), &metadata.task_token);
        let location = self.create(&endpoint, metadata, deadline).await?;
        let token = ResumeToken::for_location(upload_url, &metadata.task_token, &location);
        if token.is_none() {
            warn!("the storage answered an upload location a resume token cannot name; this upload cannot be resumed by a new call");
        }
        Ok(Created { location, token })
    }

    /// What the storage holds of the upload `token` names under `upload_url` (trusted).
    pub async fn stored(
        &self,
        upload_url: &Url,
        task_token: &str,
        token: &ResumeToken,
        deadline: Deadline,
    ) -> Result<Head, Error> {
        let location = self.resumed_location(upload_url, task_token, token)?;
        self.head(&location, deadline).await
    }

    /// The location a resume token names, checked again like a location the storage
    /// answered: under the task's endpoint, on a trusted host, no dot segments.
    fn resumed_location(
        &self,
        upload_url: &Url,
        task_token: &str,
        token: &ResumeToken,
    ) -> Result<Url, Error> {
        let endpoint = task_endpoint(upload_url.clone(), task_token);
        let location = token.location(&endpoint);
        self.trusted
            .check_under(location.as_str(), &endpoint)
            .ok_or_else(|| untrusted_host(location.as_str()))
    }

    /// HEAD with bounded retries on transient failures (HEAD is safe to repeat). An
    /// upload the storage does not know, or a storage without HEAD, cannot be resumed.
    async fn head(&self, location: &Url, deadline: Deadline) -> Result<Head, Error> {
        let mut retry = Retry::default();
        loop {
            match self.tus.head(location, deadline).await {
                Ok(head) => return Ok(head),
                Err(TusFailure::Transient { error, .. }) => {
                    let failures = retry.failures() + 1;
                    warn!(failures, reason = %error.reason, "asking the storage for the upload offset failed; retrying");
                    retry
                        .after_failure(deadline)
                        .await
                        .map_err(|stop| stop.into_error(error, failures))?;
                }
                Err(TusFailure::NoHead) => return Err(gone()),
                Err(TusFailure::Fatal(error)) => return Err(error),
            }
        }
    }

    /// Creates the upload and returns its trusted location. Creation is repeated on
    /// transient failures although POST is not idempotent: a repeat can at worst leave
    /// an empty upload behind on the storage, which costs nothing.
    async fn create(
        &self,
        endpoint: &Url,
        metadata: &UploadMetadata,
        deadline: Deadline,
    ) -> Result<Url, Error> {
        let header = metadata_header(metadata);
        let mut retry = Retry::default();
        loop {
            match self
                .tus
                .create(endpoint, metadata.size, header.as_deref(), deadline)
                .await
            {
                Ok(location) => {
                    return self
                        .trusted
                        .check_under(location.as_str(), endpoint)
                        .ok_or_else(|| untrusted_host(location.as_str()));
                }
                Err(TusFailure::Transient { error, .. }) => {
                    let failures = retry.failures() + 1;
                    warn!(failures, reason = %error.reason, "creating the upload failed; retrying");
                    retry
                        .after_failure(deadline)
                        .await
                        .map_err(|stop| stop.into_error(error, failures))?;
                }
                Err(other) => return Err(other.into_error()),
            }
        }
    }
}

/// A created upload.
#[derive(Debug, Clone)]
pub struct Created {
    /// Where the storage keeps it (trusted).
    pub location: Url,
    /// Its resume token, when the location can be named by one.
    pub token: Option<ResumeToken>,
}

/// The storage's offset against what the resuming caller declared: the stream starts
/// at `metadata.offset`, so any other offset would store the wrong bytes.
fn check_resume(metadata: &UploadMetadata, head: Head) -> Result<(), Error> {
    if let Some(length) = head.length.filter(|&length| length != metadata.size) {
        return Err(Error::invalid_field(
            "metadata.size",
            format!(
                "is {} bytes but the upload being resumed was created for {length}",
                metadata.size
            ),
        ));
    }
    let declared = metadata.offset.unwrap_or(0);
    if declared != head.offset {
        return Err(Error::new(
            ErrorKind::FailedPrecondition,
            GATEWAY_DOMAIN,
            reasons::UPLOAD_OFFSET_MISMATCH,
            format!(
                "the stream starts at byte {declared} (metadata.offset) but the storage holds {} bytes; resume from there",
                head.offset
            ),
        )
        .with_metadata("bytes_stored", head.offset)
        .with_metadata("size", metadata.size));
    }
    Ok(())
}

/// The storage no longer knows the upload (expired, removed, or HEAD unsupported).
fn gone() -> Error {
    Error::upstream(
        ErrorKind::Aborted,
        reasons::UPLOAD_GONE,
        "Qencode's storage does not know this upload (it expired or was removed); upload the file again",
    )
}

/// Adds the upload's resume token, so the caller can continue it with a new call.
fn with_token(mut error: Error, token: Option<&ResumeToken>) -> Error {
    if let Some(token) = token {
        error
            .metadata
            .entry("resume_token".to_owned())
            .or_insert_with(|| token.encode());
    }
    error
}

/// True for a plain id (letters, digits, `-`, `_`; at most 128): safe as one path
/// segment and in a resume token.
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `<upload_url>/<task_token>`, the TUS creation URL (the token is one path segment,
/// percent-encoded if need be; validation allows only letters, digits, `-` and `_`).
pub fn task_endpoint(mut upload_url: Url, task_token: &str) -> Url {
    if let Ok(mut segments) = upload_url.path_segments_mut() {
        segments.pop_if_empty().push(task_token);
    }
    upload_url
}

/// TUS `Upload-Metadata`: `filename` and `filetype`, base64-encoded; `None` when empty.
fn metadata_header(metadata: &UploadMetadata) -> Option<String> {
    let mut pairs = Vec::new();
    if !metadata.file_name.is_empty() {
        pairs.push(format!("filename {}", STANDARD.encode(&metadata.file_name)));
    }
    if let Some(content_type) = metadata.content_type.as_deref().filter(|t| !t.is_empty()) {
        pairs.push(format!("filetype {}", STANDARD.encode(content_type)));
    }
    (!pairs.is_empty()).then(|| pairs.join(","))
}

/// The file uuid: the location's last path segment, which must be a plain id.
fn file_uuid(location: &Url) -> Result<String, Error> {
    location
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .filter(|id| plain_id(id))
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::upstream(
                ErrorKind::Unavailable,
                reasons::UPLOAD_PROTOCOL,
                "Qencode's storage answered an upload Location without a file id",
            )
        })
}

/// An upload URL the trusted-host rule refuses. FAILED_PRECONDITION: neither the caller
/// nor a retry can fix it; the operator must trust the host (QENCODE_TRUSTED_DOMAIN) or
/// Qencode must stop pointing elsewhere. Only the host is named: the URL holds the task
/// token.
pub fn untrusted_host(url: &str) -> Error {
    let origin = Url::parse(url)
        .ok()
        .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or("")))
        .unwrap_or_else(|| "an unreadable URL".to_owned());
    Error::new(
        ErrorKind::FailedPrecondition,
        GATEWAY_DOMAIN,
        reasons::UNTRUSTED_UPLOAD_HOST,
        format!(
            "the upload would go to {origin}, which is neither the Qencode API's origin nor an https host under the trusted domain (QENCODE_TRUSTED_DOMAIN)"
        ),
    )
}

/// Adds `bytes_stored` (and `size`) to an error raised after the upload was created.
fn with_stored(mut error: Error, stored: u64, size: u64) -> Error {
    error
        .metadata
        .entry("bytes_stored".to_owned())
        .or_insert_with(|| stored.to_string());
    error
        .metadata
        .entry("size".to_owned())
        .or_insert_with(|| size.to_string());
    if error.kind == ErrorKind::Unavailable {
        error.message = format!(
            "{}; the storage holds {stored} of {size} bytes",
            error.message
        );
    }
    error
}

#[cfg(test)]
mod upload_tests;
