//! Several Qencode projects on one gateway, end to end: each project's calls use its
//! own keys upstream (read back from the sandbox's record of keys), a task or stream
//! one project created is NOT_FOUND for a caller of another (StartEncode, WatchStatus,
//! UploadFile, CreateUpload, GetStatus, GetStream), `x-qencode-project` picks
//! a project only when the caller may use it, a reload can add a project (and a bad one
//! is refused with its line), and no key, caller token or upstream token reaches a log.

mod common;

use common::{logs::*, tls::*, *};
use qencode_gateway::{
    pb::{self, live_streaming_client::LiveStreamingClient, transcoding_client::TranscodingClient},
    support::config::Config,
    Gateway,
};
use qencode_sandbox::{Endpoint, KeyUse};
use std::{path::Path, time::Duration};
use tokio_stream::StreamExt;
use tonic::{transport::Channel, Code, Request};

const KEY_ALPHA: &str = "alpha-SECRET-key-1111";
const LIVE_KEY_ALPHA: &str = "alpha-SECRET-live-key-2222";
const KEY_BETA: &str = "beta-SECRET-key-3333";
const KEY_GAMMA: &str = "gamma-SECRET-key-4444";
const TOKEN_A: &str = "caller-SECRET-alpha-token-1";
const TOKEN_B: &str = "caller-SECRET-beta-token-2";
const TOKEN_AB: &str = "caller-SECRET-both-token-3";

/// Waits (bounded) until the logs hold a line with every one of `parts`.
async fn wait_for_line(parts: &[&str]) {
    eventually(
        &format!("a log line with {parts:?}"),
        Duration::from_secs(10),
        || {
            log_text()
                .lines()
                .any(|l| parts.iter().all(|p| l.contains(p)))
        },
    )
    .await;
}

/// The policy of the two-project tests: alpha (its own live key) and beta (one key for
/// both APIs), a caller of each, and one caller that may use both.
fn policy(dir: &Path) -> String {
    let a = write(dir, "alpha.key", &format!("{KEY_ALPHA}\n"));
    let la = write(dir, "alpha-live.key", LIVE_KEY_ALPHA);
    let b = write(dir, "beta.key", KEY_BETA);
    format!(
        r#"
[projects.alpha]
api_key_file = "{a}"
live_api_key_file = "{la}"

[projects.beta]
api_key_file = "{b}"

[[callers]]
name = "a"
bearer_sha256 = "{ta}"
project = "alpha"
allow = ["*"]

[[callers]]
name = "b"
bearer_sha256 = "{tb}"
project = "beta"
allow = ["*"]

[[callers]]
name = "both"
bearer_sha256 = "{tab}"
project = "alpha"
projects = ["beta"]
allow = ["*"]
"#,
        a = a.display(),
        la = la.display(),
        b = b.display(),
        ta = sha(TOKEN_A),
        tb = sha(TOKEN_B),
        tab = sha(TOKEN_AB),
    )
}

fn sandbox() -> qencode_sandbox::SandboxConfig {
    qencode_sandbox::SandboxConfig {
        api_keys: vec![KEY_ALPHA.into(), KEY_BETA.into(), KEY_GAMMA.into()],
        live_api_keys: vec![LIVE_KEY_ALPHA.into(), KEY_BETA.into(), KEY_GAMMA.into()],
        ..fast_sandbox()
    }
}

/// A gateway with the policy `text` at `path` (re-read every 20 ms) and no
/// QENCODE_API_KEY: every key comes from the policy's projects.
async fn start(path: &Path) -> Env {
    logs();
    let file = path.to_owned();
    start_with(sandbox(), move |c: &mut Config| {
        c.api_key = None;
        c.access.policy_file = Some(file);
        c.access.policy_poll_interval = Duration::from_millis(20);
    })
    .await
}

/// `message` as `token`'s caller, naming `project` when given.
fn call<T>(message: T, token: &str, project: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    let m = request.metadata_mut();
    m.insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(project) = project {
        m.insert("x-qencode-project", project.parse().unwrap());
    }
    request
}

