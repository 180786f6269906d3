//! End to end, LiveStreaming failures: upstream errors mapped by meaning, hostile ids
//! refused before any upstream call, shared tokens, a bad key.

mod common;

use common::*;
use qencode_gateway::{
    pb::{self, live_streaming_client::LiveStreamingClient},
    support::secret::Secret,
};
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;
use tonic::Code;

#[tokio::test(start_paused = true)]
async fn upstream_http_errors_map_by_meaning() {
    let env = start().await;
    let mut client = env.live().await;
    let cases = [
        (403, Code::PermissionDenied, "QENCODE_LIVE_FORBIDDEN"),
        (409, Code::FailedPrecondition, "QENCODE_LIVE_CONFLICT"),
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

/// Ids no stream, playback id or simulcast target can have: path tricks, an empty one,
/// an over-long one, control characters and URL syntax.
fn hostile_ids() -> Vec<String> {
    [
        "../access_token/x",
        "a/b",
        "x?y=1",
        "%2e%2e",
        "",
        "a".repeat(300).as_str(),
        "a\nb",
        "..",
        "a#b",
        "a b",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A serving gateway, a client of it, and the sandbox's request count before the test.
async fn quiet_gateway() -> (Env, LiveStreamingClient<tonic::transport::Channel>, usize) {
    let env = start().await;
    env.wait_serving().await;
    let before = env.sandbox.count(Endpoint::Any);
    let client = env.live().await;
    (env, client, before)
}

/// Asserts each `(field, status)` is INVALID_ARGUMENT naming only `field`.
fn assert_refused(id: &str, calls: Vec<(&str, tonic::Status)>) {
    for (field, status) in calls {
        assert_eq!(status.code(), Code::InvalidArgument, "{id:?}: {status:?}");
        assert_eq!(bad_fields(&status), vec![field.to_owned()], "{id:?}");
    }
}

/// Asserts the sandbox saw no request since `before`, and stops the gateway.
async fn assert_nothing_reached_the_upstream(env: Env, before: usize) {
    assert_eq!(
        env.sandbox.count(Endpoint::Any),
        before,
        "{:?}",
        env.sandbox.requests()
    );
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn hostile_stream_ids_are_refused_by_the_stream_reads_and_state_changes() {
    let (env, mut client, before) = quiet_gateway().await;
    for id in hostile_ids() {
        let calls = vec![
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
        ];
        assert_refused(&id, calls);
    }
    assert_nothing_reached_the_upstream(env, before).await;
}

#[tokio::test(start_paused = true)]
async fn hostile_stream_ids_are_refused_by_the_stream_updates() {
    let (env, mut client, before) = quiet_gateway().await;
    for id in hostile_ids() {
        let calls = vec![
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
        ];
        assert_refused(&id, calls);
    }
    assert_nothing_reached_the_upstream(env, before).await;
}

#[tokio::test(start_paused = true)]
async fn hostile_playback_and_simulcast_target_ids_are_refused() {
    let (env, mut client, before) = quiet_gateway().await;
    for id in hostile_ids() {
        let calls = vec![
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
        assert_refused(&id, calls);
    }
    assert_nothing_reached_the_upstream(env, before).await;
}

#[tokio::test(start_paused = true)]
async fn a_private_playback_policy_and_a_non_rtmp_simulcast_url_are_refused() {
    let (env, mut client, before) = quiet_gateway().await;
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
    ];
    for (status, field) in checks {
        assert_eq!(bad_fields(&status), vec![field.to_owned()], "{status:?}");
    }
    assert_nothing_reached_the_upstream(env, before).await;
}

#[tokio::test(start_paused = true)]
async fn missing_or_out_of_range_stream_params_are_refused() {
    let (env, mut client, before) = quiet_gateway().await;
    let checks = [
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
    assert_nothing_reached_the_upstream(env, before).await;
}

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
async fn bad_live_key_is_the_operators_to_fix() {
    let env = start_with(fast_sandbox(), |c| {
        c.live_api_key = Some(Secret::new("wrong-live-key"))
    })
    .await;
    let mut client = env.live().await;
    let status = client
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap_err();
    // The gateway's key, not the caller's identity: never UNAUTHENTICATED.
    assert_reason(
        &status,
        Code::FailedPrecondition,
        "QENCODE_LIVE_BAD_API_KEY",
    );
    assert!(!status.message().contains("wrong-live-key"));
    env.stop().await;
}
