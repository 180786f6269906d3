//! Live stream callbacks over real HTTP, on tokio's paused clock: every status
//! change of a stream with a `callback_url` (start → starting, waiting,
//! launching, live; stop → stopping, stopped; delete → deleted) is POSTed there
//! as JSON, the same `{"stream": ...}` body GET answers.

mod common;

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::time::advance;

use common::receiver::{until, Receiver};
use common::{spawn, str_of, TestSandbox};
use qencode_sandbox::{CallbackKind, Endpoint, SandboxConfig};

const PHASE: Duration = Duration::from_secs(10);

async fn sandbox(callbacks: bool) -> (TestSandbox, String) {
    let sb = spawn(SandboxConfig {
        live_phase_duration: PHASE,
        callbacks,
        ..SandboxConfig::default()
    })
    .await;
    let token = sb.live_token().await;
    (sb, token)
}

async fn act(sb: &TestSandbox, token: &str, id: &str, action: &str) {
    let (status, body) = sb
        .live(
            Method::POST,
            &format!("/v1/live-streams/{id}/{action}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{action}: {body}");
}

/// The next callback's stream object, checking it is JSON about `id`.
async fn next_stream(receiver: &mut Receiver, id: &str) -> Value {
    let received = receiver.next().await;
    assert_eq!(received.content_type, "application/json");
    let stream = received.json()["stream"].clone();
    assert_eq!(stream["id"], id, "{stream}");
    stream
}

#[tokio::test(start_paused = true)]
async fn every_status_change_is_posted_as_the_stream_object() {
    let (sb, token) = sandbox(true).await;
    let mut receiver = Receiver::start(0).await;
    let stream = sb
        .live_create(&token, Some(&json!({"callback_url": receiver.url})))
        .await;
    let id = str_of(&stream["id"]);

    act(&sb, &token, &id, "start").await;
    let mut names = vec![str_of(
        &next_stream(&mut receiver, &id).await["status"]["name"],
    )];
    for _ in 0..3 {
        advance(PHASE).await;
        names.push(str_of(
            &next_stream(&mut receiver, &id).await["status"]["name"],
        ));
    }
    assert_eq!(names, ["starting", "waiting", "launching", "live"]);

    // Once live, the callback body is what GET answers.
    let live = sb.live_get(&token, &id).await;
    until("the live attempt logged", || {
        sb.handle.callbacks().len() == 4
    })
    .await;
    let body: Value = serde_json::from_str(&sb.handle.callbacks()[3].body).expect("JSON");
    assert_eq!(body["stream"], live);

    act(&sb, &token, &id, "stop").await;
    assert_eq!(
        next_stream(&mut receiver, &id).await["status"]["name"],
        "stopping"
    );
    advance(PHASE).await;
    assert_eq!(
        next_stream(&mut receiver, &id).await["status"]["name"],
        "stopped"
    );

    let (status, _) = sb
        .live(
            Method::DELETE,
            &format!("/v1/live-streams/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        next_stream(&mut receiver, &id).await["status"]["name"],
        "deleted"
    );

    until("seven logged attempts", || sb.handle.callbacks().len() == 7).await;
    let attempts = sb.handle.callbacks();
    let events: Vec<_> = attempts.iter().map(|a| a.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "starting",
            "waiting",
            "launching",
            "live",
            "stopping",
            "stopped",
            "deleted"
        ]
    );
    assert!(attempts
        .iter()
        .all(|a| a.kind == CallbackKind::LiveStream && a.subject == id));
    assert_eq!(sb.handle.count(Endpoint::Callback), 7);
}

#[tokio::test(start_paused = true)]
async fn a_stop_before_live_cuts_the_start_changes_short() {
    let (sb, token) = sandbox(true).await;
    let mut receiver = Receiver::start(0).await;
    let stream = sb
        .live_create(&token, Some(&json!({"callback_url": receiver.url})))
        .await;
    let id = str_of(&stream["id"]);
    act(&sb, &token, &id, "start").await;
    assert_eq!(
        next_stream(&mut receiver, &id).await["status"]["name"],
        "starting"
    );
    act(&sb, &token, &id, "stop").await;
    assert_eq!(
        next_stream(&mut receiver, &id).await["status"]["name"],
        "stopping"
    );
    advance(PHASE).await;
    assert_eq!(
        next_stream(&mut receiver, &id).await["status"]["name"],
        "stopped"
    );
    // Nothing of the superseded start follows.
    advance(PHASE * 5).await;
    assert!(receiver.try_next().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_callback_url_set_while_starting_gets_the_remaining_changes() {
    let (sb, token) = sandbox(true).await;
    let mut receiver = Receiver::start(1).await;
    let id = str_of(&sb.live_create(&token, None).await["id"]);
    act(&sb, &token, &id, "start").await;
    let (status, body) = sb
        .live(
            Method::PUT,
            &format!("/v1/live-streams/{id}"),
            Some(&token),
            Some(&json!({"callback_url": receiver.url})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    advance(PHASE).await;
    // The first attempt is refused (500) and retried after a second.
    let first = receiver.next().await;
    assert_eq!(first.answered, 500);
    let retried = receiver.next().await;
    assert_eq!(retried.answered, 200);
    assert_eq!(retried.json()["stream"]["status"]["name"], "waiting");
}

#[tokio::test(start_paused = true)]
async fn live_callbacks_can_be_turned_off() {
    let (sb, token) = sandbox(false).await;
    let mut receiver = Receiver::start(0).await;
    let stream = sb
        .live_create(&token, Some(&json!({"callback_url": receiver.url})))
        .await;
    let id = str_of(&stream["id"]);
    act(&sb, &token, &id, "start").await;
    advance(PHASE * 4).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(30), receiver.next_raw())
            .await
            .is_err()
    );
    assert!(sb.handle.callbacks().is_empty());
}
