//! Fleet mode, tokens: replicas sharing one Redis ask the upstream for one token per
//! API between them, and an upstream refusal replaces it once for the whole fleet.

mod common;

use common::{projects::*, redis::*, *};
use qencode_gateway::pb;
use qencode_sandbox::{Endpoint, Sandbox};

async fn sandbox() -> qencode_sandbox::SandboxHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    Sandbox::start(listener, fast_sandbox())
        .await
        .expect("start sandbox")
}

fn token_requests(sandbox: &qencode_sandbox::SandboxHandle) -> (usize, usize) {
    (
        sandbox.count(Endpoint::AccessToken),
        sandbox.count(Endpoint::LiveAccessToken),
    )
}

/// 300 calls over three replicas, half per API, all at once.
async fn calls(replicas: &[Replica]) {
    let mut handles = Vec::new();
    for i in 0..300 {
        let channel = replicas[i % replicas.len()].channel().await;
        handles.push(tokio::spawn(async move {
            if i % 2 == 0 {
                pb::transcoding_client::TranscodingClient::new(channel)
                    .create_task(pb::CreateTaskRequest::default())
                    .await
                    .map(|_| ())
            } else {
                pb::live_streaming_client::LiveStreamingClient::new(channel)
                    .list_streams(pb::ListStreamsRequest {})
                    .await
                    .map(|_| ())
            }
        }));
    }
    for handle in handles {
        handle.await.expect("call task").expect("call succeeds");
    }
}

#[tokio::test]
async fn a_cold_fleet_fetches_one_token_per_api() {
    let redis = RedisServer::start().await;
    let sandbox = sandbox().await;
    let url = sandbox.base_url();
    let replicas = futures::future::join_all((0..3).map(|_| replica(&url, &redis, |_| {}))).await;
    calls(&replicas).await;
    assert_eq!(
        token_requests(&sandbox),
        (1, 1),
        "one token per API for the fleet"
    );
    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_for_the_fleet() {
    let redis = RedisServer::start().await;
    let sandbox = sandbox().await;
    let url = sandbox.base_url();
    let replicas = futures::future::join_all((0..3).map(|_| replica(&url, &redis, |_| {}))).await;
    calls(&replicas).await;
    assert_eq!(token_requests(&sandbox), (1, 1));

    // Every replica holds the revoked token; each is refused, and each invalidation
    // that comes after the first new token is stored must leave that token alone.
    sandbox.sandbox().revoke_tokens();
    calls(&replicas).await;
    assert_eq!(
        token_requests(&sandbox),
        (2, 2),
        "one replacement per API, whichever replica was refused first"
    );
    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn each_project_has_its_own_fleet_token() {
    let redis = RedisServer::start().await;
    let (sandbox, path) = two_projects(fast_sandbox()).await;
    let url = sandbox.base_url();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let file = path.clone();
        replicas.push(replica(&url, &redis, move |c| c.access.policy_file = Some(file)).await);
    }
    for replica in &replicas {
        for project in ["alpha", "beta"] {
            let request = project_request(pb::CreateTaskRequest::default(), project);
            pb::transcoding_client::TranscodingClient::new(replica.channel().await)
                .create_task(request)
                .await
                .expect("create_task");
        }
    }
    // One upstream token request per project for the whole fleet, each with its key...
    let mut keys: Vec<String> = sandbox
        .key_uses()
        .into_iter()
        .filter(|u| u.endpoint == Endpoint::AccessToken)
        .map(|u| u.api_key)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, [KEY_ALPHA, KEY_BETA]);
    // ...and every task created with its project's key.
    let created: Vec<String> = sandbox
        .key_uses()
        .into_iter()
        .filter(|u| u.endpoint == Endpoint::CreateTask)
        .map(|u| u.api_key)
        .collect();
    assert_eq!(created, [KEY_ALPHA, KEY_BETA, KEY_ALPHA, KEY_BETA]);
    let token = |r: &Replica, p: &str| {
        let project = r.gateway.projects.get(p).expect("project");
        async move { project.transcoding.token().await.expect("token") }
    };
    assert_eq!(
        token(&replicas[0], "alpha").await,
        token(&replicas[1], "alpha").await,
        "the replicas share alpha's token"
    );
    assert_ne!(
        token(&replicas[0], "alpha").await,
        token(&replicas[0], "beta").await,
        "two projects never share a token"
    );
    for replica in replicas {
        replica.stop().await;
    }
}
