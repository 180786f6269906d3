//! The ledger end to end, each test against SQLite and against a real PostgreSQL
//! (`common::postgres`): idempotent submissions, GetTask and ListTasks, a ledger that
//! cannot be written, and a gateway without one.

mod common;

use common::{
    assert_reason, details, fast_sandbox,
    logs::sha,
    mp4_query, postgres, start_with,
    tls::{temp_dir, write},
    Env,
};
use qencode_gateway::{
    ledger::DatabaseUrl,
    pb::{self, transcoding_client::TranscodingClient},
};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::collections::HashSet;
use tonic::{transport::Channel, Code, Request};

/// Where a test's ledger lives.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

async fn ledger_url(backend: Backend) -> DatabaseUrl {
    match backend {
        Backend::Sqlite => DatabaseUrl::Sqlite(temp_dir().join("ledger.db")),
        Backend::Postgres => postgres::database().await.parse().expect("postgres url"),
    }
}

const KEY_ALPHA: &str = "ledger-alpha-key-1";
const KEY_BETA: &str = "ledger-beta-key-2";
const ENCODER: &str = "encoder-token-1";
const BATCH: &str = "batch-token-2";

/// A gateway with a ledger on `backend`; with `policy`, two projects (alpha, beta)
/// and two callers: `encoder` (alpha, may pick beta) and `batch` (alpha).
async fn start(backend: Backend, policy: bool) -> Env {
    let url = ledger_url(backend).await;
    let sandbox = SandboxConfig {
        api_keys: vec![common::API_KEY.into(), KEY_ALPHA.into(), KEY_BETA.into()],
        live_api_keys: vec![common::API_KEY.into(), KEY_ALPHA.into(), KEY_BETA.into()],
        ..fast_sandbox()
    };
    let policy = policy.then(|| {
        let dir = temp_dir();
        let text = format!(
            "[projects.alpha]\napi_key_file = \"{}\"\n\n[projects.beta]\napi_key_file = \"{}\"\n\n\
             [[callers]]\nname = \"encoder\"\nbearer_sha256 = \"{}\"\nproject = \"alpha\"\nprojects = [\"beta\"]\nallow = [\"*\"]\n\n\
             [[callers]]\nname = \"batch\"\nbearer_sha256 = \"{}\"\nproject = \"alpha\"\nallow = [\"*\"]\n",
            write(&dir, "alpha.key", KEY_ALPHA).display(),
            write(&dir, "beta.key", KEY_BETA).display(),
            sha(ENCODER),
            sha(BATCH),
        );
        write(&dir, "policy.toml", &text)
    });
    start_with(sandbox, move |c| {
        c.database_url = url;
        c.access.policy_file = policy;
    })
    .await
}

/// `message` as `token`'s call, for `project` when given.
fn as_caller<T>(message: T, token: &str, project: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    let m = request.metadata_mut();
    m.insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(project) = project {
        m.insert("x-qencode-project", project.parse().unwrap());
    }
    request
}

fn transcode_request(source: &str, request_id: &str) -> pb::TranscodeRequest {
    pb::TranscodeRequest {
        query_kind: Some(pb::transcode_request::QueryKind::Query(mp4_query(source))),
        request_id: request_id.into(),
        ..Default::default()
    }
}

async fn twenty_duplicates_give_one_task_and_one_start(backend: Backend) {
    let env = start(backend, false).await;
    let client = env.transcoding().await;
    let calls = (0..20).map(|_| {
        let mut client = client.clone();
        async move {
            client
                .transcode(transcode_request("https://example.com/a.mp4", "req-1"))
                .await
                .map(|r| r.into_inner())
        }
    });
    let answers = futures::future::join_all(calls).await;
    let tokens: HashSet<String> = answers
        .into_iter()
        .map(|a| a.expect("every duplicate answers OK").task_token)
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 1);
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1);

    // The same id with another query: refused, naming the field, nothing sent.
    let status = client
        .clone()
        .transcode(transcode_request("https://example.com/other.mp4", "req-1"))
        .await
        .unwrap_err();
    let details = assert_reason(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
    let fields: Vec<String> = details
        .bad_request()
        .expect("BadRequest")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(fields, vec!["request_id"]);
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 1);

    // A later retry of the first request answers the first call's task again.
    let again = client
        .clone()
        .transcode(transcode_request("https://example.com/a.mp4", "req-1"))
        .await
        .unwrap()
        .into_inner();
    assert!(tokens.contains(&again.task_token));
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1);
    env.stop().await;
}

