//! UploadFile end to end, refusals: sizes, metadata order, limits and trusted hosts,
//! each decided before or as the bytes arrive.

mod common;

use common::upload::*;
use common::*;
use qencode_gateway::pb::{self, transcoding_client::TranscodingClient, upload_file_request::Part};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::time::Duration;
use tonic::Code;

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
        let main = replica.projects.default_project().expect("main");
        let task = replica
            .transcoding
            .create_task(&main, deadline)
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
        .create_task(pb::CreateTaskRequest::default())
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

    // The API's own origin, but a path that resolves to another endpoint.
    let api = env.sandbox.base_url();
    for sneaky in [
        format!("{api}/v1/upload_file/../../v1/access_token"),
        format!("{api}/v1/upload_file/%2e%2e/%2e%2e/v1/access_token"),
        format!("{api}/v1/access_token"),
    ] {
        let mut given = messages(&created.task_token, b"abc", 3);
        if let Some(Part::Metadata(m)) = &mut given[0].part {
            m.upload_url = Some(sneaky.clone());
        }
        let status = upload(&mut client, given).await.expect_err(&sneaky);
        assert_bad(&status, "metadata.upload_url");
    }
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 0);

    // A task this gateway did not create goes to the trusted fallback endpoint, but the
    // Location the storage answers is on the untrusted host: nothing is PATCHed there.
    let replica = qencode_gateway::Gateway::from_config(&env.config).expect("replica");
    let main = replica.projects.default_project().expect("main");
    let task = replica
        .transcoding
        .create_task(&main, qencode_gateway::upstream::Deadline::NONE)
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
