//! Shared helpers of the UploadFile end-to-end tests: data patterns, request messages,
//! a feed that sends them as the client streams, and readings of the sandbox's TUS log.

use super::*;
use qencode_gateway::pb::{self, transcoding_client::TranscodingClient, upload_file_request::Part};
use qencode_sandbox::{Endpoint, FaultKind, SandboxConfig};
use std::time::Duration;
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{transport::Channel, Code, Status};

/// The gateway's piece (PATCH) size in these tests.
pub const PIECE: usize = 256 * 1024;

pub async fn env() -> Env {
    env_with(fast_sandbox()).await
}

pub async fn env_with(sandbox: SandboxConfig) -> Env {
    start_with(sandbox, |c| c.upload_chunk_size = PIECE as u64).await
}

/// `len` deterministic pseudo-random bytes (xorshift64*), different per `seed`.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn metadata(task_token: &str, size: u64) -> pb::UploadFileRequest {
    pb::UploadFileRequest {
        part: Some(Part::Metadata(pb::UploadMetadata {
            task_token: task_token.to_owned(),
            file_name: "clip.mp4".into(),
            size,
            content_type: Some("video/mp4".into()),
            upload_url: None,
            resume_token: None,
            offset: None,
        })),
    }
}

pub fn chunk(bytes: &[u8]) -> pb::UploadFileRequest {
    pb::UploadFileRequest {
        part: Some(Part::Chunk(bytes.to_vec())),
    }
}

/// Metadata for `data`, then `data` in messages of `message_size` bytes.
pub fn messages(task_token: &str, data: &[u8], message_size: usize) -> Vec<pb::UploadFileRequest> {
    std::iter::once(metadata(task_token, data.len() as u64))
        .chain(data.chunks(message_size).map(chunk))
        .collect()
}

pub async fn upload(
    client: &mut TranscodingClient<Channel>,
    messages: Vec<pb::UploadFileRequest>,
) -> Result<pb::UploadFileResponse, Status> {
    client
        .upload_file(tokio_stream::iter(messages))
        .await
        .map(|r| r.into_inner())
}

pub async fn create(client: &mut TranscodingClient<Channel>) -> String {
    client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create_task")
        .into_inner()
        .task_token
}

/// An upload whose messages the test sends one by one.
pub struct Feed {
    pub tx: mpsc::Sender<pb::UploadFileRequest>,
    pub call: JoinHandle<Result<pb::UploadFileResponse, Status>>,
}

pub fn feed(mut client: TranscodingClient<Channel>) -> Feed {
    let (tx, rx) = mpsc::channel(4);
    let call = tokio::spawn(async move {
        client
            .upload_file(ReceiverStream::new(rx))
            .await
            .map(|r| r.into_inner())
    });
    Feed { tx, call }
}

impl Feed {
    /// Sends a message; a call that already ended is reported by [`Feed::finish`].
    pub async fn send(&self, message: pb::UploadFileRequest) {
        let _ = self.tx.send(message).await;
    }

    pub async fn send_data(&self, data: &[u8]) {
        for piece in data.chunks(64 * 1024) {
            self.send(chunk(piece)).await;
        }
    }

    /// Closes the stream and waits for the answer (bounded).
    pub async fn finish(self) -> Result<pb::UploadFileResponse, Status> {
        drop(self.tx);
        tokio::time::timeout(Duration::from_secs(30), self.call)
            .await
            .expect("UploadFile answered in time")
            .expect("call task")
    }
}

/// [`eventually`] with the upload tests' patience: 10 s.
pub async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    eventually(what, Duration::from_secs(10), condition).await
}

/// The endpoints of the TUS requests the sandbox saw, in order, with their faults.
pub fn tus_log(env: &Env) -> Vec<(Endpoint, Option<FaultKind>)> {
    env.sandbox
        .requests()
        .into_iter()
        .filter(|r| {
            matches!(
                r.endpoint,
                Endpoint::TusCreate | Endpoint::TusHead | Endpoint::TusPatch
            )
        })
        .map(|r| (r.endpoint, r.fault))
        .collect()
}

/// The file uuid of the (one) upload the sandbox saw PATCHed.
pub fn patched_uuid(env: &Env) -> String {
    env.sandbox
        .requests()
        .into_iter()
        .find(|r| r.endpoint == Endpoint::TusPatch)
        .and_then(|r| r.path.rsplit('/').next().map(str::to_owned))
        .expect("a PATCH was seen")
}

pub fn uuid_of(response: &pb::UploadFileResponse) -> &str {
    response
        .source_uri
        .strip_prefix("tus:")
        .unwrap_or_else(|| panic!("not a tus: source: {}", response.source_uri))
}

pub fn assert_bad(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(bad_fields(status), [field], "{status:?}");
}
