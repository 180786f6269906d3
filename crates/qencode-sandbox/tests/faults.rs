//! Fault injection over real HTTP: each fault kind's answer, ordering and
//! consumption per endpoint, and how faulted requests are recorded.

mod common;

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use common::{header, spawn_default, KEY};
use qencode_sandbox::{Endpoint, Fault, FaultKind};

#[tokio::test]
async fn busy_answers_error_8_with_retry_after() {
    let sb = spawn_default().await;
    sb.handle.inject(Fault::once(
        Endpoint::AccessToken,
        FaultKind::Busy {
            retry_after_secs: 7,
        },
    ));
    let response = sb.post_form("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "retry-after"), "7");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], 8, "{body}");
    assert_eq!(body["retry_after"], 7);
    assert!(body["message"].is_string());
    // Used up: the retry succeeds.
    let body = sb.call("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(body["error"], 0, "{body}");
}

#[tokio::test]
async fn error_fault_answers_the_given_code() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    sb.handle.inject(Fault::once(
        Endpoint::Status,
        FaultKind::Error {
            code: 6,
            message: "Service is suspended.".into(),
        },
    ));
    let body = sb.call("/v1/status", &[("task_tokens", &task)]).await;
    assert_eq!(body["error"], 6, "{body}");
    assert_eq!(body["message"], "Service is suspended.");
    let body = sb.call("/v1/status", &[("task_tokens", &task)]).await;
    assert_eq!(body["error"], 0, "{body}");
}

#[tokio::test]
async fn html_fault_answers_an_nginx_page() {
    let sb = spawn_default().await;
    sb.handle.inject(Fault::once(
        Endpoint::CreateTask,
        FaultKind::Html { status: 502 },
    ));
    let token = sb.token().await;
    let response = sb.post_form("/v1/create_task", &[("token", &token)]).await;
    assert_eq!(response.status(), 502);
    assert!(header(&response, "content-type").starts_with("text/html"));
    let body = response.text().await.expect("body");
    assert!(body.contains("<title>502 Bad Gateway</title>"), "{body}");
    assert!(body.contains("nginx"), "{body}");
}

#[tokio::test]
async fn malformed_json_fault_truncates_the_body() {
    let sb = spawn_default().await;
    sb.handle
        .inject(Fault::once(Endpoint::AccessToken, FaultKind::MalformedJson));
    let response = sb.post_form("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("application/json"));
    let text = response.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with('{'), "{text}");
}

#[tokio::test(start_paused = true)]
async fn delay_fault_waits_then_answers_normally() {
    let sb = spawn_default().await;
    sb.handle.inject(Fault::once(
        Endpoint::AccessToken,
        FaultKind::Delay(Duration::from_secs(30)),
    ));
    let before = Instant::now();
    let body = sb.call("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(body["error"], 0, "{body}");
    assert!(
        before.elapsed() >= Duration::from_secs(30),
        "{:?}",
        before.elapsed()
    );
    let before = Instant::now();
    sb.token().await;
    assert!(
        before.elapsed() < Duration::from_secs(30),
        "second call not delayed"
    );
}

#[tokio::test]
async fn faults_are_consumed_in_order_per_endpoint() {
    let sb = spawn_default().await;
    let error = |code| FaultKind::Error {
        code,
        message: format!("fault {code}"),
    };
    sb.handle.inject(Fault {
        endpoint: Endpoint::AccessToken,
        kind: error(10),
        times: 2,
    });
    sb.handle.inject(Fault::once(Endpoint::Status, error(11)));
    sb.handle
        .inject(Fault::once(Endpoint::AccessToken, error(12)));
    sb.handle.inject(Fault::once(Endpoint::Any, error(13)));

    let mut codes = Vec::new();
    for _ in 0..5 {
        let body = sb.call("/v1/access_token", &[("api_key", KEY)]).await;
        codes.push(body["error"].as_i64().unwrap_or(-1));
    }
    // The Status fault is skipped; Any hits the next access_token request.
    assert_eq!(codes, [10, 10, 12, 13, 0]);
    let body = sb.call("/v1/status", &[("task_tokens", "")]).await;
    assert_eq!(body["error"], 11, "{body}");
    assert_eq!(body["message"], "fault 11");
}

#[tokio::test]
async fn faulted_requests_are_recorded_and_counted() {
    let sb = spawn_default().await;
    let busy = FaultKind::Busy {
        retry_after_secs: 1,
    };
    sb.handle
        .inject(Fault::once(Endpoint::AccessToken, busy.clone()));
    sb.post_form("/v1/access_token", &[("api_key", KEY)]).await;
    sb.token().await;
    let requests = sb.handle.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].fault, Some(busy));
    assert_eq!(requests[1].fault, None);
    assert_eq!(sb.handle.count(Endpoint::AccessToken), 2);
}

#[tokio::test]
async fn zero_times_faults_are_ignored() {
    let sb = spawn_default().await;
    sb.handle.inject(Fault {
        endpoint: Endpoint::Any,
        kind: FaultKind::MalformedJson,
        times: 0,
    });
    let body = sb.call("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(body["error"], 0, "{body}");
}
