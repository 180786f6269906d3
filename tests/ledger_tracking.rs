//! Every started task followed to its end with or without watchers, across restarts and
//! in a fleet, at one status request per batch per interval.

mod common;

use common::{
    eventually::eventually, fast_sandbox, mp4_query, postgres, redis, start_with, tls::temp_dir,
    API_KEY,
};
use qencode_gateway::{
    ledger::DatabaseUrl,
    pb::{self, transcoding_client::TranscodingClient},
    run,
    support::secret::Secret,
    Config, Gateway, Listeners,
};
use qencode_sandbox::{Endpoint, Sandbox, SandboxConfig, SandboxHandle};
use std::{collections::HashSet, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::transport::Channel;

fn transcode(source: &str, request_id: &str) -> pb::TranscodeRequest {
    pb::TranscodeRequest {
        query_kind: Some(pb::transcode_request::QueryKind::Query(mp4_query(source))),
        request_id: request_id.into(),
        ..Default::default()
    }
}

/// The ledger's state of `token` (the raw status string).
async fn ledger_state(client: &mut TranscodingClient<Channel>, token: &str) -> String {
    client
        .get_task(pb::GetTaskRequest {
            task_token: token.into(),
        })
        .await
        .expect("GetTask")
        .into_inner()
        .task
        .and_then(|t| t.status)
        .map(|s| s.status)
        .unwrap_or_default()
}

/// Waits (within `patience`) until the ledger says `token` completed.
async fn until_completed(client: &mut TranscodingClient<Channel>, token: &str, patience: Duration) {
    eventually("the ledger says completed", patience, async || {
        let state = ledger_state(client, token).await;
        if state == "completed" {
            Ok(())
        } else {
            Err(state)
        }
    })
    .await;
}

async fn a_task_nobody_watches_reaches_completed_in_the_ledger(url: DatabaseUrl) {
    let env = start_with(fast_sandbox(), move |c| c.database_url = url).await;
    let mut client = env.transcoding().await;
    let token = client
        .transcode(transcode("https://example.com/t.mp4", ""))
        .await
        .unwrap()
        .into_inner()
        .task_token;
    until_completed(&mut client, &token, Duration::from_secs(20)).await;
    let completed = client
        .list_tasks(pb::ListTasksRequest {
            phase: pb::TaskPhase::Completed as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(completed.tasks.len(), 1);
    let status = completed.tasks[0].status.clone().unwrap();
    assert_eq!(status.state, pb::TaskState::Completed as i32);
    assert!(
        !status.videos.is_empty(),
        "the outputs are kept: {status:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn sqlite_a_task_nobody_watches_reaches_completed_in_the_ledger() {
    a_task_nobody_watches_reaches_completed_in_the_ledger(DatabaseUrl::Sqlite(
        temp_dir().join("ledger.db"),
    ))
    .await;
}

#[tokio::test]
async fn postgres_a_task_nobody_watches_reaches_completed_in_the_ledger() {
    let url = postgres::database().await.parse().unwrap();
    a_task_nobody_watches_reaches_completed_in_the_ledger(url).await;
}

/// A gateway (no Redis) on an existing sandbox and ledger.
async fn gateway_on(
    sandbox_url: &str,
    url: DatabaseUrl,
    tweak: impl FnOnce(&mut Config),
) -> (Gateway, std::net::SocketAddr, JoinHandle<()>) {
    let mut config =
        Config::for_upstream(url::Url::parse(sandbox_url).unwrap(), Secret::new(API_KEY));
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    config.http_listen = http.local_addr().unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    config.admin_listen = admin.local_addr().unwrap();
    config.database_url = url;
    tweak(&mut config);
    let gateway = Gateway::from_config(&config).expect("gateway");
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = grpc.local_addr().unwrap();
    let serving = tokio::spawn(run(gateway.clone(), Listeners { grpc, http, admin }));
    let server = tokio::spawn(async move {
        serving.await.expect("gateway task").expect("gateway run");
    });
    (gateway, addr, server)
}

async fn client_of(addr: std::net::SocketAddr) -> TranscodingClient<Channel> {
    TranscodingClient::new(
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    )
}

async fn slow_sandbox(phase: Duration) -> SandboxHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start(
        listener,
        SandboxConfig {
            phase_duration: phase,
            ..fast_sandbox()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn tracking_resumes_from_the_ledger_after_a_restart() {
    let sandbox = slow_sandbox(Duration::from_millis(500)).await;
    let ledger = DatabaseUrl::Sqlite(temp_dir().join("ledger.db"));
    let (first, addr, server) = gateway_on(&sandbox.base_url(), ledger.clone(), |_| {}).await;
    let token = client_of(addr)
        .await
        .transcode(transcode("https://example.com/r.mp4", "restart-1"))
        .await
        .unwrap()
        .into_inner()
        .task_token;
    // Stopped while the task runs (it takes a few seconds in this sandbox).
    first.shutdown.begin();
    let _ = server.await;
    assert_ne!(
        sandbox.task(&token).and_then(|t| t.status).as_deref(),
        Some("completed"),
        "the task ended before the restart; the test would prove nothing"
    );
    let (second, addr, server) = gateway_on(&sandbox.base_url(), ledger, |_| {}).await;
    let mut client = client_of(addr).await;
    until_completed(&mut client, &token, Duration::from_secs(30)).await;
    second.shutdown.begin();
    let _ = server.await;
}

/// Status requests the sandbox received (both status endpoints).
fn status_requests(sandbox: &SandboxHandle) -> usize {
    sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus)
}

#[tokio::test]
async fn tracked_and_watched_tasks_share_one_status_request_per_interval() {
    let sandbox = slow_sandbox(Duration::from_secs(20)).await;
    let interval = Duration::from_millis(300);
    let (gateway, addr, server) = gateway_on(
        &sandbox.base_url(),
        DatabaseUrl::Sqlite(temp_dir().join("ledger.db")),
        |c| c.poll_interval = interval,
    )
    .await;
    let mut client = client_of(addr).await;
    let mut tokens = Vec::new();
    for i in 0..6 {
        let task = client
            .transcode(transcode(&format!("https://example.com/p{i}.mp4"), ""))
            .await
            .unwrap()
            .into_inner();
        tokens.push(task.task_token);
    }
    // Two of them are also watched.
    let mut watches = Vec::new();
    for token in &tokens[..2] {
        let mut stream = client
            .watch_status(pb::WatchStatusRequest {
                task_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        stream.message().await.unwrap().expect("a snapshot");
        watches.push(stream);
    }
    // Settled: every task has been fetched once; count over a window of intervals.
    eventually("every task polled", Duration::from_secs(10), async || {
        let mut unseen = 0;
        for token in &tokens {
            if ledger_state(&mut client, token).await == "started" {
                unseen += 1;
            }
        }
        if unseen == 0 {
            Ok(())
        } else {
            Err(unseen)
        }
    })
    .await;
    let before = status_requests(&sandbox);
    let window = interval * 10;
    tokio::time::sleep(window).await;
    let polls = status_requests(&sandbox) - before;
    // One batch (all six in one request) per tick: 10 ticks, give or take one at each
    // end of the window. Per task it would be 60.
    assert!(
        (8..=12).contains(&polls),
        "{polls} status requests in 10 intervals"
    );
    drop(watches);
    gateway.shutdown.begin();
    let _ = server.await;
}

#[tokio::test]
async fn two_replicas_on_one_postgres_and_redis_give_one_task_and_poll_once() {
    let sandbox = slow_sandbox(Duration::from_secs(20)).await;
    let redis = redis::RedisServer::start().await;
    let url: DatabaseUrl = postgres::database().await.parse().unwrap();
    let interval = Duration::from_millis(300);
    let tweak = |c: &mut Config| {
        c.database_url = url.clone();
        c.poll_interval = interval;
    };
    let a = redis::replica(&sandbox.base_url(), &redis, tweak).await;
    let b = redis::replica(&sandbox.base_url(), &redis, tweak).await;
    let clients = [
        TranscodingClient::new(a.channel().await),
        TranscodingClient::new(b.channel().await),
    ];
    // Ten concurrent duplicates, alternating replicas: one task, one start.
    let calls = (0..10).map(|i| {
        let mut client = clients[i % 2].clone();
        async move {
            client
                .transcode(transcode("https://example.com/f.mp4", "fleet-1"))
                .await
                .map(|r| r.into_inner().task_token)
        }
    });
    let tokens: HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("every duplicate answers OK"))
        .collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(sandbox.count(Endpoint::StartEncode), 1);
    // Four more tasks, none watched; both replicas follow all five.
    let mut client = clients[0].clone();
    for i in 0..4 {
        client
            .transcode(transcode(&format!("https://example.com/g{i}.mp4"), ""))
            .await
            .unwrap();
    }
    // Replica b learns of a's tasks from the ledger at its next rescan (every 12
    // intervals); from then on both follow all five, and whoever holds a task's lease
    // polls it: one batch per interval fleet-wide.
    tokio::time::sleep(interval * 15).await;
    let before = status_requests(&sandbox);
    tokio::time::sleep(interval * 10).await;
    let polls = status_requests(&sandbox) - before;
    assert!(
        (8..=13).contains(&polls),
        "{polls} status requests in 10 intervals"
    );
    drop((a, b));
}