#[tokio::test]
async fn sqlite_twenty_duplicates_give_one_task_and_one_start() {
    twenty_duplicates_give_one_task_and_one_start(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_twenty_duplicates_give_one_task_and_one_start() {
    twenty_duplicates_give_one_task_and_one_start(Backend::Postgres).await;
}

async fn create_task_and_start_encode_are_idempotent(backend: Backend) {
    let env = start(backend, false).await;
    let mut client = env.transcoding().await;
    let create = || pb::CreateTaskRequest {
        request_id: "create-1".into(),
        ..Default::default()
    };
    let first = client.create_task(create()).await.unwrap().into_inner();
    let second = client.create_task(create()).await.unwrap().into_inner();
    assert_eq!(first.task_token, second.task_token);
    assert_eq!(first.upload_url, second.upload_url);
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 1);
    let start = || pb::StartEncodeRequest {
        task_token: first.task_token.clone(),
        query_kind: Some(pb::start_encode_request::QueryKind::Query(mp4_query(
            "https://example.com/b.mp4",
        ))),
        request_id: "start-1".into(),
        ..Default::default()
    };
    let a = client.start_encode(start()).await.unwrap().into_inner();
    let b = client.start_encode(start()).await.unwrap().into_inner();
    assert_eq!(a.status_url, b.status_url);
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1);
    env.stop().await;
}

