//! Rendering of a task's status object, in the two detail levels Qencode has:
//! the basic set from `/v1/status` and the extended set from the task's master
//! status URL. Shapes follow the document's examples: the completed `/v1/status`
//! example for the basic set, the encoding example and the callback's status for
//! the extended set.

use serde_json::{json, Map, Value};

use super::lifecycle::{self, Phase};
use super::outputs::{Artifact, OutputList};
use super::plan::{OutputPlan, TaskPlan};

/// Error text for a source that could not be downloaded.
pub(crate) const DOWNLOAD_FAILED: &str = "source download failed";

/// Which endpoint the status object is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// `/v1/status`: status, percent, error, error_description, status_url and
    /// the output lists with tag, profile, user_tag, url, storage, bitrate, meta,
    /// duration.
    Basic,
    /// Master `/v1/status`: everything in `Basic`, plus `source_size`,
    /// `duration`, `warnings` (when any) and per-output status, percent, size,
    /// output_format, error, error_description.
    Master,
}

/// The inputs for rendering one task's status.
pub(crate) struct StatusView<'a> {
    pub(crate) task_token: &'a str,
    pub(crate) plan: &'a TaskPlan,
    pub(crate) phase: Phase,
    /// Base URL of the sandbox, for the master status URL and local storage URLs.
    pub(crate) base: &'a str,
    pub(crate) master_id: &'a str,
}

/// The status object for `view` at `detail`.
pub(crate) fn render(view: &StatusView<'_>, detail: Detail) -> Value {
    let phase = view.phase;
    let fraction = match phase {
        Phase::Encoding { fraction } => fraction,
        _ => 0.0,
    };
    let listed = view.plan.outputs.len();
    let percents: Vec<f64> = match phase {
        Phase::Encoding { fraction } => lifecycle::output_percents(fraction, listed),
        Phase::Saving | Phase::Completed => vec![100.0; listed],
        _ => vec![0.0; listed],
    };
    let overall = match phase {
        Phase::Encoding { .. } => lifecycle::overall_percent(fraction, &percents),
        Phase::Saving | Phase::Completed => 100.0,
        _ => 0.0,
    };
    let failed = phase == Phase::Failed;

    let mut lists = [
        (OutputList::Videos, "videos", Vec::new()),
        (OutputList::Audios, "audios", Vec::new()),
        (OutputList::Images, "images", Vec::new()),
    ];
    for (output, percent) in view.plan.outputs.iter().zip(&percents) {
        let item = render_output(view, output, *percent, detail);
        if let Some((_, _, items)) = lists.iter_mut().find(|(list, _, _)| *list == output.list) {
            items.push(item);
        }
    }

    let mut status = Map::new();
    status.insert("status".into(), json!(phase.name()));
    status.insert(
        "status_url".into(),
        json!(master_url(view.base, view.master_id)),
    );
    status.insert("percent".into(), json!(overall));
    status.insert("error".into(), json!(i32::from(failed)));
    status.insert(
        "error_description".into(),
        if failed {
            json!(DOWNLOAD_FAILED)
        } else {
            Value::Null
        },
    );
    if detail == Detail::Master {
        let probed = phase.source_probed();
        status.insert(
            "source_size".into(),
            if probed {
                json!(format!("{:.4}", view.plan.source_bytes as f64 / 1e6))
            } else {
                Value::Null
            },
        );
        status.insert(
            "duration".into(),
            if probed {
                json!(format!("{:.3}", view.plan.source_seconds))
            } else {
                Value::Null
            },
        );
        if view.plan.source_warns && probed {
            status.insert("warnings".into(), warnings());
        }
    }
    for (_, name, items) in lists {
        status.insert(name.into(), Value::Array(items));
    }
    Value::Object(status)
}

/// The master status URL. The real one is `https://master-<id>.qencode.com/v1/status`;
/// the sandbox serves it under a path prefix on its own host.
pub(crate) fn master_url(base: &str, master_id: &str) -> String {
    format!("{base}/master-{master_id}/v1/status")
}

