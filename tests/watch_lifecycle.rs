//! End to end: a watch follows a task from creation, before StartEncode, to completion;
//! NOT_FOUND is kept for ids Qencode does not know, with the unary calls' reasons.

mod common;

use common::*;
use qencode_gateway::pb::{self, start_encode_request::QueryKind, TaskState, WatchEventKind};
use std::time::Duration;
use tonic::Code;

fn fast_polling(c: &mut qencode_gateway::Config) {
    c.poll_interval = Duration::from_millis(50);
    c.live_poll_interval = Some(Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn a_watch_opened_before_start_encode_sees_the_start_and_the_completion() {
    let env = start_with(fast_sandbox(), fast_polling).await;
    let mut client = env.transcoding().await;
    let token = client
        .create_task(pb::CreateTaskRequest::default())
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
    let snapshot = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("no snapshot")
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.kind(), WatchEventKind::Snapshot);
    let status = snapshot.status.unwrap();
    assert_eq!(status.state(), TaskState::Created, "{status:?}");
    assert_eq!(status.status, "created");

    client
        .start_encode(pb::StartEncodeRequest {
            task_token: token.clone(),
            query_kind: Some(QueryKind::Query(mp4_query("https://example.com/in.mp4"))),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut states = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("watch stalled")
        .expect("watch failed")
    {
        let state = message.status.unwrap().state();
        if states.last() != Some(&state) {
            states.push(state);
        }
    }
    assert!(
        states.iter().any(|s| *s != TaskState::Completed),
        "saw the run, not only its end: {states:?}"
    );
    assert_eq!(states.last(), Some(&TaskState::Completed), "{states:?}");
    assert!(!states.contains(&TaskState::Unspecified), "{states:?}");
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn watches_of_unknown_ids_share_the_unary_calls_reasons() {
    let env = start_with(fast_sandbox(), fast_polling).await;
    let mut client = env.transcoding().await;
    let unknown = client
        .watch_status(pb::WatchStatusRequest {
            task_token: "0123456789abcdef0123456789abcdef".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap_err();
    let details = assert_reason(&unknown, Code::NotFound, "QENCODE_TOKEN_NOT_FOUND");
    assert_eq!(details.error_info().unwrap().domain, "qencode.com");

    let mut live = env.live().await;
    let stream_id = "00000000-0000-0000-0000-000000000000";
    let watched = live
        .watch_stream(pb::WatchStreamRequest {
            stream_id: stream_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap_err();
    let fetched = live
        .get_stream(pb::GetStreamRequest {
            stream_id: stream_id.into(),
        })
        .await
        .unwrap_err();
    let unary = assert_reason(&fetched, Code::NotFound, "QENCODE_LIVE_NOT_FOUND");
    let streamed = assert_reason(&watched, Code::NotFound, "QENCODE_LIVE_NOT_FOUND");
    assert_eq!(
        streamed.error_info().unwrap().domain,
        unary.error_info().unwrap().domain
    );
    env.stop().await;
}
