//! End to end: tonic client -> gateway on :0 -> sandbox on :0 over HTTP.

mod common;

use common::*;
use qencode_gateway::pb::{self, start_encode_request::QueryKind, TaskState};
use qencode_sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;
use tonic::{Code, Request};
use tonic_types::StatusExt;

async fn create(
    client: &mut pb::transcoding_client::TranscodingClient<tonic::transport::Channel>,
) -> String {
    client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create_task")
        .into_inner()
        .task_token
}

#[tokio::test(start_paused = true)]
async fn create_start_and_follow_a_task_to_completion() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let created = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.task_token.len(), 32);
    assert_eq!(
        created.upload_url,
        format!("{}/v1/upload_file", env.sandbox.base_url())
    );

    let started = client
        .start_encode(pb::StartEncodeRequest {
            task_token: created.task_token.clone(),
            query_kind: Some(QueryKind::Query(mp4_query("https://example.com/in.mp4"))),
            payload: Some("{\"internal_id\": 7}".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        started.status_url.ends_with("/v1/status"),
        "{}",
        started.status_url
    );

    let task = env
        .sandbox
        .task(&created.task_token)
        .expect("sandbox saw the task");
    assert_eq!(
        task.query,
        Some(
            serde_json::json!({"query": {"source": "https://example.com/in.mp4",
            "format": [{"output": "mp4", "size": "320x240", "tag": "small"}]}})
        )
    );
    assert_eq!(task.payload.as_deref(), Some("{\"internal_id\": 7}"));

    let seen = follow_task(&mut client, &created.task_token).await;
    let last = seen.last().unwrap();
    assert_eq!(last.state(), TaskState::Completed);
    assert_eq!(last.status, "completed");
    assert_eq!(last.percent, Some(100.0));
    assert_eq!(last.videos.len(), 1);
    let video = &last.videos[0];
    assert!(
        video.url.as_deref().is_some_and(|u| !u.is_empty()),
        "{video:?}"
    );
    assert_eq!(video.user_tag.as_deref(), Some("small"));
    assert!(video.meta.is_some());
    // States only move forward.
    let order = |s: TaskState| {
        [
            TaskState::Downloading,
            TaskState::Queued,
            TaskState::Encoding,
            TaskState::Saving,
            TaskState::Completed,
        ]
        .iter()
        .position(|x| *x == s)
        .expect("documented state")
    };
    let states: Vec<usize> = seen.iter().map(|s| order(s.state())).collect();
    assert!(states.windows(2).all(|w| w[0] <= w[1]), "{states:?}");
    // After the first answer the gateway follows the task's master status endpoint.
    assert!(env.sandbox.count(Endpoint::MasterStatus) >= 1);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn transcode_creates_and_starts_in_one_call() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let response = client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::QueryJson(
                r#"{"query": {"source": "https://example.com/a.mp4", "format": [{"output": "mp3", "brand_new_attribute": [1, "x"]}]}}"#.into(),
            )),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let task = env.sandbox.task(&response.task_token).expect("task");
    assert!(task.started);
    // The raw form is the escape hatch: unknown attributes pass through untouched.
    assert_eq!(
        task.query.unwrap()["query"]["format"][0]["brand_new_attribute"],
        serde_json::json!([1, "x"])
    );
    let seen = follow_task(&mut client, &response.task_token).await;
    assert_eq!(seen.last().unwrap().audios.len(), 1);
    env.stop().await;
}

