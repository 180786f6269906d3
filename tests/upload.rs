//! UploadFile end to end: tonic client -> gateway on :0 -> sandbox TUS on :0 over HTTP.
//! Gateway pieces are 256 KiB so every upload takes many PATCHes.

mod common;

use common::*;
use qencode_gateway::pb::{
    self, start_encode_request::QueryKind, transcoding_client::TranscodingClient,
    upload_file_request::Part, TaskState,
};
use qencode_sandbox::{Endpoint, Fault, FaultKind, SandboxConfig};
use std::time::Duration;
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{transport::Channel, Code, Status};

/// The gateway's piece (PATCH) size in these tests.
const PIECE: usize = 256 * 1024;

async fn env() -> Env {
    env_with(fast_sandbox()).await
}

async fn env_with(sandbox: SandboxConfig) -> Env {
    start_with(sandbox, |c| c.upload_chunk_size = PIECE as u64).await
}

/// `len` deterministic pseudo-random bytes (xorshift64*), different per `seed`.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
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

fn metadata(task_token: &str, size: u64) -> pb::UploadFileRequest {
    pb::UploadFileRequest {
        part: Some(Part::Metadata(pb::UploadMetadata {
            task_token: task_token.to_owned(),
            file_name: "clip.mp4".into(),
            size,
            content_type: Some("video/mp4".into()),
            upload_url: None,
        })),
    }
}

fn chunk(bytes: &[u8]) -> pb::UploadFileRequest {
    pb::UploadFileRequest {
        part: Some(Part::Chunk(bytes.to_vec())),
    }
}

/// Metadata for `data`, then `data` in messages of `message_size` bytes.
fn messages(task_token: &str, data: &[u8], message_size: usize) -> Vec<pb::UploadFileRequest> {
    std::iter::once(metadata(task_token, data.len() as u64))
        .chain(data.chunks(message_size).map(chunk))
        .collect()
}

async fn upload(
    client: &mut TranscodingClient<Channel>,
    messages: Vec<pb::UploadFileRequest>,
) -> Result<pb::UploadFileResponse, Status> {
    client
        .upload_file(tokio_stream::iter(messages))
        .await
        .map(|r| r.into_inner())
}

async fn create(client: &mut TranscodingClient<Channel>) -> String {
    client
        .create_task(pb::CreateTaskRequest {})
        .await
        .expect("create_task")
        .into_inner()
        .task_token
}

/// An upload whose messages the test sends one by one.
struct Feed {
    tx: mpsc::Sender<pb::UploadFileRequest>,
    call: JoinHandle<Result<pb::UploadFileResponse, Status>>,
}

fn feed(mut client: TranscodingClient<Channel>) -> Feed {
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
    async fn send(&self, message: pb::UploadFileRequest) {
        let _ = self.tx.send(message).await;
    }

    async fn send_data(&self, data: &[u8]) {
        for piece in data.chunks(64 * 1024) {
            self.send(chunk(piece)).await;
        }
    }

    /// Closes the stream and waits for the answer (bounded).
    async fn finish(self) -> Result<pb::UploadFileResponse, Status> {
        drop(self.tx);
        tokio::time::timeout(Duration::from_secs(30), self.call)
            .await
            .expect("UploadFile answered in time")
            .expect("call task")
    }
}

