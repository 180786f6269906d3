//! Request paths with repeated slashes (merged, as an nginx front does), error 14
//! naming the missing field, and every documented Transcoding error code
//! reachable over HTTP.

mod common;

use serde_json::json;

use common::{spawn_default, str_of, KEY};
use qencode_sandbox::{Endpoint, Fault, FaultKind};

#[tokio::test]
async fn repeated_slashes_are_merged() {
    let sb = spawn_default().await;
    let task = sb.started_task("https://example.com/v.mp4").await;
    let body = sb.call("//v1/status", &[("task_tokens", &task)]).await;
    assert_eq!(body["error"], 0, "{body}");
    assert_eq!(body["statuses"][&task]["status"], "downloading");
    let body = sb.call("/v1//access_token", &[("api_key", KEY)]).await;
    assert_eq!(body["error"], 0, "{body}");
    let master =
        str_of(&body_status_url(&sb, &task).await).replacen("/v1/status", "//v1///status", 1);
    let body = sb.call(&master, &[("task_tokens", &task)]).await;
    assert_eq!(body["error"], 0, "{body}");
    // Logged under the endpoint they reached.
    let endpoints: Vec<_> = sb
        .handle
        .requests()
        .iter()
        .rev()
        .take(3)
        .map(|r| r.endpoint)
        .collect();
    assert_eq!(
        endpoints,
        [
            Endpoint::MasterStatus,
            Endpoint::Status,
            Endpoint::AccessToken
        ]
    );
}

async fn body_status_url(sb: &common::TestSandbox, task: &str) -> serde_json::Value {
    sb.status(task).await["status_url"].clone()
}

#[tokio::test]
async fn missing_query_attributes_are_error_14_naming_the_field() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    let cases = [
        (json!({"query": {"format": [{"output": "mp4"}]}}), "source"),
        (
            json!({"query": {"source": "https://example.com/v.mp4"}}),
            "format",
        ),
        (
            json!({"query": {"source": "https://example.com/v.mp4", "format": [{"size": "1x1"}]}}),
            "format[0].output",
        ),
    ];
    for (query, field) in cases {
        let body = sb.start(&task, &query).await;
        assert_eq!(body["error"], 14, "{query}: {body}");
        assert_eq!(body["field"], field);
        assert_eq!(
            body["message"],
            format!("Value for field '{field}' is required in request.")
        );
    }
}

/// Every code of the document's error table, each provoked the way a client
/// would meet it (faults for the three with no natural trigger).
#[tokio::test]
async fn every_documented_error_code_is_reachable() {
    let sb = spawn_default().await;
    let token = sb.token().await;
    let task = sb.task().await;
    let query = json!({"query": {"source": "https://example.com/v.mp4",
        "format": [{"output": "mp4"}]}})
    .to_string();
    let long_payload = "x".repeat(1001);
    let mut reached = Vec::new();
    let mut expect = |code: i64, body: serde_json::Value| {
        assert_eq!(body["error"], code, "{body}");
        if code > 0 {
            assert!(body["message"].is_string(), "{body}");
        }
        reached.push(code);
    };

    expect(0, sb.call("/v1/access_token", &[("api_key", KEY)]).await);
    // A server fault has no natural trigger (an invalid query is the client's
    // mistake: 14 naming `query`).
    sb.handle
        .inject(Fault::once(Endpoint::StartEncode, FaultKind::documented(1)));
    expect(
        1,
        sb.call(
            "/v1/start_encode2",
            &[("task_token", &task), ("query", &query)],
        )
        .await,
    );
    let body = sb
        .call(
            "/v1/start_encode2",
            &[("task_token", &task), ("query", "{")],
        )
        .await;
    assert_eq!(
        (&body["error"], &body["field"]),
        (&json!(14), &json!("query"))
    );
    expect(2, sb.call("/v1/access_token", &[("api_key", "")]).await);
    expect(
        3,
        sb.call("/v1/access_token", &[("api_key", "unknown-key")])
            .await,
    );
    expect(4, sb.call("/v1/create_task", &[("token", "bad")]).await);
    expect(
        5,
        sb.call("/v1/create_task", &[("token", &"0".repeat(32))])
            .await,
    );
    sb.handle
        .inject(Fault::once(Endpoint::CreateTask, FaultKind::documented(6)));
    expect(6, sb.call("/v1/create_task", &[("token", &token)]).await);
    let wrong_master = format!("/master-{}/v1/status", "0".repeat(32));
    expect(7, sb.call(&wrong_master, &[("task_tokens", &task)]).await);
    sb.handle.inject(Fault::once(
        Endpoint::Status,
        FaultKind::Busy {
            retry_after_secs: 1,
        },
    ));
    expect(8, sb.call("/v1/status", &[("task_tokens", &task)]).await);
    expect(
        9,
        sb.call(
            "/v1/start_encode2",
            &[
                ("task_token", &task),
                ("query", &query),
                ("payload", &long_payload),
            ],
        )
        .await,
    );
    sb.handle.inject(Fault::once(
        Endpoint::StartEncode,
        FaultKind::documented(10),
    ));
    expect(
        10,
        sb.call(
            "/v1/start_encode2",
            &[("task_token", &task), ("query", &query)],
        )
        .await,
    );
    let uri = ("uri", "https://example.com/v.mp4");
    expect(
        11,
        sb.call(
            "/v1/start_encode",
            &[("task_token", &task), ("profiles", ","), uri],
        )
        .await,
    );
    expect(
        12,
        sb.call(
            "/v1/start_encode",
            &[("task_token", &task), ("profiles", "0123456789abc"), uri],
        )
        .await,
    );
    expect(13, sb.call("/v1/status", &[("task_tokens", "nope")]).await);
    expect(
        14,
        sb.call("/v1/start_encode2", &[("task_token", &task)]).await,
    );

    assert_eq!(reached, (0..=14).collect::<Vec<i64>>());
}

#[tokio::test]
async fn documented_faults_carry_the_documents_wording() {
    let sb = spawn_default().await;
    sb.handle
        .inject(Fault::once(Endpoint::AccessToken, FaultKind::documented(6)));
    let body = sb.call("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(body["error"], 6);
    let message = str_of(&body["message"]);
    assert!(message.starts_with("Service is suspended."), "{message}");
}
