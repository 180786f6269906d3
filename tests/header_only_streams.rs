//! Server streams opened with HEADERS alone (raw `h2`): their request message never
//! comes. Each must end within the call's deadline like a unary call, count against
//! the watcher cap from its first byte, and health `Watch` streams are capped per
//! connection, so such streams cannot pile up on the gateway.

mod common;

use common::{
    raw_h2::{connect, grpc_end, grpc_frame, headers_only, WATCH_STATUS},
    *,
};
use qencode_gateway::pb;
use std::time::Duration;
use tonic::Code;

const WATCH_STREAM: &str = "/qencode.gateway.v1.LiveStreaming/WatchStream";
const HEALTH_WATCH: &str = "/grpc.health.v1.Health/Watch";
/// Bound of every wait on the gateway (never reached when it behaves).
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn header_only_server_streams_end_at_the_default_deadline() {
    let env = start_with(fast_sandbox(), |c| {
        c.default_deadline = Duration::from_millis(300)
    })
    .await;
    env.wait_serving().await;
    let mut client = connect(env.addr).await;
    let mut open = Vec::new();
    for path in [WATCH_STATUS, WATCH_STREAM, HEALTH_WATCH] {
        open.push((path, headers_only(&mut client, env.addr, path, None).await));
    }
    // A caller's shorter grpc-timeout bounds the wait too.
    let (short, _short_body) =
        headers_only(&mut client, env.addr, HEALTH_WATCH, Some("100m")).await;
    assert_eq!(
        grpc_end(short, PATIENCE).await.0,
        Code::DeadlineExceeded as i32
    );
    for (path, (response, _body)) in open {
        let (code, message) = grpc_end(response, PATIENCE).await;
        assert_eq!(code, Code::DeadlineExceeded as i32, "{path}: {message}");
        assert!(message.contains("GATEWAY_DEFAULT_DEADLINE"), "{message}");
    }
    assert_eq!(env.gateway.watchers.limit.open(), 0, "no watcher slot left");
    env.stop().await;
}

#[tokio::test]
async fn header_only_watches_count_against_the_watcher_cap() {
    let env = start_with(fast_sandbox(), |c| c.max_watchers = 3).await;
    env.wait_serving().await;
    let token = env
        .transcoding()
        .await
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create")
        .into_inner()
        .task_token;
    let mut client = connect(env.addr).await;
    let mut held = Vec::new();
    for path in [WATCH_STATUS, WATCH_STREAM, WATCH_STATUS] {
        held.push(headers_only(&mut client, env.addr, path, None).await);
    }
    // The fourth, on the same connection (dispatched after the three), is refused at
    // once while the three wait for messages that never come.
    let (fourth, fourth_body) = headers_only(&mut client, env.addr, WATCH_STATUS, None).await;
    let (code, message) = grpc_end(fourth, PATIENCE).await;
    assert_eq!(code, Code::ResourceExhausted as i32, "{message}");
    assert!(message.contains("GATEWAY_MAX_WATCHERS"), "{message}");
    assert_eq!(env.gateway.watchers.limit.open(), 3);
    // So is a real watch from another client.
    let mut watch = env.transcoding().await;
    let refused = watch
        .watch_status(pb::WatchStatusRequest {
            task_token: token.clone(),
        })
        .await
        .expect_err("over the cap");
    assert_reason(&refused, Code::ResourceExhausted, "TOO_MANY_WATCHERS");

    // A slot taken from HEADERS goes with the watch once its message arrives: still
    // counted once.
    let (response, mut body) = held.pop().expect("a held stream");
    let request = pb::WatchStatusRequest {
        task_token: token.clone(),
    };
    body.send_data(grpc_frame(&prost::Message::encode_to_vec(&request)), true)
        .expect("send the message");
    let response = tokio::time::timeout(PATIENCE, response)
        .await
        .expect("answered")
        .expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(env.gateway.watchers.limit.open(), 3);

    // The client leaves: every slot is free again.
    drop((held, response, body, fourth_body, client));
    let give_up = tokio::time::Instant::now() + PATIENCE;
    while env.gateway.watchers.limit.open() > 0 {
        assert!(tokio::time::Instant::now() < give_up, "slots never freed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    watch
        .watch_status(pb::WatchStatusRequest { task_token: token })
        .await
        .expect("a watch is served again");
    env.stop().await;
}

#[tokio::test]
async fn health_watch_streams_are_capped_per_connection() {
    use qencode_gateway::edge::grpc::layer::OPEN_STREAMS_PER_CONNECTION;
    let env = start().await;
    env.wait_serving().await;
    let request = grpc_frame(&prost::Message::encode_to_vec(
        &tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        },
    ));
    let mut client = connect(env.addr).await;
    let mut held = Vec::new();
    for i in 0..OPEN_STREAMS_PER_CONNECTION {
        let (response, mut body) = headers_only(&mut client, env.addr, HEALTH_WATCH, None).await;
        // Half of them real watches, half waiting for their message: both count.
        if i % 2 == 0 {
            body.send_data(request.clone(), true).expect("send");
        }
        held.push((response, body));
    }
    let (over, _body) = headers_only(&mut client, env.addr, HEALTH_WATCH, None).await;
    let (code, message) = grpc_end(over, PATIENCE).await;
    assert_eq!(code, Code::ResourceExhausted as i32, "{message}");
    assert!(message.contains("health Watch"), "{message}");
    // Another connection still may.
    let mut other = connect(env.addr).await;
    let (response, mut body) = headers_only(&mut other, env.addr, HEALTH_WATCH, None).await;
    body.send_data(request, true).expect("send");
    let response = tokio::time::timeout(PATIENCE, response)
        .await
        .expect("answered")
        .expect("response");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("grpc-status").is_none(),
        "a stream, not a refusal"
    );
    drop(held);
    env.stop().await;
}
