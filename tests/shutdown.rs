//! SIGTERM to the real binary while a watch stream and a slow unary call are open: the
//! watcher gets UNAVAILABLE at once, the unary call completes OK, and the process exits
//! 0 well within the shutdown grace.

mod common;

use common::*;
use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use qencode_sandbox::{Endpoint, Fault, FaultKind, Sandbox, SandboxConfig};
use std::{
    process::{Command, Stdio},
    time::Duration,
};
use tokio::time::Instant;
use tonic::{transport::Channel, Code};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A channel to the gateway process listening on `port`, once it listens (by `give_up`).
async fn listening(port: u16, give_up: Instant) -> Channel {
    let endpoint = format!("http://127.0.0.1:{port}");
    eventually(
        "the gateway listening",
        give_up.saturating_duration_since(Instant::now()),
        async || {
            Channel::from_shared(endpoint.clone())
                .unwrap()
                .connect()
                .await
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_watchers_drains_calls_and_exits_zero() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox = Sandbox::start(
        listener,
        SandboxConfig {
            phase_duration: Duration::from_secs(3600),
            ..fast_sandbox()
        },
    )
    .await
    .unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"))
        .env_clear()
        .env("GATEWAY_DATABASE_URL", "off")
        .env("QENCODE_API_KEY", API_KEY)
        .env("QENCODE_API_URL", sandbox.base_url())
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_HTTP_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_POLL_INTERVAL", "100ms")
        .env("GATEWAY_SHUTDOWN_GRACE", "10s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(20);
    let channel = listening(port, give_up).await;
    let mut client = TranscodingClient::new(channel.clone());
    let query = pb::transcode_request::QueryKind::Query(mp4_query("https://example.com/in.mp4"));
    let task = client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(query),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .task_token;

    let mut watch = client
        .watch_status(pb::WatchStatusRequest { task_token: task })
        .await
        .unwrap()
        .into_inner();
    watch.message().await.unwrap().unwrap();

    // A slow unary call: the upstream takes 1.5 s to answer create_task.
    sandbox.inject(Fault::once(
        Endpoint::CreateTask,
        FaultKind::Delay(Duration::from_millis(1500)),
    ));
    let before = sandbox.count(Endpoint::CreateTask);
    let mut slow_client = TranscodingClient::new(channel.clone());
    let slow = tokio::spawn(async move {
        slow_client
            .create_task(pb::CreateTaskRequest::default())
            .await
    });
    eventually(
        "the slow call reached the upstream",
        give_up.saturating_duration_since(Instant::now()),
        || sandbox.count(Endpoint::CreateTask) != before,
    )
    .await;

    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let ended = tokio::time::timeout(Duration::from_secs(2), watch.message())
        .await
        .expect("the watch did not end at once")
        .unwrap_err();
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    assert!(
        ended.message().contains("shutting down"),
        "{}",
        ended.message()
    );

    let slow = slow.await.unwrap();
    assert!(slow.is_ok(), "the in-flight call was cut: {slow:?}");

    let status = eventually(
        "exited within the grace",
        Duration::from_secs(10).saturating_sub(signalled.elapsed()),
        || child.try_wait().unwrap(),
    )
    .await;
    assert!(status.success(), "exit status {status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "took {:?}",
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grace_period_bounds_a_stuck_drain() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox = Sandbox::start(listener, fast_sandbox()).await.unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"))
        .env_clear()
        .env("GATEWAY_DATABASE_URL", "off")
        .env("QENCODE_API_KEY", API_KEY)
        .env("QENCODE_API_URL", sandbox.base_url())
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_HTTP_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_SHUTDOWN_GRACE", "1s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(20);
    let channel = listening(port, give_up).await;
    // The upstream holds create_task for 10 s: the drain cannot finish within the grace.
    sandbox.inject(Fault::once(
        Endpoint::CreateTask,
        FaultKind::Delay(Duration::from_secs(10)),
    ));
    let before = sandbox.count(Endpoint::CreateTask);
    let mut client = TranscodingClient::new(channel);
    let stuck =
        tokio::spawn(async move { client.create_task(pb::CreateTaskRequest::default()).await });
    eventually(
        "the call reached the upstream",
        give_up.saturating_duration_since(Instant::now()),
        || sandbox.count(Endpoint::CreateTask) != before,
    )
    .await;
    let signalled = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = eventually(
        "the grace bounded the drain",
        Duration::from_secs(8).saturating_sub(signalled.elapsed()),
        || child.try_wait().unwrap(),
    )
    .await;
    assert!(
        signalled.elapsed() >= Duration::from_secs(1),
        "exited before the grace: {:?}",
        signalled.elapsed()
    );
    assert!(!status.success(), "a cut drain is not a clean exit");
    assert!(
        stuck.await.unwrap().is_err(),
        "the stuck call could not have succeeded"
    );
}

/// While a call drains, the admin listener still answers: /healthz 200 (the kubelet's
/// liveness probe must not kill a draining pod) and /readyz 503; it closes once the
/// drain is over.
#[tokio::test]
async fn probes_answer_during_the_drain_and_the_admin_listener_closes_after_it() {
    let env = start_with(fast_sandbox(), |c| {
        c.shutdown_grace = Duration::from_secs(20)
    })
    .await;
    env.wait_serving().await;
    // A slow unary call keeps the drain going: the upstream takes 2 s to answer.
    env.sandbox.inject(Fault::once(
        Endpoint::CreateTask,
        FaultKind::Delay(Duration::from_secs(2)),
    ));
    let before = env.sandbox.count(Endpoint::CreateTask);
    let mut client = env.transcoding().await;
    let slow =
        tokio::spawn(async move { client.create_task(pb::CreateTaskRequest::default()).await });
    let give_up = Instant::now() + Duration::from_secs(20);
    while env.sandbox.count(Endpoint::CreateTask) == before {
        assert!(
            Instant::now() < give_up,
            "the call never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let admin = env.admin_url();
    let get = |path: &str| http.get(admin.join(path).unwrap()).send();
    env.begin_stop();
    loop {
        let ready = get("readyz")
            .await
            .expect("/readyz answers during the drain");
        if ready.status() == 503 {
            break;
        }
        assert!(Instant::now() < give_up, "/readyz never said 503");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let live = get("healthz")
        .await
        .expect("/healthz answers during the drain");
    assert_eq!(live.status(), 200);
    assert!(!slow.is_finished(), "the drain was still going");
    slow.await.unwrap().expect("the in-flight call completes");
    // Once the drain is over the admin listener closes.
    while get("healthz").await.is_ok() {
        assert!(Instant::now() < give_up, "the admin listener stayed open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.stop().await;
}
