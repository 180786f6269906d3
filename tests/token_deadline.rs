//! Waiting for an upstream access token is bounded by the call's deadline, or by
//! `GATEWAY_DEFAULT_DEADLINE` when it brings none, and the gateway answers itself:
//! DEADLINE_EXCEEDED with ErrorInfo, not a call left to the client's timer.

mod common;

use common::{raw_h2::unary_status, *};
use prost::Message;
use qencode_gateway::pb;
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;
use tokio::time::Instant;
use tonic::Code;

const CREATE_TASK: &str = "/qencode.gateway.v1.Transcoding/CreateTask";
/// The default deadline of the gateway under test (short, so the test is).
const DEFAULT_DEADLINE: Duration = Duration::from_secs(2);

/// Both token endpoints stop answering (for ten minutes, longer than any test), and
/// the tokens the gateway holds are revoked, so its next call must fetch a new one.
fn hang_token_endpoints(env: &Env) {
    for endpoint in [Endpoint::AccessToken, Endpoint::LiveAccessToken] {
        env.sandbox.inject(Fault {
            endpoint,
            kind: FaultKind::Delay(Duration::from_secs(600)),
            times: 1000,
        });
    }
    env.sandbox.revoke_tokens();
}

fn assert_token_wait_expired(status: &tonic::Status) {
    let details = assert_reason(status, Code::DeadlineExceeded, "DEADLINE_EXCEEDED");
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("waiting_for").map(String::as_str),
        Some("access_token"),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_hung_token_endpoint_ends_at_the_calls_deadline_with_the_gateways_status() {
    common::logs::logs();
    let env = start_with(fast_sandbox(), |c| c.default_deadline = DEFAULT_DEADLINE).await;
    env.wait_serving().await;
    let fetched = env.sandbox.count(Endpoint::AccessToken);
    hang_token_endpoints(&env);

    // A 1 s grpc-timeout from a client with no timer of its own: the status is the
    // server's, sent before tonic's own timer would cancel the call.
    let started = Instant::now();
    let request = pb::CreateTaskRequest::default().encode_to_vec();
    let status = unary_status(
        env.addr,
        CREATE_TASK,
        &request,
        Some("1S"),
        Duration::from_secs(10),
    )
    .await;
    let took = started.elapsed();
    assert_token_wait_expired(&status);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(1500),
        "answered after {took:?}"
    );
    // The call ended in the gateway, so it left its audit line.
    let audited = common::logs::log_text().lines().any(|l| {
        l.contains(" audit: ") && l.contains("CreateTask") && l.contains("DEADLINE_EXCEEDED")
    });
    assert!(audited, "no audit line:\n{}", common::logs::log_text());

    // No deadline: the default one applies, for both APIs.
    let started = Instant::now();
    let status = env
        .transcoding()
        .await
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_token_wait_expired(&status);
    assert!(
        took >= DEFAULT_DEADLINE - Duration::from_millis(100) && took < Duration::from_secs(3),
        "answered after {took:?}"
    );
    let started = Instant::now();
    let status = env
        .live()
        .await
        .list_streams(pb::ListStreamsRequest::default())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_token_wait_expired(&status);
    assert!(took < Duration::from_secs(3), "answered after {took:?}");

    // One token request per API hangs; callers giving up do not start new ones.
    assert_eq!(env.sandbox.count(Endpoint::AccessToken), fetched + 1);
    env.stop().await;
}