#[tokio::test]
async fn sqlite_create_task_and_start_encode_are_idempotent() {
    create_task_and_start_encode_are_idempotent(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_create_task_and_start_encode_are_idempotent() {
    create_task_and_start_encode_are_idempotent(Backend::Postgres).await;
}

async fn list_tasks(
    client: &mut TranscodingClient<Channel>,
    token: &str,
    request: pb::ListTasksRequest,
) -> Vec<pb::TaskRecord> {
    let mut all = Vec::new();
    let mut request = request;
    loop {
        let page = client
            .list_tasks(as_caller(request.clone(), token, None))
            .await
            .expect("ListTasks")
            .into_inner();
        assert!(page.tasks.len() <= 10);
        all.extend(page.tasks);
        if page.next_page_token.is_empty() {
            return all;
        }
        request.page_token = page.next_page_token;
    }
}

async fn list_tasks_pages_filters_and_keeps_projects_apart(backend: Backend) {
    let env = start(backend, true).await;
    let mut client = env.transcoding().await;
    // 25 tasks in alpha: 15 by encoder (team=video on the even ones), 10 by batch.
    let mut created = Vec::new();
    for i in 0..25 {
        let (token, team) = if i < 15 {
            (ENCODER, if i % 2 == 0 { "video" } else { "audio" })
        } else {
            (BATCH, "batch")
        };
        let request = pb::CreateTaskRequest {
            labels: [("team".to_owned(), team.to_owned())].into(),
            ..Default::default()
        };
        let task = client
            .create_task(as_caller(request, token, None))
            .await
            .expect("CreateTask")
            .into_inner();
        created.push(task.task_token);
    }
    // One task in beta, which alpha's lists never show.
    let beta = client
        .create_task(as_caller(
            pb::CreateTaskRequest::default(),
            ENCODER,
            Some("beta"),
        ))
        .await
        .unwrap()
        .into_inner()
        .task_token;

    let page_of_10 = pb::ListTasksRequest {
        page_size: 10,
        ..Default::default()
    };
    let all = list_tasks(&mut client, BATCH, page_of_10.clone()).await;
    let listed: Vec<String> = all.iter().map(|t| t.task_token.clone()).collect();
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first, "25 tasks, newest first, each once");
    assert!(!listed.contains(&beta));
    assert!(all.iter().all(|t| t.project == "alpha"));

    let video = list_tasks(
        &mut client,
        BATCH,
        pb::ListTasksRequest {
            labels: [("team".to_owned(), "video".to_owned())].into(),
            ..page_of_10.clone()
        },
    )
    .await;
    assert_eq!(video.len(), 8);
    assert!(video
        .iter()
        .all(|t| t.labels["team"] == "video" && t.caller == "encoder"));

    let by_batch = list_tasks(
        &mut client,
        ENCODER,
        pb::ListTasksRequest {
            caller: "batch".into(),
            ..page_of_10.clone()
        },
    )
    .await;
    assert_eq!(by_batch.len(), 10);

    let active = list_tasks(
        &mut client,
        ENCODER,
        pb::ListTasksRequest {
            phase: pb::TaskPhase::Active as i32,
            ..page_of_10.clone()
        },
    )
    .await;
    assert_eq!(active.len(), 25, "created tasks are active");
    let failed = list_tasks(
        &mut client,
        ENCODER,
        pb::ListTasksRequest {
            phase: pb::TaskPhase::Failed as i32,
            ..page_of_10.clone()
        },
    )
    .await;
    assert!(failed.is_empty());

    // In beta, only beta's task.
    let in_beta = client
        .list_tasks(as_caller(page_of_10.clone(), ENCODER, Some("beta")))
        .await
        .unwrap()
        .into_inner();
    let beta_tokens: Vec<&str> = in_beta
        .tasks
        .iter()
        .map(|t| t.task_token.as_str())
        .collect();
    assert_eq!(beta_tokens, vec![beta.as_str()]);

    // A page token with other filters is refused, naming it.
    let first = client
        .list_tasks(as_caller(page_of_10.clone(), BATCH, None))
        .await
        .unwrap()
        .into_inner();
    let status = client
        .list_tasks(as_caller(
            pb::ListTasksRequest {
                page_token: first.next_page_token,
                caller: "encoder".into(),
                ..page_of_10
            },
            BATCH,
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations = details(&status)
        .bad_request()
        .unwrap()
        .field_violations
        .clone();
    assert_eq!(violations[0].field, "page_token");
    env.stop().await;
}

#[tokio::test]
async fn sqlite_list_tasks_pages_filters_and_keeps_projects_apart() {
    list_tasks_pages_filters_and_keeps_projects_apart(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_list_tasks_pages_filters_and_keeps_projects_apart() {
    list_tasks_pages_filters_and_keeps_projects_apart(Backend::Postgres).await;
}

async fn get_task_answers_from_the_ledger_alone(backend: Backend) {
    let env = start(backend, true).await;
    let mut client = env.transcoding().await;
    let mut query = mp4_query("https://user:hunter2@example.com/c.mp4");
    if let Some(format) = query.format.first_mut() {
        format.destination = vec![pb::Destination {
            url: Some("s3://us-west.s3.example/bucket/out".into()),
            key: Some("AKIA-LEDGER-KEY".into()),
            secret: Some("LEDGER-SECRET".into()),
            ..Default::default()
        }];
    }
    let started = client
        .transcode(as_caller(
            pb::TranscodeRequest {
                query_kind: Some(pb::transcode_request::QueryKind::Query(query)),
                request_id: "get-1".into(),
                labels: [("team".to_owned(), "video".to_owned())].into(),
                ..Default::default()
            },
            ENCODER,
            None,
        ))
        .await
        .expect("Transcode")
        .into_inner();
    let before = env.sandbox.count(Endpoint::Any);
    let task = client
        .get_task(as_caller(
            pb::GetTaskRequest {
                task_token: started.task_token.clone(),
            },
            BATCH,
            None,
        ))
        .await
        .expect("GetTask")
        .into_inner()
        .task
        .expect("a task");
    assert_eq!(
        env.sandbox.count(Endpoint::Any),
        before,
        "no upstream request"
    );
    assert_eq!(task.task_token, started.task_token);
    assert_eq!(
        (task.project.as_str(), task.caller.as_str()),
        ("alpha", "encoder")
    );
    assert_eq!(task.request_id, "get-1");
    assert_eq!(task.labels["team"], "video");
    assert!(task.create_time.is_some() && task.start_time.is_some());
    assert!(task
        .query_json
        .contains("s3://us-west.s3.example/bucket/out"));
    for secret in ["hunter2", "AKIA-LEDGER-KEY", "LEDGER-SECRET"] {
        assert!(
            !task.query_json.contains(secret),
            "{secret} in {}",
            task.query_json
        );
    }
    // Another project's view: not found, as an unknown token.
    let status = client
        .get_task(as_caller(
            pb::GetTaskRequest {
                task_token: started.task_token,
            },
            ENCODER,
            Some("beta"),
        ))
        .await
        .unwrap_err();
    assert_reason(&status, Code::NotFound, "TASK_NOT_IN_LEDGER");
    env.stop().await;
}

#[tokio::test]
async fn sqlite_get_task_answers_from_the_ledger_alone() {
    get_task_answers_from_the_ledger_alone(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_get_task_answers_from_the_ledger_alone() {
    get_task_answers_from_the_ledger_alone(Backend::Postgres).await;
}

#[tokio::test]
async fn a_ledger_that_cannot_be_reached_refuses_submissions_before_any_upstream_call() {
    // A Postgres that is not there: nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let url: DatabaseUrl = format!("postgres://postgres@127.0.0.1:{port}/none")
        .parse()
        .unwrap();
    let env = start_with(fast_sandbox(), move |c| c.database_url = url).await;
    env.wait_serving().await;
    let mut client = env.transcoding().await;
    let before = env.sandbox.count(Endpoint::CreateTask);
    let status = client
        .transcode(transcode_request("https://example.com/d.mp4", "down-1"))
        .await
        .unwrap_err();
    let details = assert_reason(&status, Code::Unavailable, "LEDGER_UNAVAILABLE");
    assert!(details.retry_info().is_some());
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), before);
    // Without a request id too: the failed writes (the start-up connection's first)
    // make such calls claim a row first, so nothing reaches Qencode either.
    for _ in 0..2 {
        let status = client
            .transcode(transcode_request("https://example.com/d.mp4", ""))
            .await
            .unwrap_err();
        assert_reason(&status, Code::Unavailable, "LEDGER_UNAVAILABLE");
    }
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), before);
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 0);
    env.stop().await;
}

#[tokio::test]
async fn without_a_ledger_request_ids_and_lists_are_refused_and_plain_calls_work() {
    let env = start_with(fast_sandbox(), |c| c.database_url = DatabaseUrl::Off).await;
    let mut client = env.transcoding().await;
    let status = client
        .transcode(transcode_request("https://example.com/e.mp4", "off-1"))
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "LEDGER_OFF");
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 0);
    let status = client
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "LEDGER_OFF");
    client
        .transcode(transcode_request("https://example.com/e.mp4", ""))
        .await
        .expect("a plain Transcode works without a ledger");
    env.stop().await;
}

#[tokio::test]
async fn bad_request_ids_labels_and_page_sizes_name_their_field() {
    let env = start(Backend::Sqlite, false).await;
    let mut client = env.transcoding().await;
    let status = client
        .transcode(transcode_request("https://example.com/f.mp4", "has space"))
        .await
        .unwrap_err();
    let fields: Vec<String> = details(&status)
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(fields, vec!["request_id"]);
    let status = client
        .create_task(pb::CreateTaskRequest {
            labels: [("Bad Name".to_owned(), "x".to_owned())].into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        details(&status).bad_request().unwrap().field_violations[0].field,
        "labels[Bad Name]"
    );
    let status = client
        .list_tasks(pb::ListTasksRequest {
            page_size: 5000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        details(&status).bad_request().unwrap().field_violations[0].field,
        "page_size"
    );
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 0);
    env.stop().await;
}
