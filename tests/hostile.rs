//! Hostile clients over raw HTTP/2 (the `h2` crate, so a test can do what tonic never
//! does): streams that send HEADERS and never the message, oversize and malformed
//! messages. Each must cost the gateway a bounded amount and never lock others out.

mod common;

use common::{
    raw_h2::{connect as raw_connection, grpc_frame, headers_only},
    *,
};
use qencode_gateway::pb;
use std::time::Duration;
use tonic::Code;

const CREATE_TASK: &str = "/qencode.gateway.v1.Transcoding/CreateTask";
/// Bound of every wait on the gateway (never reached when it behaves).
const PATIENCE: Duration = Duration::from_secs(20);

/// The gRPC status of a response: its headers (trailers-only) or its trailers.
async fn grpc_status(response: h2::client::ResponseFuture) -> i32 {
    let response = tokio::time::timeout(PATIENCE, response)
        .await
        .expect("a response in time")
        .expect("response");
    let code = |headers: &http::HeaderMap| {
        headers
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i32>().ok())
    };
    if let Some(code) = code(response.headers()) {
        return code;
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let _ = chunk.expect("body");
    }
    let trailers = body.trailers().await.expect("trailers").expect("trailers");
    code(&trailers).expect("grpc-status in trailers")
}

#[tokio::test(start_paused = true)]
async fn streams_that_never_send_their_message_hold_no_unary_slot() {
    let env = start_with(fast_sandbox(), |c| c.max_concurrent_calls = 4).await;
    env.wait_serving().await;
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut client = raw_connection(env.addr).await;
        for _ in 0..6 {
            stalled.push(headers_only(&mut client, env.addr, CREATE_TASK, None).await);
        }
        // A probe behind them on the same connection: once its answer is back, the
        // gateway has seen (and dispatched) every stalled stream sent before it. Its
        // own wait for the message ends at its grpc-timeout.
        let (probe, body) = headers_only(&mut client, env.addr, CREATE_TASK, Some("200m")).await;
        assert_eq!(grpc_status(probe).await, Code::DeadlineExceeded as i32);
        drop(body);
    }
    let created = env
        .transcoding()
        .await
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("a normal call succeeds beside 12 stalled streams and 4 slots");
    assert!(!created.into_inner().task_token.is_empty());
    drop(stalled);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn waiting_for_the_message_is_bounded_by_the_default_deadline() {
    let env = start_with(fast_sandbox(), |c| {
        c.default_deadline = Duration::from_millis(200)
    })
    .await;
    env.wait_serving().await;
    let mut client = raw_connection(env.addr).await;
    let (response, _body) = headers_only(&mut client, env.addr, CREATE_TASK, None).await;
    assert_eq!(grpc_status(response).await, Code::DeadlineExceeded as i32);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_oversize_unary_request_is_resource_exhausted_before_a_slot() {
    let env = start_with(fast_sandbox(), |c| c.max_message_size = 1024).await;
    env.wait_serving().await;
    let mut client = raw_connection(env.addr).await;
    let (response, mut body) = headers_only(&mut client, env.addr, CREATE_TASK, None).await;
    body.send_data(grpc_frame(&[0u8; 2048]), true)
        .expect("send body");
    assert_eq!(grpc_status(response).await, Code::ResourceExhausted as i32);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_malformed_message_is_invalid_argument() {
    let env = start().await;
    env.wait_serving().await;
    let mut client = raw_connection(env.addr).await;
    let (response, mut body) = headers_only(&mut client, env.addr, CREATE_TASK, None).await;
    // Field 1, wire type 7: no such wire type.
    body.send_data(grpc_frame(&[0x0f, 0xff, 0xff]), true)
        .expect("send body");
    assert_eq!(grpc_status(response).await, Code::InvalidArgument as i32);
    env.stop().await;
}

fn start_with_query_json(task_token: &str, query_json: String) -> pb::StartEncodeRequest {
    pb::StartEncodeRequest {
        task_token: task_token.into(),
        query_kind: Some(pb::start_encode_request::QueryKind::QueryJson(query_json)),
        payload: None,
        ..Default::default()
    }
}

// Real clock: a megabyte over loopback can wait on the kernel (delayed ACKs), and a
// paused clock would jump ahead meanwhile.
#[tokio::test]
async fn query_json_over_its_limit_is_invalid_argument_before_any_upstream_request() {
    use qencode_sandbox::Endpoint;
    let env = start().await;
    env.wait_serving().await;
    let mut client = env.transcoding().await;
    let token = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create")
        .into_inner()
        .task_token;
    let before = env.sandbox.count(Endpoint::Any);
    let padding = "x".repeat(1 << 20);
    let query = format!(
        r#"{{"source":"https://a/b.mp4","format":[{{"output":"mp4","pad":"{padding}"}}]}}"#
    );
    let status = client
        .start_encode(start_with_query_json(&token, query))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_error_details(&status);
    let violation = &details.bad_request().expect("BadRequest").field_violations[0];
    assert_eq!(violation.field, "query_json");
    assert!(violation.description.contains("1048576"), "{violation:?}");
    assert_eq!(
        env.sandbox.count(Endpoint::Any),
        before,
        "nothing sent upstream"
    );
    env.stop().await;
}

// Real clock: a megabyte over loopback can wait on the kernel (delayed ACKs), and a
// paused clock would jump ahead meanwhile.
#[tokio::test]
async fn an_upstream_413_is_invalid_argument() {
    let env = start().await;
    env.wait_serving().await;
    let mut client = env.transcoding().await;
    let token = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create")
        .into_inner()
        .task_token;
    // Under the gateway's 1 MiB, but each '%' is 3 bytes form-encoded: over the
    // sandbox's 2 MB request limit, which answers 413.
    let padding = "%".repeat(900 << 10);
    let query = format!(
        r#"{{"source":"https://a/b.mp4","format":[{{"output":"mp4","pad":"{padding}"}}]}}"#
    );
    let status = client
        .start_encode(start_with_query_json(&token, query))
        .await
        .expect_err("refused upstream");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = tonic_types::StatusExt::get_error_details(&status);
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "UPSTREAM_REQUEST_TOO_LARGE");
    assert_eq!(
        info.metadata.get("http_status").map(String::as_str),
        Some("413")
    );
    env.stop().await;
}

/// 600,000 empty formats are 1.2 MB on the wire and ~1.6 GB once decoded: refused
/// before prost builds them (RESOURCE_EXHAUSTED), with nothing sent upstream, and the
/// gateway keeps answering.
// Real clock: a megabyte over loopback can wait on the kernel (delayed ACKs), and a
// paused clock would jump ahead meanwhile.
#[tokio::test]
async fn a_request_that_would_decode_to_gigabytes_is_refused_before_decoding() {
    use qencode_sandbox::Endpoint;
    let env = start().await;
    env.wait_serving().await;
    let mut client = env.transcoding().await;
    let before = env.sandbox.count(Endpoint::Any);
    let request = pb::StartEncodeRequest {
        task_token: "a".repeat(32),
        query_kind: Some(pb::start_encode_request::QueryKind::Query(
            pb::TranscodingQuery {
                source: Some("https://example.com/a.mp4".into()),
                format: vec![pb::Format::default(); 600_000],
                ..Default::default()
            },
        )),
        payload: None,
        ..Default::default()
    };
    let status = client.start_encode(request).await.expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let details = tonic_types::StatusExt::get_error_details(&status);
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "REQUEST_TOO_LARGE_DECODED");
    assert_eq!(
        env.sandbox.count(Endpoint::Any),
        before,
        "nothing sent upstream"
    );
    client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("the gateway still answers");
    env.stop().await;
}
