//! Where results go: readable lines, or one JSON object per line with `--json`.
//!
//! Messages become JSON through the gateway's own descriptor walker
//! (`proto_json::to_json`), so every set field appears without hand-written serde code;
//! enum numbers are then replaced by their names so the JSON reads like the text.
//!
//! Everything printed on stdout goes through [`write_stdout`], so a closed stdout is
//! handled in one place.

use crate::fail::Failure;
use qencode_gateway_proto::{pb, proto_json};
use serde_json::{json, Value};
use std::io::{ErrorKind, IsTerminal, Write};

/// How results are printed.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// One JSON object per line.
    pub json: bool,
    /// Stderr is a terminal, so progress bars may be drawn.
    pub terminal: bool,
}

impl Output {
    /// Output for `--json`; progress bars only when stderr is a terminal and not JSON.
    pub fn new(json: bool) -> Self {
        Self {
            json,
            terminal: !json && std::io::stderr().is_terminal(),
        }
    }

    /// Prints `value` as one JSON line (JSON mode) or `text` (text mode).
    pub fn emit(&self, value: Value, text: impl FnOnce() -> String) -> Result<(), Failure> {
        if self.json {
            line(value)
        } else {
            line(text())
        }
    }
}

/// Writes `text` and a newline to stdout (see [`write_stdout`]).
pub fn line(text: impl std::fmt::Display) -> Result<(), Failure> {
    write_stdout(format!("{text}\n").as_bytes())
}

/// Writes `bytes` to stdout now.
///
/// A stdout closed by its reader (`qgw status t | head -1` once head has exited) is
/// [`Failure::Closed`], which ends the command quietly with exit 0 as `git log | head`
/// does; `println!` panicked there ("failed printing to stdout", exit 101). Any other
/// write error (a full disk) is a local failure.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe => Failure::Closed,
            _ => Failure::local(format!("writing to stdout: {e}")),
        })
}

/// The lower-case word of a prost enum name, without its `PREFIX_`.
pub fn word(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// `downloading`, `encoding`, `completed`, ...; an output not begun yet is `pending`.
pub fn task_state(state: pb::TaskState) -> String {
    match state {
        pb::TaskState::Unspecified => "pending".to_owned(),
        state => word(state.as_str_name(), "TASK_STATE_"),
    }
}

/// `created`, `live`, `stopped`, ...
pub fn stream_state(state: pb::StreamState) -> String {
    word(state.as_str_name(), "STREAM_STATE_")
}

/// A message as JSON; `full_name` is its proto name without the package.
pub fn message_json<M: prost::Message>(message: &M, name: &str) -> Result<Value, Failure> {
    proto_json::to_json(message, &format!("qencode.gateway.v1.{name}"), name)
        .map_err(|e| Failure::local(format!("printing {name} as JSON: {e}")))
}

/// A task status as JSON with its states as words.
pub fn task_json(token: &str, status: &pb::TaskStatus) -> Result<Value, Failure> {
    let mut value = message_json(status, "TaskStatus")?;
    if let Value::Object(object) = &mut value {
        object.insert("state".into(), json!(task_state(status.state())));
    }
    for (kind, outputs) in [
        ("videos", &status.videos),
        ("audios", &status.audios),
        ("images", &status.images),
    ] {
        for (i, output) in outputs.iter().enumerate() {
            // `get_mut`, not indexing: indexing a missing array element panics.
            if let Some(Value::Object(item)) = value.get_mut(kind).and_then(|v| v.get_mut(i)) {
                item.insert("state".into(), json!(task_state(output.state())));
            }
        }
    }
    Ok(json!({"task_token": token, "status": value}))
}

/// Every output of a task, videos first.
pub fn outputs(status: &pb::TaskStatus) -> impl Iterator<Item = &pb::OutputStatus> {
    status
        .videos
        .iter()
        .chain(&status.audios)
        .chain(&status.images)
}

/// A task status as readable lines.
pub fn task_text(token: &str, status: &pb::TaskStatus) -> String {
    let mut text = format!(
        "{token}  {}{}",
        task_state(status.state()),
        percent(status.percent)
    );
    if let Some(description) = &status.error_description {
        text += &format!("  error: {description}");
    }
    for output in outputs(status) {
        text += &format!(
            "\n  {}  {}{}",
            output_label(output),
            task_state(output.state()),
            percent(output.percent)
        );
        if let Some(url) = &output.url {
            text += &format!("  {url}");
        }
    }
    text
}

/// The tag and format naming an output, e.g. `video.mp4 (mp4)`.
pub fn output_label(output: &pb::OutputStatus) -> String {
    let name = output.user_tag.as_deref().unwrap_or(&output.tag);
    match &output.output_format {
        Some(format) => format!("{name} ({format})"),
        None => name.to_owned(),
    }
}

fn percent(percent: Option<f64>) -> String {
    percent.map_or_else(String::new, |p| format!(" {p:.0}%"))
}

/// A live stream as JSON with its state as a word.
pub fn stream_json(stream: &pb::LiveStream) -> Result<Value, Failure> {
    let mut value = message_json(stream, "LiveStream")?;
    if let (Some(status), Some(Value::Object(item))) = (&stream.status, value.get_mut("status")) {
        item.insert("state".into(), json!(stream_state(status.state())));
    }
    Ok(value)
}

/// A live stream as readable lines: id, state, where to push, where to play.
pub fn stream_text(stream: &pb::LiveStream) -> String {
    let state = stream
        .status
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |s| stream_state(s.state()));
    let mut text = format!("{}  {}  {state}", stream.id, stream.name);
    let mut servers: Vec<_> = stream.server_urls.iter().collect();
    servers.sort();
    for (protocol, url) in servers {
        text += &format!("\n  ingest {protocol}: {url}");
    }
    if !stream.stream_key.is_empty() {
        text += &format!("\n  stream key: {}", stream.stream_key);
    }
    for playback in &stream.playback_ids {
        text += &format!(
            "\n  playback ({}): {}",
            playback.policy, playback.playback_url
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(task_state(pb::TaskState::Encoding), "encoding");
        assert_eq!(stream_state(pb::StreamState::Live), "live");
    }

    #[test]
    fn task_json_names_states() {
        let status = pb::TaskStatus {
            state: pb::TaskState::Completed as i32,
            videos: vec![pb::OutputStatus {
                state: pb::TaskState::Saving as i32,
                tag: "video-0".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let value = task_json("t1", &status).expect("json");
        assert_eq!(value["status"]["state"], "completed");
        assert_eq!(value["status"]["videos"][0]["state"], "saving");
        assert!(task_text("t1", &status).contains("video-0  saving"));
    }
}
