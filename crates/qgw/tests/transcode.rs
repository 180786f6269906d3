//! `qgw transcode --watch` to the end, and a bad request's exit code and field.

mod common;

use qencode_sandbox::Endpoint;

#[tokio::test(flavor = "multi_thread")]
async fn transcode_watch_reaches_completed_with_plain_lines() {
    let env = common::start().await;
    let output = env
        .qgw(&[
            "transcode",
            "--source",
            "https://example.com/video.mp4",
            "--format",
            "mp4:640x360",
            "--watch",
        ])
        .await;
    let stdout = common::ok_stdout(&output);
    assert!(stdout.contains("started"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.ends_with("completed 100%") || l.ends_with("completed")),
        "{stdout}"
    );
    assert!(
        stdout.contains("http"),
        "an output URL at the end: {stdout}"
    );
    // Off a terminal: no bar drawing characters, no carriage returns.
    assert!(!stdout.contains('\r') && !stdout.contains("[="), "{stdout}");
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn status_in_json_names_the_state() {
    let env = common::start().await;
    let output = env
        .qgw(&[
            "--json",
            "transcode",
            "--source",
            "https://example.com/a.mp4",
            "--format",
            "mp4",
        ])
        .await;
    let token = common::json_field(&common::ok_stdout(&output), "task_token");
    let stdout = common::ok_stdout(&env.qgw(&["--json", "status", &token]).await);
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(line["task_token"], token.as_str());
    assert!(line["status"]["state"].is_string(), "{line}");
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_request_exits_13_and_prints_the_field() {
    let env = common::start().await;
    // No --source: the gateway's BadRequest names query.source.
    let output = env.qgw(&["transcode", "--format", "mp4:640x360"]).await;
    assert_eq!(output.status.code(), Some(13), "{}", common::text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INVALID_ARGUMENT"), "{stderr}");
    assert!(stderr.contains("field query.source:"), "{stderr}");
    assert!(stderr.contains("reason: INVALID_ARGUMENT"), "{stderr}");

    // The same in JSON on stderr.
    let output = env.qgw(&["--json", "transcode", "--format", "mp4"]).await;
    assert_eq!(output.status.code(), Some(13), "{}", common::text(&output));
    let error: serde_json::Value =
        serde_json::from_slice(&output.stderr).expect("a JSON error line");
    assert_eq!(error["field_violations"][0]["field"], "query.source");

    // An unknown task is NOT_FOUND: 10 + 5.
    let output = env
        .qgw(&["status", "0123456789abcdef0123456789abcdef"])
        .await;
    assert_eq!(output.status.code(), Some(15), "{}", common::text(&output));
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2_and_unreachable_exits_24() {
    let env = common::start().await;
    let output = env.qgw(&["transcode", "--no-such-flag"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", common::text(&output));

    let mut command = common::qgw();
    // Port 9 on localhost: nothing listens there in the test environment.
    command.args(["--target", "http://127.0.0.1:9", "status", "t"]);
    let output = common::run_bounded(command).await;
    assert_eq!(output.status.code(), Some(24), "{}", common::text(&output));
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_format_size_is_a_usage_error_and_creates_no_task() {
    let env = common::start().await;
    let created = || env.sandbox.sandbox().count(Endpoint::CreateTask);
    let before = created();
    for bad in [
        "mp4:abc",
        "mp4:640",
        "mp4:640x",
        "mp4:0x360",
        "mp4:640x-1",
        "mp4:",
    ] {
        let output = env
            .qgw(&[
                "transcode",
                "--source",
                "https://example.com/a.mp4",
                "--format",
                bad,
            ])
            .await;
        assert_eq!(output.status.code(), Some(2), "{}", common::text(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--format") && stderr.contains(bad),
            "names the flag and {bad:?}: {stderr}"
        );
    }
    assert_eq!(created(), before, "no task created upstream");
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_file_that_is_not_json_is_a_local_failure() {
    let env = common::start().await;
    let dir = std::env::temp_dir().join(format!("qgw-query-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("query.json");
    std::fs::write(
        &file,
        r#"{"query": {"source": "https://example.com/a.mp4","#,
    )
    .expect("write query");
    let path = file.to_string_lossy().into_owned();
    let created = || env.sandbox.sandbox().count(Endpoint::CreateTask);
    let before = created();

    let output = env.qgw(&["transcode", "--query-file", &path]).await;
    assert_eq!(output.status.code(), Some(1), "{}", common::text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&path), "names the file: {stderr}");
    assert_eq!(created(), before, "no task created upstream");

    let _ = std::fs::remove_dir_all(&dir);
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_serving() {
    let env = common::start().await;
    let stdout = env.until_serving().await;
    assert!(
        stdout.contains("qencode.gateway.v1.Transcoding: serving"),
        "{stdout}"
    );
    env.stop();
}

#[tokio::test]
async fn completions_are_printed() {
    let mut command = common::qgw();
    command.args(["completions", "bash"]);
    let output = common::run_bounded(command).await;
    assert!(output.status.success(), "{}", common::text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("qgw"));
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_in_json_is_one_object_per_event() {
    let env = common::start().await;
    let output = env
        .qgw(&[
            "--json",
            "transcode",
            "--source",
            "https://example.com/a.mp4",
            "--format",
            "mp4",
        ])
        .await;
    let token = common::json_field(&common::ok_stdout(&output), "task_token");
    let stdout = common::ok_stdout(&env.qgw(&["--json", "watch", &token]).await);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    assert_eq!(
        events.first().map(|e| e["event"].clone()),
        Some("snapshot".into()),
        "{stdout}"
    );
    let last = events.last().expect("at least one event");
    assert_eq!(last["status"]["state"], "completed", "{stdout}");
    assert_eq!(last["task_token"], token.as_str());
    env.stop();
}
