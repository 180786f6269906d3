//! Lifecycle tests on tokio's paused clock: a started task walks through every
//! phase to `completed` (or to `error` for a failing source) as time advances,
//! seen through both `/v1/status` and the master status URL.

mod common;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::advance;

use common::{spawn, str_of, TestSandbox};
use qencode_sandbox::SandboxConfig;

const PHASE: Duration = Duration::from_secs(10);

async fn sandbox() -> TestSandbox {
    spawn(SandboxConfig {
        phase_duration: PHASE,
        ..SandboxConfig::default()
    })
    .await
}

fn percent(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("percent is not a number: {value}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[tokio::test(start_paused = true)]
async fn task_walks_every_phase_to_completed() {
    let sb = sandbox().await;
    let task = sb.task().await;
    let query = json!({"query": {"source": "https://example.com/bbb.mp4", "format": [
        {"output": "mp4", "size": "854x480", "tag": "480p",
         "destination": {"url": "s3://us-west.s3.qencode.com/qencode-test/output/480/12345.mp4",
                         "key": "k", "secret": "s"}},
        {"output": "mp3", "tag": "audio"},
        {"output": "thumbnail", "tag": "poster"}
    ]}});
    assert_eq!(sb.start(&task, &query).await["error"], 0);

    // downloading: nothing known about the source yet.
    advance(Duration::from_secs(5)).await;
    let basic = sb.status(&task).await;
    assert_eq!(basic["status"], "downloading", "{basic}");
    assert!(close(percent(&basic["percent"]), 0.0));
    let master_url = str_of(&basic["status_url"]);
    assert!(
        master_url.starts_with(&format!("{}/master-", sb.base)),
        "{master_url}"
    );
    assert!(master_url.ends_with("/v1/status"), "{master_url}");
    let master = sb.master_status(&task).await;
    assert_eq!(master["status"], "downloading");
    assert_eq!(master["source_size"], Value::Null);
    assert_eq!(master["videos"][0]["status"], "downloading");

    // queued: the source has been probed.
    advance(PHASE).await;
    let master = sb.master_status(&task).await;
    assert_eq!(master["status"], "queued", "{master}");
    assert_eq!(master["source_size"], "16.6585");
    assert_eq!(master["duration"], "30.017");
    assert!(master.get("warnings").is_none());

    // encoding: percent rises smoothly; per-output percents are staggered.
    advance(Duration::from_secs(5)).await; // 20 s: encoding starts
    let mut last_overall = -1.0;
    let mut last_outputs = vec![-1.0; 3];
    for second in 0..10 {
        let master = sb.master_status(&task).await;
        assert_eq!(master["status"], "encoding", "at {second}s: {master}");
        let overall = percent(&master["percent"]);
        let outputs: Vec<f64> = ["videos", "audios", "images"]
            .iter()
            .map(|list| percent(&master[*list][0]["percent"]))
            .collect();
        assert!(
            overall > last_overall || (second == 0 && close(overall, 0.0)),
            "{overall}"
        );
        for (now, before) in outputs.iter().zip(&last_outputs) {
            assert!(now >= before, "{outputs:?} after {last_outputs:?}");
        }
        let mean = outputs.iter().sum::<f64>() / 3.0;
        assert!(close(overall, mean), "{overall} vs {outputs:?}");
        if second == 5 {
            assert!(
                outputs[0] > outputs[2],
                "outputs are staggered: {outputs:?}"
            );
            assert!(overall > 0.0 && overall < 100.0);
            let basic = sb.status(&task).await;
            assert!(
                close(percent(&basic["percent"]), overall),
                "basic agrees: {basic}"
            );
            assert_eq!(basic["status"], "encoding");
        }
        last_overall = overall;
        last_outputs = outputs;
        advance(Duration::from_secs(1)).await;
    }

    // saving: encoding is done, nothing is at its destination yet.
    let master = sb.master_status(&task).await;
    assert_eq!(master["status"], "saving", "{master}");
    assert!(close(percent(&master["percent"]), 100.0));
    assert_eq!(master["videos"][0]["url"], Value::Null);

    // completed: outputs carry url, storage, meta, bitrate, duration and size.
    advance(PHASE).await;
    let master = sb.master_status(&task).await;
    assert_eq!(master["status"], "completed", "{master}");
    assert_eq!(master["error"], 0);
    assert_eq!(master["error_description"], Value::Null);
    assert!(close(percent(&master["percent"]), 100.0));
    let video = &master["videos"][0];
    assert_eq!(video["tag"], "video-0-0");
    assert_eq!(video["user_tag"], "480p");
    assert_eq!(video["status"], "completed");
    assert_eq!(
        video["url"],
        "s3://us-west.s3.qencode.com/qencode-test/output/480/12345.mp4"
    );
    assert_eq!(video["storage"]["bucket"], "qencode-test");
    assert_eq!(video["storage"]["key"], "output/480/12345.mp4");
    assert_eq!(video["meta"]["height"], 480);
    assert_eq!(video["bitrate"], 1200);
    assert_eq!(video["duration"], "30.017");
    assert_eq!(video["output_format"], "mp4");
    assert!(video["size"]
        .as_str()
        .is_some_and(|s| s.parse::<f64>().is_ok()));
    let audio = &master["audios"][0];
    assert_eq!(audio["tag"], "audio-1-0");
    assert!(str_of(&audio["url"]).starts_with(&format!("{}/storage/{task}/mp3/2/", sb.base)));
    assert_eq!(master["images"][0]["tag"], "image-2-0");
    assert_eq!(master["images"][0]["user_tag"], "poster");

    // The basic view agrees on everything it reports.
    let basic = sb.status(&task).await;
    assert_eq!(basic["status"], "completed");
    assert_eq!(basic["status_url"], master_url.as_str());
    assert!(basic.get("source_size").is_none());
    for key in [
        "url", "storage", "bitrate", "meta", "duration", "tag", "user_tag",
    ] {
        assert_eq!(basic["videos"][0][key], master["videos"][0][key], "{key}");
    }
    assert_eq!(
        sb.handle.task(&task).expect("task").status.as_deref(),
        Some("completed")
    );

    // Time keeps passing; the task stays completed.
    advance(Duration::from_secs(3600)).await;
    assert_eq!(sb.status(&task).await["status"], "completed");
}

#[tokio::test(start_paused = true)]
async fn failing_source_errors_after_downloading() {
    let sb = sandbox().await;
    let task = sb.started_task("https://example.com/will-fail.mp4").await;
    advance(Duration::from_secs(9)).await;
    assert_eq!(sb.status(&task).await["status"], "downloading");
    advance(Duration::from_secs(1)).await;
    let basic = sb.status(&task).await;
    assert_eq!(basic["status"], "error", "{basic}");
    assert_eq!(basic["error"], 1);
    assert_eq!(basic["error_description"], "source download failed");
    let master = sb.master_status(&task).await;
    assert_eq!(master["status"], "error");
    assert_eq!(master["videos"][0]["status"], "error");
    assert_eq!(master["videos"][0]["error"], 1);
    advance(Duration::from_secs(600)).await;
    assert_eq!(sb.status(&task).await["status"], "error");
    assert_eq!(
        sb.handle.task(&task).expect("task").status.as_deref(),
        Some("error")
    );
}

#[tokio::test(start_paused = true)]
async fn warning_sources_report_warnings_on_master() {
    let sb = sandbox().await;
    let task = sb.started_task("https://example.com/warn.mp4").await;
    advance(PHASE).await;
    let master = sb.master_status(&task).await;
    let warnings = master["warnings"].as_array().expect("warnings list");
    assert_eq!(warnings.len(), 1, "{master}");
    assert!(warnings[0]["message"].is_string());
    advance(PHASE * 3).await;
    assert_eq!(sb.master_status(&task).await["status"], "completed");
}

#[tokio::test(start_paused = true)]
async fn tasks_progress_independently() {
    let sb = sandbox().await;
    let first = sb.started_task("https://example.com/1.mp4").await;
    advance(PHASE * 2).await;
    let second = sb.started_task("https://example.com/2.mp4").await;
    let body = sb
        .call(
            "/v1/status",
            &[("task_tokens", &format!("{first},{second}"))],
        )
        .await;
    assert_eq!(body["statuses"][&first]["status"], "encoding", "{body}");
    assert_eq!(body["statuses"][&second]["status"], "downloading", "{body}");
    // Both run on the sandbox's one master server, which answers for both at once.
    assert_eq!(
        body["statuses"][&first]["status_url"],
        body["statuses"][&second]["status_url"]
    );
}

#[tokio::test(start_paused = true)]
async fn stitch_and_format_lists() {
    let sb = sandbox().await;
    let task = sb.task().await;
    let query = json!({"query": {
        "stitch": ["https://example.com/a.mp4", {"url": "https://example.com/b.mp4", "duration": "10"}],
        "format": [
            {"output": "advanced_hls", "destination": {"url": "s3://h/bucket/hls/"},
             "stream": [{"size": "1920x1080"}, {"size": "1280x720"}]},
            {"output": "metadata"},
            {"output": "flac"},
            {"output": "thumbnails", "interval": 10},
            {"output": "gif"}
        ]
    }});
    assert_eq!(sb.start(&task, &query).await["error"], 0);
    advance(PHASE * 4).await;
    let master = sb.master_status(&task).await;
    assert_eq!(master["status"], "completed", "{master}");
    let tags = |list: &str| -> Vec<String> {
        master[list]
            .as_array()
            .map(|items| items.iter().map(|i| str_of(&i["tag"])).collect())
            .unwrap_or_default()
    };
    // The metadata output is listed in `videos`, where Qencode's clients look for it.
    assert_eq!(tags("videos"), ["video-0-0", "video-1-0"]);
    assert_eq!(master["videos"][1]["output_format"], "metadata");
    assert_eq!(tags("audios"), ["audio-2-0"]);
    assert_eq!(tags("images"), ["image-3-0", "image-4-0"]);
    assert_eq!(
        master["videos"][0]["url"],
        "s3://h/bucket/hls/playlist.m3u8"
    );
    assert_eq!(master["videos"][0]["meta"]["height"], 1080);
    assert_eq!(master["duration"], "40.017");
    assert_eq!(master["source_size"], "33.3170");
}
