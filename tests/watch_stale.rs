//! End to end: during an upstream outage watchers are told, once, that their state is
//! stale (since when, how many failed polls, the last reason), heartbeats say so too,
//! and a fresh SNAPSHOT follows when Qencode answers again. Task and live-stream
//! watches alike, through a real tonic client against the sandbox.

mod common;

use common::*;
use qencode_gateway::{
    domain::watch::STALE_AFTER_FAILED_POLLS,
    pb::{self, UpstreamUnavailable, WatchEventKind},
};
use qencode_sandbox::{Endpoint, Fault, FaultKind, SandboxConfig};
use std::time::{Duration, SystemTime};

/// Bound of every wait (never reached when the gateway behaves).
const PATIENCE: Duration = Duration::from_secs(15);

/// A sandbox whose tasks and streams stay in one state for the whole test.
fn slow_sandbox() -> SandboxConfig {
    SandboxConfig {
        phase_duration: Duration::from_secs(600),
        live_phase_duration: Duration::from_secs(600),
        ..fast_sandbox()
    }
}

/// Every request to `endpoint` fails until the test clears the faults.
fn outage(endpoint: Endpoint) -> Fault {
    Fault {
        endpoint,
        kind: FaultKind::Html { status: 503 },
        times: usize::MAX,
    }
}

fn fast_polls(c: &mut qencode_gateway::Config) {
    c.poll_interval = Duration::from_millis(100);
    c.live_poll_interval = Some(Duration::from_millis(100));
    c.heartbeat_interval = Duration::from_millis(250);
}

/// What a watch message says, whatever the RPC.
trait Message: std::fmt::Debug {
    fn kind(&self) -> WatchEventKind;
    fn stale(&self) -> Option<&UpstreamUnavailable>;
}

impl Message for pb::WatchStatusResponse {
    fn kind(&self) -> WatchEventKind {
        self.kind()
    }
    fn stale(&self) -> Option<&UpstreamUnavailable> {
        self.stale.as_ref()
    }
}

impl Message for pb::WatchStreamResponse {
    fn kind(&self) -> WatchEventKind {
        self.kind()
    }
    fn stale(&self) -> Option<&UpstreamUnavailable> {
        self.stale.as_ref()
    }
}

async fn next<M>(stream: &mut tonic::Streaming<M>) -> M {
    tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("a message in time")
        .expect("the watch failed")
        .expect("the watch ended")
}

/// Drives one watch through an outage: fresh snapshot, one STALE, stale heartbeats, a
/// fresh SNAPSHOT after `recover` runs.
async fn through_an_outage<M: Message>(
    stream: &mut tonic::Streaming<M>,
    start_outage: impl FnOnce(),
    recover: impl FnOnce(),
) {
    let snapshot = next(stream).await;
    assert_eq!(snapshot.kind(), WatchEventKind::Snapshot);
    assert!(snapshot.stale().is_none(), "a fresh snapshot is not stale");
    let began = SystemTime::now();
    start_outage();

    // Heartbeats may come before the outage has lasted three polls; they are unmarked.
    let stale = loop {
        let message = next(stream).await;
        match message.kind() {
            WatchEventKind::Heartbeat => assert!(message.stale().is_none()),
            WatchEventKind::Stale => break message,
            other => panic!("unexpected {other:?} during the outage"),
        }
    };
    let info = stale.stale().expect("the STALE message says why").clone();
    assert_eq!(info.failed_polls, STALE_AFTER_FAILED_POLLS);
    assert!(
        !info.reason.is_empty()
            && info
                .reason
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_'),
        "an ErrorInfo reason, not a message: {:?}",
        info.reason
    );
    assert!(!info.reason.contains(API_KEY));
    let since = SystemTime::try_from(info.since.expect("since")).expect("a valid timestamp");
    assert!(
        since + Duration::from_secs(1) >= began && since <= SystemTime::now(),
        "since is when the failures began"
    );

    // The outage goes on: heartbeats only, each marked stale, the count growing.
    let mut count = info.failed_polls;
    for _ in 0..2 {
        let heartbeat = next(stream).await;
        assert_eq!(
            heartbeat.kind(),
            WatchEventKind::Heartbeat,
            "one STALE per outage"
        );
        let marked = heartbeat
            .stale()
            .expect("heartbeats of a stale state are marked");
        assert!(marked.failed_polls >= count);
        assert_eq!(marked.since, info.since, "the same outage");
        count = marked.failed_polls;
    }
    assert!(
        count > STALE_AFTER_FAILED_POLLS,
        "polling went on during the outage"
    );

    recover();
    let fresh = loop {
        let message = next(stream).await;
        if message.kind() == WatchEventKind::Snapshot {
            break message;
        }
        assert_eq!(message.kind(), WatchEventKind::Heartbeat);
    };
    assert!(fresh.stale().is_none(), "fresh again");
    // Then the watch goes on as before (the sandbox may still move the task on).
    let after = next(stream).await;
    assert!(
        matches!(
            after.kind(),
            WatchEventKind::Heartbeat | WatchEventKind::Change
        ),
        "{after:?}"
    );
    assert!(after.stale().is_none());
}

#[tokio::test]
async fn a_task_watch_is_told_of_an_outage_and_of_its_end() {
    let env = start_with(slow_sandbox(), fast_polls).await;
    let mut client = env.transcoding().await;
    let token = client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::Query(mp4_query(
                "https://example.com/in.mp4",
            ))),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .task_token;
    let mut stream = client
        .watch_status(pb::WatchStatusRequest {
            task_token: token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    through_an_outage(
        &mut stream,
        || {
            env.sandbox.inject(outage(Endpoint::MasterStatus));
            env.sandbox.inject(outage(Endpoint::Status));
        },
        || env.sandbox.clear_faults(),
    )
    .await;
    env.stop().await;
}

#[tokio::test]
async fn a_live_stream_watch_is_told_of_an_outage_and_of_its_end() {
    let env = start_with(slow_sandbox(), fast_polls).await;
    let mut client = env.live().await;
    let id = client
        .create_stream(pb::CreateStreamRequest {
            params: Some(pb::StreamParams {
                name: Some("stale".into()),
                ..Default::default()
            }),
            extra_json: None,
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap()
        .id;
    let mut stream = client
        .watch_stream(pb::WatchStreamRequest { stream_id: id })
        .await
        .unwrap()
        .into_inner();
    through_an_outage(
        &mut stream,
        || env.sandbox.inject(outage(Endpoint::LiveGet)),
        || env.sandbox.clear_faults(),
    )
    .await;
    env.stop().await;
}
