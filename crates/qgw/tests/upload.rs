//! `qgw upload` of a generated file, then `qgw start` from the uploaded source.

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn upload_then_start_from_it() {
    let env = common::start().await;
    let dir = std::env::temp_dir().join(format!("qgw-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("clip.mp4");
    // Deterministic content over several chunks (and a partial last one).
    let data: Vec<u8> = (0..700_001u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).expect("write sample");
    let path = file.to_string_lossy().into_owned();

    let output = env
        .qgw(&["--json", "upload", &path, "--chunk-size", "65536"])
        .await;
    let stdout = common::ok_stdout(&output);
    let token = common::json_field(&stdout, "task_token");
    let source = common::json_field(&stdout, "source_uri");
    assert!(source.starts_with("tus:"), "{stdout}");
    assert!(stdout.contains("\"bytes_stored\":700001"), "{stdout}");

    let output = env
        .qgw(&[
            "start",
            "--task",
            &token,
            "--source",
            &source,
            "--format",
            "mp4:320x240",
            "--watch",
        ])
        .await;
    let stdout = common::ok_stdout(&output);
    assert!(stdout.contains("completed"), "{stdout}");

    // upload --start does both in one go.
    let output = env
        .qgw(&["upload", &path, "--start", "--format", "mp4", "--watch"])
        .await;
    let stdout = common::ok_stdout(&output);
    assert!(stdout.contains("uploaded 700001 bytes"), "{stdout}");
    assert!(stdout.contains("completed"), "{stdout}");

    let _ = std::fs::remove_dir_all(&dir);
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_file_is_a_local_failure() {
    let env = common::start().await;
    let output = env.qgw(&["upload", "/nonexistent/qgw/file.mp4"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", common::text(&output));
    env.stop();
}
