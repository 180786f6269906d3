//! No API key, access token, stream key or storage key/secret appears in any log line at any
//! level: the whole gateway and sandbox run with TRACE logging captured into a buffer,
//! which is then scanned for recognisable secret values.

mod common;

use common::*;
use qencode_gateway::{
    pb::{self, start_encode_request::QueryKind},
    support::secret::Secret,
};
use qencode_sandbox::{Endpoint, Fault, FaultKind};

const API_KEY_SECRET: &str = "sk-SECRET-api-key-4242";
const WRONG_KEY_SECRET: &str = "sk-SECRET-wrong-key-9999";
const DEST_KEY: &str = "AKIA-SECRET-DEST-777";
const DEST_SECRET: &str = "dest-SECRET-888";
const SIMULCAST_KEY: &str = "simulcast-SECRET-key-555";
const PROJECT_ONE_KEY: &str = "p1-SECRET-api-key-6161";
const PROJECT_TWO_KEY: &str = "p2-SECRET-api-key-6262";
const PROJECT_TWO_LIVE_KEY: &str = "p2-SECRET-live-key-6363";
const CALLER_TOKEN: &str = "caller-SECRET-token-6464";

/// A gateway whose upstream key is [`API_KEY_SECRET`], every log line captured at TRACE.
async fn gateway() -> Env {
    logs::logs();
    let sandbox = qencode_sandbox::SandboxConfig {
        api_keys: vec![API_KEY_SECRET.into()],
        live_api_keys: vec![API_KEY_SECRET.into()],
        ..fast_sandbox()
    };
    start_with(sandbox, |c| c.api_key = Some(Secret::new(API_KEY_SECRET))).await
}

/// Asserts the capture works (TRACE, upstream requests in it) and that none of
/// `secrets` is in any line so far.
fn assert_not_logged(secrets: &[String]) {
    let logs = logs::logs().text();
    assert!(
        logs.contains("upstream_request"),
        "TRACE capture is not working"
    );
    assert!(
        logs.lines().count() > 100,
        "suspiciously few log lines: {}",
        logs.lines().count()
    );
    for secret in secrets {
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("secret {secret:?} leaked into the log: {line}");
        }
    }
}

/// The default project's current Transcoding (or Live) API token.
async fn token(env: &Env, live: bool) -> Secret {
    let project = env.gateway.projects.default_project().unwrap();
    let manager = if live {
        &project.live
    } else {
        &project.transcoding
    };
    manager.token().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_tokens_and_destination_keys_of_transcoding_calls_are_never_logged() {
    let env = gateway().await;
    let mut client = env.transcoding().await;
    let mut tokens = Vec::new();

    let task = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap()
        .into_inner()
        .task_token;
    tokens.push(token(&env, false).await);
    env.sandbox.revoke_tokens();
    client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap();
    tokens.push(token(&env, false).await);

    let mut query = mp4_query("https://example.com/in.mp4");
    query.format[0].destination = vec![pb::Destination {
        url: Some("s3://bucket/out.mp4".into()),
        key: Some(DEST_KEY.into()),
        secret: Some(DEST_SECRET.into()),
        ..Default::default()
    }];
    client
        .start_encode(pb::StartEncodeRequest {
            task_token: task.clone(),
            query_kind: Some(QueryKind::Query(query)),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap();
    let raw = format!(
        r#"{{"source": "https://e/x.mp4", "format": [{{"output": "mp4", "destination": {{"url": "s3://b/o", "key": "{DEST_KEY}", "secret": "{DEST_SECRET}"}}}}]}}"#
    );
    client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::QueryJson(raw)),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap();
    // Upstream errors on the query call: the error path must not echo the query either.
    env.sandbox.inject(Fault::once(
        Endpoint::StartEncode,
        FaultKind::Error {
            code: 1,
            message: "broken".into(),
        },
    ));
    let mut query = mp4_query("https://example.com/in.mp4");
    query.format[0].destination = vec![pb::Destination {
        key: Some(DEST_KEY.into()),
        secret: Some(DEST_SECRET.into()),
        ..Default::default()
    }];
    let status = client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::Query(query)),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(!status.message().contains(DEST_SECRET));
    client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![task],
        })
        .await
        .unwrap();
    env.stop().await;

    assert_ne!(tokens[0], tokens[1], "the token was refreshed");
    let mut secrets = vec![
        API_KEY_SECRET.to_owned(),
        DEST_KEY.to_owned(),
        DEST_SECRET.to_owned(),
    ];
    secrets.extend(tokens.iter().map(|t| t.expose().to_owned()));
    assert_not_logged(&secrets);
}