async fn create_task(
    client: &mut TranscodingClient<Channel>,
    token: &str,
    project: Option<&str>,
) -> Result<String, tonic::Status> {
    client
        .create_task(call(pb::CreateTaskRequest::default(), token, project))
        .await
        .map(|r| r.into_inner().task_token)
}

async fn create_stream(
    client: &mut LiveStreamingClient<Channel>,
    token: &str,
) -> Result<pb::LiveStream, tonic::Status> {
    let params = pb::StreamParams {
        name: Some("projects".into()),
        ..Default::default()
    };
    let request = pb::CreateStreamRequest {
        params: Some(params),
        extra_json: None,
    };
    client
        .create_stream(call(request, token, None))
        .await
        .map(|r| r.into_inner().stream.expect("stream"))
}

/// The keys the sandbox saw at `endpoint`, in order.
fn keys_at(uses: &[KeyUse], endpoint: Endpoint) -> Vec<&str> {
    uses.iter()
        .filter(|u| u.endpoint == endpoint)
        .map(|u| u.api_key.as_str())
        .collect()
}

/// A gateway serving the two-project [`policy`], with a client of each API. The policy's
/// folder lives as long as the gateway.
struct TwoProjects {
    env: Env,
    transcoding: TranscodingClient<Channel>,
    live: LiveStreamingClient<Channel>,
    _dir: std::path::PathBuf,
}

async fn two_projects() -> TwoProjects {
    let dir = temp_dir();
    let path = write(&dir, "policy.toml", &policy(&dir));
    let env = start(&path).await;
    let transcoding = env.transcoding().await;
    let live = env.live().await;
    TwoProjects {
        env,
        transcoding,
        live,
        _dir: dir,
    }
}

impl TwoProjects {
    /// A task of alpha's caller and one of beta's.
    async fn tasks(&mut self) -> (String, String) {
        let task_a = create_task(&mut self.transcoding, TOKEN_A, None)
            .await
            .unwrap();
        let task_b = create_task(&mut self.transcoding, TOKEN_B, None)
            .await
            .unwrap();
        (task_a, task_b)
    }

    /// Asserts no key, caller token or upstream token of either project is in any log
    /// line, and stops the gateway.
    async fn stop_with_no_secret_logged(self) {
        let mut secrets: Vec<String> = [
            KEY_ALPHA,
            LIVE_KEY_ALPHA,
            KEY_BETA,
            TOKEN_A,
            TOKEN_B,
            TOKEN_AB,
        ]
        .map(str::to_owned)
        .to_vec();
        for name in ["alpha", "beta"] {
            let project = self.env.gateway.projects.get(name).unwrap();
            secrets.push(
                project
                    .transcoding
                    .token()
                    .await
                    .unwrap()
                    .expose()
                    .to_owned(),
            );
            secrets.push(project.live.token().await.unwrap().expose().to_owned());
        }
        let text = log_text();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret reached the logs");
        }
        self.env.stop().await;
    }
}

