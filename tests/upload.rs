//! UploadFile end to end: tonic client -> gateway on :0 -> sandbox TUS on :0 over HTTP.
//! Gateway pieces are 256 KiB so every upload takes many PATCHes. This file: uploads that
//! arrive, resume after faults, fail with what was stored, or are cancelled. On the real
//! clock: megabytes over loopback can wait on the kernel (delayed ACKs), and a paused
//! clock jumps ahead meanwhile (a 50 MiB upload then retried a PATCH in 1 run of 5).

mod common;

use common::upload::*;
use common::*;
use qencode_gateway::pb::{self, start_encode_request::QueryKind, TaskState};
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;
use tonic::{Code, Status};

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
    // The upload is in the metrics (process-wide, shared with the other tests here,
    // hence at least).
    let metrics = reqwest::get(format!("{}metrics", env.admin_url()))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics text");
    let stored_bytes = metrics
        .lines()
        .find_map(|line| line.strip_prefix("gateway_upload_bytes_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("gateway_upload_bytes_total");
    assert!(stored_bytes >= (50 << 20) as f64, "{metrics}");
    assert!(metrics.contains(r#"gateway_uploads_total{outcome="stored"}"#));

    client
        .start_encode(pb::StartEncodeRequest {
            task_token: token.clone(),
            query_kind: Some(QueryKind::Query(mp4_query(&response.source_uri))),
            payload: None,
            ..Default::default()
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
    // Settle: the PATCH count stops moving (a running upload adds one per 150 ms), two
    // looks 600 ms apart.
    let mut previous = None;
    let last = eventually_every(
        "PATCHes stopped",
        Duration::from_secs(10),
        Duration::from_millis(600),
        || {
            let now = env.sandbox.count(Endpoint::TusPatch);
            let settled = previous.filter(|&before| before == now);
            previous = Some(now);
            settled
        },
    )
    .await;
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

fn resumed(task_token: &str, size: u64, token: &str, offset: u64) -> pb::UploadFileRequest {
    let mut message = metadata(task_token, size);
    if let Some(pb::upload_file_request::Part::Metadata(m)) = message.part.as_mut() {
        m.resume_token = Some(token.to_owned());
        m.offset = Some(offset);
    }
    message
}

#[tokio::test]
async fn an_interrupted_upload_names_its_resume_token_and_a_new_call_sends_only_the_rest() {
    let env = env().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let data = pattern(1 << 20, 23);
    let feed = feed(client.clone());
    feed.send(metadata(&token, data.len() as u64)).await;
    feed.send_data(&data[..2 * PIECE]).await;
    wait_until("two pieces stored", || {
        env.sandbox.count(Endpoint::TusPatch) == 2
    })
    .await;
    // The third piece's attempt and its five retries fail; then the storage is well.
    env.sandbox.inject(Fault {
        endpoint: Endpoint::TusPatch,
        kind: FaultKind::Html { status: 503 },
        times: 6,
    });
    feed.send_data(&data[2 * PIECE..]).await;
    let status = feed.finish().await.expect_err("the storage failed");
    let details = assert_reason(&status, Code::Unavailable, "UPLOAD_INTERRUPTED");
    let info = details.error_info().expect("ErrorInfo");
    let resume_token = info
        .metadata
        .get("resume_token")
        .expect("resume_token")
        .clone();
    let offset: u64 = info.metadata["bytes_stored"].parse().expect("bytes_stored");
    assert_eq!(offset, 2 * PIECE as u64);

    let mut rest = vec![resumed(&token, data.len() as u64, &resume_token, offset)];
    rest.extend(data[offset as usize..].chunks(100_000).map(chunk));
    let done = upload(&mut client, rest).await.expect("resumed");
    assert_eq!(done.bytes_stored, data.len() as u64);
    assert_eq!(done.resume_token, resume_token);
    let uuid = uuid_of(&done);
    assert!(env.sandbox.upload_bytes(uuid).expect("upload") == data);
    let progress = env.sandbox.upload_progress(uuid).expect("upload");
    assert_eq!(progress.received, data.len() as u64, "{progress:?}");
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 1);
    env.stop().await;
}

#[tokio::test]
async fn resume_tokens_are_checked_before_anything_is_sent() {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let env = env().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let data = pattern(1000, 29);
    let size = data.len() as u64;
    let elsewhere = format!(
        "u1.{}.abc",
        URL_SAFE_NO_PAD.encode("http://169.254.169.254/v1/upload_file")
    );
    let dotted = format!(
        "u1.{}.abc",
        URL_SAFE_NO_PAD.encode(format!("{}/v1/x/../upload_file", env.sandbox.base_url()))
    );
    for bad in ["", "not-a-token", elsewhere.as_str(), dotted.as_str()] {
        let status = upload(&mut client, vec![resumed(&token, size, bad, 0)])
            .await
            .expect_err(bad);
        assert_bad(&status, "metadata.resume_token");
        let status = client
            .get_upload(pb::GetUploadRequest {
                task_token: token.clone(),
                resume_token: bad.to_owned(),
            })
            .await
            .expect_err(bad);
        assert_bad(&status, "resume_token");
    }
    let mut offset_alone = metadata(&token, size);
    if let Some(pb::upload_file_request::Part::Metadata(m)) = offset_alone.part.as_mut() {
        m.offset = Some(10);
    }
    let status = upload(&mut client, vec![offset_alone])
        .await
        .expect_err("offset");
    assert_bad(&status, "metadata.offset");
    assert_eq!(env.sandbox.count(Endpoint::TusHead), 0);
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 0);

    // A well-formed token of an upload the storage does not know: gone.
    let unknown = format!(
        "u1.{}.0123abcd",
        URL_SAFE_NO_PAD.encode(format!("{}/v1/upload_file", env.sandbox.base_url()))
    );
    let status = client
        .get_upload(pb::GetUploadRequest {
            task_token: token.clone(),
            resume_token: unknown.clone(),
        })
        .await
        .expect_err("unknown upload");
    assert_reason(&status, Code::Aborted, "UPLOAD_GONE");

    // A token from CreateUpload; a different size than it was created with is refused.
    let created = client
        .create_upload(pb::CreateUploadRequest {
            metadata: match metadata(&token, size).part {
                Some(pb::upload_file_request::Part::Metadata(m)) => Some(m),
                _ => None,
            },
        })
        .await
        .expect("create_upload")
        .into_inner();
    let status = upload(
        &mut client,
        vec![resumed(&token, size + 1, &created.resume_token, 0)],
    )
    .await
    .expect_err("another size");
    assert_bad(&status, "metadata.size");
    env.stop().await;
}
