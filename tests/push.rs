//! End to end: in the no-key mode the embedded sandbox's task callbacks reach the
//! gateway's own HTTP listener, so a watcher completes from a callback even with polling
//! slowed to an hour.

mod common;

use clap::Parser;
use common::mp4_query;
use qencode_gateway::{
    pb, run,
    support::{config::Cli, embedded},
    Gateway, Listeners,
};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::Channel;

#[tokio::test(start_paused = true)]
async fn with_no_key_a_watcher_completes_from_the_sandboxs_callback() {
    let mut config = Cli::parse_from(["qencode-gateway"]).gateway;
    config.sandbox_listen = "127.0.0.1:0".parse().unwrap();
    config.poll_interval = Duration::from_secs(3600);
    // The default ledger is a SQLite file under the working directory, whose worker
    // thread the paused clock would not wait for: this test is about push, not the ledger.
    config.database_url = qencode_gateway::ledger::DatabaseUrl::Off;
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_addr = grpc.local_addr().unwrap();
    let http_addr = http.local_addr().unwrap();
    config.http_listen = http_addr;
    assert!(config.wants_sandbox() && config.callback_url.is_none());
    let fast = SandboxConfig {
        phase_duration: Duration::from_millis(150),
        ..SandboxConfig::default()
    };
    let sandbox = embedded::start_sandbox(&mut config, http_addr, fast)
        .await
        .unwrap();
    assert_eq!(
        config.callback_url.as_ref().map(|u| u.to_string()),
        Some(format!("http://{http_addr}/"))
    );
    let gateway = Gateway::from_config(&config).unwrap();
    let server = tokio::spawn(run(gateway.clone(), Listeners { grpc, http, admin }));

    let channel = Channel::from_shared(format!("http://{grpc_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::transcoding_client::TranscodingClient::new(channel);
    let token = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap()
        .into_inner()
        .task_token;
    let mut stream = client
        .watch_status(pb::WatchStatusRequest {
            task_token: token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let snapshot = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("no snapshot")
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.status.unwrap().state(), pb::TaskState::Created);
    client
        .start_encode(pb::StartEncodeRequest {
            task_token: token.clone(),
            query_kind: Some(pb::start_encode_request::QueryKind::Query(mp4_query(
                "https://example.com/in.mp4",
            ))),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut last = None;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("watch stalled: no callback reached the gateway")
        .expect("watch failed")
    {
        last = message.status;
    }
    assert_eq!(
        last.map(|s| s.state()),
        Some(pb::TaskState::Completed),
        "ends on the completed state"
    );
    // One poll for the snapshot; everything after came by callback.
    let polls = sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus);
    assert_eq!(polls, 1, "{:?}", sandbox.requests());
    let delivered = sandbox.callbacks();
    assert!(
        delivered
            .iter()
            .any(|c| c.subject == token && c.event == "saved"),
        "{delivered:?}"
    );
    gateway.shutdown.begin();
    server.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn with_no_key_a_stream_watcher_follows_the_sandboxs_stream_callbacks() {
    let mut config = Cli::parse_from(["qencode-gateway"]).gateway;
    config.sandbox_listen = "127.0.0.1:0".parse().unwrap();
    config.live_poll_interval = Some(Duration::from_secs(3600));
    // As above: no SQLite file under the working directory on the paused clock.
    config.database_url = qencode_gateway::ledger::DatabaseUrl::Off;
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_addr = grpc.local_addr().unwrap();
    let http_addr = http.local_addr().unwrap();
    config.http_listen = http_addr;
    let fast = SandboxConfig {
        live_phase_duration: Duration::from_millis(150),
        ..SandboxConfig::default()
    };
    let sandbox = embedded::start_sandbox(&mut config, http_addr, fast)
        .await
        .unwrap();
    let gateway = Gateway::from_config(&config).unwrap();
    let server = tokio::spawn(run(gateway.clone(), Listeners { grpc, http, admin }));
    let channel = Channel::from_shared(format!("http://{grpc_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::live_streaming_client::LiveStreamingClient::new(channel);
    let created = client
        .create_stream(pb::CreateStreamRequest {
            params: Some(pb::StreamParams {
                name: Some("pushed".into()),
                ..Default::default()
            }),
            extra_json: None,
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    // The gateway set its own signed callback URL, as the caller set none.
    let url = created.params.as_ref().and_then(|p| p.callback_url.clone());
    assert!(
        url.as_deref()
            .is_some_and(|u| u.starts_with(&format!("http://{http_addr}/callbacks/stream/"))),
        "{created:?}"
    );
    let mut watch = client
        .watch_stream(pb::WatchStreamRequest {
            stream_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let snapshot = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .expect("no snapshot")
        .unwrap()
        .unwrap();
    assert_eq!(
        snapshot.stream.unwrap().status.unwrap().state(),
        pb::StreamState::Created
    );
    client
        .start_stream(pb::StartStreamRequest {
            stream_id: created.id.clone(),
        })
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), watch.message())
            .await
            .expect("watch stalled: no stream callback reached the gateway")
            .expect("watch failed")
            .expect("stream ended early");
        let state = message.stream.and_then(|s| s.status).map(|s| s.state());
        if state == Some(pb::StreamState::Live) {
            break;
        }
    }
    // A post that is not signed for this stream changes nothing.
    let forged = reqwest::Client::new()
        .post(format!(
            "http://{http_addr}/callbacks/stream/{}",
            "00".repeat(32)
        ))
        .json(&serde_json::json!({"stream": {"id": created.id, "status": {"name": "stopped"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // One poll for the snapshot; the way to live came by callback.
    assert_eq!(
        sandbox.count(Endpoint::LiveGet),
        1,
        "{:?}",
        sandbox.requests()
    );
    gateway.shutdown.begin();
    server.await.unwrap().unwrap();
}
