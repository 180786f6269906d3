//! End to end: StartEncodeProfiles (Qencode's /v1/start_encode) on the sandbox, to
//! completion, and its refusals.

mod common;

use common::*;
use qencode_gateway::pb::{self, TaskState};
use qencode_sandbox::Endpoint;
use std::time::Duration;
use tonic::Code;

const PROFILES: [&str; 2] = ["5adb0584aa43b", "5adb0584aacca"];

fn fast_polling(c: &mut qencode_gateway::Config) {
    c.poll_interval = Duration::from_millis(50);
}

fn start_request(task_token: &str, profiles: &[&str]) -> pb::StartEncodeProfilesRequest {
    pb::StartEncodeProfilesRequest {
        task_token: task_token.into(),
        profiles: profiles.iter().map(|p| (*p).to_owned()).collect(),
        source: Some("https://example.com/in.mp4".into()),
        payload: Some("order-17".into()),
        ..Default::default()
    }
}

async fn created(env: &Env) -> String {
    env.transcoding()
        .await
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap()
        .into_inner()
        .task_token
}

#[tokio::test(start_paused = true)]
async fn a_profile_start_runs_to_completion_with_each_profiles_outputs() {
    let env = start_with(fast_sandbox(), fast_polling).await;
    let mut client = env.transcoding().await;
    let token = created(&env).await;
    let started = client
        .start_encode_profiles(start_request(&token, &PROFILES))
        .await
        .unwrap()
        .into_inner();
    assert!(!started.status_url.is_empty());
    let task = env.sandbox.task(&token).expect("task known to the sandbox");
    assert!(task.started);
    let fields = task.query.expect("the form fields the sandbox used");
    assert_eq!(fields["profiles"], serde_json::json!(PROFILES), "{fields}");
    assert_eq!(fields["uri"], "https://example.com/in.mp4", "{fields}");
    assert_eq!(task.payload.as_deref(), Some("order-17"));

    let mut stream = client
        .watch_status(pb::WatchStatusRequest {
            task_token: token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("watch stalled")
        .expect("watch failed")
    {
        last = message.status;
    }
    let last = last.expect("at least a snapshot");
    assert_eq!(last.state(), TaskState::Completed, "{last:?}");
    for profile in PROFILES {
        assert_eq!(
            last.videos
                .iter()
                .filter(|v| v.profile.as_deref() == Some(profile))
                .count(),
            2,
            "{profile}: {last:?}"
        );
    }
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn unknown_profiles_are_not_found_and_malformed_ones_invalid() {
    let env = start().await;
    let mut client = env.transcoding().await;
    let token = created(&env).await;

    let unknown = client
        .start_encode_profiles(start_request(&token, &["5adb0584aa43b", "0000000000000"]))
        .await
        .unwrap_err();
    let details = assert_reason(&unknown, Code::NotFound, "QENCODE_PROFILE_NOT_FOUND");
    assert_eq!(details.error_info().unwrap().domain, "qencode.com");

    let before = env.sandbox.count(Endpoint::Any);
    let malformed = client
        .start_encode_profiles(start_request(&token, &["5adb0584aa43b", "5adb-0584"]))
        .await
        .unwrap_err();
    assert_reason(&malformed, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(bad_fields(&malformed), ["profiles[1]"]);
    let mut neither = start_request(&token, &[]);
    neither.source = None;
    let status = client.start_encode_profiles(neither).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["profiles", "source"]);
    assert_eq!(env.sandbox.count(Endpoint::Any), before, "refused locally");
    env.stop().await;
}
