//! `output: metadata` over HTTP, the way Qencode's client libraries use it:
//! start a metadata-only query, poll until completed, fetch the `url` of the
//! first `videos` entry and parse it as JSON.

mod common;

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::time::advance;

use common::{spawn, str_of};
use qencode_sandbox::SandboxConfig;

const PHASE: Duration = Duration::from_secs(10);

#[tokio::test(start_paused = true)]
async fn the_metadata_document_is_served_at_the_first_video_url() {
    let sb = spawn(SandboxConfig {
        phase_duration: PHASE,
        ..SandboxConfig::default()
    })
    .await;
    let task = sb.task().await;
    let query = json!({"query": {"source": "https://example.com/bbb.mp4",
        "format": [{"output": "metadata", "metadata_version": "4.1.5"}]}});
    assert_eq!(sb.start(&task, &query).await["error"], 0);

    // Not saved yet: no URL.
    advance(PHASE).await;
    assert_eq!(sb.status(&task).await["videos"][0]["url"], Value::Null);

    advance(PHASE * 3).await;
    let status = sb.status(&task).await;
    assert_eq!(status["status"], "completed", "{status}");
    let url = str_of(&status["videos"][0]["url"]);
    assert!(
        url.starts_with(&format!("{}/storage/{task}/metadata/", sb.base)),
        "{url}"
    );
    assert!(url.ends_with(".json"), "{url}");
    assert_eq!(
        sb.master_status(&task).await["videos"][0]["output_format"],
        "metadata"
    );

    let response = sb.request(Method::GET, &url).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.expect("JSON document");
    assert_eq!(
        document["format"]["filename"],
        "https://example.com/bbb.mp4"
    );
    assert_eq!(document["format"]["duration"], "30.017000");
    assert_eq!(document["format"]["size"], "16658500");
    let video = &document["streams"][0];
    assert_eq!(video["codec_type"], "video");
    assert_eq!(
        (video["width"].clone(), video["height"].clone()),
        (json!(1920), json!(1080))
    );
    assert_eq!(video["codec_name"], "h264");
    assert!(str_of(&video["bit_rate"]).parse::<u64>().is_ok());
    assert_eq!(document["streams"][1]["codec_name"], "aac");
}

#[tokio::test]
async fn other_storage_paths_are_not_found() {
    let sb = spawn(SandboxConfig {
        phase_duration: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await;
    let task = sb.task().await;
    let query = json!({"query": {"source": "https://example.com/bbb.mp4",
        "format": [{"output": "mp4"}, {"output": "metadata"}]}});
    assert_eq!(sb.start(&task, &query).await["error"], 0);
    let status = sb.status(&task).await;
    let mp4 = str_of(&status["videos"][0]["url"]);
    let metadata = str_of(&status["videos"][1]["url"]);
    let get = |url: String| {
        let request = sb.request(Method::GET, &url);
        async move { request.send().await.expect("GET").status() }
    };
    assert_eq!(get(metadata.clone()).await, 200);
    assert_eq!(get(mp4).await, 404);
    assert_eq!(
        get(metadata.replace(&task, "0".repeat(32).as_str())).await,
        404
    );
    assert_eq!(get(format!("{}/storage/x", sb.base)).await, 404);
}