fn render_output(
    view: &StatusView<'_>,
    output: &OutputPlan,
    percent: f64,
    detail: Detail,
) -> Value {
    let done = view.phase == Phase::Completed;
    let failed = view.phase == Phase::Failed;
    let (url, storage) = if done {
        let (url, storage) = location(view, output);
        (json!(url), storage)
    } else {
        (Value::Null, Value::Null)
    };
    let when_done = |value: Value| if done { value } else { Value::Null };

    let mut item = Map::new();
    item.insert("tag".into(), json!(output.tag));
    item.insert("profile".into(), json!(output.profile));
    item.insert("user_tag".into(), json!(output.user_tag));
    item.insert("url".into(), url);
    item.insert("storage".into(), storage);
    item.insert("bitrate".into(), when_done(json!(output.bitrate)));
    item.insert("meta".into(), output.meta.clone());
    item.insert(
        "duration".into(),
        when_done(json!(format!("{:.3}", output.seconds))),
    );
    if detail == Detail::Master {
        let status = if failed { "error" } else { view.phase.name() };
        item.insert("status".into(), json!(status));
        item.insert("percent".into(), json!(percent));
        item.insert(
            "size".into(),
            when_done(json!(format!("{:.6}", output.size_mb))),
        );
        item.insert(
            "output_format".into(),
            when_done(json!(output.format.name())),
        );
        item.insert("error".into(), json!(i32::from(failed)));
        item.insert(
            "error_description".into(),
            if failed {
                json!(DOWNLOAD_FAILED)
            } else {
                Value::Null
            },
        );
    }
    Value::Object(item)
}

