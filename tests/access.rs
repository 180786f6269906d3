//! Who may call, end to end over plain connections: bearer tokens against their
//! digests, a mesh identity honoured only when configured, a policy reload that changes
//! an outcome on the same connection, a caller's rate, audit lines, and no caller token
//! in any log line.

mod common;

use common::{logs::*, tls::*, *};
use qencode_gateway::{
    access::identity::mesh::Mesh,
    pb::{transcoding_client::TranscodingClient, CreateTaskRequest, GetStatusRequest},
    support::config::Config,
};
use std::time::Duration;
use tonic::{transport::Channel, Code, Request};

const TOKEN: &str = "caller-SECRET-token-31337";
const WRONG_TOKEN: &str = "caller-SECRET-wrong-token-4040";

/// A gateway with the policy `text` (re-read every 20 ms) and `tweak` applied.
async fn start_policy(text: &str, tweak: impl FnOnce(&mut Config)) -> (Env, std::path::PathBuf) {
    start_policy_with(fast_sandbox(), text, tweak).await
}

async fn start_policy_with(
    sandbox: qencode_sandbox::SandboxConfig,
    text: &str,
    tweak: impl FnOnce(&mut Config),
) -> (Env, std::path::PathBuf) {
    logs();
    let dir = temp_dir();
    let path = write(&dir, "policy.toml", text);
    let file = path.clone();
    let env = start_with(sandbox, move |c| {
        c.access.policy_file = Some(file);
        c.access.policy_poll_interval = Duration::from_millis(20);
        tweak(c);
    })
    .await;
    (env, path)
}

fn with_header<T>(message: T, name: &'static str, value: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(name, value.parse().unwrap());
    request
}

async fn create(
    client: &mut TranscodingClient<Channel>,
    request: Request<CreateTaskRequest>,
) -> Result<(), tonic::Status> {
    client.create_task(request).await.map(drop)
}

