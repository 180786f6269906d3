//! Fleet mode when Redis goes away: every replica falls back to its own polling, no call
//! fails, health stays SERVING; when Redis returns the fleet polls each task once again.
//! A Redis that hangs (SIGSTOP) is left as fast as a dead one, and what it held back
//! never takes a watcher back in time when it resumes.

mod common;

use common::{redis::*, *};
use qencode_gateway::pb::{self, TaskState};
use qencode_sandbox::{Endpoint, Sandbox, SandboxConfig, SandboxHandle};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::time::Instant;
use tonic::{transport::Channel, Streaming};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient};

const INTERVAL: Duration = Duration::from_millis(200);

async fn transcode(channel: Channel) -> String {
    transcoded_task(&mut pb::transcoding_client::TranscodingClient::new(channel)).await
}

async fn next(stream: &mut Streaming<pb::WatchStatusResponse>) -> TaskState {
    tokio::time::timeout(Duration::from_secs(30), stream.message())
        .await
        .expect("watch stalled")
        .expect("watch failed")
        .expect("watch ended early")
        .status
        .expect("status")
        .state()
}

/// One watcher per task on every replica, each past its snapshot.
async fn watch_everywhere(
    replicas: &[Replica],
    tasks: usize,
) -> Vec<Streaming<pb::WatchStatusResponse>> {
    let mut tokens = Vec::new();
    for i in 0..tasks {
        tokens.push(transcode(replicas[i % replicas.len()].channel().await).await);
    }
    let mut streams = Vec::new();
    for replica in replicas {
        let mut client = pb::transcoding_client::TranscodingClient::new(replica.channel().await);
        for token in &tokens {
            let mut stream = client
                .watch_status(pb::WatchStatusRequest {
                    task_token: token.clone(),
                })
                .await
                .expect("watch")
                .into_inner();
            next(&mut stream).await;
            streams.push(stream);
        }
    }
    streams
}

async fn until_done(mut stream: Streaming<pb::WatchStatusResponse>) -> TaskState {
    loop {
        let state = next(&mut stream).await;
        if matches!(
            state,
            TaskState::Completed | TaskState::Error | TaskState::Failed
        ) {
            return state;
        }
    }
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
async fn watchers_stay_updated_without_redis_and_the_fleet_reconverges() {
    let mut redis = RedisServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    // Tasks complete 16 s after they start: well after the outage below begins.
    let config = SandboxConfig {
        phase_duration: Duration::from_secs(4),
        ..fast_sandbox()
    };
    let sandbox: SandboxHandle = Sandbox::start(listener, config).await.expect("sandbox");
    let url = sandbox.base_url();
    let replicas = futures::future::join_all(
        (0..3).map(|_| replica(&url, &redis, |c| c.poll_interval = INTERVAL)),
    )
    .await;
    let streams = watch_everywhere(&replicas, 5).await;

    redis.stop();
    for replica in &replicas {
        let channel = replica.channel().await;
        pb::transcoding_client::TranscodingClient::new(channel.clone())
            .create_task(pb::CreateTaskRequest::default())
            .await
            .expect("calls do not need Redis");
        let health = HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health")
            .into_inner();
        assert_eq!(health.status(), ServingStatus::Serving);
    }
    let done = futures::future::join_all(streams.into_iter().map(until_done)).await;
    assert!(done.iter().all(|s| *s == TaskState::Completed), "{done:?}");
    let fleet = replicas[0].gateway.watchers.fleet().expect("fleet mode");
    assert!(!fleet.trouble().is_up() && fleet.trouble().errors() > 0);

    redis.restart().await;
    let _streams = watch_everywhere(&replicas, 20).await;
    eventually("leases gathered again", Duration::from_secs(60), || {
        let held = leases(&replicas);
        held.contains(&20).then_some(()).ok_or(held)
    })
    .await;
    let count = || sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus);
    let before = count();
    tokio::time::sleep(INTERVAL * 10).await;
    let made = count() - before;
    assert!(
        made <= 10 + 2,
        "{made} status requests in 10 intervals after Redis returned"
    );
    for replica in replicas {
        replica.stop().await;
    }
}

/// Set in the copy of this binary that [`a_missing_redis_server_stops_the_binary_with_one_line`]
/// starts without `redis-server` on its `PATH`.
const CHILD: &str = "QGW_TEST_PREREQUISITES_CHILD";

#[tokio::test]
async fn a_missing_redis_server_stops_the_binary_with_one_line() {
    if std::env::var_os(CHILD).is_some() {
        // In the child: no redis-server on PATH.
        let _server = RedisServer::start().await;
        return;
    }
    let empty = std::env::temp_dir().join(format!("qgw-empty-path-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_missing_redis_server_stops_the_binary_with_one_line",
        ])
        .env(CHILD, "1")
        .env("PATH", &empty)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run this test binary again");
    let _ = std::fs::remove_dir(&empty);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("redis-server (install: apt-get install -y redis-server)"),
        "{stderr}"
    );
}