/// The Live API: key in the token URL path, bearer tokens, stream and simulcast keys,
/// DVR storage secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_tokens_and_dvr_keys_of_live_calls_are_never_logged() {
    let env = gateway().await;
    let mut live = env.live().await;
    let mut tokens = Vec::new();
    let params = pb::StreamParams {
        name: Some("secret-test".into()),
        dvr: Some(pb::Dvr {
            enabled: Some(1),
            destination: vec![pb::DvrDestination {
                url: Some("s3://b/dvr/".into()),
                key: Some(DEST_KEY.into()),
                secret: Some(DEST_SECRET.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let stream = live
        .create_stream(pb::CreateStreamRequest {
            params: Some(params),
            extra_json: None,
        })
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    tokens.push(token(&env, true).await);
    env.sandbox.revoke_tokens();
    live.add_simulcast_target(pb::AddSimulcastTargetRequest {
        stream_id: stream.id.clone(),
        url: "rtmp://a.example/live2".into(),
        stream_key: SIMULCAST_KEY.into(),
    })
    .await
    .unwrap();
    tokens.push(token(&env, true).await);
    live.get_stream(pb::GetStreamRequest {
        stream_id: stream.id.clone(),
    })
    .await
    .unwrap();
    let stream_key = stream.stream_key.clone();
    assert!(!stream_key.is_empty());
    env.stop().await;

    assert_ne!(tokens[0], tokens[1], "the live token was refreshed");
    let mut secrets = vec![
        SIMULCAST_KEY.to_owned(),
        stream_key,
        API_KEY_SECRET.to_owned(),
        DEST_KEY.to_owned(),
        DEST_SECRET.to_owned(),
    ];
    secrets.extend(tokens.iter().map(|t| t.expose().to_owned()));
    assert_not_logged(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_api_key_refused_upstream_is_never_logged() {
    logs::logs();
    let wrong = start_with(fast_sandbox(), |c| {
        c.api_key = Some(Secret::new(WRONG_KEY_SECRET))
    })
    .await;
    let mut wrong_client = wrong.transcoding().await;
    wrong_client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    wrong.stop().await;
    assert_not_logged(&[WRONG_KEY_SECRET.to_owned()]);
}

/// Two projects on one gateway, keys from files named in a policy: their keys, their
/// upstream tokens and the caller's bearer token stay out of every line too, also in
/// a refused project and a refused reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_and_tokens_of_two_projects_and_a_refused_reload_are_never_logged() {
    let project_secrets = two_projects(logs::logs()).await;
    assert_not_logged(&project_secrets);
}

/// Runs calls of two projects through one gateway; returns every secret they involve.
async fn two_projects(capture: &logs::Capture) -> Vec<String> {
    use common::tls::{temp_dir, write};
    let dir = temp_dir();
    let one = write(&dir, "one.key", PROJECT_ONE_KEY);
    let two = write(&dir, "two.key", PROJECT_TWO_KEY);
    let two_live = write(&dir, "two-live.key", PROJECT_TWO_LIVE_KEY);
    let policy = format!(
        "[projects.one]\napi_key_file = \"{}\"\n\n[projects.two]\napi_key_file = \"{}\"\nlive_api_key_file = \"{}\"\n\n[[callers]]\nname = \"c\"\nbearer_sha256 = \"{}\"\nproject = \"one\"\nprojects = [\"two\"]\nallow = [\"*\"]\n",
        one.display(),
        two.display(),
        two_live.display(),
        logs::sha(CALLER_TOKEN),
    );
    let path = write(&dir, "policy.toml", &policy);
    let sandbox = qencode_sandbox::SandboxConfig {
        api_keys: vec![PROJECT_ONE_KEY.into(), PROJECT_TWO_KEY.into()],
        live_api_keys: vec![PROJECT_ONE_KEY.into(), PROJECT_TWO_LIVE_KEY.into()],
        ..fast_sandbox()
    };
    let file = path.clone();
    let env = start_with(sandbox, move |c| {
        c.api_key = None;
        c.access.policy_file = Some(file);
        c.access.policy_poll_interval = std::time::Duration::from_millis(20);
    })
    .await;
    let call = |project: &str| {
        let mut request = tonic::Request::new(pb::CreateTaskRequest::default());
        let m = request.metadata_mut();
        m.insert(
            "authorization",
            format!("Bearer {CALLER_TOKEN}").parse().unwrap(),
        );
        m.insert("x-qencode-project", project.parse().unwrap());
        request
    };
    let mut client = env.transcoding().await;
    for project in ["one", "two"] {
        client.create_task(call(project)).await.unwrap();
        let mut live = env.live().await;
        let mut request = tonic::Request::new(pb::CreateStreamRequest {
            params: Some(pb::StreamParams {
                name: Some(project.into()),
                ..Default::default()
            }),
            extra_json: None,
        });
        let m = request.metadata_mut();
        m.insert(
            "authorization",
            format!("Bearer {CALLER_TOKEN}").parse().unwrap(),
        );
        m.insert("x-qencode-project", project.parse().unwrap());
        live.create_stream(request).await.unwrap();
    }
    client.create_task(call("three")).await.unwrap_err();
    // A reload naming a missing key file is refused (and logged) without any key.
    std::fs::write(&path, policy.replace("one.key", "gone.key")).unwrap();
    eventually(
        "the bad reload reported",
        std::time::Duration::from_secs(10),
        || capture.text().contains("gone.key"),
    )
    .await;
    client
        .create_task(call("one"))
        .await
        .expect("the old policy and its keys still serve");
    let mut secrets: Vec<String> = [
        PROJECT_ONE_KEY,
        PROJECT_TWO_KEY,
        PROJECT_TWO_LIVE_KEY,
        CALLER_TOKEN,
    ]
    .map(str::to_owned)
    .to_vec();
    for name in ["one", "two"] {
        let project = env.gateway.projects.get(name).unwrap();
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
    env.stop().await;
    secrets
}
