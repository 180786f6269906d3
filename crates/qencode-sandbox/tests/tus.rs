//! TUS direct upload over real HTTP: discovery, creation, HEAD, PATCH and
//! their error answers, resuming after a broken PATCH, and using an upload as a
//! `tus:` source.

mod common;

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::json;

use common::{header, spawn, spawn_default, str_of, TestSandbox};
use qencode_sandbox::{Endpoint, Fault, FaultKind, SandboxConfig};

/// The bytes uploaded in these tests.
fn content() -> Vec<u8> {
    (0..10_000u32).map(|i| (i % 251) as u8).collect()
}

/// Creates an upload of `length` bytes for `task`; returns its Location.
async fn create(sb: &TestSandbox, task: &str, length: usize) -> String {
    let response = sb
        .request(Method::POST, &format!("/v1/upload_file/{task}"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", "filename dmlkZW8ubXA0")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    assert_eq!(header(&response, "tus-resumable"), "1.0.0");
    header(&response, "location")
}

async fn head(sb: &TestSandbox, location: &str) -> Response {
    sb.request(Method::HEAD, location)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("send")
}

async fn patch(sb: &TestSandbox, location: &str, offset: usize, data: &[u8]) -> Response {
    sb.request(Method::PATCH, location)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.to_vec())
        .send()
        .await
        .expect("send")
}

fn uuid_of(location: &str) -> String {
    location.rsplit('/').next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn options_advertises_tus_1_0_with_creation() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    for path in [
        "/v1/upload_file".to_string(),
        format!("/v1/upload_file/{task}"),
    ] {
        let response = sb
            .request(Method::OPTIONS, &path)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 204, "{path}");
        assert_eq!(header(&response, "tus-version"), "1.0.0");
        assert_eq!(header(&response, "tus-extension"), "creation");
        assert_eq!(header(&response, "tus-resumable"), "1.0.0");
        assert!(!header(&response, "tus-max-size").is_empty());
    }
    assert_eq!(sb.handle.count(Endpoint::TusOptions), 2);
}

#[tokio::test]
async fn upload_in_chunks_then_head_and_read_back() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    let data = content();
    let location = create(&sb, &task, data.len()).await;
    let prefix = format!("{}/v1/upload_file/{task}/", sb.base);
    assert!(location.starts_with(&prefix), "{location}");

    let response = head(&sb, &location).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "upload-offset"), "0");
    assert_eq!(header(&response, "upload-length"), data.len().to_string());
    assert_eq!(
        header(&response, "upload-metadata"),
        "filename dmlkZW8ubXA0"
    );
    assert_eq!(header(&response, "cache-control"), "no-store");

    let (first, second) = data.split_at(4000);
    let response = patch(&sb, &location, 0, first).await;
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "upload-offset"), "4000");
    let response = patch(&sb, &location, 4000, second).await;
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "upload-offset"), data.len().to_string());
    assert_eq!(
        header(&head(&sb, &location).await, "upload-offset"),
        data.len().to_string()
    );
    let stored = sb.handle.upload_bytes(&uuid_of(&location)).expect("upload");
    assert_eq!(stored.as_ref(), data.as_slice());
    assert_eq!(sb.handle.upload_bytes("no-such-upload"), None);
    assert_eq!(sb.handle.count(Endpoint::TusCreate), 1);
    assert_eq!(sb.handle.count(Endpoint::TusHead), 2);
    assert_eq!(sb.handle.count(Endpoint::TusPatch), 2);
}