/// Where a state stands in the sandbox's lifecycle: later phases rank higher, and
/// within encoding the percent rises. A watcher must never see this go down.
fn progress(status: &pb::TaskStatus) -> (u8, f64) {
    let rank = match status.state() {
        TaskState::Downloading => 1,
        TaskState::Queued => 2,
        TaskState::Encoding => 3,
        TaskState::Saving => 4,
        TaskState::Completed | TaskState::Error | TaskState::Failed => 5,
        _ => 0,
    };
    (rank, status.percent.unwrap_or(0.0))
}

/// Everything one watcher received: when, and where the task stood.
type Seen = Arc<Mutex<Vec<(Instant, (u8, f64))>>>;

fn record(mut stream: Streaming<pb::WatchStatusResponse>) -> (Seen, tokio::task::JoinHandle<()>) {
    let seen = Seen::default();
    let into = seen.clone();
    let task = tokio::spawn(async move {
        while let Ok(Some(message)) = stream.message().await {
            if let Some(status) = &message.status {
                let entry = (Instant::now(), progress(status));
                into.lock().unwrap().push(entry);
            }
        }
    });
    (seen, task)
}

#[tokio::test]
async fn a_stopped_redis_degrades_to_local_polling_and_never_takes_watchers_back() {
    const STOPPED_FOR: Duration = Duration::from_secs(4);
    /// The first Redis operation after SIGSTOP waits out its 1 s timeout; after that,
    /// updates must come at the poll pace again.
    const DETECTED_WITHIN: Duration = Duration::from_millis(1500);
    const MAX_GAP: Duration = Duration::from_millis(750);
    let redis = RedisServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    // Encoding runs from 16 s to 24 s after the start: the percent rises at every poll
    // through the whole stop and for a while after it.
    let config = SandboxConfig {
        phase_duration: Duration::from_secs(8),
        ..fast_sandbox()
    };
    let sandbox: SandboxHandle = Sandbox::start(listener, config).await.expect("sandbox");
    let url = sandbox.base_url();
    let replicas = futures::future::join_all(
        (0..2).map(|_| replica(&url, &redis, |c| c.poll_interval = INTERVAL)),
    )
    .await;
    let mut tokens = Vec::new();
    for i in 0..3 {
        tokens.push(transcode(replicas[i % 2].channel().await).await);
    }
    let mut watchers = Vec::new();
    for replica in &replicas {
        let mut client = pb::transcoding_client::TranscodingClient::new(replica.channel().await);
        for token in &tokens {
            for _ in 0..2 {
                let stream = client
                    .watch_status(pb::WatchStatusRequest {
                        task_token: token.clone(),
                    })
                    .await
                    .expect("watch")
                    .into_inner();
                watchers.push(record(stream));
            }
        }
    }
    let encoding = |seen: &Seen| {
        seen.lock()
            .unwrap()
            .last()
            .is_some_and(|(_, (rank, percent))| *rank == 3 && *percent > 0.0)
    };
    eventually(
        "every watcher sees encoding",
        Duration::from_secs(40),
        || watchers.iter().all(|(seen, _)| encoding(seen)),
    )
    .await;

    let stopped = Instant::now();
    redis.pause();
    tokio::time::sleep(STOPPED_FOR).await;
    let resumed = Instant::now();
    redis.resume();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for (_, task) in &watchers {
        task.abort();
    }

    let fleet = replicas[0].gateway.watchers.fleet().expect("fleet mode");
    assert!(fleet.trouble().errors() > 0, "the stop was noticed");
    for (i, (seen, _)) in watchers.iter().enumerate() {
        let seen = seen.lock().unwrap();
        let at = |t: Instant| {
            let ms = |d: Duration| d.as_millis() as i64;
            format!(
                "{} ms after the stop",
                ms(t.saturating_duration_since(stopped)) - ms(stopped.saturating_duration_since(t))
            )
        };
        // Never back in time, in particular when Redis resumes with what it held.
        for pair in seen.windows(2) {
            let ((_, before), (when, after)) = (pair[0], pair[1]);
            assert!(
                after >= before,
                "watcher {i} went back from {before:?} to {after:?} {}",
                at(when)
            );
        }
        // Fresh updates at the poll pace while Redis is stopped, once it is noticed.
        let mut last = seen
            .iter()
            .rev()
            .find(|(t, _)| *t <= stopped + DETECTED_WITHIN)
            .map(|(t, _)| *t)
            .expect("an update before the stop");
        let mut during = 0;
        for (t, _) in seen
            .iter()
            .filter(|(t, _)| *t > stopped + DETECTED_WITHIN && *t <= resumed)
        {
            assert!(
                *t - last <= MAX_GAP,
                "watcher {i}: no update for {:?} until {}",
                *t - last,
                at(*t)
            );
            last = *t;
            during += 1;
        }
        assert!(
            resumed - last <= MAX_GAP && during >= 4,
            "watcher {i}: {during} updates while Redis was stopped, the last {}",
            at(last)
        );
        assert!(
            seen.iter()
                .any(|(t, _)| *t > resumed + Duration::from_secs(1)),
            "watcher {i}: no update after Redis resumed"
        );
    }
    for replica in replicas {
        replica.stop().await;
    }
}
