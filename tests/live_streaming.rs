//! End to end: tonic LiveStreaming client -> gateway on :0 -> sandbox on :0 over HTTP.

mod common;

use common::*;
use qencode_gateway::pb::{self, live_streaming_client::LiveStreamingClient, StreamState};
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
    let what = format!("the stream {want:?}");
    eventually(&what, Duration::from_secs(15), async || {
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
            Ok(stream)
        } else {
            Err(stream)
        }
    })
    .await
}

fn state(stream: &pb::LiveStream) -> StreamState {
    stream.status.as_ref().expect("status").state()
}

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
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
    assert_reason(&status, Code::FailedPrecondition, "QENCODE_LIVE_CONFLICT");
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
    assert_reason(&status, Code::FailedPrecondition, "QENCODE_LIVE_CONFLICT");
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

/// Issue 23, item 7: the Live API echoes a DVR destination's storage key and secret;
/// no response of any read or write RPC may carry them (a read-only dashboard caller
/// would receive another team's storage credentials). Scans the encoded bytes of
/// CreateStream, GetStream, ListStreams, UpdateStream and WatchStream's snapshot.
#[tokio::test(start_paused = true)]
async fn dvr_storage_credentials_never_reach_a_response() {
    use prost::Message;
    const KEY: &str = "AKIA-DVR-KEY-0123456789";
    const SECRET: &str = "dvr-secret-value-9876543210";
    let env = start().await;
    let mut client = env.live().await;
    let destination = pb::DvrDestination {
        url: Some("s3://bucket/dvr/".into()),
        key: Some(KEY.into()),
        secret: Some(SECRET.into()),
        ..Default::default()
    };
    let params = pb::StreamParams {
        name: Some("recorded".into()),
        dvr: Some(pb::Dvr {
            enabled: Some(1),
            destination: vec![destination],
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = client
        .create_stream(pb::CreateStreamRequest {
            params: Some(params),
            extra_json: None,
        })
        .await
        .unwrap()
        .into_inner();
    let id = created.stream.as_ref().unwrap().id.clone();
    // The upstream did get (and echoes) the credentials: what is checked below is the
    // gateway's answer, not a sandbox that dropped them.
    let stored = env.sandbox.live_stream(&id).expect("sandbox has it").params;
    assert_eq!(stored["dvr"]["destination"]["secret"], SECRET);
    let got = client
        .get_stream(pb::GetStreamRequest {
            stream_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let listed = client
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap()
        .into_inner();
    let updated = client
        .update_stream(pb::UpdateStreamRequest {
            stream_id: id.clone(),
            params: Some(pb::StreamParams {
                name: Some("renamed".into()),
                ..Default::default()
            }),
            extra_json: None,
        })
        .await
        .unwrap()
        .into_inner();
    let mut watch = client
        .watch_stream(pb::WatchStreamRequest {
            stream_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let snapshot = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .expect("no snapshot")
        .unwrap()
        .unwrap();
    let answers = [
        ("CreateStream", created.encode_to_vec()),
        ("GetStream", got.encode_to_vec()),
        ("ListStreams", listed.encode_to_vec()),
        ("UpdateStream", updated.encode_to_vec()),
        ("WatchStream", snapshot.encode_to_vec()),
    ];
    for (rpc, bytes) in &answers {
        for secret in [KEY, SECRET] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{rpc} returned a DVR credential"
            );
        }
    }
    // Set credentials still read as set.
    let dvr = got.stream.unwrap().params.unwrap().dvr.unwrap();
    assert_eq!(dvr.destination[0].key.as_deref(), Some("[REDACTED]"));
    assert_eq!(dvr.destination[0].secret.as_deref(), Some("[REDACTED]"));
    assert_eq!(dvr.destination[0].url.as_deref(), Some("s3://bucket/dvr/"));
}