/// The output's URL and storage object once saved: at its destination if the
/// query gave one, otherwise in sandbox storage (like Qencode's temporary storage).
fn location(view: &StatusView<'_>, output: &OutputPlan) -> (String, Value) {
    let artifact = output.format.artifact(output.image_format.as_deref());
    let storage_format = match &artifact {
        Artifact::File(ext) => json!(ext),
        Artifact::Folder(_) => Value::Null,
    };
    if let Some(destination) = &output.destination {
        let url = match artifact {
            Artifact::File(_) => destination.clone(),
            Artifact::Folder(entry) => format!("{}/{entry}", destination.trim_end_matches('/')),
        };
        let storage = destination_storage(&url, storage_format);
        return (url, storage);
    }
    let path = match artifact {
        Artifact::File(ext) => format!(
            "{}/{}/{}/{}.{ext}",
            view.task_token,
            output.format.name(),
            output.format_index + 1,
            output.file_id
        ),
        Artifact::Folder(entry) => format!(
            "{}/{}/{}/{}/{entry}",
            view.task_token,
            output.format.name(),
            output.format_index + 1,
            output.file_id
        ),
    };
    let host = url::Url::parse(view.base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let storage = json!({"type": "local", "host": host, "path": path, "format": storage_format});
    (format!("{}/storage/{path}", view.base), storage)
}

/// Storage object for a destination URL: bucket and key for S3 (as in the
/// document's example), host and path for other storages.
fn destination_storage(url: &str, format: Value) -> Value {
    let Ok(parsed) = url::Url::parse(url) else {
        return json!({"type": "unknown", "path": url, "format": format});
    };
    let host = parsed.host_str().unwrap_or_default().to_string();
    let path = parsed.path().trim_start_matches('/').to_string();
    match parsed.scheme() {
        "s3" => {
            let (bucket, key) = path.split_once('/').unwrap_or((path.as_str(), ""));
            json!({"type": "s3", "host": host, "bucket": bucket, "key": key, "format": format})
        }
        scheme => json!({"type": scheme, "host": host, "path": path, "format": format}),
    }
}

fn warnings() -> Value {
    json!([{
        "tag": null,
        "message": "Source Video Decoding Errors",
        "details": "errors were encountered while decoding the source video; \
                    the source media file might be corrupted",
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{plan, query};

    fn plan_for(source: &str, formats: Value) -> TaskPlan {
        let q = query::parse(&json!({"query": {"source": source, "format": formats}}).to_string())
            .expect("valid query");
        plan::build(&q, |_| Ok(0)).expect("plan")
    }

    fn view<'a>(plan: &'a TaskPlan, phase: Phase) -> StatusView<'a> {
        StatusView {
            task_token: "t0",
            plan,
            phase,
            base: "http://127.0.0.1:9",
            master_id: "m0",
        }
    }

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<_> = value
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn basic_and_master_key_sets() {
        let plan = plan_for("https://x/v.mp4", json!([{"output": "mp4"}]));
        let basic = render(&view(&plan, Phase::Completed), Detail::Basic);
        assert_eq!(
            keys(&basic),
            [
                "audios",
                "error",
                "error_description",
                "images",
                "percent",
                "status",
                "status_url",
                "videos"
            ]
        );
        assert_eq!(
            keys(&basic["videos"][0]),
            ["bitrate", "duration", "meta", "profile", "storage", "tag", "url", "user_tag"]
        );
        let master = render(&view(&plan, Phase::Completed), Detail::Master);
        assert_eq!(
            keys(&master),
            [
                "audios",
                "duration",
                "error",
                "error_description",
                "images",
                "percent",
                "source_size",
                "status",
                "status_url",
                "videos"
            ]
        );
        assert_eq!(
            keys(&master["videos"][0]),
            [
                "bitrate",
                "duration",
                "error",
                "error_description",
                "meta",
                "output_format",
                "percent",
                "profile",
                "size",
                "status",
                "storage",
                "tag",
                "url",
                "user_tag"
            ]
        );
        assert_eq!(
            master["status_url"],
            "http://127.0.0.1:9/master-m0/v1/status"
        );
        assert_eq!(master["source_size"], "16.6585");
        assert_eq!(master["duration"], "30.017");
    }

    #[test]
    fn destination_becomes_url_and_s3_storage() {
        let plan = plan_for(
            "https://x/v.mp4",
            json!([{"output": "mp4", "destination":
                {"url": "s3://us-west.s3.qencode.com/qencode-test/output/480/12345.mp4"}},
                {"output": "advanced_hls", "destination": {"url": "s3://h/b/hls/"}}]),
        );
        let status = render(&view(&plan, Phase::Completed), Detail::Master);
        let video = &status["videos"][0];
        assert_eq!(
            video["url"],
            "s3://us-west.s3.qencode.com/qencode-test/output/480/12345.mp4"
        );
        assert_eq!(video["storage"]["bucket"], "qencode-test");
        assert_eq!(video["storage"]["key"], "output/480/12345.mp4");
        assert_eq!(video["storage"]["format"], "mp4");
        assert_eq!(status["videos"][1]["url"], "s3://h/b/hls/playlist.m3u8");
    }

    #[test]
    fn without_destination_outputs_land_in_sandbox_storage() {
        let plan = plan_for("https://x/v.mp4", json!([{"output": "mp3"}]));
        let status = render(&view(&plan, Phase::Completed), Detail::Master);
        let audio = &status["audios"][0];
        let url = audio["url"].as_str().unwrap_or_default();
        assert!(
            url.starts_with("http://127.0.0.1:9/storage/t0/mp3/1/"),
            "{url}"
        );
        assert!(url.ends_with(".mp3"), "{url}");
        assert_eq!(audio["storage"]["type"], "local");
        assert_eq!(audio["storage"]["host"], "127.0.0.1");
    }

    #[test]
    fn failure_marks_task_and_outputs() {
        let plan = plan_for("https://x/fail.mp4", json!([{"output": "mp4"}]));
        let status = render(&view(&plan, Phase::Failed), Detail::Master);
        assert_eq!(status["status"], "error");
        assert_eq!(status["error"], 1);
        assert_eq!(status["error_description"], DOWNLOAD_FAILED);
        assert_eq!(status["source_size"], Value::Null);
        assert_eq!(status["videos"][0]["status"], "error");
        assert_eq!(status["videos"][0]["error"], 1);
    }

    #[test]
    fn warnings_appear_only_when_present() {
        let plan = plan_for("https://x/warn.mp4", json!([{"output": "mp4"}]));
        let status = render(&view(&plan, Phase::Queued), Detail::Master);
        assert_eq!(
            status["warnings"][0]["message"],
            "Source Video Decoding Errors"
        );
        let plan = plan_for("https://x/v.mp4", json!([{"output": "mp4"}]));
        let status = render(&view(&plan, Phase::Queued), Detail::Master);
        assert!(status.get("warnings").is_none());
    }
}
