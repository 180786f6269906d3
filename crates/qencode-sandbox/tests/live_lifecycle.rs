//! Live stream lifecycle on tokio's paused clock: start → starting → waiting →
//! launching → live, stop → stopping → stopped, then delete; and the state rules
//! (409 for start/stop in the wrong state, 400 for deleting a running stream).

mod common;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::time::advance;

use common::{spawn, str_of, TestSandbox};
use qencode_sandbox::SandboxConfig;

const PHASE: Duration = Duration::from_secs(10);

async fn sandbox(phase: Duration) -> (TestSandbox, String) {
    let sb = spawn(SandboxConfig {
        live_phase_duration: phase,
        ..SandboxConfig::default()
    })
    .await;
    let token = sb.live_token().await;
    (sb, token)
}

/// POSTs `/v1/live-streams/<id>/<action>`.
async fn act(sb: &TestSandbox, token: &str, id: &str, action: &str) -> (StatusCode, Value) {
    sb.live(
        Method::POST,
        &format!("/v1/live-streams/{id}/{action}"),
        Some(token),
        None,
    )
    .await
}

fn status_name(stream: &Value) -> String {
    str_of(&stream["status"]["name"])
}

#[tokio::test(start_paused = true)]
async fn full_lifecycle_from_create_to_delete() {
    let (sb, token) = sandbox(PHASE).await;
    let stream = sb.live_create(&token, None).await;
    let id = str_of(&stream["id"]);
    let key = str_of(&stream["stream_key"]);

    let (status, body) = act(&sb, &token, &id, "start").await;
    assert_eq!(status, 200, "{body}");
    let started = &body["stream"];
    assert_eq!(status_name(started), "starting");
    let webrtc = str_of(&started["server_urls"]["webrtc"]);
    let srt = str_of(&started["server_urls"]["srt"]);
    assert!(webrtc.starts_with("wss://live-"), "{webrtc}");
    assert!(webrtc.contains(&format!("/qlive/{key}?")), "{webrtc}");
    assert!(
        srt.starts_with("srt://live-") && srt.ends_with(&format!("?streamid={key}")),
        "{srt}"
    );
    assert!(started.get("origin_host").is_none(), "{started}");
    assert_eq!(
        sb.handle.live_stream(&id).map(|s| s.status),
        Some("starting".into())
    );

    let mut timestamps = vec![str_of(&started["status"]["timestamp"])];
    for expected in ["waiting", "launching", "live"] {
        advance(PHASE).await;
        let now = sb.live_get(&token, &id).await;
        assert_eq!(status_name(&now), expected, "{now}");
        let origin_host = str_of(&now["origin_host"]);
        assert!(webrtc.contains(&origin_host), "{webrtc} vs {origin_host}");
        assert_eq!(
            now["origin_url"],
            format!("https://{origin_host}/qhls/qlive/playlist.m3u8")
        );
        assert_eq!(now["server_urls"]["webrtc"], webrtc.as_str());
        timestamps.push(str_of(&now["status"]["timestamp"]));
    }
    let mut sorted = timestamps.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted, timestamps,
        "timestamps move forward with the status"
    );
    advance(PHASE * 100).await;
    assert_eq!(status_name(&sb.live_get(&token, &id).await), "live");

    // Playback ids and simulcast targets while live.
    let base = format!("/v1/live-streams/{id}");
    let (status, body) = sb
        .live(
            Method::POST,
            &format!("{base}/playback-ids"),
            Some(&token),
            Some(&json!({"policy": "public"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_name(&body["stream"]), "live");
    let playback = str_of(&body["stream"]["playback_ids"][1]["id"]);
    let (status, _) = sb
        .live(
            Method::DELETE,
            &format!("{base}/playback-ids/{playback}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let target = json!({"url": "rtmps://live-api-s.facebook.com:443/rtmp/", "stream_key": "fb"});
    let (status, body) = sb
        .live(
            Method::POST,
            &format!("{base}/simulcast-targets"),
            Some(&token),
            Some(&target),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let target_id = str_of(&body["stream"]["simulcast_targets"][0]["id"]);
    let (status, _) = sb
        .live(
            Method::DELETE,
            &format!("{base}/simulcast-targets/{target_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);

    let (status, body) = act(&sb, &token, &id, "stop").await;
    assert_eq!(status, 200, "{body}");
    let stopping = &body["stream"];
    assert_eq!(status_name(stopping), "stopping");
    assert!(
        stopping["server_urls"].get("webrtc").is_none(),
        "{stopping}"
    );
    assert!(stopping["server_urls"].get("srt").is_none(), "{stopping}");
    assert!(stopping.get("origin_host").is_none(), "{stopping}");
    assert_eq!(
        stopping["server_urls"]["rtmp"],
        "rtmp://rtmp-live.qencode.com/qlive"
    );

    advance(PHASE).await;
    assert_eq!(status_name(&sb.live_get(&token, &id).await), "stopped");
    let (status, body) = sb.live(Method::DELETE, &base, Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"]["name"], "deleted");
    let (status, _) = sb.live(Method::GET, &base, Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let snapshot = sb.handle.live_stream(&id).expect("snapshot");
    assert!(snapshot.deleted);
    assert_eq!(snapshot.playback_ids.len(), 1);
    assert!(snapshot.simulcast_targets.is_empty());
}

#[tokio::test(start_paused = true)]
async fn running_or_stopping_streams_cannot_be_deleted() {
    let (sb, token) = sandbox(PHASE).await;
    let id = str_of(&sb.live_create(&token, None).await["id"]);
    let path = format!("/v1/live-streams/{id}");
    assert_eq!(act(&sb, &token, &id, "start").await.0, 200);
    for _ in 0..4 {
        let (status, body) = sb.live(Method::DELETE, &path, Some(&token), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            body,
            json!({"message": "live stream must be stopped before deleting"})
        );
        advance(PHASE).await;
    }
    assert_eq!(status_name(&sb.live_get(&token, &id).await), "live");
    assert_eq!(act(&sb, &token, &id, "stop").await.0, 200);
    let (status, _) = sb.live(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "stopping is not stopped");
    advance(PHASE).await;
    let (status, _) = sb.live(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, 200);
}

#[tokio::test(start_paused = true)]
async fn start_and_stop_in_the_wrong_state_are_409() {
    let (sb, token) = sandbox(PHASE).await;
    let id = str_of(&sb.live_create(&token, None).await["id"]);

    let (status, body) = act(&sb, &token, &id, "stop").await;
    assert_eq!(status, StatusCode::CONFLICT, "stop while created: {body}");
    assert!(body["message"].is_string(), "{body}");

    assert_eq!(act(&sb, &token, &id, "start").await.0, 200);
    for phase in ["starting", "waiting", "launching", "live"] {
        assert_eq!(status_name(&sb.live_get(&token, &id).await), phase);
        let (status, body) = act(&sb, &token, &id, "start").await;
        assert_eq!(status, StatusCode::CONFLICT, "start while {phase}: {body}");
        assert!(body["message"].is_string(), "{body}");
        advance(PHASE).await;
    }

    assert_eq!(act(&sb, &token, &id, "stop").await.0, 200);
    let (status, _) = act(&sb, &token, &id, "start").await;
    assert_eq!(status, StatusCode::CONFLICT, "start while stopping");
    let (status, _) = act(&sb, &token, &id, "stop").await;
    assert_eq!(status, StatusCode::CONFLICT, "stop while stopping");
    advance(PHASE).await;
    let (status, _) = act(&sb, &token, &id, "stop").await;
    assert_eq!(status, StatusCode::CONFLICT, "stop while stopped");

    // A stopped stream can go live again.
    let (status, body) = act(&sb, &token, &id, "start").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_name(&body["stream"]), "starting");
}

#[tokio::test(start_paused = true)]
async fn a_stream_stopped_before_it_is_live_stops_too() {
    let (sb, token) = sandbox(PHASE).await;
    let id = str_of(&sb.live_create(&token, None).await["id"]);
    assert_eq!(act(&sb, &token, &id, "start").await.0, 200);
    advance(PHASE / 2).await;
    let (status, body) = act(&sb, &token, &id, "stop").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_name(&body["stream"]), "stopping");
    advance(PHASE).await;
    assert_eq!(
        sb.handle.live_stream(&id).map(|s| s.status),
        Some("stopped".into())
    );
}

#[tokio::test]
async fn zero_phase_streams_go_live_and_stop_at_once() {
    let (sb, token) = sandbox(Duration::ZERO).await;
    let id = str_of(&sb.live_create(&token, None).await["id"]);
    let (status, body) = act(&sb, &token, &id, "start").await;
    assert_eq!(status, 200);
    assert_eq!(status_name(&body["stream"]), "live");
    assert!(body["stream"]["origin_host"].is_string(), "{body}");
    let (_, body) = act(&sb, &token, &id, "stop").await;
    assert_eq!(status_name(&body["stream"]), "stopped");
}
