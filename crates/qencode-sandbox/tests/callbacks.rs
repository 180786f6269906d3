//! Task callbacks over real HTTP, on tokio's paused clock: `queued` right after
//! the start, `saved` at completion or `error` for a failing source, with the
//! documented form fields; retries with backoff, each attempt logged; and the
//! off switch.

mod common;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::advance;

use common::receiver::{until, Receiver};
use common::{spawn, str_of, TestSandbox};
use qencode_sandbox::{CallbackKind, CallbackOutcome, Endpoint, SandboxConfig};

const PHASE: Duration = Duration::from_secs(10);

async fn sandbox(callbacks: bool) -> TestSandbox {
    spawn(SandboxConfig {
        phase_duration: PHASE,
        callbacks,
        ..SandboxConfig::default()
    })
    .await
}

/// Starts a task for `source` calling back to `url`, with a payload.
async fn start(sb: &TestSandbox, source: &str, url: &str) -> String {
    let task = sb.task().await;
    let query = json!({"query": {"source": source, "callback_url": url,
        "format": [{"output": "mp4", "tag": "720p"}]}})
    .to_string();
    let body = sb
        .call(
            "/v1/start_encode2",
            &[
                ("task_token", &task),
                ("query", &query),
                ("payload", "{\"id\": 7}"),
            ],
        )
        .await;
    assert_eq!(body["error"], 0, "{body}");
    task
}

fn status_of(fields: &std::collections::HashMap<String, String>) -> Value {
    serde_json::from_str(&fields["status"]).expect("status is JSON")
}

