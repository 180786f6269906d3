//! End-to-end tests of the JSON API over real HTTP: tokens, tasks, starting,
//! status lookups, every error code path and the request log.

mod common;

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use common::{query_for, spawn, spawn_default, str_of, KEY};
use qencode_sandbox::{Endpoint, SandboxConfig};

fn is_hex32(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn access_token_is_issued_for_a_known_key_with_utc_expiry() {
    let sb = spawn(SandboxConfig {
        token_ttl: Duration::from_secs(3600),
        ..SandboxConfig::default()
    })
    .await;
    let body = sb.call("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(body["error"], 0, "{body}");
    assert!(is_hex32(&body["token"]), "{body}");
    let expire = NaiveDateTime::parse_from_str(&str_of(&body["expire"]), "%Y-%m-%d %H:%M:%S")
        .expect("expire format");
    let expected = Utc::now().naive_utc() + chrono::Duration::seconds(3600);
    assert!(
        (expire - expected).num_seconds().abs() <= 60,
        "{expire} vs {expected}"
    );
    let other = sb.token().await;
    assert_ne!(body["token"], other.as_str());
}

#[tokio::test]
async fn bad_and_unknown_api_keys() {
    let sb = spawn_default().await;
    for form in [
        vec![("api_key", "")],
        vec![("api_key", "has space")],
        vec![],
    ] {
        let body = sb.call("/v1/access_token", &form).await;
        assert_eq!(body["error"], 2, "{form:?}: {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    let body = sb
        .call("/v1/access_token", &[("api_key", "not-a-key")])
        .await;
    assert_eq!(body["error"], 3, "{body}");
    assert!(body.get("token").is_none());

    // A key sent as JSON instead of a form is not seen at all.
    let response = sb
        .request(Method::POST, "/v1/access_token")
        .json(&json!({"api_key": KEY}))
        .send()
        .await
        .expect("send");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], 2, "{body}");
}

#[tokio::test]
async fn api_keys_can_be_rotated_at_runtime() {
    let sb = spawn_default().await;
    let old_token = sb.token().await;
    sb.handle.set_api_keys(vec!["rotated-key".into()]);
    let body = sb.call("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(body["error"], 3, "{body}");
    let body = sb
        .call("/v1/access_token", &[("api_key", "rotated-key")])
        .await;
    assert_eq!(body["error"], 0, "{body}");
    // Tokens issued under the old key stay valid until they expire.
    let body = sb.call("/v1/create_task", &[("token", &old_token)]).await;
    assert_eq!(body["error"], 0, "{body}");
}

#[tokio::test]
async fn create_task_returns_upload_url_and_task_token() {
    let sb = spawn_default().await;
    let token = sb.token().await;
    let body = sb.call("/v1/create_task", &[("token", &token)]).await;
    assert_eq!(body["error"], 0, "{body}");
    assert_eq!(body["upload_url"], format!("{}/v1/upload_file", sb.base));
    assert!(is_hex32(&body["task_token"]), "{body}");
    let task = str_of(&body["task_token"]);
    let snapshot = sb.handle.task(&task).expect("task recorded");
    assert!(!snapshot.started);
    assert_eq!(snapshot.status, None);
}

#[tokio::test]
async fn create_task_token_errors() {
    let sb = spawn_default().await;
    for form in [vec![], vec![("token", "")], vec![("token", "xyz")]] {
        let body = sb.call("/v1/create_task", &form).await;
        assert_eq!(body["error"], 4, "{form:?}: {body}");
    }
    let unknown = "0123456789abcdef0123456789abcdef";
    let body = sb.call("/v1/create_task", &[("token", unknown)]).await;
    assert_eq!(body["error"], 5, "{body}");
}

#[tokio::test]
async fn revoked_tokens_are_unknown() {
    let sb = spawn_default().await;
    let token = sb.token().await;
    sb.handle.revoke_tokens();
    let body = sb.call("/v1/create_task", &[("token", &token)]).await;
    assert_eq!(body["error"], 5, "{body}");
    let fresh = sb.token().await;
    let body = sb.call("/v1/create_task", &[("token", &fresh)]).await;
    assert_eq!(body["error"], 0, "{body}");
}

#[tokio::test(start_paused = true)]
async fn expired_tokens_are_unknown() {
    let sb = spawn(SandboxConfig {
        token_ttl: Duration::from_secs(60),
        ..SandboxConfig::default()
    })
    .await;
    let token = sb.token().await;
    tokio::time::advance(Duration::from_secs(59)).await;
    let body = sb.call("/v1/create_task", &[("token", &token)]).await;
    assert_eq!(body["error"], 0, "{body}");
    tokio::time::advance(Duration::from_secs(1)).await;
    let body = sb.call("/v1/create_task", &[("token", &token)]).await;
    assert_eq!(body["error"], 5, "{body}");
}

#[tokio::test]
async fn start_encode2_records_query_and_payload() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    let query = json!({"query": {
        "source": "https://example.com/video.mp4",
        "format": [{"output": "mp4", "destination": {"url": "s3://h/b/o.mp4", "key": "k", "secret": "s"}}]
    }});
    let query_text = query.to_string();
    let body = sb
        .call(
            "/v1/start_encode2",
            &[
                ("task_token", &task),
                ("query", &query_text),
                ("payload", "12345"),
            ],
        )
        .await;
    assert_eq!(
        body,
        json!({"error": 0, "status_url": format!("{}/v1/status", sb.base)})
    );
    let snapshot = sb.handle.task(&task).expect("task");
    assert!(snapshot.started);
    assert_eq!(snapshot.query, Some(query));
    assert_eq!(snapshot.payload.as_deref(), Some("12345"));
    assert_eq!(snapshot.status.as_deref(), Some("downloading"));
}

#[tokio::test]
async fn start_encode2_token_and_payload_errors() {
    let sb = spawn_default().await;
    let query = query_for("https://example.com/v.mp4").to_string();
    let body = sb
        .call(
            "/v1/start_encode2",
            &[("task_token", "nope"), ("query", &query)],
        )
        .await;
    assert_eq!(body["error"], 4, "{body}");
    let body = sb.call("/v1/start_encode2", &[("query", &query)]).await;
    assert_eq!(body["error"], 4, "{body}");
    let unknown = "0123456789abcdef0123456789abcdef";
    let body = sb
        .call(
            "/v1/start_encode2",
            &[("task_token", unknown), ("query", &query)],
        )
        .await;
    assert_eq!(body["error"], 5, "{body}");

    let task = sb.task().await;
    let long = "x".repeat(1001);
    let body = sb
        .call(
            "/v1/start_encode2",
            &[("task_token", &task), ("query", &query), ("payload", &long)],
        )
        .await;
    assert_eq!(body["error"], 9, "{body}");
    assert!(!sb.handle.task(&task).expect("task").started);
    // The limit counts characters, not bytes.
    let exact = "é".repeat(1000);
    let body = sb
        .call(
            "/v1/start_encode2",
            &[
                ("task_token", &task),
                ("query", &query),
                ("payload", &exact),
            ],
        )
        .await;
    assert_eq!(body["error"], 0, "{body}");
    assert_eq!(sb.handle.task(&task).expect("task").payload, Some(exact));
}

#[tokio::test]
async fn start_encode2_query_errors_name_the_problem() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    let cases = [
        ("not json".to_string(), "query: invalid JSON"),
        (
            json!({"query": {"source": "a", "format": [{"output": "avi"}]}}).to_string(),
            "query: format[0].output 'avi' is not supported",
        ),
        (
            json!({"query": {"source": "a", "stitch": ["b"], "format": [{"output": "mp4"}]}})
                .to_string(),
            "query: source and stitch cannot be used together",
        ),
        (
            json!({"query": {"source": "tus:0000", "format": [{"output": "mp4"}]}}).to_string(),
            "unknown upload",
        ),
    ];
    for (query, expected) in cases {
        let body = sb
            .call(
                "/v1/start_encode2",
                &[("task_token", &task), ("query", &query)],
            )
            .await;
        // The client's mistake: 14 naming `query`, never 1 (a server fault).
        assert_eq!(body["error"], 14, "{query}: {body}");
        assert_eq!(body["field"], "query", "{query}: {body}");
        let message = str_of(&body["message"]);
        assert!(message.starts_with(expected), "{query}: {message}");
    }
    let body = sb.call("/v1/start_encode2", &[("task_token", &task)]).await;
    assert_eq!(body["error"], 14, "{body}");
    assert_eq!(body["field"], "query");
    // None of the rejected attempts started the task.
    assert!(!sb.handle.task(&task).expect("task").started);
}

#[tokio::test]
async fn starting_a_task_twice_is_refused() {
    let sb = spawn_default().await;
    let task = sb.started_task("https://example.com/v.mp4").await;
    let body = sb
        .start(&task, &query_for("https://example.com/other.mp4"))
        .await;
    assert_eq!(body["error"], 1, "{body}");
    assert_eq!(body["message"], "task already started");
    let snapshot = sb.handle.task(&task).expect("task");
    assert_eq!(snapshot.query, Some(query_for("https://example.com/v.mp4")));
}

#[tokio::test]
async fn status_accepts_every_token_list_form() {
    let sb = spawn_default().await;
    let a = sb.started_task("https://example.com/a.mp4").await;
    let b = sb.started_task("https://example.com/b.mp4").await;
    let not_started = sb.task().await;
    let unknown = "0123456789abcdef0123456789abcdef".to_string();
    let comma = format!("{a}, {b},{not_started},{unknown}");
    let forms: [Vec<(&str, &str)>; 3] = [
        vec![("task_tokens", &comma)],
        vec![
            ("task_tokens[]", &a),
            ("task_tokens[]", &b),
            ("task_tokens[]", &not_started),
            ("task_tokens[]", &unknown),
        ],
        vec![
            ("task_tokens", &a),
            ("task_tokens", &b),
            ("task_tokens", &not_started),
            ("task_tokens", &unknown),
        ],
    ];
    for form in forms {
        let body = sb.call("/v1/status", &form).await;
        assert_eq!(body["error"], 0, "{body}");
        let statuses = body["statuses"].as_object().expect("statuses object");
        assert_eq!(statuses.len(), 4, "{body}");
        assert_eq!(statuses[&a]["status"], "downloading");
        assert_eq!(statuses[&b]["status"], "downloading");
        assert_eq!(statuses[&not_started], Value::Null);
        assert_eq!(statuses[&unknown], Value::Null);
    }
}

#[tokio::test]
async fn status_rejects_bad_token_lists() {
    let sb = spawn_default().await;
    for form in [
        vec![],
        vec![("task_tokens", "")],
        vec![("task_tokens", " , ")],
        vec![("task_tokens", "not-a-token")],
    ] {
        let body = sb.call("/v1/status", &form).await;
        assert_eq!(body["error"], 13, "{form:?}: {body}");
    }
}

#[tokio::test]
async fn master_status_urls_are_checked() {
    let sb = spawn_default().await;
    let task = sb.started_task("https://example.com/v.mp4").await;
    let unknown_master = format!("/master-{}/v1/status", "ab".repeat(16));
    let body = sb.call(&unknown_master, &[("task_tokens", &task)]).await;
    assert_eq!(body["error"], 7, "{body}");
    let response = sb
        .post_form("/not-a-master/v1/status", &[("task_tokens", &task)])
        .await;
    assert_eq!(response.status(), 404);
    let url = str_of(&sb.status(&task).await["status_url"]);
    let body = sb.call(&url, &[("task_tokens", "")]).await;
    assert_eq!(body["error"], 13, "{body}");
}

#[tokio::test]
async fn requests_are_recorded_in_order_with_keys_redacted() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    sb.status(&task).await;
    // The Live Streaming API's token path: an unknown key is 401.
    let response = sb.post_form("/v1/access_token/secret-api-key", &[]).await;
    assert_eq!(response.status(), 401);

    let requests = sb.handle.requests();
    let seen: Vec<_> = requests
        .iter()
        .map(|r| (r.method.as_str().to_string(), r.path.as_str(), r.endpoint))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "POST".to_string(),
                "/v1/access_token",
                Endpoint::AccessToken
            ),
            ("POST".to_string(), "/v1/create_task", Endpoint::CreateTask),
            ("POST".to_string(), "/v1/status", Endpoint::Status),
            (
                "POST".to_string(),
                "/v1/access_token/REDACTED",
                Endpoint::LiveAccessToken
            ),
        ]
    );
    assert!(requests
        .windows(2)
        .all(|w| w[0].seq < w[1].seq && w[0].at <= w[1].at));
    assert!(requests.iter().all(|r| r.fault.is_none()));
    assert_eq!(sb.handle.count(Endpoint::AccessToken), 1);
    assert_eq!(sb.handle.count(Endpoint::StartEncode), 0);
    assert_eq!(sb.handle.count(Endpoint::Any), 4);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sb = spawn_default().await;
    assert_eq!(sb.handle.base_url(), format!("http://{}", sb.handle.addr()));
    let client = sb.client.clone();
    let base = sb.base.clone();
    sb.handle.shutdown().await;
    let result = client
        .post(format!("{base}/v1/access_token"))
        .form(&[("api_key", KEY)])
        .send()
        .await;
    assert!(result.is_err(), "server still answering: {result:?}");
}
