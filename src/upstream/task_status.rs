//! Reads Qencode task status objects leniently into `pb::TaskStatus`.
//!
//! Every field is optional upstream and comes in several shapes (see [`crate::upstream::lenient`]);
//! a status object never fails to parse, it only loses the fields it could not read.

use crate::{
    pb::{OutputStatus, TaskState, TaskStatus, TaskWarning},
    upstream::lenient::{array_of, bool_of, f64_of, object_of, string_of, to_struct},
};
use serde_json::Value;

/// Maps a raw status string to the enum; unknown values map to UNSPECIFIED. Compared
/// without allocating: it runs for every task and output of every status answer.
pub fn task_state(raw: &str) -> TaskState {
    const STATES: [(&str, TaskState); 9] = [
        ("downloading", TaskState::Downloading),
        ("queued", TaskState::Queued),
        ("encoding", TaskState::Encoding),
        ("saving", TaskState::Saving),
        ("completed", TaskState::Completed),
        ("saved", TaskState::Saved),
        ("error", TaskState::Error),
        ("failed", TaskState::Failed),
        ("created", TaskState::Created),
    ];
    let raw = raw.trim();
    STATES
        .iter()
        .find(|(name, _)| raw.eq_ignore_ascii_case(name))
        .map_or(TaskState::Unspecified, |(_, state)| *state)
}

/// The status of a task created but not started: Qencode's status has none, so the
/// gateway reports this for tasks it created itself.
pub fn created_status() -> TaskStatus {
    TaskStatus {
        state: TaskState::Created as i32,
        status: "created".to_owned(),
        ..Default::default()
    }
}

/// True for states after which a task changes no more.
pub fn is_terminal(status: &TaskStatus) -> bool {
    matches!(
        status.state(),
        TaskState::Completed | TaskState::Error | TaskState::Failed
    )
}

/// Reads one status object. `None` when the value is not an object (e.g. `null` for an
/// unknown task).
pub fn parse_task_status(value: &Value) -> Option<TaskStatus> {
    let object = object_of(Some(value))?;
    let get = |key: &str| object.get(key);
    let status = string_of(get("status")).unwrap_or_default();
    let error = bool_of(get("error")).unwrap_or(false);
    let mut state = task_state(&status);
    if error && state == TaskState::Unspecified {
        state = TaskState::Error;
    }
    Some(TaskStatus {
        state: state as i32,
        status,
        percent: f64_of(get("percent")),
        error,
        error_description: string_of(get("error_description")),
        status_url: string_of(get("status_url")).unwrap_or_default(),
        videos: outputs(get("videos")),
        audios: outputs(get("audios")),
        images: outputs(get("images")),
        warnings: array_of(get("warnings"))
            .iter()
            .filter_map(warning)
            .collect(),
        source_size: f64_of(get("source_size")),
        duration: f64_of(get("duration")),
        incremental_tag: string_of(get("incremental_tag")),
    })
}

fn outputs(value: Option<&Value>) -> Vec<OutputStatus> {
    array_of(value).iter().filter_map(output).collect()
}

fn output(value: &Value) -> Option<OutputStatus> {
    let object = object_of(Some(value))?;
    let get = |key: &str| object.get(key);
    let status = string_of(get("status")).unwrap_or_default();
    Some(OutputStatus {
        state: task_state(&status) as i32,
        status,
        percent: f64_of(get("percent")),
        tag: string_of(get("tag")).unwrap_or_default(),
        user_tag: string_of(get("user_tag")),
        profile: string_of(get("profile")),
        url: string_of(get("url")),
        output_format: string_of(get("output_format")),
        bitrate: f64_of(get("bitrate")),
        duration: f64_of(get("duration")),
        size: f64_of(get("size")),
        storage: object_of(get("storage")).map(|m| to_struct(m.into_owned())),
        meta: object_of(get("meta")).map(|m| to_struct(m.into_owned())),
        error: bool_of(get("error")).unwrap_or(false),
        error_description: string_of(get("error_description")),
    })
}

fn warning(value: &Value) -> Option<TaskWarning> {
    match value {
        Value::String(message) => Some(TaskWarning {
            message: message.clone(),
            ..Default::default()
        }),
        other => {
            let object = object_of(Some(other))?;
            Some(TaskWarning {
                message: string_of(object.get("message")).unwrap_or_default(),
                details: string_of(object.get("details")),
                tag: string_of(object.get("tag")),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_shapes_are_normalised() {
        let status = parse_task_status(&json!({
            "status": "encoding", "percent": "3.57", "error": "0", "duration": "None",
            "videos": [{"tag": "video-0-0", "meta": "{\"width\": 854}", "error": false,
                        "duration": "None", "size": null, "bitrate": "1692"}],
            "warnings": [{"message": "Low Audio Bitrate", "details": "x", "tag": "audio-0-1"}, "plain"]
        }))
        .unwrap();
        assert_eq!(status.state(), TaskState::Encoding);
        assert_eq!(status.percent, Some(3.57));
        assert_eq!(status.duration, None);
        let video = &status.videos[0];
        assert_eq!(video.bitrate, Some(1692.0));
        assert!(video.meta.as_ref().unwrap().fields.contains_key("width"));
        assert_eq!(status.warnings.len(), 2);
    }

    #[test]
    fn unknown_states_keep_the_raw_string() {
        let status = parse_task_status(&json!({"status": "transmogrifying"})).unwrap();
        assert_eq!(status.state(), TaskState::Unspecified);
        assert_eq!(status.status, "transmogrifying");
        let failed = parse_task_status(&json!({"status": "weird", "error": 1})).unwrap();
        assert_eq!(failed.state(), TaskState::Error);
        assert!(parse_task_status(&json!(null)).is_none());
        assert!(parse_task_status(&json!([1])).is_none());
    }
}
