//! Upstream errors blame the party that can fix them: the caller's own mistakes are
//! INVALID_ARGUMENT naming the caller's field; the gateway's credentials and the fields
//! it fills in are never the caller's (no UNAUTHENTICATED, no BadRequest on them); a
//! state conflict is FAILED_PRECONDITION; and "busy" (8), which created nothing, is
//! sent again within the caller's deadline.

mod common;

use common::*;
use qencode_gateway::pb::{self, start_encode_request::QueryKind};
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;
use tokio::time::Instant;
use tonic::{Code, Request};

async fn task_token(
    client: &mut pb::transcoding_client::TranscodingClient<tonic::transport::Channel>,
) -> String {
    client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create")
        .into_inner()
        .task_token
}

#[tokio::test]
async fn a_query_qencode_refuses_is_the_callers_mistake() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let token = task_token(&mut client).await;
    // Passes the gateway's shape check for raw JSON; the sandbox refuses the output.
    let query = r#"{"query": {"source": "https://a/b.mp4", "format": [{"output": "avi"}]}}"#;
    let status = client
        .start_encode(pb::StartEncodeRequest {
            task_token: token,
            query_kind: Some(QueryKind::QueryJson(query.into())),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::InvalidArgument, "QENCODE_FIELD_REQUIRED");
    assert_eq!(bad_fields(&status), ["query"]);
    assert!(status.message().contains("avi"), "{}", status.message());
    env.stop().await;
}

#[tokio::test]
async fn a_field_the_gateway_fills_in_is_not_blamed_on_the_caller() {
    let env = start().await;
    let mut client = env.transcoding().await;
    env.sandbox.inject(Fault::once(
        Endpoint::CreateTask,
        FaultKind::Error {
            code: 14,
            message: "Value for field 'token' is required in request.".into(),
        },
    ));
    let status = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    let details = assert_reason(&status, Code::Internal, "QENCODE_FIELD_REQUIRED");
    assert!(details.bad_request().is_none(), "{status:?}");
    assert_eq!(details.error_info().unwrap().metadata["field"], "token");
    env.stop().await;
}

#[tokio::test]
async fn busy_is_sent_again_within_the_deadline() {
    let env = start().await;
    env.wait_serving().await;
    let mut client = env.transcoding().await;
    let busy = |secs: u64, times: usize, endpoint: Endpoint| Fault {
        endpoint,
        kind: FaultKind::Busy {
            retry_after_secs: secs,
        },
        times,
    };

    // Busy once: sent again after the delay the answer names, and the call succeeds.
    env.sandbox.inject(busy(1, 1, Endpoint::CreateTask));
    let started = Instant::now();
    let token = task_token(&mut client).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 2);

    // Busy for good: three sends, then UNAVAILABLE with the delay as RetryInfo.
    env.sandbox.inject(busy(1, 10, Endpoint::StartEncode));
    let status = client
        .start_encode(pb::StartEncodeRequest {
            task_token: token,
            query_kind: Some(QueryKind::Query(mp4_query("https://a/b.mp4"))),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let details = assert_reason(&status, Code::Unavailable, "QENCODE_SYSTEM_BUSY");
    assert_eq!(
        details.retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(1))
    );
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 3);
    env.sandbox.clear_faults();

    // A wait the deadline has no room for is the caller's: answered at once.
    env.sandbox.inject(busy(5, 1, Endpoint::CreateTask));
    let mut request = Request::new(pb::CreateTaskRequest::default());
    request.set_timeout(Duration::from_secs(3));
    let started = Instant::now();
    let status = client.create_task(request).await.unwrap_err();
    assert_reason(&status, Code::Unavailable, "QENCODE_SYSTEM_BUSY");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 3);
    env.stop().await;
}

#[tokio::test]
async fn live_errors_blame_the_right_party() {
    let env = start().await;
    let mut client = env.live().await;
    let id = client
        .create_stream(pb::CreateStreamRequest::default())
        .await
        .expect("create")
        .into_inner()
        .stream
        .expect("stream")
        .id;
    let http = |endpoint: Endpoint, status: u16, message: &str, times: usize| Fault {
        endpoint,
        kind: FaultKind::HttpStatus {
            status,
            message: message.into(),
            retry_after_secs: None,
        },
        times,
    };

    // A 400 on DELETE that does not say "stopped" is not called "not stopped".
    env.sandbox
        .inject(http(Endpoint::LiveDelete, 400, "malformed request", 1));
    let status = client
        .delete_stream(pb::DeleteStreamRequest {
            stream_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::InvalidArgument, "QENCODE_LIVE_BAD_REQUEST");
    assert!(bad_fields(&status).is_empty(), "DELETE sends no params");

    // AddPlaybackId has no params to blame.
    env.sandbox
        .inject(http(Endpoint::LivePlaybackAdd, 400, "policy refused", 1));
    let status = client
        .add_playback_id(pb::AddPlaybackIdRequest {
            stream_id: id.clone(),
            policy: "public".into(),
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::InvalidArgument, "QENCODE_LIVE_BAD_REQUEST");
    assert!(bad_fields(&status).is_empty(), "{status:?}");

    // A token refused even after a refresh is the gateway's credential.
    env.sandbox
        .inject(http(Endpoint::LiveGet, 401, "token expired", 2));
    let status = client
        .get_stream(pb::GetStreamRequest {
            stream_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "UPSTREAM_TOKEN_REJECTED");
    env.stop().await;
}
