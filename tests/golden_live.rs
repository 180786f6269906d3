//! Every Live Streaming response example in Qencode's document (copied verbatim into
//! tests/fixtures/live) parses, served over HTTP and read through the real domain,
//! token manager and client.

use axum::{
    routing::{delete, get, post},
    Router,
};
use qencode_gateway::{
    access::projects::Project,
    domain::{live::LiveStreaming, owners::Owners},
    pb::{self, StreamState},
    support::secret::Secret,
    upstream::{
        auth::TokenManager,
        live_api::{LiveClient, LiveTokens},
        Deadline, HttpClient,
    },
};
use std::time::Duration;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/live/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

async fn documented_live_api() -> (LiveStreaming, TokenManager, Project) {
    let body = |name: &'static str| {
        let text = fixture(name);
        move || async move { ([("content-type", "application/json")], text) }
    };
    let app = Router::new()
        .route("/v1/access_token/{key}", post(body("00_access_token")))
        .route(
            "/v1/live-streams",
            post(body("01_create_stream")).get(body("03_list_streams")),
        )
        .route(
            "/v1/live-streams/{id}",
            get(body("02_get_stream"))
                .put(body("06_update_stream"))
                .delete(body("07_delete_stream")),
        )
        .route("/v1/live-streams/{id}/start", post(body("04_start_stream")))
        .route("/v1/live-streams/{id}/stop", post(body("05_stop_stream")))
        .route(
            "/v1/live-streams/{id}/playback-ids",
            post(body("08_add_playback_id")),
        )
        .route(
            "/v1/live-streams/{id}/playback-ids/{pid}",
            delete(body("09_remove_playback_id")),
        )
        .route(
            "/v1/live-streams/{id}/simulcast-targets",
            post(body("10_add_simulcast_target")),
        )
        .route(
            "/v1/live-streams/{id}/simulcast-targets/{tid}",
            delete(body("11_remove_simulcast_target")),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = HttpClient::new(Duration::from_secs(5), Duration::from_secs(5)).unwrap();
    let client = LiveClient::new(http, url);
    let tokens = TokenManager::new(LiveTokens {
        client: client.clone(),
        api_key: Secret::new("your_api_key"),
    });
    let project = Project::new("main", tokens.clone(), tokens.clone());
    (
        LiveStreaming::new(client, std::sync::Arc::new(Owners::default())),
        tokens,
        project,
    )
}

const ID: &str = "12345fcd-7aea-492c-b9eb-b4b0cde0dc7e";

fn state(stream: &pb::LiveStream) -> StreamState {
    stream.status.as_ref().unwrap().state()
}

#[tokio::test]
async fn every_documented_live_response_parses() {
    let (live, tokens, project) = documented_live_api().await;
    let d = Deadline::NONE;

    // The documented token's payload is not valid base64 JSON: 24 h is assumed.
    assert!(tokens
        .token()
        .await
        .unwrap()
        .expose()
        .starts_with("eyJhbGci"));

    let created = live.create_stream(&project, None, None, d).await.unwrap();
    assert_eq!(created.id, ID);
    assert_eq!(state(&created), StreamState::Created);
    assert_eq!(
        created.server_urls["rtmp"],
        "rtmp://rtmp-live.qencode.com/qlive"
    );
    assert_eq!(created.stream_key, "12345be3-7590-4efa-b476-d99e7757b8c4");
    assert_eq!(created.playback_ids[0].policy, "public");
    let params = created.params.as_ref().unwrap();
    assert_eq!(params.mode.as_deref(), Some("auto"));
    assert_eq!(
        params.framerate.as_ref().unwrap().value,
        Some(pb::number_or_string::Value::Number(0.0))
    );

    assert_eq!(
        live.get_stream(&project, ID, d).await.unwrap().name,
        "test-stream-name"
    );

    let listed = live.list_streams(&project, d).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [
            "7297653f-5a79-4c58-9dbd-972141822b59",
            "e09066ca-b200-4b67-bf37-122137f31f8a"
        ]
    );

    let started = live.start_stream(&project, ID, d).await.unwrap();
    assert_eq!(state(&started), StreamState::Waiting);
    assert!(started.server_urls["webrtc"].starts_with("wss://"));
    assert!(started.server_urls["srt"].starts_with("srt://"));
    assert_eq!(
        started.origin_host.as_deref(),
        Some("live-df6607d4-8867-4a30-906d-0fed54e58f97.qencode.com")
    );

    assert_eq!(
        state(&live.stop_stream(&project, ID, d).await.unwrap()),
        StreamState::Stopping
    );

    let name = pb::StreamParams {
        name: Some("test-stream-update1".into()),
        ..Default::default()
    };
    let updated = live
        .update_stream(&project, ID, Some(&name), None, d)
        .await
        .unwrap();
    assert_eq!(updated.quality.as_deref(), Some("LIVE SD"));
    let params = updated.params.unwrap();
    assert_eq!(
        params.framerate.unwrap().value,
        Some(pb::number_or_string::Value::Text("30".into()))
    );
    let dvr = params.dvr.unwrap();
    assert_eq!(dvr.enabled, Some(1));
    assert_eq!(
        dvr.destination[0].permissions.as_deref(),
        Some("public-read")
    );

    let deleted = live.delete_stream(&project, ID, d).await.unwrap();
    assert_eq!(deleted.state(), StreamState::Deleted);
    assert_eq!(deleted.timestamp, "2021-08-28 17:59:34");

    let with_playback = live
        .add_playback_id(&project, ID, "authenticated", d)
        .await
        .unwrap();
    assert_eq!(with_playback.playback_ids.len(), 2);
    assert_eq!(with_playback.server_urls.len(), 2, "rtmp and rtmps");
    let dvr = with_playback.params.unwrap().dvr.unwrap();
    assert_eq!(
        (dvr.enabled, dvr.max_file_duration, dvr.format.as_slice()),
        (Some(0), Some(14400), &["mp4".to_string()][..])
    );
    assert!(dvr.destination.is_empty(), "null destination");

    assert_eq!(
        live.remove_playback_id(&project, ID, "5yxn1iz6vj4g", d)
            .await
            .unwrap()
            .playback_ids
            .len(),
        1
    );

    let with_target = live
        .add_simulcast_target(
            &project,
            ID,
            "rtmp://a.rtmp.youtube.com/live2",
            "1234-5678-abcd-efgh-3cm6",
            d,
        )
        .await
        .unwrap();
    assert_eq!(
        with_target.simulcast_targets[0].id,
        "12348fd3-0fc2-4982-8910-d1b06bb917c9"
    );
    assert_eq!(with_target.params.unwrap().dvr.unwrap().enabled, Some(0));

    let without = live
        .remove_simulcast_target(&project, ID, "12348fd3-0fc2-4982-8910-d1b06bb917c9", d)
        .await
        .unwrap();
    assert!(without.simulcast_targets.is_empty());
    assert_eq!(state(&without), StreamState::Stopped);
}
