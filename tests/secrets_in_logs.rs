//! No API key, access token, stream key or storage key/secret appears in any log line at any
//! level: the whole gateway and sandbox run with TRACE logging captured into a buffer,
//! which is then scanned for recognisable secret values.

mod common;

use common::*;
use qencode_gateway::{
    config::Secret,
    pb::{self, start_encode_request::QueryKind},
};
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::{
    io::Write,
    sync::{Arc, Mutex},
};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const API_KEY_SECRET: &str = "sk-SECRET-api-key-4242";
const WRONG_KEY_SECRET: &str = "sk-SECRET-wrong-key-9999";
const DEST_KEY: &str = "AKIA-SECRET-DEST-777";
const DEST_SECRET: &str = "dest-SECRET-888";
const SIMULCAST_KEY: &str = "simulcast-SECRET-key-555";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let sandbox = qencode_sandbox::SandboxConfig {
        api_keys: vec![API_KEY_SECRET.into()],
        live_api_keys: vec![API_KEY_SECRET.into()],
        ..fast_sandbox()
    };
    let env = start_with(sandbox, |c| c.api_key = Some(Secret::new(API_KEY_SECRET))).await;
    let mut client = env.transcoding().await;
    let mut tokens = Vec::new();

    let task = client
        .create_task(pb::CreateTaskRequest {})
        .await
        .unwrap()
        .into_inner()
        .task_token;
    tokens.push(
        env.gateway
            .projects
            .default_project()
            .unwrap()
            .transcoding
            .token()
            .await
            .unwrap(),
    );
    env.sandbox.revoke_tokens();
    client.create_task(pb::CreateTaskRequest {}).await.unwrap();
    tokens.push(
        env.gateway
            .projects
            .default_project()
            .unwrap()
            .transcoding
            .token()
            .await
            .unwrap(),
    );

    let mut query = mp4_query("https://example.com/in.mp4");
    query.format[0].destination = vec![pb::Destination {
        url: Some("s3://bucket/out.mp4".into()),
        key: Some(DEST_KEY.into()),
        secret: Some(DEST_SECRET.into()),
        ..Default::default()
    }];
    client
        .start_encode(pb::StartEncodeRequest {
            task_token: task.clone(),
            query_kind: Some(QueryKind::Query(query)),
            payload: None,
        })
        .await
        .unwrap();
    let raw = format!(
        r#"{{"source": "https://e/x.mp4", "format": [{{"output": "mp4", "destination": {{"url": "s3://b/o", "key": "{DEST_KEY}", "secret": "{DEST_SECRET}"}}}}]}}"#
    );
    client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::QueryJson(raw)),
            payload: None,
        })
        .await
        .unwrap();
    // Upstream errors on the query call: the error path must not echo the query either.
    env.sandbox.inject(Fault::once(
        Endpoint::StartEncode,
        FaultKind::Error {
            code: 1,
            message: "broken".into(),
        },
    ));
    let mut query = mp4_query("https://example.com/in.mp4");
    query.format[0].destination = vec![pb::Destination {
        key: Some(DEST_KEY.into()),
        secret: Some(DEST_SECRET.into()),
        ..Default::default()
    }];
    let status = client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::Query(query)),
            payload: None,
        })
        .await
        .unwrap_err();
    assert!(!status.message().contains(DEST_SECRET));
    client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![task],
        })
        .await
        .unwrap();

    // The Live API: key in the token URL path, bearer tokens, stream and simulcast keys,
    // DVR storage secrets.
    let mut live = env.live().await;
    let params = pb::StreamParams {
        name: Some("secret-test".into()),
        dvr: Some(pb::Dvr {
            enabled: Some(1),
            destination: vec![pb::DvrDestination {
                url: Some("s3://b/dvr/".into()),
                key: Some(DEST_KEY.into()),
                secret: Some(DEST_SECRET.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let stream = live
        .create_stream(pb::CreateStreamRequest {
            params: Some(params),
            extra_json: None,
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    tokens.push(
        env.gateway
            .projects
            .default_project()
            .unwrap()
            .live
            .tokens()
            .token()
            .await
            .unwrap(),
    );
    env.sandbox.revoke_tokens();
    live.add_simulcast_target(pb::AddSimulcastTargetRequest {
        stream_id: stream.id.clone(),
        url: "rtmp://a.example/live2".into(),
        stream_key: SIMULCAST_KEY.into(),
    })
    .await
    .unwrap();
    tokens.push(
        env.gateway
            .projects
            .default_project()
            .unwrap()
            .live
            .tokens()
            .token()
            .await
            .unwrap(),
    );
    live.get_stream(pb::GetStreamRequest {
        stream_id: stream.id.clone(),
    })
    .await
    .unwrap();
    let stream_key = stream.stream_key.clone();
    assert!(!stream_key.is_empty());

    // A wrong key is refused upstream; the refusal is logged without the key.
    let wrong = start_with(fast_sandbox(), |c| {
        c.api_key = Some(Secret::new(WRONG_KEY_SECRET))
    })
    .await;
    let mut wrong_client = wrong.transcoding().await;
    wrong_client
        .create_task(pb::CreateTaskRequest {})
        .await
        .unwrap_err();
    wrong.stop().await;
    env.stop().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("upstream_request"),
        "TRACE capture is not working"
    );
    assert!(
        logs.lines().count() > 100,
        "suspiciously few log lines: {}",
        logs.lines().count()
    );
    let mut secrets = vec![
        API_KEY_SECRET.to_owned(),
        WRONG_KEY_SECRET.to_owned(),
        DEST_KEY.to_owned(),
        DEST_SECRET.to_owned(),
    ];
    secrets.extend(tokens.iter().map(|t| t.expose().to_owned()));
    assert_ne!(tokens[0], tokens[1], "the token was refreshed");
    assert_ne!(tokens[2], tokens[3], "the live token was refreshed");
    for secret in &secrets {
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("secret {secret:?} leaked into the log: {line}");
        }
    }
}