/// Polls `condition` every 10 ms for up to 10 s.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The endpoints of the TUS requests the sandbox saw, in order, with their faults.
fn tus_log(env: &Env) -> Vec<(Endpoint, Option<FaultKind>)> {
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
fn patched_uuid(env: &Env) -> String {
    env.sandbox
        .requests()
        .into_iter()
        .find(|r| r.endpoint == Endpoint::TusPatch)
        .and_then(|r| r.path.rsplit('/').next().map(str::to_owned))
        .expect("a PATCH was seen")
}

fn uuid_of(response: &pb::UploadFileResponse) -> &str {
    response
        .source_uri
        .strip_prefix("tus:")
        .unwrap_or_else(|| panic!("not a tus: source: {}", response.source_uri))
}

fn assert_bad(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(bad_fields(status), [field], "{status:?}");
}

#[tokio::test]
async fn fifty_mib_arrive_byte_identical_and_become_a_task_source() {
    let env = env().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let data = pattern(50 << 20, 7);
    // Odd-sized messages, so pieces are cut across message boundaries.
    let response = upload(&mut client, messages(&token, &data, 1_000_003))
        .await
        .expect("upload");
    assert_eq!(response.bytes_stored, data.len() as u64);
    let stored = env
        .sandbox
        .upload_bytes(uuid_of(&response))
        .expect("upload");
    assert!(stored == data, "the stored bytes differ from the sent ones");
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 1);
    assert_eq!(env.sandbox.count(Endpoint::TusPatch), (50 << 20) / PIECE);
    assert_eq!(env.sandbox.count(Endpoint::TusHead), 0);

    client
        .start_encode(pb::StartEncodeRequest {
            task_token: token.clone(),
            query_kind: Some(QueryKind::Query(mp4_query(&response.source_uri))),
            payload: None,
        })
        .await
        .expect("start_encode with the tus: source");
    let status = follow_task(&mut client, &token)
        .await
        .pop()
        .expect("a status");
    assert_eq!(status.state(), TaskState::Completed, "{status:?}");
    env.stop().await;
}

/// Sends 1 MiB of a 4 MiB upload, waits for its four PATCHes, queues `faults`, sends
/// the rest; returns the data and the answer.
async fn upload_with_faults_midway(
    env: &Env,
    faults: Vec<Fault>,
) -> (Vec<u8>, Result<pb::UploadFileResponse, Status>) {
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let data = pattern(4 << 20, 11);
    let feed = feed(client);
    feed.send(metadata(&token, data.len() as u64)).await;
    feed.send_data(&data[..1 << 20]).await;
    wait_until("four pieces stored", || {
        env.sandbox.count(Endpoint::TusPatch) == 4
    })
    .await;
    for fault in faults {
        env.sandbox.inject(fault);
    }
    feed.send_data(&data[1 << 20..]).await;
    let answer = feed.finish().await;
    (data, answer)
}

#[tokio::test]
async fn a_patch_broken_midway_resumes_from_head() {
    let env = env().await;
    let (data, answer) = upload_with_faults_midway(
        &env,
        vec![Fault::once(
            Endpoint::TusPatch,
            FaultKind::PatchFailAfter { bytes: 100_000 },
        )],
    )
    .await;
    let response = answer.expect("resumed upload");
    let stored = env
        .sandbox
        .upload_bytes(uuid_of(&response))
        .expect("upload");
    assert!(stored == data, "the stored bytes differ from the sent ones");
    // The broken PATCH, one HEAD, then the rest of that piece from the storage's offset.
    let log = tus_log(&env);
    let broken = log
        .iter()
        .position(|(_, fault)| fault.is_some())
        .expect("the fault hit");
    assert_eq!(log[broken + 1].0, Endpoint::TusHead, "{log:?}");
    assert_eq!(env.sandbox.count(Endpoint::TusHead), 1);
    assert_eq!(env.sandbox.count(Endpoint::TusPatch), 16 + 1);
    env.stop().await;
}

