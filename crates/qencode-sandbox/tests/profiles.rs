//! `/v1/start_encode` over HTTP: profile starts run the same lifecycle as
//! `start_encode2` tasks, their outputs name the profile; malformed lists are
//! error 11, unknown ids 12, missing fields 14.

mod common;

use std::time::Duration;

use serde_json::json;
use tokio::time::advance;

use common::{spawn, spawn_default, str_of, TestSandbox};
use qencode_sandbox::SandboxConfig;

const PHASE: Duration = Duration::from_secs(10);

/// Form fields of a start, past the task token.
type Form<'a> = &'a [(&'a str, &'a str)];

async fn start(sb: &TestSandbox, task: &str, extra: &[(&str, &str)]) -> serde_json::Value {
    let mut form = vec![("task_token", task)];
    form.extend_from_slice(extra);
    sb.call("/v1/start_encode", &form).await
}

#[tokio::test(start_paused = true)]
async fn a_profile_start_completes_with_outputs_per_profile() {
    let sb = spawn(SandboxConfig {
        phase_duration: PHASE,
        ..SandboxConfig::default()
    })
    .await;
    let task = sb.task().await;
    // As Qencode's Python client sends it: ids joined with ", ", seconds as floats.
    let body = start(
        &sb,
        &task,
        &[
            ("profiles", "5adb0584aa43b, 5adb0584aacca"),
            ("uri", "https://example.com/bbb.mp4"),
            ("transfer_method", "5aa2875489681"),
            ("payload", "12345"),
            ("output_path_variables", "{\"category\": \"test_videos\"}"),
            ("start_time", "0.0"),
            ("duration", "10.0000"),
        ],
    )
    .await;
    assert_eq!(body["error"], 0, "{body}");
    assert_eq!(body["status_url"], format!("{}/v1/status", sb.base));
    assert_eq!(sb.status(&task).await["status"], "downloading");

    advance(PHASE * 4).await;
    let master = sb.master_status(&task).await;
    assert_eq!(master["status"], "completed", "{master}");
    let videos = master["videos"].as_array().cloned().unwrap_or_default();
    let outputs: Vec<(String, String, String)> = videos
        .iter()
        .map(|v| {
            (
                str_of(&v["profile"]),
                str_of(&v["user_tag"]),
                str_of(&v["duration"]),
            )
        })
        .collect();
    let expect = |p: &str, t: &str| (p.to_string(), t.to_string(), "10.000".to_string());
    assert_eq!(
        outputs,
        [
            expect("5adb0584aa43b", "720p"),
            expect("5adb0584aa43b", "480p"),
            expect("5adb0584aacca", "720p"),
            expect("5adb0584aacca", "480p"),
        ]
    );
    assert_eq!(videos[1]["meta"]["height"], 480);

    let snapshot = sb.handle.task(&task).expect("task");
    assert_eq!(snapshot.payload.as_deref(), Some("12345"));
    let query = snapshot.query.expect("recorded");
    assert_eq!(query["profiles"], json!(["5adb0584aa43b", "5adb0584aacca"]));
    assert_eq!(query["uri"], "https://example.com/bbb.mp4");
    assert_eq!(query["transfer_method"], "5aa2875489681");
    assert_eq!(query["output_path_variables"]["category"], "test_videos");
}

#[tokio::test(start_paused = true)]
async fn several_sources_are_stitched() {
    let sb = spawn(SandboxConfig {
        phase_duration: PHASE,
        ..SandboxConfig::default()
    })
    .await;
    let task = sb.task().await;
    let stitch = json!(["https://example.com/a.mp4", "https://example.com/b.mp4"]).to_string();
    let body = start(
        &sb,
        &task,
        &[("profiles", "5adb0584aa43b"), ("stitch", &stitch)],
    )
    .await;
    assert_eq!(body["error"], 0, "{body}");
    advance(PHASE).await;
    // Two sources of 30.017 s each.
    assert_eq!(sb.master_status(&task).await["duration"], "60.034");
}

#[tokio::test]
async fn profile_errors_map_to_the_documented_codes() {
    let sb = spawn_default().await;
    let task = sb.task().await;
    let uri = ("uri", "https://example.com/v.mp4");
    let cases: [(Form, i64, &str); 6] = [
        (
            &[uri],
            14,
            "Value for field 'profiles' is required in request.",
        ),
        (
            &[("profiles", " "), uri],
            14,
            "Value for field 'profiles' is required",
        ),
        (
            &[("profiles", "5adb0584aa43b,,x"), uri],
            11,
            "Profile field value does not pass validation.",
        ),
        (
            &[("profiles", "not a profile"), uri],
            11,
            "Profile field value does not pass validation.",
        ),
        (
            &[("profiles", "5adb0584aa43b,0123456789abc"), uri],
            12,
            "We can't find specified profile in our database.",
        ),
        (
            &[("profiles", "5adb0584aa43b")],
            14,
            "Value for field 'uri' is required in request.",
        ),
    ];
    for (form, code, message) in cases {
        let body = start(&sb, &task, form).await;
        assert_eq!(body["error"], code, "{form:?}: {body}");
        let text = str_of(&body["message"]);
        assert!(text.starts_with(message), "{form:?}: {text}");
    }
    let body = start(&sb, &task, &[("profiles", "5adb0584aa43b")]).await;
    assert_eq!(body["field"], "uri");
    let body = start(
        &sb,
        &task,
        &[("profiles", "5adb0584aa43b"), uri, ("duration", "soon")],
    )
    .await;
    assert_eq!(body["error"], 14, "{body}");
    assert_eq!(body["field"], "duration", "{body}");
    // None of the refused starts started the task; the token checks come first.
    assert!(!sb.handle.task(&task).expect("task").started);
    let body = start(&sb, "nope", &[("profiles", "5adb0584aa43b"), uri]).await;
    assert_eq!(body["error"], 4, "{body}");
}

#[tokio::test]
async fn the_known_profiles_are_configurable() {
    let sb = spawn(SandboxConfig {
        profiles: vec!["my-profile".into()],
        ..SandboxConfig::default()
    })
    .await;
    let uri = ("uri", "https://example.com/v.mp4");
    let task = sb.task().await;
    let body = start(&sb, &task, &[("profiles", "5adb0584aa43b"), uri]).await;
    assert_eq!(body["error"], 12, "{body}");
    let body = start(&sb, &task, &[("profiles", "my-profile"), uri]).await;
    assert_eq!(body["error"], 0, "{body}");
}
