//! End to end: tonic LiveStreaming client -> gateway on :0 -> sandbox on :0 over HTTP.

mod common;

use common::*;
use qencode_gateway::{
    config::Secret,
    pb::{self, live_streaming_client::LiveStreamingClient, StreamState},
};
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;
use tonic::{transport::Channel, Code};

type Client = LiveStreamingClient<Channel>;

async fn create(client: &mut Client, name: &str) -> pb::LiveStream {
    let params = pb::StreamParams {
        name: Some(name.into()),
        ..Default::default()
    };
    client
        .create_stream(pb::CreateStreamRequest {
            params: Some(params),
            extra_json: None,
        })
        .await
        .expect("create_stream")
        .into_inner()
        .stream
        .expect("stream")
}

/// Polls GetStream until the stream reaches `want` (or fails after a generous bound).
async fn wait_for(client: &mut Client, id: &str, want: StreamState) -> pb::LiveStream {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let stream = client
            .get_stream(pb::GetStreamRequest {
                stream_id: id.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .stream
            .unwrap();
        if stream.status.as_ref().map(|s| s.state()) == Some(want) {
            return stream;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "stream never reached {want:?}: {stream:?}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

fn state(stream: &pb::LiveStream) -> StreamState {
    stream.status.as_ref().expect("status").state()
}

#[tokio::test]
async fn full_lifecycle() {
    let env = start().await;
    let mut client = env.live().await;
    let created = create(&mut client, "lifecycle").await;
    assert_eq!(state(&created), StreamState::Created);
    assert_eq!(created.name, "lifecycle");
    assert!(created.server_urls.contains_key("rtmp"));
    assert!(
        !created.server_urls.contains_key("webrtc"),
        "WebRTC only after start"
    );
    assert!(!created.stream_key.is_empty());
    let id = created.id.clone();

    let started = client
        .start_stream(pb::StartStreamRequest {
            stream_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    assert!(matches!(
        state(&started),
        StreamState::Starting | StreamState::Waiting
    ));
    let live = wait_for(&mut client, &id, StreamState::Live).await;
    assert!(live.server_urls.contains_key("webrtc") && live.server_urls.contains_key("srt"));
    assert!(live.origin_host.is_some());

    let with_id = client
        .add_playback_id(pb::AddPlaybackIdRequest {
            stream_id: id.clone(),
            policy: "authenticated".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    let added = with_id
        .playback_ids
        .iter()
        .find(|p| p.policy == "authenticated")
        .expect("new playback id")
        .clone();
    let without_id = client
        .remove_playback_id(pb::RemovePlaybackIdRequest {
            stream_id: id.clone(),
            playback_id: added.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    assert!(without_id.playback_ids.iter().all(|p| p.id != added.id));

    let with_target = client
        .add_simulcast_target(pb::AddSimulcastTargetRequest {
            stream_id: id.clone(),
            url: "rtmp://a.rtmp.youtube.com/live2".into(),
            stream_key: "1234-5678-abcd-efgh".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    let target = with_target
        .simulcast_targets
        .first()
        .expect("target")
        .clone();
    assert_eq!(target.url, "rtmp://a.rtmp.youtube.com/live2");
    let without_target = client
        .remove_simulcast_target(pb::RemoveSimulcastTargetRequest {
            stream_id: id.clone(),
            target_id: target.id,
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    assert!(without_target.simulcast_targets.is_empty());

    // Deleting a running stream is a failed precondition, not a bad argument.
    let status = client
        .delete_stream(pb::DeleteStreamRequest {
            stream_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_reason(
        &status,
        Code::FailedPrecondition,
        "QENCODE_LIVE_STREAM_NOT_STOPPED",
    );

    client
        .stop_stream(pb::StopStreamRequest {
            stream_id: id.clone(),
        })
        .await
        .unwrap();
    wait_for(&mut client, &id, StreamState::Stopped).await;
    let deleted = client
        .delete_stream(pb::DeleteStreamRequest {
            stream_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(deleted.state(), StreamState::Deleted);
    let gone = client
        .get_stream(pb::GetStreamRequest { stream_id: id })
        .await
        .unwrap_err();
    assert_reason(&gone, Code::NotFound, "QENCODE_LIVE_NOT_FOUND");
    env.stop().await;
}

#[tokio::test]
async fn create_list_and_update() {
    let env = start().await;
    let mut client = env.live().await;
    let params = pb::StreamParams {
        name: Some("recorded".into()),
        framerate: text("29.97"),
        dvr: Some(pb::Dvr {
            enabled: Some(1),
            destination: vec![pb::DvrDestination {
                url: Some("s3://bucket/dvr/".into()),
                ..Default::default()
            }],
            format: vec!["mp4".into(), "hls".into()],
            max_file_duration: Some(3600),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = client
        .create_stream(pb::CreateStreamRequest {
            params: Some(params),
            extra_json: Some(r#"{"allowed_referers": ["*.example.com"]}"#.into()),
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    let sent = env
        .sandbox
        .live_stream(&created.id)
        .expect("sandbox has it")
        .params;
    assert_eq!(sent["framerate"], serde_json::json!("29.97"));
    assert_eq!(sent["dvr"]["format"], serde_json::json!(["mp4", "hls"]));
    assert_eq!(
        sent["dvr"]["destination"],
        serde_json::json!({"url": "s3://bucket/dvr/"})
    );

    create(&mut client, "second").await;
    let listed = client
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap()
        .into_inner()
        .streams;
    assert_eq!(listed.len(), 2);

    let updated = client
        .update_stream(pb::UpdateStreamRequest {
            stream_id: created.id.clone(),
            params: Some(pb::StreamParams {
                name: Some("renamed".into()),
                ..Default::default()
            }),
            extra_json: None,
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    assert_eq!(updated.name, "renamed");

    // Error paths of each: unknown ids are NOT_FOUND, state conflicts ABORTED.
    let unknown = "00000000-0000-0000-0000-000000000000".to_string();
    let status = client
        .update_stream(pb::UpdateStreamRequest {
            stream_id: unknown.clone(),
            params: Some(pb::StreamParams {
                name: Some("x".into()),
                ..Default::default()
            }),
            extra_json: None,
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::NotFound, "QENCODE_LIVE_NOT_FOUND");
    let status = client
        .stop_stream(pb::StopStreamRequest {
            stream_id: created.id.clone(),
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::Aborted, "QENCODE_LIVE_CONFLICT");
    client
        .start_stream(pb::StartStreamRequest {
            stream_id: created.id.clone(),
        })
        .await
        .unwrap();
    let status = client
        .start_stream(pb::StartStreamRequest {
            stream_id: created.id.clone(),
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::Aborted, "QENCODE_LIVE_CONFLICT");
    for status in [
        client
            .remove_playback_id(pb::RemovePlaybackIdRequest {
                stream_id: created.id.clone(),
                playback_id: "nope123".into(),
            })
            .await
            .unwrap_err(),
        client
            .remove_simulcast_target(pb::RemoveSimulcastTargetRequest {
                stream_id: created.id.clone(),
                target_id: "nope123".into(),
            })
            .await
            .unwrap_err(),
        client
            .delete_stream(pb::DeleteStreamRequest {
                stream_id: unknown.clone(),
            })
            .await
            .unwrap_err(),
        client
            .add_playback_id(pb::AddPlaybackIdRequest {
                stream_id: unknown.clone(),
                policy: "public".into(),
            })
            .await
            .unwrap_err(),
        client
            .add_simulcast_target(pb::AddSimulcastTargetRequest {
                stream_id: unknown.clone(),
                url: "rtmp://x/y".into(),
                stream_key: "k".into(),
            })
            .await
            .unwrap_err(),
    ] {
        assert_reason(&status, Code::NotFound, "QENCODE_LIVE_NOT_FOUND");
    }
    env.stop().await;
}

#[tokio::test]
async fn upstream_http_errors_map_by_meaning() {
    let env = start().await;
    let mut client = env.live().await;
    let cases = [
        (403, Code::PermissionDenied, "QENCODE_LIVE_FORBIDDEN"),
        (409, Code::Aborted, "QENCODE_LIVE_CONFLICT"),
        (400, Code::InvalidArgument, "QENCODE_LIVE_BAD_REQUEST"),
    ];
    for (http, code, reason) in cases {
        env.sandbox.inject(Fault::once(
            Endpoint::LiveCreate,
            FaultKind::HttpStatus {
                status: http,
                message: format!("upstream says {http}"),
                retry_after_secs: None,
            },
        ));
        let status = client
            .create_stream(pb::CreateStreamRequest::default())
            .await
            .unwrap_err();
        let details = assert_reason(&status, code, reason);
        assert_eq!(
            details.error_info().unwrap().metadata["http_status"],
            http.to_string()
        );
        assert!(
            status.message().contains(&format!("upstream says {http}")),
            "{}",
            status.message()
        );
    }
    env.sandbox.inject(Fault::once(
        Endpoint::LiveList,
        FaultKind::HttpStatus {
            status: 429,
            message: "slow down".into(),
            retry_after_secs: Some(9),
        },
    ));
    let status = client
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap_err();
    let details = assert_reason(&status, Code::Unavailable, "QENCODE_LIVE_RATE_LIMITED");
    assert_eq!(
        details.retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(9))
    );
    env.sandbox.inject(Fault {
        endpoint: Endpoint::LiveList,
        kind: FaultKind::Html { status: 502 },
        times: 5,
    });
    let status = client
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap_err();
    assert_reason(&status, Code::Unavailable, "UPSTREAM_NOT_JSON");
    env.stop().await;
}

#[tokio::test]
async fn hostile_ids_never_reach_the_upstream() {
    let env = start().await;
    env.wait_serving().await;
    let before = env.sandbox.count(Endpoint::Any);
    let mut client = env.live().await;
    let long = "a".repeat(300);
    let hostile = [
        "../access_token/x",
        "a/b",
        "x?y=1",
        "%2e%2e",
        "",
        long.as_str(),
        "a\nb",
        "..",
        "a#b",
        "a b",
    ];
    for id in hostile {
        let id = id.to_string();
        let calls = [
            (
                "stream_id",
                client
                    .get_stream(pb::GetStreamRequest {
                        stream_id: id.clone(),
                    })
                    .await
                    .unwrap_err(),
            ),
            (
                "stream_id",
                client
                    .delete_stream(pb::DeleteStreamRequest {
                        stream_id: id.clone(),
                    })
                    .await
                    .unwrap_err(),
            ),
            (
                "stream_id",
                client
                    .start_stream(pb::StartStreamRequest {
                        stream_id: id.clone(),
                    })
                    .await
                    .unwrap_err(),
            ),
            (
                "stream_id",
                client
                    .stop_stream(pb::StopStreamRequest {
                        stream_id: id.clone(),
                    })
                    .await
                    .unwrap_err(),
            ),
            (
                "stream_id",
                client
                    .update_stream(pb::UpdateStreamRequest {
                        stream_id: id.clone(),
                        params: Some(pb::StreamParams {
                            name: Some("n".into()),
                            ..Default::default()
                        }),
                        extra_json: None,
                    })
                    .await
                    .unwrap_err(),
            ),
            (
                "stream_id",
                client
                    .add_playback_id(pb::AddPlaybackIdRequest {
                        stream_id: id.clone(),
                        policy: "public".into(),
                    })
                    .await
                    .unwrap_err(),
            ),
            (
                "playback_id",
                client
                    .remove_playback_id(pb::RemovePlaybackIdRequest {
                        stream_id: "ok".into(),
                        playback_id: id.clone(),
                    })
                    .await
                    .unwrap_err(),
            ),
            (
                "stream_id",
                client
                    .add_simulcast_target(pb::AddSimulcastTargetRequest {
                        stream_id: id.clone(),
                        url: "rtmp://x/y".into(),
                        stream_key: "k".into(),
                    })
                    .await
                    .unwrap_err(),
            ),
            (
                "target_id",
                client
                    .remove_simulcast_target(pb::RemoveSimulcastTargetRequest {
                        stream_id: "ok".into(),
                        target_id: id.clone(),
                    })
                    .await
                    .unwrap_err(),
            ),
        ];
        for (field, status) in calls {
            assert_eq!(status.code(), Code::InvalidArgument, "{id:?}: {status:?}");
            assert_eq!(bad_fields(&status), vec![field.to_owned()], "{id:?}");
        }
    }
    // Other local checks.
    let checks = [
        (
            client
                .add_playback_id(pb::AddPlaybackIdRequest {
                    stream_id: "s1".into(),
                    policy: "private".into(),
                })
                .await
                .unwrap_err(),
            "policy",
        ),
        (
            client
                .add_simulcast_target(pb::AddSimulcastTargetRequest {
                    stream_id: "s1".into(),
                    url: "https://youtube.com/x".into(),
                    stream_key: "k".into(),
                })
                .await
                .unwrap_err(),
            "url",
        ),
        (
            client
                .update_stream(pb::UpdateStreamRequest {
                    stream_id: "s1".into(),
                    params: None,
                    extra_json: None,
                })
                .await
                .unwrap_err(),
            "params",
        ),
        (
            client
                .create_stream(pb::CreateStreamRequest {
                    params: Some(pb::StreamParams {
                        framerate: number(60.0),
                        ..Default::default()
                    }),
                    extra_json: None,
                })
                .await
                .unwrap_err(),
            "params.framerate",
        ),
        (
            client
                .create_stream(pb::CreateStreamRequest {
                    params: Some(pb::StreamParams {
                        dvr: Some(pb::Dvr {
                            max_file_duration: Some(21_601),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    extra_json: None,
                })
                .await
                .unwrap_err(),
            "params.dvr.max_file_duration",
        ),
    ];
    for (status, field) in checks {
        assert_eq!(bad_fields(&status), vec![field.to_owned()], "{status:?}");
    }
    assert_eq!(
        env.sandbox.count(Endpoint::Any),
        before,
        "{:?}",
        env.sandbox.requests()
    );
    env.stop().await;
}

#[tokio::test]
async fn one_token_request_for_50_cold_callers_and_revoked_tokens_are_replaced() {
    let env = start().await;
    let channel = env.channel().await;
    let calls = (0..50).map(|_| {
        let mut client = LiveStreamingClient::new(channel.clone());
        tokio::spawn(async move { client.list_streams(pb::ListStreamsRequest {}).await })
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(env.sandbox.count(Endpoint::LiveAccessToken), 1);
    env.sandbox.revoke_tokens();
    let mut client = env.live().await;
    client
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap();
    assert_eq!(env.sandbox.count(Endpoint::LiveAccessToken), 2);
    // The Transcoding API's session token is separate: at most the one the health
    // monitor fetched at start-up.
    assert!(env.sandbox.count(Endpoint::AccessToken) <= 1);
    env.stop().await;
}

#[tokio::test]
async fn bad_live_key_is_unauthenticated() {
    let env = start_with(fast_sandbox(), |c| {
        c.live_api_key = Some(Secret::new("wrong-live-key"))
    })
    .await;
    let mut client = env.live().await;
    let status = client
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap_err();
    assert_reason(&status, Code::Unauthenticated, "QENCODE_LIVE_BAD_API_KEY");
    assert!(!status.message().contains("wrong-live-key"));
    env.stop().await;
}