#[tokio::test]
async fn without_head_the_failed_piece_restarts_from_the_last_confirmed_offset() {
    let env = env().await;
    let (data, answer) = upload_with_faults_midway(
        &env,
        vec![
            Fault::once(Endpoint::TusHead, FaultKind::NoHead),
            Fault::once(
                Endpoint::TusPatch,
                FaultKind::PatchFailAfter { bytes: 100_000 },
            ),
        ],
    )
    .await;
    let response = answer.expect("restarted upload");
    let stored = env
        .sandbox
        .upload_bytes(uuid_of(&response))
        .expect("upload");
    assert!(stored == data, "the stored bytes differ from the sent ones");
    // Broken PATCH, HEAD refused (never asked again), the piece restarted from the last
    // confirmed offset (409: the storage kept 100 000 bytes, and says so), then the rest.
    assert_eq!(env.sandbox.count(Endpoint::TusHead), 1);
    assert_eq!(env.sandbox.count(Endpoint::TusPatch), 16 + 2);
    let log = tus_log(&env);
    let head = log
        .iter()
        .position(|(endpoint, _)| *endpoint == Endpoint::TusHead)
        .expect("HEAD");
    assert_eq!(log[head].1, Some(FaultKind::NoHead));
    assert!(
        log[head + 1..]
            .iter()
            .all(|(endpoint, _)| *endpoint == Endpoint::TusPatch),
        "{log:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn persistent_upstream_failure_is_unavailable_with_bytes_stored() {
    let env = env().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let data = pattern(1 << 20, 3);
    let feed = feed(client);
    feed.send(metadata(&token, data.len() as u64)).await;
    feed.send_data(&data[..2 * PIECE]).await;
    wait_until("two pieces stored", || {
        env.sandbox.count(Endpoint::TusPatch) == 2
    })
    .await;
    env.sandbox.inject(Fault {
        endpoint: Endpoint::TusPatch,
        kind: FaultKind::Html { status: 503 },
        times: 1000,
    });
    feed.send_data(&data[2 * PIECE..]).await;
    let status = feed.finish().await.expect_err("the storage keeps failing");
    let details = assert_reason(&status, Code::Unavailable, "UPLOAD_INTERRUPTED");
    let info = details.error_info().expect("ErrorInfo");
    let stored = (2 * PIECE).to_string();
    assert_eq!(info.metadata.get("bytes_stored"), Some(&stored), "{info:?}");
    assert_eq!(
        info.metadata.get("http_status").map(String::as_str),
        Some("503")
    );
    assert!(status.message().contains(&stored), "{}", status.message());
    // One attempt and five retries of the third piece, a HEAD before each retry.
    assert_eq!(env.sandbox.count(Endpoint::TusPatch), 2 + 6);
    assert_eq!(env.sandbox.count(Endpoint::TusHead), 5);
    let held = env
        .sandbox
        .upload_bytes(&patched_uuid(&env))
        .expect("upload");
    assert_eq!(held.len(), 2 * PIECE);
    env.stop().await;
}

#[tokio::test]
async fn a_cancelled_upload_stops_sending_upstream() {
    let env = env().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    // Slow PATCHes, so the gateway is mid-upload with data still coming when it ends.
    env.sandbox.inject(Fault {
        endpoint: Endpoint::TusPatch,
        kind: FaultKind::Delay(Duration::from_millis(150)),
        times: 1000,
    });
    let data = pattern(4 << 20, 5);
    let feed = feed(client);
    feed.send(metadata(&token, data.len() as u64)).await;
    let Feed { tx, call } = feed;
    let sender = tokio::spawn(async move {
        for piece in data.chunks(64 * 1024) {
            if tx.send(chunk(piece)).await.is_err() {
                return;
            }
        }
        // Never closes the stream: only the cancellation ends this call.
        std::future::pending::<()>().await;
    });
    wait_until("three PATCHes", || {
        env.sandbox.count(Endpoint::TusPatch) >= 3
    })
    .await;
    call.abort();
    sender.abort();
    // Settle: the PATCH count stops moving (a running upload adds one per 150 ms).
    let mut last = env.sandbox.count(Endpoint::TusPatch);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let now = env.sandbox.count(Endpoint::TusPatch);
        if now == last {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "PATCHes never stopped"
        );
        last = now;
    }
    assert!(
        last < 16,
        "the whole file was sent after the cancel ({last} PATCHes)"
    );
    let held = env
        .sandbox
        .upload_bytes(&patched_uuid(&env))
        .expect("upload");
    assert!(held.len() < 4 << 20);
    // The gateway is fine and still serves.
    let mut client = env.transcoding().await;
    create(&mut client).await;
    env.stop().await;
}