#[tokio::test]
async fn creation_errors() {
    let sb = spawn(SandboxConfig {
        max_upload_size: 100,
        ..SandboxConfig::default()
    })
    .await;
    let task = sb.task().await;
    let path = format!("/v1/upload_file/{task}");
    let send = |tus: Option<&'static str>, length: Option<&'static str>, path: String| {
        let mut request = sb.request(Method::POST, &path);
        if let Some(tus) = tus {
            request = request.header("Tus-Resumable", tus);
        }
        if let Some(length) = length {
            request = request.header("Upload-Length", length);
        }
        request.send()
    };
    let response = send(None, Some("10"), path.clone()).await.expect("send");
    assert_eq!(response.status(), 412);
    assert_eq!(header(&response, "tus-version"), "1.0.0");
    let response = send(Some("0.2.2"), Some("10"), path.clone())
        .await
        .expect("send");
    assert_eq!(response.status(), 412);
    let response = send(Some("1.0.0"), None, path.clone()).await.expect("send");
    assert_eq!(response.status(), 400);
    let response = send(Some("1.0.0"), Some("-1"), path.clone())
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let response = send(Some("1.0.0"), Some("101"), path.clone())
        .await
        .expect("send");
    assert_eq!(response.status(), 413);
    let unknown = format!("/v1/upload_file/{}", "0".repeat(32));
    let response = send(Some("1.0.0"), Some("10"), unknown)
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
    let response = send(Some("1.0.0"), Some("100"), path).await.expect("send");
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn patch_errors() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    let location = create(&sb, &task, 10).await;

    let response = patch(&sb, &location, 3, b"abc").await;
    assert_eq!(response.status(), 409);
    assert_eq!(header(&response, "upload-offset"), "0");
    let response = patch(&sb, &location, 0, b"0123456789X").await;
    assert_eq!(response.status(), 413);
    let response = sb
        .request(Method::PATCH, &location)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/octet-stream")
        .body("abc")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 415);
    let response = sb
        .request(Method::PATCH, &location)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .body("abc")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let elsewhere = format!("{}/v1/upload_file/{task}/{}", sb.base, "nope");
    assert_eq!(patch(&sb, &elsewhere, 0, b"abc").await.status(), 404);
    assert_eq!(head(&sb, &elsewhere).await.status(), 404);
    // The upload is only reachable under its own task.
    let other_task = sb.task().await;
    let wrong_task = location.replace(&task, &other_task);
    assert_eq!(head(&sb, &wrong_task).await.status(), 404);

    // None of that stored anything; the full body still fits exactly.
    assert_eq!(
        sb.handle.upload_bytes(&uuid_of(&location)).map(|b| b.len()),
        Some(0)
    );
    assert_eq!(patch(&sb, &location, 0, b"0123456789").await.status(), 204);
    // A complete upload takes no more bytes.
    assert_eq!(patch(&sb, &location, 10, b"x").await.status(), 413);
}

#[tokio::test]
async fn resume_after_a_patch_broken_midway() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    let data = content();
    let location = create(&sb, &task, data.len()).await;
    let broken = FaultKind::PatchFailAfter { bytes: 2500 };
    sb.handle
        .inject(Fault::once(Endpoint::TusPatch, broken.clone()));

    // A rejected PATCH does not use the fault up.
    assert_eq!(patch(&sb, &location, 5, &data).await.status(), 409);

    let response = patch(&sb, &location, 0, &data).await;
    assert_eq!(response.status(), 500);
    let response = head(&sb, &location).await;
    assert_eq!(header(&response, "upload-offset"), "2500");
    let response = patch(&sb, &location, 2500, &data[2500..]).await;
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "upload-offset"), data.len().to_string());
    let stored = sb.handle.upload_bytes(&uuid_of(&location)).expect("upload");
    assert_eq!(stored.as_ref(), data.as_slice());

    let patches: Vec<_> = sb
        .handle
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::TusPatch)
        .map(|r| r.fault)
        .collect();
    assert_eq!(patches, [None, Some(broken), None]);
}

#[tokio::test]
async fn no_head_fault_answers_405() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    let location = create(&sb, &task, 10).await;
    sb.handle
        .inject(Fault::once(Endpoint::Any, FaultKind::NoHead));
    // Only HEAD requests are hit by NoHead, even when aimed at Any.
    assert_eq!(patch(&sb, &location, 0, b"01234").await.status(), 204);
    let response = head(&sb, &location).await;
    assert_eq!(response.status(), 405);
    assert!(!header(&response, "allow").contains("HEAD"));
    assert_eq!(head(&sb, &location).await.status(), 200);
}

#[tokio::test(start_paused = true)]
async fn completed_upload_is_a_valid_tus_source() {
    let sb = spawn(SandboxConfig {
        phase_duration: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let task = sb.task().await;
    let data = content();
    let location = create(&sb, &task, data.len()).await;
    let uuid = uuid_of(&location);
    let query = json!({"query": {"source": format!("tus:{uuid}"), "format": [{"output": "mp4"}]}});

    assert_eq!(patch(&sb, &location, 0, &data[..100]).await.status(), 204);
    let body = sb.start(&task, &query).await;
    assert_eq!(body["error"], 14, "{body}");
    assert_eq!(body["field"], "query", "{body}");
    assert!(
        str_of(&body["message"]).starts_with("upload incomplete"),
        "{body}"
    );

    assert_eq!(patch(&sb, &location, 100, &data[100..]).await.status(), 204);
    let body = sb.start(&task, &query).await;
    assert_eq!(body["error"], 0, "{body}");
    tokio::time::advance(Duration::from_secs(4)).await;
    let master = sb.master_status(&task).await;
    assert_eq!(master["status"], "completed", "{master}");
    assert_eq!(master["source_size"], "0.0100");
}
