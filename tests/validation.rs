//! Every local check answers INVALID_ARGUMENT with a BadRequest naming the field, and
//! the upstream sees no request at all.

mod common;

use common::*;
use qencode_gateway::pb::{self, start_encode_request::QueryKind};
use qencode_sandbox::Endpoint;
use tonic::Code;

fn start_request(
    task_token: &str,
    query_kind: Option<QueryKind>,
    payload: Option<String>,
) -> pb::StartEncodeRequest {
    pb::StartEncodeRequest {
        task_token: task_token.into(),
        query_kind,
        payload,
        ..Default::default()
    }
}

const TOKEN: &str = "471272a512d76c22665db9dcee893409";

#[tokio::test]
async fn invalid_requests_never_reach_the_upstream() {
    let env = start().await;
    env.wait_serving().await;
    let before = env.sandbox.count(Endpoint::Any);
    let mut client = env.transcoding().await;
    let typed = |q: pb::TranscodingQuery| Some(QueryKind::Query(q));
    let format = |output: &str| pb::Format {
        output: Some(output.into()),
        ..Default::default()
    };
    let stitch = vec![pb::StitchItem {
        item: Some(pb::stitch_item::Item::Url("https://a/b.mp4".into())),
    }];

    let cases: Vec<(pb::StartEncodeRequest, &str)> = vec![
        (
            start_request("", typed(mp4_query("https://a/b.mp4")), None),
            "task_token",
        ),
        (
            start_request("a,b", typed(mp4_query("https://a/b.mp4")), None),
            "task_token",
        ),
        (start_request(TOKEN, None, None), "query"),
        (
            start_request(
                TOKEN,
                typed(mp4_query("https://a/b.mp4")),
                Some("x".repeat(1001)),
            ),
            "payload",
        ),
        (
            start_request(
                TOKEN,
                typed(pb::TranscodingQuery {
                    format: vec![format("mp4")],
                    ..Default::default()
                }),
                None,
            ),
            "query.source",
        ),
        (
            start_request(
                TOKEN,
                typed(pb::TranscodingQuery {
                    source: Some("https://a/b.mp4".into()),
                    stitch: stitch.clone(),
                    format: vec![format("mp4")],
                    ..Default::default()
                }),
                None,
            ),
            "query.stitch",
        ),
        (
            start_request(
                TOKEN,
                typed(pb::TranscodingQuery {
                    source: Some("https://a/b.mp4".into()),
                    ..Default::default()
                }),
                None,
            ),
            "query.format",
        ),
        (
            start_request(
                TOKEN,
                typed(pb::TranscodingQuery {
                    source: Some("https://a/b.mp4".into()),
                    format: vec![format("mp4"), format("avi")],
                    ..Default::default()
                }),
                None,
            ),
            "query.format[1].output",
        ),
        (
            start_request(
                TOKEN,
                typed(pb::TranscodingQuery {
                    source: Some("https://a/b.mp4".into()),
                    format: vec![pb::Format {
                        output: Some("mp4".into()),
                        start_time: number(f64::INFINITY),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                None,
            ),
            "query.format[0].start_time",
        ),
        (
            // `qgw --format mp4:abc` once sent this on.
            start_request(
                TOKEN,
                typed(pb::TranscodingQuery {
                    source: Some("https://a/b.mp4".into()),
                    format: vec![pb::Format {
                        output: Some("mp4".into()),
                        size: Some("abc".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                None,
            ),
            "query.format[0].size",
        ),
        (
            start_request(TOKEN, Some(QueryKind::QueryJson("{not json".into())), None),
            "query_json",
        ),
        (
            start_request(
                TOKEN,
                Some(QueryKind::QueryJson(
                    r#"{"query": {"format": [{"output": "mp4"}]}}"#.into(),
                )),
                None,
            ),
            "query_json.source",
        ),
    ];
    for (request, field) in cases {
        let status = client.start_encode(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert_eq!(bad_fields(&status), vec![field.to_owned()], "{status:?}");
        assert_reason(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    }

    // Transcode validates everything before creating a task.
    let status = client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::Query(
                pb::TranscodingQuery {
                    format: vec![format("mp4")],
                    ..Default::default()
                },
            )),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), vec!["query.source".to_owned()]);

    // GetStatus: empty list, empty token, too many tokens.
    for (tokens, field) in [
        (vec![], "task_tokens"),
        (vec![String::new()], "task_tokens[0]"),
        (vec![TOKEN.to_owned(); 101], "task_tokens"),
    ] {
        let status = client
            .get_status(pb::GetStatusRequest {
                task_tokens: tokens,
            })
            .await
            .unwrap_err();
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
async fn all_problems_are_reported_at_once() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let status = client
        .start_encode(start_request(
            "",
            Some(QueryKind::Query(pb::TranscodingQuery::default())),
            Some("y".repeat(2000)),
        ))
        .await
        .unwrap_err();
    // The message names the first problem and counts the rest.
    let first = &bad_fields(&status)[0];
    assert!(
        status.message().contains(&format!("invalid {first}: ")),
        "{status:?}"
    );
    assert!(status.message().ends_with("(and 3 more)"), "{status:?}");
    let mut fields = bad_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        ["payload", "query.format", "query.source", "task_token"]
    );
    env.stop().await;
}
