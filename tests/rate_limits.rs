//! HTTP 429 from either API becomes UNAVAILABLE with RetryInfo taken from `Retry-After`,
//! in either form HTTP allows: delay seconds or an HTTP-date.

mod common;

use common::*;
use qencode_gateway::pb;
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;
use tonic::Code;

fn too_many(endpoint: Endpoint, retry_after: &str) -> Fault {
    Fault::once(
        endpoint,
        FaultKind::TooManyRequests {
            retry_after: retry_after.into(),
        },
    )
}

/// An HTTP-date `secs` from now.
fn in_seconds(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn retry_delay(status: &tonic::Status, reason: &str) -> Duration {
    let details = assert_reason(status, Code::Unavailable, reason);
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(info.metadata["http_status"], "429", "{status:?}");
    details
        .retry_info()
        .and_then(|r| r.retry_delay)
        .unwrap_or_else(|| panic!("no RetryInfo in {status:?}"))
}

#[tokio::test]
async fn transcoding_429_carries_retry_info_from_retry_after() {
    let env = start().await;
    let mut client = env.transcoding().await;
    env.sandbox.inject(too_many(Endpoint::CreateTask, "7"));
    let status = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        retry_delay(&status, "QENCODE_RATE_LIMITED"),
        Duration::from_secs(7)
    );

    let token = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create")
        .into_inner()
        .task_token;
    env.sandbox
        .inject(too_many(Endpoint::Status, &in_seconds(30)));
    let status = client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![token],
        })
        .await
        .unwrap_err();
    let delay = retry_delay(&status, "QENCODE_RATE_LIMITED");
    assert!(
        delay >= Duration::from_secs(28) && delay <= Duration::from_secs(30),
        "{delay:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn live_429_reads_an_http_date_too() {
    let env = start().await;
    let mut client = env.live().await;
    env.sandbox
        .inject(too_many(Endpoint::LiveList, &in_seconds(20)));
    let status = client
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap_err();
    let delay = retry_delay(&status, "QENCODE_LIVE_RATE_LIMITED");
    assert!(
        delay >= Duration::from_secs(18) && delay <= Duration::from_secs(20),
        "{delay:?}"
    );
    env.stop().await;
}