/// `output: metadata` through the gateway, as Qencode's client libraries use it: the
/// document's URL is the first `videos` entry once the task completes, and it serves
/// the source's ffprobe-style JSON.
#[tokio::test(start_paused = true)]
async fn a_metadata_output_completes_with_a_fetchable_document() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let response = client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::Query(
                pb::TranscodingQuery {
                    source: Some("https://example.com/bbb.mp4".into()),
                    format: vec![pb::Format {
                        output: Some("metadata".into()),
                        metadata_version: Some("4.1.5".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let seen = follow_task(&mut client, &response.task_token).await;
    let last = seen.last().unwrap();
    assert_eq!(last.state(), pb::TaskState::Completed, "{last:?}");
    let output = &last.videos[0];
    assert_eq!(output.output_format.as_deref(), Some("metadata"));
    let url = output.url.as_deref().expect("the document's URL");
    assert!(url.ends_with(".json"), "{url}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let document: serde_json::Value = reqwest::get(url)
        .await
        .expect("GET the document")
        .error_for_status()
        .expect("200")
        .json()
        .await
        .expect("a JSON document");
    assert_eq!(
        document["format"]["filename"],
        "https://example.com/bbb.mp4"
    );
    assert_eq!(document["streams"][0]["codec_type"], "video");
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn failing_source_ends_in_error_state() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let response = client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::Query(mp4_query(
                "https://example.com/fail.mp4",
            ))),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let last = follow_task(&mut client, &response.task_token)
        .await
        .pop()
        .unwrap();
    assert_eq!(last.state(), TaskState::Error);
    assert!(last.error);
    assert!(last.error_description.is_some());
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn get_status_reports_unknown_tokens_and_dedupes() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let unknown = "0123456789abcdef0123456789abcdef".to_string();
    let report = client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![token.clone(), unknown.clone(), token.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    // Created but not started counts as unknown upstream (null status).
    assert!(report.statuses.is_empty());
    assert_eq!(report.unknown_task_tokens, vec![token, unknown]);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn bad_api_key_is_the_operators_to_fix_with_the_qencode_code() {
    let env = start_with(fast_sandbox(), |c| {
        c.api_key = Some("wrong-key".parse().unwrap())
    })
    .await;
    let mut client = env.transcoding().await;
    let status = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    // The gateway's key, not the caller's identity: never UNAUTHENTICATED.
    let details = assert_reason(
        &status,
        Code::FailedPrecondition,
        "QENCODE_API_KEY_NOT_FOUND",
    );
    let info = details.error_info().unwrap();
    assert_eq!(info.domain, "qencode.com");
    assert_eq!(info.metadata.get("code").map(String::as_str), Some("3"));
    assert!(
        !status.message().contains("wrong-key"),
        "{}",
        status.message()
    );
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn revoked_session_token_is_refreshed_transparently() {
    let env = start().await;
    let mut client = env.transcoding().await;
    create(&mut client).await;
    assert_eq!(env.sandbox.count(Endpoint::AccessToken), 1);
    env.sandbox.revoke_tokens();
    create(&mut client).await;
    // One refused create_task, one new token, one retried create_task.
    assert_eq!(env.sandbox.count(Endpoint::AccessToken), 2);
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 3);
    // A token the upstream keeps refusing ends after one retry, as the operator's to fix.
    env.sandbox.inject(Fault {
        endpoint: Endpoint::CreateTask,
        kind: FaultKind::Error {
            code: 5,
            message: "token not found".into(),
        },
        times: 2,
    });
    let status = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "UPSTREAM_TOKEN_REJECTED");
    assert_eq!(env.sandbox.count(Endpoint::AccessToken), 3);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn busy_upstream_gives_unavailable_with_retry_info() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    env.sandbox.inject(Fault::once(
        Endpoint::Status,
        FaultKind::Busy {
            retry_after_secs: 7,
        },
    ));
    let status = client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![token],
        })
        .await
        .unwrap_err();
    let details = assert_reason(&status, Code::Unavailable, "QENCODE_SYSTEM_BUSY");
    assert_eq!(
        details.retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        details
            .error_info()
            .unwrap()
            .metadata
            .get("code")
            .map(String::as_str),
        Some("8")
    );
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn html_502_is_unavailable_and_not_retried_for_unsafe_calls() {
    let env = start().await;
    let mut client = env.transcoding().await;
    create(&mut client).await;
    let before = env.sandbox.count(Endpoint::CreateTask);
    env.sandbox.inject(Fault::once(
        Endpoint::CreateTask,
        FaultKind::Html { status: 502 },
    ));
    let status = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    assert_reason(&status, Code::Unavailable, "UPSTREAM_NOT_JSON");
    assert!(
        status.message().contains("text/html"),
        "{}",
        status.message()
    );
    // create_task is not idempotent and reached the upstream: exactly one attempt.
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), before + 1);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn safe_calls_retry_through_a_transient_502() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    env.sandbox.inject(Fault::once(
        Endpoint::Status,
        FaultKind::Html { status: 502 },
    ));
    let report = client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![token],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.unknown_task_tokens.len(), 1);
    assert_eq!(env.sandbox.count(Endpoint::Status), 2);
    // Malformed JSON on every attempt ends as UNAVAILABLE.
    env.sandbox.inject(Fault {
        endpoint: Endpoint::Status,
        kind: FaultKind::MalformedJson,
        times: 10,
    });
    let status = client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec!["0123456789abcdef0123456789abcdef".into()],
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::Unavailable, "UPSTREAM_NOT_JSON");
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn slow_upstream_is_bounded_by_the_callers_deadline() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    env.sandbox.inject(Fault::once(
        Endpoint::Status,
        FaultKind::Delay(Duration::from_secs(10)),
    ));
    let mut request = Request::new(pb::GetStatusRequest {
        task_tokens: vec![token],
    });
    request.set_timeout(Duration::from_millis(300));
    let started = tokio::time::Instant::now();
    let status = client.get_status(request).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    // The gateway answered itself, long before the upstream would have.
    assert!(started.elapsed() < Duration::from_secs(5));
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn upstream_error_codes_map_by_meaning() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let token = create(&mut client).await;
    let cases = [
        (6, Code::FailedPrecondition, "QENCODE_SERVICE_SUSPENDED"),
        (1, Code::Internal, "QENCODE_SERVER_INTERNAL"),
        (9, Code::InvalidArgument, "QENCODE_BAD_PAYLOAD"),
        (12, Code::NotFound, "QENCODE_PROFILE_NOT_FOUND"),
        (77, Code::Internal, "QENCODE_UNKNOWN_ERROR"),
    ];
    for (code, grpc, reason) in cases {
        env.sandbox.inject(Fault::once(
            Endpoint::StartEncode,
            FaultKind::Error {
                code,
                message: format!("upstream says {code}"),
            },
        ));
        let status = client
            .start_encode(pb::StartEncodeRequest {
                task_token: token.clone(),
                query_kind: Some(QueryKind::Query(mp4_query("https://example.com/x.mp4"))),
                payload: None,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_reason(&status, grpc, reason);
        assert!(
            status.message().contains(&format!("upstream says {code}")),
            "{}",
            status.message()
        );
    }
    // An unknown task token is NOT_FOUND (the session token is not involved).
    let status = client
        .start_encode(pb::StartEncodeRequest {
            task_token: "ffffffffffffffffffffffffffffffff".into(),
            query_kind: Some(QueryKind::Query(mp4_query("https://example.com/x.mp4"))),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::NotFound, "QENCODE_TOKEN_NOT_FOUND");
    assert_eq!(env.sandbox.count(Endpoint::AccessToken), 1);
    env.stop().await;
}

/// A started task whose status was asked once, so the gateway follows its master
/// status endpoint from now on.
async fn polled_through_its_master() -> (
    Env,
    pb::transcoding_client::TranscodingClient<tonic::transport::Channel>,
    String,
) {
    let env = start().await;
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
    client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![token.clone()],
        })
        .await
        .unwrap();
    (env, client, token)
}

#[tokio::test(start_paused = true)]
async fn master_endpoint_failure_falls_back_to_the_main_one() {
    let (env, mut client, token) = polled_through_its_master().await;
    let ask = || pb::GetStatusRequest {
        task_tokens: vec![token.clone()],
    };
    let master_before = env.sandbox.count(Endpoint::MasterStatus);
    assert!(master_before >= 1);
    let main_before = env.sandbox.count(Endpoint::Status);
    env.sandbox.inject(Fault {
        endpoint: Endpoint::MasterStatus,
        kind: FaultKind::Html { status: 503 },
        times: 20,
    });
    let report = client.get_status(ask()).await.unwrap().into_inner();
    assert!(report.statuses.contains_key(&token));
    assert!(
        env.sandbox.count(Endpoint::Status) > main_before,
        "fell back to /v1/status"
    );
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_busy_master_is_unavailable_without_falling_back() {
    let (env, mut client, token) = polled_through_its_master().await;
    let ask = || pb::GetStatusRequest {
        task_tokens: vec![token.clone()],
    };
    assert!(env.sandbox.count(Endpoint::MasterStatus) >= 1);
    let main_before = env.sandbox.count(Endpoint::Status);
    env.sandbox.inject(Fault {
        endpoint: Endpoint::MasterStatus,
        kind: FaultKind::Busy {
            retry_after_secs: 3,
        },
        times: 20,
    });
    let status = client.get_status(ask()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let details = status.get_error_details();
    assert_eq!(details.error_info().unwrap().reason, "QENCODE_SYSTEM_BUSY");
    assert!(details.retry_info().is_some(), "{status:?}");
    assert_eq!(
        env.sandbox.count(Endpoint::Status),
        main_before,
        "a busy master must not move the load to the main endpoint"
    );
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn cold_gateway_makes_one_token_request_for_500_concurrent_calls() {
    let env = start().await;
    let channel = env.channel().await;
    let calls = (0..500).map(|_| {
        let mut client = pb::transcoding_client::TranscodingClient::new(channel.clone());
        tokio::spawn(async move { client.create_task(pb::CreateTaskRequest::default()).await })
    });
    let results = futures::future::join_all(calls).await;
    let ok = results
        .into_iter()
        .filter(|r| matches!(r, Ok(Ok(_))))
        .count();
    assert_eq!(ok, 500);
    assert_eq!(env.sandbox.count(Endpoint::AccessToken), 1);
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 500);
    env.stop().await;
}