/// StartEncode of `task` as `token`'s caller.
fn start_encode(token: &str, task: &str) -> Request<pb::StartEncodeRequest> {
    call(
        pb::StartEncodeRequest {
            task_token: task.into(),
            query_kind: Some(pb::start_encode_request::QueryKind::Query(mp4_query(
                "https://example.com/in.mp4",
            ))),
            payload: None,
            ..Default::default()
        },
        token,
        None,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_callers_task_is_created_with_its_own_projects_key() {
    let mut two = two_projects().await;
    two.tasks().await;
    let uses = two.env.sandbox.key_uses();
    assert_eq!(keys_at(&uses, Endpoint::CreateTask), [KEY_ALPHA, KEY_BETA]);
    let mut token_keys = keys_at(&uses, Endpoint::AccessToken);
    token_keys.sort_unstable();
    assert_eq!(token_keys, [KEY_ALPHA, KEY_BETA], "one token per project");
    two.stop_with_no_secret_logged().await;
}

/// Beta's caller cannot see or touch alpha's task: NOT_FOUND, as for an unknown one,
/// and nothing reaches the upstream for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_projects_task_is_not_found_and_reaches_no_upstream() {
    let mut two = two_projects().await;
    let (task_a, task_b) = two.tasks().await;
    let env = &two.env;
    let transcoding = &mut two.transcoding;
    let starts_before = env.sandbox.count(Endpoint::StartEncode);
    let status = transcoding
        .start_encode(start_encode(TOKEN_B, &task_a))
        .await
        .unwrap_err();
    assert_reason(&status, Code::NotFound, "QENCODE_TOKEN_NOT_FOUND");
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), starts_before);
    let status = transcoding
        .watch_status(call(
            pb::WatchStatusRequest {
                task_token: task_a.clone(),
            },
            TOKEN_B,
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let upload = common::upload::messages(&task_a, b"abc", 3);
    let status = transcoding
        .upload_file(call(tokio_stream::iter(upload), TOKEN_B, None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let Some(pb::upload_file_request::Part::Metadata(metadata)) =
        common::upload::metadata(&task_a, 3).part
    else {
        unreachable!("metadata() builds a metadata part")
    };
    let status = transcoding
        .create_upload(call(
            pb::CreateUploadRequest {
                metadata: Some(metadata),
            },
            TOKEN_B,
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(env.sandbox.count(Endpoint::TusCreate), 0);
    let report = transcoding
        .get_status(call(
            pb::GetStatusRequest {
                task_tokens: vec![task_a.clone(), task_b.clone()],
            },
            TOKEN_B,
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(report.unknown_task_tokens.contains(&task_a), "{report:?}");
    assert!(!report.statuses.contains_key(&task_a));
    two.stop_with_no_secret_logged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projects_own_caller_starts_and_watches_its_task() {
    let mut two = two_projects().await;
    let (task_a, _) = two.tasks().await;
    two.transcoding
        .start_encode(start_encode(TOKEN_A, &task_a))
        .await
        .expect("alpha starts its own task");
    let mut watch = two
        .transcoding
        .watch_status(call(
            pb::WatchStatusRequest {
                task_token: task_a.clone(),
            },
            TOKEN_A,
            None,
        ))
        .await
        .expect("alpha watches its own task")
        .into_inner();
    watch
        .next()
        .await
        .expect("a first event")
        .expect("snapshot");
    drop(watch);
    two.stop_with_no_secret_logged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_of_both_projects_picks_one_per_call_and_defaults_to_its_own() {
    let mut two = two_projects().await;
    create_task(&mut two.transcoding, TOKEN_AB, Some("beta"))
        .await
        .unwrap();
    create_task(&mut two.transcoding, TOKEN_AB, None)
        .await
        .unwrap();
    let uses = two.env.sandbox.key_uses();
    assert_eq!(keys_at(&uses, Endpoint::CreateTask), [KEY_BETA, KEY_ALPHA]);
    two.stop_with_no_secret_logged().await;
}

/// Asking for a project the caller may not use, or one that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_not_allowed_or_not_defined_is_refused_before_the_upstream() {
    let mut two = two_projects().await;
    let transcoding = &mut two.transcoding;
    let creates = two.env.sandbox.count(Endpoint::CreateTask);
    let denied = create_task(transcoding, TOKEN_A, Some("beta"))
        .await
        .unwrap_err();
    let details = assert_reason(&denied, Code::PermissionDenied, "PROJECT_NOT_ALLOWED");
    let info = details.error_info().unwrap();
    assert_eq!(
        info.metadata.get("project").map(String::as_str),
        Some("beta")
    );
    assert_eq!(info.metadata.get("caller").map(String::as_str), Some("a"));
    let unknown = create_task(transcoding, TOKEN_AB, Some("nope"))
        .await
        .unwrap_err();
    let details = assert_reason(&unknown, Code::InvalidArgument, "UNKNOWN_PROJECT");
    assert_eq!(
        details
            .error_info()
            .unwrap()
            .metadata
            .get("project")
            .map(String::as_str),
        Some("nope")
    );
    assert_eq!(bad_fields(&unknown), ["x-qencode-project"]);
    assert_eq!(
        two.env.sandbox.count(Endpoint::CreateTask),
        creates,
        "refused calls reach no upstream"
    );
    two.stop_with_no_secret_logged().await;
}

/// Live calls go with the caller's project's Live key; another project's stream is
/// NOT_FOUND before any upstream request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_calls_use_the_projects_live_key_and_another_projects_stream_is_not_found() {
    let mut two = two_projects().await;
    let env = &two.env;
    let live = &mut two.live;
    let stream = create_stream(live, TOKEN_A).await.unwrap();
    create_stream(live, TOKEN_B).await.unwrap();
    let uses = env.sandbox.key_uses();
    assert_eq!(
        keys_at(&uses, Endpoint::LiveCreate),
        [LIVE_KEY_ALPHA, KEY_BETA]
    );
    let gets = env.sandbox.count(Endpoint::LiveGet);
    let status = live
        .get_stream(call(
            pb::GetStreamRequest {
                stream_id: stream.id.clone(),
            },
            TOKEN_B,
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(env.sandbox.count(Endpoint::LiveGet), gets);
    live.get_stream(call(
        pb::GetStreamRequest {
            stream_id: stream.id.clone(),
        },
        TOKEN_A,
        None,
    ))
    .await
    .expect("alpha reads its own stream");
    two.stop_with_no_secret_logged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_lines_carry_the_project_and_the_task_token_or_stream_id() {
    let mut two = two_projects().await;
    let (task_a, _) = two.tasks().await;
    two.transcoding
        .start_encode(start_encode(TOKEN_B, &task_a))
        .await
        .unwrap_err();
    two.transcoding
        .start_encode(start_encode(TOKEN_A, &task_a))
        .await
        .expect("alpha starts its own task");
    let stream = create_stream(&mut two.live, TOKEN_A).await.unwrap();
    wait_for_line(&["audit", "alpha", &task_a, "StartEncode", "OK"]).await;
    wait_for_line(&["audit", "beta", &task_a, "StartEncode", "NOT_FOUND"]).await;
    wait_for_line(&["audit", "alpha", &stream.id, "CreateStream"]).await;
    two.stop_with_no_secret_logged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_fetches_are_counted_by_project() {
    let mut two = two_projects().await;
    two.tasks().await;
    let metrics = reqwest::get(two.env.admin_url().join("metrics").unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for project in ["alpha", "beta"] {
        let line =
            format!(r#"gateway_token_fetches_total{{api="transcoding",project="{project}"}} 1"#);
        assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
    }
    two.stop_with_no_secret_logged().await;
}

/// Rewrites the policy at `path` and waits until a log line holds all of `expect` (the
/// reload's outcome).
async fn rewrite(path: &Path, text: &str, expect: &[&str]) {
    std::fs::write(path, text).unwrap();
    wait_for_line(expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adds_a_project_and_a_policy_without_its_key_is_refused() {
    let dir = temp_dir();
    let base = policy(&dir);
    let path = write(&dir, "policy.toml", &base);
    let env = start(&path).await;
    let mut transcoding = env.transcoding().await;
    let gamma = |caller_projects: &str, project_table: &str| {
        format!(
            "{project_table}\n{}",
            base.replace(
                "projects = [\"beta\"]",
                &format!("projects = [{caller_projects}]")
            )
        )
    };

    // A caller naming a project no section defines: refused, old policy kept.
    rewrite(
        &path,
        &gamma("\"beta\", \"gamma\"", ""),
        &["the new policy file is invalid", "projects names \"gamma\""],
    )
    .await;
    // A project whose key file is missing: refused with its line and the file.
    let missing = dir.join("gamma.key");
    let table = format!(
        "[projects.gamma]\napi_key_file = \"{}\"\n",
        missing.display()
    );
    rewrite(
        &path,
        &gamma("\"beta\", \"gamma\"", &table),
        &[
            "the new policy file is invalid",
            "line 1: project \"gamma\": api_key",
        ],
    )
    .await;
    let status = create_task(&mut transcoding, TOKEN_AB, Some("gamma"))
        .await
        .unwrap_err();
    assert_reason(&status, Code::InvalidArgument, "UNKNOWN_PROJECT");
    create_task(&mut transcoding, TOKEN_AB, Some("beta"))
        .await
        .expect("the old policy still serves");

    // With the key in place the same policy is taken, on the same connection.
    std::fs::write(&missing, KEY_GAMMA).unwrap();
    let table = format!(
        "[projects.gamma]\napi_key_file = \"{}\"\n",
        missing.display()
    );
    // Change one byte so the reloader reads it again.
    rewrite(
        &path,
        &format!("# with gamma\n{}", gamma("\"beta\", \"gamma\"", &table)),
        &["policy reloaded", "projects=3"],
    )
    .await;
    create_task(&mut transcoding, TOKEN_AB, Some("gamma"))
        .await
        .expect("gamma after the reload");
    let uses = env.sandbox.key_uses();
    assert_eq!(
        keys_at(&uses, Endpoint::CreateTask).last(),
        Some(&KEY_GAMMA)
    );
    assert!(!log_text().contains(KEY_GAMMA), "a key reached the logs");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_each_project_and_a_service_while_any_project_works() {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let dir = temp_dir();
    // Beta's key is one the sandbox does not know.
    let text = policy(&dir);
    write(&dir, "beta.key", "beta-SECRET-revoked-key-0000");
    let path = write(&dir, "policy.toml", &text);
    let env = start(&path).await;
    let mut health = HealthClient::new(env.channel().await);
    let want = [
        (
            "qencode.gateway.v1.Transcoding@alpha",
            ServingStatus::Serving,
        ),
        (
            "qencode.gateway.v1.LiveStreaming@alpha",
            ServingStatus::Serving,
        ),
        (
            "qencode.gateway.v1.Transcoding@beta",
            ServingStatus::NotServing,
        ),
        (
            "qencode.gateway.v1.LiveStreaming@beta",
            ServingStatus::NotServing,
        ),
        ("qencode.gateway.v1.Transcoding", ServingStatus::Serving),
        ("", ServingStatus::Serving),
    ];
    // One bound for all, each checked once it is the first not yet as wanted.
    let mut pending = want.into_iter().peekable();
    eventually("each health status", Duration::from_secs(10), async || {
        while let Some((service, status)) = pending.peek() {
            let now = health
                .check(HealthCheckRequest {
                    service: (*service).into(),
                })
                .await
                .map(|r| r.into_inner().status());
            if !now.as_ref().is_ok_and(|s| s == status) {
                return Err(format!("{service:?} is {now:?}, not {status:?}"));
            }
            pending.next();
        }
        Ok(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn a_policy_naming_a_missing_key_is_refused_at_start_with_its_line() {
    let dir = temp_dir();
    let text = "[projects.main]\napi_key_env = \"QENCODE_TEST_KEY_THAT_IS_NOT_SET\"\n\n[[callers]]\nname = \"c\"\nidentity = \"c\"\n";
    let path = write(&dir, "policy.toml", text);
    let mut config = Config::for_upstream(
        url::Url::parse("http://127.0.0.1:9").unwrap(),
        qencode_gateway::support::secret::Secret::new(API_KEY),
    );
    config.access.policy_file = Some(path);
    let Err(error) = Gateway::from_config(&config) else {
        panic!("a policy without its key must be refused");
    };
    assert!(
        error.message.contains("line 1: project \"main\": api_key")
            && error
                .message
                .contains("QENCODE_TEST_KEY_THAT_IS_NOT_SET is not set"),
        "{}",
        error.message
    );
}
