//! End to end: WatchStatus and WatchStream through the real gateway and sandbox.

mod common;

use common::*;
use qencode_gateway::pb::{self, TaskState, WatchEventKind};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::time::Duration;
use tonic::{transport::Channel, Code, Streaming};

fn fast_polling(c: &mut qencode_gateway::Config) {
    c.poll_interval = Duration::from_millis(50);
    c.live_poll_interval = Some(Duration::from_millis(50));
}

async fn transcode(env: &Env) -> String {
    transcoded_task(&mut env.transcoding().await).await
}

async fn watch(channel: Channel, token: &str) -> Streaming<pb::WatchStatusResponse> {
    let mut client = pb::transcoding_client::TranscodingClient::new(channel);
    client
        .watch_status(pb::WatchStatusRequest {
            task_token: token.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Reads a task watch to its end; returns every message.
async fn drain(mut stream: Streaming<pb::WatchStatusResponse>) -> Vec<pb::WatchStatusResponse> {
    let mut seen = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("watch stalled")
        .expect("watch failed")
    {
        seen.push(message);
    }
    seen
}

fn status_requests(env: &Env) -> usize {
    env.sandbox.count(Endpoint::Status) + env.sandbox.count(Endpoint::MasterStatus)
}

#[tokio::test(start_paused = true)]
async fn three_watchers_see_the_snapshot_rising_percents_and_completion() {
    let sandbox = SandboxConfig {
        phase_duration: Duration::from_millis(400),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, fast_polling).await;
    let token = transcode(&env).await;
    let channel = env.channel().await;
    let watchers = futures::future::join_all((0..3).map(|_| {
        let channel = channel.clone();
        let token = token.clone();
        tokio::spawn(async move { drain(watch(channel, &token).await).await })
    }))
    .await;
    for seen in watchers {
        let seen = seen.unwrap();
        assert_eq!(seen[0].kind(), WatchEventKind::Snapshot);
        assert!(
            seen[1..].iter().all(|m| m.kind() == WatchEventKind::Change),
            "no heartbeats at 15 s"
        );
        let last = seen.last().unwrap().status.as_ref().unwrap();
        assert_eq!(last.state(), TaskState::Completed);
        let percents: Vec<f64> = seen
            .iter()
            .filter_map(|m| m.status.as_ref().unwrap().percent)
            .collect();
        assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
        // Percents rise through the encoding phase: 0 first, 100 at the end, and values
        // strictly between seen on the way.
        assert_eq!(percents.first(), Some(&0.0), "{percents:?}");
        assert_eq!(percents.last(), Some(&100.0), "{percents:?}");
        assert!(
            percents.iter().any(|p| *p > 0.0 && *p < 100.0),
            "no intermediate percent: {percents:?}"
        );
        // Consecutive messages always differ.
        assert!(seen.windows(2).all(|w| w[0].status != w[1].status));
    }
    env.stop().await;
}

// Real clock: its bound counts intervals from the elapsed time, and on the paused clock
// (no time passes while 1000 watchers open) it saw 21 requests against a bound of 20.
#[tokio::test]
async fn a_thousand_watchers_on_a_hundred_tasks_share_batched_polls() {
    const TASKS: usize = 100;
    const BATCH: usize = 25;
    // Each batch request is bounded by 0.8 x the interval: a loaded 2-core CI machine
    // missed the 200 ms bound (250 ms interval) and then the 400 ms one (500 ms) on first
    // snapshots now and then, while the whole suite ran.
    let interval = Duration::from_millis(1000);
    let sandbox = SandboxConfig {
        phase_duration: Duration::from_millis(1000),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, |c| {
        c.poll_interval = interval;
        c.status_batch_size = BATCH as u16;
    })
    .await;
    let mut tokens = Vec::new();
    for _ in 0..TASKS {
        tokens.push(transcode(&env).await);
    }
    // Ten connections, a hundred streams each.
    let mut channels = Vec::new();
    for _ in 0..10 {
        channels.push(env.channel().await);
    }
    let before = status_requests(&env);
    let started = tokio::time::Instant::now();
    let watchers = futures::future::join_all((0..1000).map(|i| {
        let channel = channels[i % 10].clone();
        let token = tokens[i % TASKS].clone();
        tokio::spawn(async move { drain(watch(channel, &token).await).await })
    }))
    .await;
    let elapsed = started.elapsed();
    for seen in watchers {
        let seen = seen.unwrap();
        assert_eq!(
            seen.last().unwrap().status.as_ref().unwrap().state(),
            TaskState::Completed
        );
    }
    let requests = status_requests(&env) - before;
    let intervals = (elapsed.as_secs_f64() / interval.as_secs_f64()).ceil() as usize + 1;
    let per_interval = TASKS.div_ceil(BATCH);
    println!(
        "{requests} status requests over {intervals} intervals for {TASKS} tasks, 1000 watchers"
    );
    assert!(requests <= per_interval * intervals, "{requests} upstream status requests in {intervals} intervals (bound {per_interval} per interval)");
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_watch_frees_its_watcher_and_stops_the_poller() {
    let sandbox = SandboxConfig {
        phase_duration: Duration::from_secs(3600),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, fast_polling).await;
    let token = transcode(&env).await;
    let mut stream = watch(env.channel().await, &token).await;
    assert_eq!(
        stream.message().await.unwrap().unwrap().kind(),
        WatchEventKind::Snapshot
    );
    assert_eq!(env.gateway.watchers.limit.open(), 1);
    drop(stream);
    eventually("the watcher released", Duration::from_secs(5), || {
        env.gateway.watchers.limit.open() == 0
    })
    .await;
    // Let one due poll pass (it drops the id), then nothing more may be asked.
    tokio::time::sleep(Duration::from_millis(120)).await;
    let after = status_requests(&env);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        status_requests(&env),
        after,
        "the poller kept asking after the last watcher left"
    );
    assert_eq!(env.gateway.watchers.tasks.active(), 0);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn forged_callbacks_are_refused_and_valid_ones_complete_watchers() {
    let sandbox = SandboxConfig {
        phase_duration: Duration::from_secs(3600),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, |c| {
        c.callback_url = Some(url::Url::parse(&format!("http://{}", c.http_listen)).unwrap());
        c.callback_secret = Some("callback-secret".parse().unwrap());
        c.poll_interval = Duration::from_secs(3600);
    })
    .await;
    let token = transcode(&env).await;
    let query = env.sandbox.task(&token).unwrap().query.unwrap();
    let callback_url = query["query"]["callback_url"]
        .as_str()
        .expect("callback_url added")
        .to_owned();
    assert!(
        callback_url.starts_with(&format!("{}callbacks/task/", env.http_url())),
        "{callback_url}"
    );

    let mut stream = watch(env.channel().await, &token).await;
    let snapshot = stream.message().await.unwrap().unwrap();
    assert_ne!(snapshot.status.unwrap().state(), TaskState::Completed);

    let http = reqwest::Client::new();
    let status = serde_json::json!({"status": "completed", "percent": 100, "error": 0, "videos": [{"tag": "video-0-0", "url": "s3://b/out.mp4"}]});
    let form = |task: &str| {
        vec![
            ("status", status.to_string()),
            ("callback_type", "task".into()),
            ("task_token", task.into()),
            ("event", "saved".into()),
        ]
    };
    let forged = http
        .post(format!(
            "{}callbacks/task/{}",
            env.http_url(),
            "00".repeat(32)
        ))
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let other_task = http
        .post(&callback_url)
        .form(&form("ffffffffffffffffffffffffffffffff"))
        .send()
        .await
        .unwrap();
    assert_eq!(other_task.status(), 401);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), stream.message())
            .await
            .is_err(),
        "a refused callback changed nothing"
    );

    let accepted = http
        .post(&callback_url)
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let resent = http
        .post(&callback_url)
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), 200);
    let change = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(change.kind(), WatchEventKind::Change);
    assert_eq!(change.status.unwrap().state(), TaskState::Completed);
    assert!(
        stream.message().await.unwrap().is_none(),
        "ends OK after the terminal state"
    );
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn heartbeats_unknown_tasks_and_the_watcher_limit() {
    logs::logs();
    let sandbox = SandboxConfig {
        phase_duration: Duration::from_secs(3600),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, |c| {
        fast_polling(c);
        c.heartbeat_interval = Duration::from_millis(100);
        c.max_watchers = 2;
    })
    .await;
    let token = transcode(&env).await;
    let channel = env.channel().await;
    let mut stream = watch(channel.clone(), &token).await;
    // The second poll reads the master endpoint's extended status (a real change); after
    // that nothing changes, so a heartbeat repeats the last state.
    let mut previous = stream.message().await.unwrap().unwrap();
    let heartbeat = loop {
        let message = stream.message().await.unwrap().unwrap();
        if message.kind() == WatchEventKind::Heartbeat {
            break message;
        }
        assert_eq!(message.kind(), WatchEventKind::Change);
        previous = message;
    };
    assert_eq!(heartbeat.status, previous.status);

    let mut client = pb::transcoding_client::TranscodingClient::new(channel.clone());
    let mut unknown = client
        .watch_status(pb::WatchStatusRequest {
            task_token: "0123456789abcdef0123456789abcdef".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unknown.message().await.unwrap_err().code(), Code::NotFound);
    let invalid = client
        .watch_status(pb::WatchStatusRequest {
            task_token: "../x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&invalid), ["task_token"]);

    let _second = watch(channel.clone(), &token).await;
    let third = client
        .watch_status(pb::WatchStatusRequest {
            task_token: token.clone(),
        })
        .await;
    let status = match third {
        Err(status) => status,
        Ok(response) => response.into_inner().message().await.unwrap_err(),
    };
    assert_reason(&status, Code::ResourceExhausted, "TOO_MANY_WATCHERS");
    // The refusal is a limit hit like any other: counted and logged.
    let metrics = reqwest::get(format!("{}metrics", env.admin_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains(r#"gateway_limit_hits_total{limit="GATEWAY_MAX_WATCHERS",scope="watch"} 1"#),
        "{metrics}"
    );
    let logs = logs::log_text();
    assert!(
        logs.lines()
            .any(|l| l.contains("WARN") && l.contains("limit=\"GATEWAY_MAX_WATCHERS\"")),
        "{logs}"
    );
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_watch_streams_with_unavailable() {
    let sandbox = SandboxConfig {
        phase_duration: Duration::from_secs(3600),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, fast_polling).await;
    let token = transcode(&env).await;
    let mut stream = watch(env.channel().await, &token).await;
    stream.message().await.unwrap().unwrap();
    env.begin_stop();
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("not ended at once")
        .unwrap_err();
    assert_reason(&ended, Code::Unavailable, "SHUTTING_DOWN");
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn watch_stream_follows_a_live_stream_to_its_end() {
    let env = start_with(fast_sandbox(), fast_polling).await;
    let mut live = env.live().await;
    let stream = live
        .create_stream(pb::CreateStreamRequest::default())
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    let mut watch = live
        .watch_stream(pb::WatchStreamRequest {
            stream_id: stream.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let snapshot = watch.message().await.unwrap().unwrap();
    assert_eq!(snapshot.kind(), WatchEventKind::Snapshot);
    assert_eq!(
        snapshot.stream.unwrap().status.unwrap().state(),
        pb::StreamState::Created
    );
    live.start_stream(pb::StartStreamRequest {
        stream_id: stream.id.clone(),
    })
    .await
    .unwrap();
    let mut states = Vec::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), watch.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let state = message.stream.unwrap().status.unwrap().state();
        states.push(state);
        if state == pb::StreamState::Live {
            break;
        }
    }
    live.stop_stream(pb::StopStreamRequest {
        stream_id: stream.id.clone(),
    })
    .await
    .unwrap();
    let mut last = None;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .unwrap()
        .unwrap()
    {
        last = Some(message.stream.unwrap().status.unwrap().state());
    }
    assert_eq!(
        last,
        Some(pb::StreamState::Stopped),
        "ends OK after stopped; went through {states:?}"
    );

    let missing = live
        .watch_stream(pb::WatchStreamRequest {
            stream_id: "00000000-0000-0000-0000-000000000000".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stream_deleted_while_watched_ends_with_a_deleted_state() {
    let env = start_with(fast_sandbox(), fast_polling).await;
    let mut live = env.live().await;
    let stream = live
        .create_stream(pb::CreateStreamRequest::default())
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    let mut watch = live
        .watch_stream(pb::WatchStreamRequest {
            stream_id: stream.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    watch.message().await.unwrap().unwrap();
    live.delete_stream(pb::DeleteStreamRequest {
        stream_id: stream.id.clone(),
    })
    .await
    .unwrap();
    let last = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        last.stream.unwrap().status.unwrap().state(),
        pb::StreamState::Deleted
    );
    assert!(watch.message().await.unwrap().is_none());
    env.stop().await;
}
