//! Fleet mode when Redis goes away: every replica falls back to its own polling, no call
//! fails, health stays SERVING; when Redis returns the fleet polls each task once again.

mod common;

use common::{redis::*, *};
use qencode_gateway::pb::{self, TaskState};
use qencode_sandbox::{Endpoint, Sandbox, SandboxConfig, SandboxHandle};
use std::time::Duration;
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
            .create_task(pb::CreateTaskRequest {})
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