#[tokio::test]
async fn more_bytes_than_declared_are_refused_as_soon_as_they_arrive() {
    let env = env().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let Feed { tx, call } = feed(client);
    let sender = tokio::spawn(async move {
        let _ = tx.send(metadata(&token, (2 * PIECE) as u64)).await;
        for piece in pattern(3 * PIECE, 1).chunks(64 * 1024) {
            let _ = tx.send(chunk(piece)).await;
        }
        // Keeps the stream open: the answer must come without waiting for its end.
        std::future::pending::<()>().await;
    });
    let status = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("answered while the stream was open")
        .expect("call task")
        .expect_err("too many bytes");
    sender.abort();
    assert_bad(&status, "chunk");
    // The first piece went up; the second, which the extra bytes overflow, did not.
    assert_eq!(env.sandbox.count(Endpoint::TusPatch), 1);
    env.stop().await;
}

#[tokio::test]
async fn wrong_sizes_are_invalid_and_never_complete_the_upload() {
    let env = env().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let data = pattern(1000, 2);

    let mut more = messages(&token, &data, 300);
    more[0] = metadata(&token, 900);
    let status = upload(&mut client, more).await.expect_err("more");
    assert_bad(&status, "chunk");

    let mut fewer = messages(&token, &data, 300);
    fewer[0] = metadata(&token, 1001);
    let status = upload(&mut client, fewer).await.expect_err("fewer");
    assert_bad(&status, "metadata.size");
    assert!(
        status.message().contains("after 1000"),
        "{}",
        status.message()
    );
    let info = details(&status).error_info().cloned().expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("bytes_stored").map(String::as_str),
        Some("0")
    );

    let status = upload(&mut client, vec![metadata(&token, 0)])
        .await
        .expect_err("zero");
    assert_bad(&status, "metadata.size");
    // Both uploads were created, neither got a byte: the last piece waits for the end.
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 2);
    assert_eq!(env.sandbox.count(Endpoint::TusPatch), 0);
    env.stop().await;
}

#[tokio::test]
async fn misplaced_or_missing_metadata_is_invalid() {
    let env = env().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;

    let status = upload(&mut client, vec![]).await.expect_err("empty");
    assert_bad(&status, "metadata");

    let status = upload(&mut client, vec![chunk(b"abc"), metadata(&token, 3)])
        .await
        .expect_err("chunk first");
    assert_bad(&status, "metadata");

    let twice = vec![metadata(&token, 3), chunk(b"a"), metadata(&token, 3)];
    let status = upload(&mut client, twice).await.expect_err("twice");
    assert_bad(&status, "metadata");

    let status = upload(&mut client, vec![metadata("", 3), chunk(b"abc")])
        .await
        .expect_err("no token");
    assert_bad(&status, "metadata.task_token");

    let neither = vec![metadata(&token, 3), pb::UploadFileRequest { part: None }];
    let status = upload(&mut client, neither).await.expect_err("neither");
    assert_bad(&status, "part");
    // Only "metadata twice" and "neither" got as far as creating an upload.
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 2);
    assert_eq!(env.sandbox.count(Endpoint::TusPatch), 0);
    env.stop().await;
}

#[tokio::test]
async fn a_size_over_the_maximum_is_refused_before_any_upstream_request() {
    let env = start_with(fast_sandbox(), |c| c.max_upload_size = 1 << 20).await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let status = upload(&mut client, vec![metadata(&token, (1 << 20) + 1)])
        .await
        .expect_err("too large");
    assert_bad(&status, "metadata.size");
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 0);
    env.stop().await;
}

