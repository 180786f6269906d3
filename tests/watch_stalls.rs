//! End to end: one stalled upstream status request delays only the tasks it carries,
//! by less than an interval; the other tasks' watchers keep getting updates.

mod common;

use common::*;
use qencode_gateway::pb::{self, TaskState};
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_stalled_batch_does_not_freeze_the_other_watchers() {
    let env = start_with(fast_sandbox(), |c| {
        c.poll_interval = Duration::from_millis(200);
        // One task per request, so each task is its own batch.
        c.status_batch_size = 1;
    })
    .await;
    let mut client = env.transcoding().await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
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
        tokens.push(token);
    }
    let mut watches = Vec::new();
    for token in &tokens {
        let mut watcher = pb::transcoding_client::TranscodingClient::new(env.channel().await);
        let mut stream = watcher
            .watch_status(pb::WatchStatusRequest {
                task_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        // The snapshot first, so every task has a state before the stall.
        tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("no snapshot")
            .unwrap()
            .unwrap();
        watches.push(stream);
    }
    // The next status requests hang for far longer than the whole run should take.
    env.sandbox.inject(Fault {
        endpoint: Endpoint::MasterStatus,
        kind: FaultKind::Delay(Duration::from_secs(60)),
        times: 2,
    });
    // Every watcher still reaches completion: a stalled request costs its task one
    // poll (the poller bounds each request below an interval) and nobody else waits.
    for mut stream in watches {
        let mut last = None;
        while let Some(message) = tokio::time::timeout(Duration::from_secs(15), stream.message())
            .await
            .expect("a watcher froze behind a stalled status request")
            .expect("watch failed")
        {
            last = message.status;
        }
        assert_eq!(last.map(|s| s.state()), Some(TaskState::Completed));
    }
    env.stop().await;
}
