//! Fleet mode, watching: a callback posted to one replica reaches watchers on all of
//! them, each watched task is polled by one replica for the whole fleet, and when that
//! replica goes away another takes over.

mod common;

use common::{redis::*, *};
use qencode_gateway::pb::{self, TaskState, WatchEventKind};
use qencode_sandbox::{Endpoint, Sandbox, SandboxConfig, SandboxHandle};
use std::time::Duration;
use tonic::{transport::Channel, Streaming};

async fn sandbox(phase: Duration) -> SandboxHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    let config = SandboxConfig {
        phase_duration: phase,
        ..fast_sandbox()
    };
    Sandbox::start(listener, config)
        .await
        .expect("start sandbox")
}

async fn transcode(channel: Channel) -> String {
    transcoded_task(&mut pb::transcoding_client::TranscodingClient::new(channel)).await
}

async fn watch(channel: Channel, token: String) -> Streaming<pb::WatchStatusResponse> {
    pb::transcoding_client::TranscodingClient::new(channel)
        .watch_status(pb::WatchStatusRequest { task_token: token })
        .await
        .expect("watch")
        .into_inner()
}

async fn next(stream: &mut Streaming<pb::WatchStatusResponse>) -> pb::WatchStatusResponse {
    tokio::time::timeout(Duration::from_secs(30), stream.message())
        .await
        .expect("watch stalled")
        .expect("watch failed")
        .expect("watch ended early")
}

/// Reads until a terminal state; returns it.
async fn until_done(mut stream: Streaming<pb::WatchStatusResponse>) -> TaskState {
    loop {
        let state = next(&mut stream).await.status.expect("status").state();
        if matches!(
            state,
            TaskState::Completed | TaskState::Error | TaskState::Failed
        ) {
            return state;
        }
    }
}

fn status_requests(sandbox: &SandboxHandle) -> usize {
    sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus)
}

fn leases(replicas: &[Replica]) -> Vec<usize> {
    replicas
        .iter()
        .map(|r| {
            r.gateway
                .watchers
                .fleet()
                .expect("fleet mode")
                .leases_held()
        })
        .collect()
}

#[tokio::test]
async fn a_callback_to_one_replica_completes_watchers_on_the_others() {
    let redis = RedisServer::start().await;
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    let url = sandbox.base_url();
    let slow = |c: &mut qencode_gateway::Config| c.poll_interval = Duration::from_secs(3600);
    let a = replica(&url, &redis, |c| {
        slow(c);
        c.callback_url = Some(url::Url::parse(&format!("http://{}", c.http_listen)).unwrap());
    })
    .await;
    let b = replica(&url, &redis, slow).await;
    let c = replica(&url, &redis, slow).await;
    let token = transcode(a.channel().await).await;
    let callback_url = sandbox.task(&token).unwrap().query.unwrap()["query"]["callback_url"]
        .as_str()
        .expect("callback_url added")
        .to_owned();
    let mut streams = Vec::new();
    for replica in [&b, &c] {
        let mut stream = watch(replica.channel().await, token.clone()).await;
        let snapshot = next(&mut stream).await;
        assert_ne!(snapshot.status.unwrap().state(), TaskState::Completed);
        streams.push(stream);
    }

    let status =
        serde_json::json!({"status": "completed", "percent": 100, "error": 0, "videos": []});
    let form = [
        ("status", status.to_string()),
        ("callback_type", "task".into()),
        ("task_token", token.clone()),
        ("event", "saved".into()),
    ];
    let posted = reqwest::Client::new()
        .post(&callback_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    for mut stream in streams {
        let change = next(&mut stream).await;
        assert_eq!(change.kind(), WatchEventKind::Change);
        assert_eq!(change.status.unwrap().state(), TaskState::Completed);
    }
    for replica in [a, b, c] {
        replica.stop().await;
    }
}

const INTERVAL: Duration = Duration::from_millis(200);

fn polling(c: &mut qencode_gateway::Config) {
    c.poll_interval = INTERVAL;
}

/// Starts `tasks` tasks and `per_task` watchers of each on every replica; waits for
/// every snapshot.
async fn watch_all(
    replicas: &[Replica],
    tasks: usize,
    per_task: usize,
) -> Vec<Vec<Streaming<pb::WatchStatusResponse>>> {
    let mut tokens = Vec::new();
    for i in 0..tasks {
        tokens.push(transcode(replicas[i % replicas.len()].channel().await).await);
    }
    let mut all = Vec::new();
    for replica in replicas {
        let channel = replica.channel().await;
        let opened = tokens
            .iter()
            .flat_map(|token| std::iter::repeat_n(token.clone(), per_task))
            .map(|token| {
                let channel = channel.clone();
                async move {
                    let mut stream = watch(channel, token).await;
                    next(&mut stream).await;
                    stream
                }
            });
        all.push(futures::future::join_all(opened).await);
    }
    all
}

#[tokio::test]
async fn the_fleet_polls_each_task_once_per_interval() {
    let redis = RedisServer::start().await;
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    let url = sandbox.base_url();
    let replicas = futures::future::join_all((0..3).map(|_| replica(&url, &redis, polling))).await;
    let _streams = watch_all(&replicas, 100, 3).await;
    // The leases gather on one replica (bounded wait on the condition itself).
    eventually("leases gathered", Duration::from_secs(60), || {
        let held = leases(&replicas);
        held.contains(&100).then_some(()).ok_or(held)
    })
    .await;
    // One replica alone polls 100 tasks (one endpoint, batches of 100) with one request
    // per interval; the fleet must not do more.
    let window = INTERVAL * 15;
    let before = status_requests(&sandbox);
    tokio::time::sleep(window).await;
    let made = status_requests(&sandbox) - before;
    assert!(
        made <= 15 + 2,
        "{made} status requests in 15 intervals (leases {:?})",
        leases(&replicas)
    );
    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn when_the_lease_holder_leaves_another_replica_polls_to_completion() {
    let redis = RedisServer::start().await;
    // Tasks finish some seconds after they start: after the hand-over.
    let sandbox = sandbox(Duration::from_millis(1500)).await;
    let url = sandbox.base_url();
    let mut replicas =
        futures::future::join_all((0..3).map(|_| replica(&url, &redis, polling))).await;
    let mut streams = watch_all(&replicas, 10, 2).await;
    let holder = eventually("somebody holds a lease", Duration::from_secs(30), || {
        leases(&replicas).iter().position(|held| *held > 0)
    })
    .await;
    replicas[holder].begin_stop();
    let gone = replicas.remove(holder);
    streams.remove(holder);
    let done = futures::future::join_all(streams.into_iter().flatten().map(until_done)).await;
    assert!(done.iter().all(|s| *s == TaskState::Completed), "{done:?}");
    gone.stop().await;
    for replica in replicas {
        replica.stop().await;
    }
}