#[tokio::test]
async fn a_task_created_elsewhere_uploads_to_the_fallback_or_the_given_url() {
    let env = env().await;
    // Another replica created these tasks, so this gateway never saw their upload_url.
    let replica = qencode_gateway::Gateway::from_config(&env.config).expect("replica");
    let deadline = qencode_gateway::upstream::Deadline::NONE;
    let mut client = env.transcoding().await;
    for given in [false, true] {
        let task = replica
            .transcoding
            .create_task(deadline)
            .await
            .expect("task");
        let data = pattern(PIECE + 5, 9);
        let mut messages = messages(&task.task_token, &data, 70_000);
        if let Some(Part::Metadata(m)) = &mut messages[0].part {
            m.upload_url = given.then(|| task.upload_url.clone());
        }
        let response = upload(&mut client, messages).await.expect("upload");
        let stored = env
            .sandbox
            .upload_bytes(uuid_of(&response))
            .expect("upload");
        assert!(stored == data);
    }
    env.stop().await;
}

#[tokio::test]
async fn untrusted_upload_hosts_are_refused() {
    // The sandbox hands out URLs on a host the gateway does not trust.
    let env = env_with(SandboxConfig {
        public_url: Some("http://10.255.255.1:9".into()),
        ..fast_sandbox()
    })
    .await;
    let mut client = env.transcoding().await;
    let created = client
        .create_task(pb::CreateTaskRequest {})
        .await
        .expect("create_task")
        .into_inner();
    assert!(created.upload_url.starts_with("http://10.255.255.1:9/"));
    let status = upload(&mut client, messages(&created.task_token, b"abc", 3))
        .await
        .expect_err("untrusted remembered upload_url");
    assert_reason(&status, Code::FailedPrecondition, "UNTRUSTED_UPLOAD_HOST");
    assert!(!status.message().contains(&created.task_token));

    let mut given = messages(&created.task_token, b"abc", 3);
    if let Some(Part::Metadata(m)) = &mut given[0].part {
        m.upload_url = Some("http://169.254.169.254/v1/upload_file".into());
    }
    let status = upload(&mut client, given)
        .await
        .expect_err("untrusted given upload_url");
    assert_bad(&status, "metadata.upload_url");
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 0);

    // A task this gateway did not create goes to the trusted fallback endpoint, but the
    // Location the storage answers is on the untrusted host: nothing is PATCHed there.
    let replica = qencode_gateway::Gateway::from_config(&env.config).expect("replica");
    let task = replica
        .transcoding
        .create_task(qencode_gateway::upstream::Deadline::NONE)
        .await
        .expect("task");
    let status = upload(&mut client, messages(&task.task_token, b"abc", 3))
        .await
        .expect_err("untrusted Location");
    assert_reason(&status, Code::FailedPrecondition, "UNTRUSTED_UPLOAD_HOST");
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 1);
    assert_eq!(env.sandbox.count(Endpoint::TusPatch), 0);
    env.stop().await;
}

#[tokio::test]
async fn uploads_beyond_the_concurrency_limit_are_refused_at_once() {
    let env = start_with(fast_sandbox(), |c| {
        c.upload_chunk_size = PIECE as u64;
        c.max_concurrent_uploads = 1;
    })
    .await;
    let channel = env.channel().await;
    let mut client = TranscodingClient::new(channel.clone());
    let task = create(&mut client).await;
    let data = pattern(PIECE * 2, 7);
    // The first upload holds the only slot while its stream stays open.
    let first = feed(TranscodingClient::new(channel.clone()));
    first.send(metadata(&task, data.len() as u64)).await;
    first.send_data(&data[..PIECE]).await;
    wait_until("the first upload reached the upstream", || {
        env.sandbox.count(Endpoint::TusCreate) == 1
    })
    .await;
    let second = feed(TranscodingClient::new(channel.clone()));
    second.send(metadata(&task, 1)).await;
    let refused = second.finish().await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("GATEWAY_MAX_CONCURRENT_UPLOADS"),
        "{}",
        refused.message()
    );
    // The first upload is unaffected, and its slot is free again afterwards.
    first.send_data(&data[PIECE..]).await;
    first.finish().await.unwrap();
    let third = feed(TranscodingClient::new(channel));
    let small = pattern(10, 8);
    third
        .send(metadata(&create(&mut client).await, small.len() as u64))
        .await;
    third.send_data(&small).await;
    third.finish().await.unwrap();
    env.stop().await;
}