#[tokio::test(start_paused = true)]
async fn a_bearer_token_matches_its_digest_and_a_wrong_one_is_unauthenticated() {
    let policy = format!(
        "[[callers]]\nname = \"batch\"\nbearer_sha256 = \"{}\"\nallow = [\"qencode.gateway.v1.Transcoding/*\"]\n",
        sha(TOKEN)
    );
    let (env, _) = start_policy(&policy, |_| {}).await;
    let mut client = env.transcoding().await;
    let bearer = |token: &str| {
        with_header(
            CreateTaskRequest::default(),
            "authorization",
            &format!("Bearer {token}"),
        )
    };
    create(&mut client, bearer(TOKEN))
        .await
        .expect("the right token");
    let wrong = create(&mut client, bearer(WRONG_TOKEN)).await.unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");
    assert!(!wrong.message().contains(WRONG_TOKEN));
    let none = create(&mut client, Request::new(CreateTaskRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);
    // Health stays open to anyone.
    env.wait_serving().await;

    // The audit line names the caller, the method and the code; no token in any line.
    eventually(
        "an audit line for the caller",
        Duration::from_secs(5),
        || {
            let text = log_text();
            text.lines()
                .any(|l| {
                    l.contains("audit") && l.contains("caller=\"batch\"")
                        || l.contains("audit") && l.contains("caller=batch")
                })
                .then_some(())
                .ok_or(text)
        },
    )
    .await;
    let text = log_text();
    for secret in [TOKEN, WRONG_TOKEN] {
        assert!(!text.contains(secret), "a caller token reached the logs");
    }
    env.stop().await;
}

const LINKERD_POLICY: &str = r#"
[[callers]]
name = "encoder"
identity = "encoder.media.serviceaccount.identity.linkerd.cluster.local"
allow = ["qencode.gateway.v1.Transcoding/*"]
"#;

#[tokio::test(start_paused = true)]
async fn a_mesh_identity_header_is_honoured_only_when_configured() {
    let id = "encoder.media.serviceaccount.identity.linkerd.cluster.local";
    let (trusting, _) = start_policy(LINKERD_POLICY, |c| {
        c.access.trust_mesh_identity = Some(Mesh::Linkerd)
    })
    .await;
    let mut client = trusting.transcoding().await;
    create(
        &mut client,
        with_header(CreateTaskRequest::default(), "l5d-client-id", id),
    )
    .await
    .expect("the sidecar's identity is trusted");
    trusting.stop().await;

    let (plain, _) = start_policy(LINKERD_POLICY, |_| {}).await;
    let mut client = plain.transcoding().await;
    let status = create(
        &mut client,
        with_header(CreateTaskRequest::default(), "l5d-client-id", id),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    plain.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_policy_reload_changes_the_outcome_on_the_same_connection() {
    let id = "encoder.media.serviceaccount.identity.linkerd.cluster.local";
    let (env, path) = start_policy(LINKERD_POLICY, |c| {
        c.access.trust_mesh_identity = Some(Mesh::Linkerd)
    })
    .await;
    let mut client = env.transcoding().await;
    let call = || with_header(CreateTaskRequest::default(), "l5d-client-id", id);
    create(&mut client, call()).await.expect("allowed at first");

    // A broken file keeps the old policy.
    std::fs::write(&path, "[[callers]\nname = ").unwrap();
    eventually("the bad file read", Duration::from_secs(5), || {
        log_text().contains("the new policy file is invalid")
    })
    .await;
    create(&mut client, call())
        .await
        .expect("the old policy still holds");
    // So do a typo in an allow entry (named with its line and the nearest method) and
    // an empty file (an editor's truncate-then-write).
    let typo = LINKERD_POLICY.replace("Transcoding/*", "Transcoding/CreateTsk");
    for (text, problem) in [
        (
            typo.as_str(),
            "line 5: caller \"encoder\": allow entry \"qencode.gateway.v1.Transcoding/CreateTsk\" names no method of qencode.gateway.v1.Transcoding; did you mean \"qencode.gateway.v1.Transcoding/CreateTask\"?",
        ),
        ("", "defines no [[callers]]"),
    ] {
        std::fs::write(&path, text).unwrap();
        let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
        while !log_text().contains(problem) {
            assert!(
                tokio::time::Instant::now() < give_up,
                "{problem:?} never logged:\n{}",
                log_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        create(&mut client, call())
            .await
            .expect("the old policy still holds");
    }

    // Only GetStatus allowed now: CreateTask becomes PERMISSION_DENIED, same channel.
    std::fs::write(
        &path,
        LINKERD_POLICY.replace("Transcoding/*", "Transcoding/GetStatus"),
    )
    .unwrap();
    eventually("reloaded", Duration::from_secs(5), async || {
        match create(&mut client, call()).await {
            Err(status) if status.code() == Code::PermissionDenied => Ok(()),
            other => Err(other),
        }
    })
    .await;
    assert_audited("encoder", "PERMISSION_DENIED");
    let status = client
        .get_status(with_header(
            GetStatusRequest::default(),
            "l5d-client-id",
            id,
        ))
        .await
        .unwrap_err();
    assert_ne!(
        status.code(),
        Code::PermissionDenied,
        "GetStatus is allowed: {status:?}"
    );
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_caller_over_its_rate_is_told_when_to_retry() {
    let policy = format!(
        "[[callers]]\nname = \"batch\"\nbearer_sha256 = \"{}\"\nallow = [\"*\"]\nrate_per_second = 0.001\nburst = 2\n",
        sha(TOKEN)
    );
    let (env, _) = start_policy(&policy, |_| {}).await;
    let mut client = env.transcoding().await;
    let bearer = || {
        with_header(
            CreateTaskRequest::default(),
            "authorization",
            &format!("Bearer {TOKEN}"),
        )
    };
    create(&mut client, bearer())
        .await
        .expect("first of the burst");
    create(&mut client, bearer())
        .await
        .expect("second of the burst");
    let status = create(&mut client, bearer()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let retry = details(&status).retry_info().and_then(|r| r.retry_delay);
    assert!(
        retry.is_some_and(|d| d > Duration::from_secs(60)),
        "{retry:?}"
    );
    // The refusal's audit line names the caller, as the error does (written before
    // the refusal is sent).
    assert_audited("batch", "RESOURCE_EXHAUSTED");
    env.stop().await;
}

/// Asserts an audit line of `caller` ended with `code`.
fn assert_audited(caller: &str, code: &str) {
    let text = log_text();
    assert!(
        text.lines().any(|l| l.contains(" audit: ")
            && l.contains(&format!("caller=\"{caller}\""))
            && l.contains(&format!("code=\"{code}\""))),
        "no {code} audit line naming {caller}:\n{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_caller_holds_at_most_its_watch_streams_and_gets_them_back() {
    let policy = format!(
        "[[callers]]\nname = \"viewer\"\nbearer_sha256 = \"{}\"\nallow = [\"*\"]\nmax_watchers = 1\n",
        sha(TOKEN)
    );
    // Tasks that stay running, so the first watch stays open until dropped.
    let slow = qencode_sandbox::SandboxConfig {
        phase_duration: Duration::from_secs(3600),
        ..fast_sandbox()
    };
    let (env, _) = start_policy_with(slow, &policy, |_| {}).await;
    let mut client = env.transcoding().await;
    fn bearer<T>(message: T) -> Request<T> {
        with_header(message, "authorization", &format!("Bearer {TOKEN}"))
    }
    let task_token = client
        .transcode(bearer(qencode_gateway::pb::TranscodeRequest {
            query_kind: Some(qencode_gateway::pb::transcode_request::QueryKind::Query(
                mp4_query("https://example.com/in.mp4"),
            )),
            payload: None,
            ..Default::default()
        }))
        .await
        .expect("transcode")
        .into_inner()
        .task_token;
    let watch = || {
        bearer(qencode_gateway::pb::WatchStatusRequest {
            task_token: task_token.clone(),
        })
    };
    let mut first = client
        .watch_status(watch())
        .await
        .expect("first watch")
        .into_inner();
    first.message().await.expect("snapshot").expect("an event");
    let second = client.watch_status(watch()).await.unwrap_err();
    assert_eq!(second.code(), Code::ResourceExhausted, "{second:?}");
    drop(first);
    // The slot comes back once the gateway sees the stream gone.
    eventually(
        "the slot back",
        Duration::from_secs(5),
        async || match client.watch_status(watch()).await {
            Ok(_) => Ok(()),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                Err(status)
            }
        },
    )
    .await;
    env.stop().await;
}