#[tokio::test(start_paused = true)]
async fn queued_then_saved_with_the_documented_fields() {
    let sb = sandbox(true).await;
    let mut receiver = Receiver::start(0).await;
    let task = start(&sb, "https://example.com/bbb.mp4", &receiver.url).await;
    let requests_before = sb.handle.count(Endpoint::Any);

    let queued = receiver.next().await;
    assert_eq!(queued.path, "/hook");
    assert_eq!(queued.content_type, "application/x-www-form-urlencoded");
    let fields = queued.form();
    assert_eq!(fields["callback_type"], "task");
    assert_eq!(fields["task_token"], task);
    assert_eq!(fields["event"], "queued");
    assert_eq!(fields["payload"], "{\"id\": 7}");
    let status = status_of(&fields);
    assert_eq!(status["status"], "downloading", "{status}");
    assert_eq!(status["error"], 0);

    advance(PHASE * 4).await;
    let saved = receiver.next().await;
    let fields = saved.form();
    assert_eq!(fields["event"], "saved");
    assert_eq!(fields["task_token"], task);
    let status = status_of(&fields);
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["percent"], 100.0);
    // The same status object the task's status URL answers once it is done.
    assert_eq!(status, sb.master_status(&task).await);
    assert!(status["videos"][0]["url"].is_string(), "{status}");

    until("two logged attempts", || sb.handle.callbacks().len() == 2).await;
    let attempts = sb.handle.callbacks();
    let events: Vec<_> = attempts.iter().map(|a| a.event.as_str()).collect();
    assert_eq!(events, ["queued", "saved"]);
    assert!(attempts.iter().all(|a| a.kind == CallbackKind::Task
        && a.subject == task
        && a.attempt == 1
        && a.outcome == CallbackOutcome::Delivered { status: 200 }));
    assert_eq!(sb.handle.count(Endpoint::Callback), 2);
    // Callbacks are logged but not counted as requests the client made; the
    // status calls above are.
    assert_eq!(sb.handle.count(Endpoint::Any), requests_before + 2);
    let logged: Vec<_> = sb
        .handle
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Callback)
        .map(|r| r.path)
        .collect();
    assert_eq!(logged, ["/hook", "/hook"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_source_calls_back_queued_then_error() {
    let sb = sandbox(true).await;
    let mut receiver = Receiver::start(0).await;
    let task = start(&sb, "https://example.com/fail.mp4", &receiver.url).await;
    assert_eq!(receiver.next().await.form()["event"], "queued");
    advance(PHASE).await;
    let fields = receiver.next().await.form();
    assert_eq!(fields["event"], "error");
    assert_eq!(fields["task_token"], task);
    let status = status_of(&fields);
    assert_eq!(status["status"], "error", "{status}");
    assert_eq!(status["error"], 1);
    assert!(status["error_description"].is_string());
    // No `saved` follows an error.
    advance(PHASE * 10).await;
    assert!(receiver.try_next().is_none());
}

#[tokio::test(start_paused = true)]
async fn rejected_callbacks_are_retried_with_backoff_and_logged() {
    let sb = sandbox(true).await;
    let mut receiver = Receiver::start(2).await;
    start(&sb, "https://example.com/bbb.mp4", &receiver.url).await;
    let answered: Vec<u16> = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ]
    .iter()
    .map(|r| {
        assert_eq!(r.form()["event"], "queued");
        r.answered
    })
    .collect();
    assert_eq!(answered, [500, 500, 200]);

    until("three logged attempts", || sb.handle.callbacks().len() == 3).await;
    let attempts = sb.handle.callbacks();
    let outcomes: Vec<_> = attempts
        .iter()
        .map(|a| (a.attempt, a.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, CallbackOutcome::Rejected { status: 500 }),
            (2, CallbackOutcome::Rejected { status: 500 }),
            (3, CallbackOutcome::Delivered { status: 200 }),
        ]
    );
    // Backoff doubles: 1 s, then 2 s.
    assert!(attempts[1].at - attempts[0].at >= Duration::from_secs(1));
    assert!(attempts[2].at - attempts[1].at >= Duration::from_secs(2));
    assert_eq!(sb.handle.count(Endpoint::Callback), 3);
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_receiver_is_given_up_on_after_four_attempts() {
    let sb = sandbox(true).await;
    // A port nothing listens on: bind one, then free it.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    let task = start(&sb, "https://example.com/bbb.mp4", &url).await;
    until("the queued attempts used up", || {
        sb.handle.callbacks().len() >= 4
    })
    .await;
    let attempts = sb.handle.callbacks();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    assert!(attempts
        .iter()
        .all(|a| a.event == "queued" && matches!(a.outcome, CallbackOutcome::Failed { .. })));
    // The task itself is unaffected.
    assert_eq!(sb.status(&task).await["error"], 0);
}

#[tokio::test(start_paused = true)]
async fn callbacks_can_be_turned_off() {
    let sb = sandbox(false).await;
    let mut receiver = Receiver::start(0).await;
    let task = start(&sb, "https://example.com/bbb.mp4", &receiver.url).await;
    advance(PHASE * 5).await;
    assert_eq!(str_of(&sb.status(&task).await["status"]), "completed");
    assert!(
        tokio::time::timeout(Duration::from_secs(30), receiver.next_raw())
            .await
            .is_err(),
        "a callback arrived although callbacks are off"
    );
    assert!(sb.handle.callbacks().is_empty());
    assert_eq!(sb.handle.count(Endpoint::Callback), 0);
}

#[tokio::test(start_paused = true)]
async fn a_callback_url_must_be_http() {
    let sb = sandbox(true).await;
    let task = sb.task().await;
    let query = json!({"query": {"source": "https://example.com/v.mp4",
        "callback_url": "mailto:x@example.com", "format": [{"output": "mp4"}]}})
    .to_string();
    let body = sb
        .call(
            "/v1/start_encode2",
            &[("task_token", &task), ("query", &query)],
        )
        .await;
    assert_eq!(body["error"], 14, "{body}");
    assert_eq!(body["field"], "query", "{body}");
    assert_eq!(
        body["message"],
        "query: callback_url must be an http(s) URL"
    );
}
