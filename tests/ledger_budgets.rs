//! Budgets from the policy file, counted in the ledger: refused with RESOURCE_EXHAUSTED
//! and a QuotaFailure naming the limit before any upstream call, allowed again once a
//! task ends.

mod common;

use common::{
    assert_reason,
    eventually::eventually,
    fast_sandbox,
    logs::sha,
    mp4_query, postgres, start_with,
    tls::{temp_dir, write},
    Env,
};
use qencode_gateway::{ledger::DatabaseUrl, pb};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::time::Duration;
use tonic::{Code, Request};

const LIMITED: &str = "limited-token";
const DAILY: &str = "daily-token";
const OTHER: &str = "other-token";

/// A gateway whose policy has `limited` (max_active_tasks = 2), `daily`
/// (max_tasks_per_day = 1) and `other` (no budget), all in project `main` (which
/// allows 3 running tasks), tasks that run about 2 s.
async fn start(url: DatabaseUrl) -> Env {
    let dir = temp_dir();
    let policy = format!(
        "[projects.main]\napi_key_env = \"QGW_BUDGET_TEST_KEY\"\nmax_active_tasks = 3\n\n\
         [[callers]]\nname = \"limited\"\nbearer_sha256 = \"{}\"\nallow = [\"*\"]\nmax_active_tasks = 2\n\n\
         [[callers]]\nname = \"daily\"\nbearer_sha256 = \"{}\"\nallow = [\"*\"]\nmax_tasks_per_day = 1\n\n\
         [[callers]]\nname = \"other\"\nbearer_sha256 = \"{}\"\nallow = [\"*\"]\n",
        sha(LIMITED),
        sha(DAILY),
        sha(OTHER),
    );
    // The policy names the key by variable; the tests' one key is in it.
    std::env::set_var("QGW_BUDGET_TEST_KEY", common::API_KEY);
    let path = write(&dir, "policy.toml", &policy);
    start_with(
        SandboxConfig {
            phase_duration: Duration::from_millis(400),
            ..fast_sandbox()
        },
        move |c| {
            c.database_url = url;
            c.access.policy_file = Some(path);
        },
    )
    .await
}

fn transcode(token: &str, request_id: &str) -> Request<pb::TranscodeRequest> {
    let mut request = Request::new(pb::TranscodeRequest {
        query_kind: Some(pb::transcode_request::QueryKind::Query(mp4_query(
            "https://example.com/budget.mp4",
        ))),
        request_id: request_id.into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The QuotaFailure's (subject, description) of a refusal.
fn quota(status: &tonic::Status) -> (String, String) {
    let details = assert_reason(status, Code::ResourceExhausted, "TASK_BUDGET_EXCEEDED");
    let failure = details.quota_failure().expect("QuotaFailure");
    let violation = &failure.violations[0];
    (violation.subject.clone(), violation.description.clone())
}

async fn a_caller_at_its_active_budget_waits_for_a_task_to_end(url: DatabaseUrl) {
    let env = start(url).await;
    let mut client = env.transcoding().await;
    client
        .transcode(transcode(LIMITED, "a"))
        .await
        .expect("first");
    client
        .transcode(transcode(LIMITED, "b"))
        .await
        .expect("second");
    let starts = env.sandbox.count(Endpoint::StartEncode);
    let creates = env.sandbox.count(Endpoint::CreateTask);
    let status = client.transcode(transcode(LIMITED, "c")).await.unwrap_err();
    let (subject, description) = quota(&status);
    assert_eq!(subject, "caller:limited");
    assert!(
        description.contains("max_active_tasks = 2"),
        "{description}"
    );
    assert_eq!(
        env.sandbox.count(Endpoint::StartEncode),
        starts,
        "nothing started"
    );
    assert_eq!(
        env.sandbox.count(Endpoint::CreateTask),
        creates,
        "nothing created"
    );
    // Another caller is not held back by `limited`'s budget...
    client
        .transcode(transcode(OTHER, "x"))
        .await
        .expect("other caller");
    // ...but the project's (3 running) now is.
    let status = client.transcode(transcode(OTHER, "y")).await.unwrap_err();
    assert_eq!(quota(&status).0, "project:main");
    // Once the first tasks complete, the refused request goes through (same id).
    eventually("room in the budget", Duration::from_secs(30), async || {
        client.transcode(transcode(LIMITED, "c")).await.map(|_| ())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn sqlite_a_caller_at_its_active_budget_waits_for_a_task_to_end() {
    a_caller_at_its_active_budget_waits_for_a_task_to_end(DatabaseUrl::Sqlite(
        temp_dir().join("ledger.db"),
    ))
    .await;
}

#[tokio::test]
async fn postgres_a_caller_at_its_active_budget_waits_for_a_task_to_end() {
    let url = postgres::database().await.parse().unwrap();
    a_caller_at_its_active_budget_waits_for_a_task_to_end(url).await;
}

#[tokio::test]
async fn a_caller_at_its_daily_budget_is_refused_and_a_retry_of_its_task_is_not() {
    let env = start(DatabaseUrl::Sqlite(temp_dir().join("ledger.db"))).await;
    let mut client = env.transcoding().await;
    let first = client
        .transcode(transcode(DAILY, "d1"))
        .await
        .expect("first of the day")
        .into_inner();
    let status = client.transcode(transcode(DAILY, "d2")).await.unwrap_err();
    let (subject, description) = quota(&status);
    assert_eq!(subject, "caller:daily");
    assert!(
        description.contains("max_tasks_per_day = 1"),
        "{description}"
    );
    // A retry of the first request is not a new task: it is answered, not refused.
    let again = client
        .transcode(transcode(DAILY, "d1"))
        .await
        .expect("the first request's retry")
        .into_inner();
    assert_eq!(again.task_token, first.task_token);
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1);
    env.stop().await;
}
