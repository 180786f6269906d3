//! Turns a validated query into the plan a task's status is rendered from:
//! the source's size and duration, whether it fails, and one planned output per
//! reportable format entry with the numbers it will report once done.
//!
//! Everything is fixed at start so status answers are a pure function of time.

use serde_json::{json, Value};

use super::ids;
use super::outputs::{OutputFormat, OutputList};
use super::query::{FormatSpec, ParsedQuery, SourceRef};

/// A source URL containing this makes the task fail after downloading.
const FAIL_MARKER: &str = "fail";
/// A source URL containing this makes the task report a warning.
const WARN_MARKER: &str = "warn";
/// Size reported for a downloaded URL source (bytes); 16.6585 MB as in the
/// document's callback example.
const URL_SOURCE_BYTES: u64 = 16_658_500;
/// Duration reported for a URL source or upload (seconds), as in the example.
const SOURCE_SECONDS: f64 = 30.017;

/// Everything needed to report a started task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskPlan {
    /// The download fails: status `error` after the downloading phase.
    pub(crate) source_fails: bool,
    /// Report a source decoding warning.
    pub(crate) source_warns: bool,
    pub(crate) source_bytes: u64,
    pub(crate) source_seconds: f64,
    pub(crate) outputs: Vec<OutputPlan>,
    /// The first input's URI, named in the metadata document.
    pub(crate) source_uri: String,
}

/// One output as it will appear in a status list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutputPlan {
    pub(crate) list: OutputList,
    pub(crate) format: OutputFormat,
    /// Index of the `format` entry it comes from.
    pub(crate) format_index: usize,
    /// System tag, e.g. `video-0-0`.
    pub(crate) tag: String,
    /// The format's `tag`.
    pub(crate) user_tag: Option<String>,
    /// The transcoding profile id it comes from (`/v1/start_encode`).
    pub(crate) profile: Option<String>,
    pub(crate) destination: Option<String>,
    pub(crate) image_format: Option<String>,
    /// Random id naming the file in sandbox storage when there is no destination.
    pub(crate) file_id: String,
    pub(crate) meta: Value,
    /// kbps; `None` for images.
    pub(crate) bitrate: Option<u64>,
    pub(crate) seconds: f64,
    pub(crate) size_mb: f64,
}

/// Builds the plan. `upload_len` gives the stored size of a TUS upload or the
/// error message for a `tus:` source that cannot be used.
pub(crate) fn build(
    query: &ParsedQuery,
    upload_len: impl Fn(&str) -> Result<u64, String>,
) -> Result<TaskPlan, String> {
    let mut source_bytes = 0u64;
    let mut source_seconds = 0.0;
    let mut source_fails = false;
    let mut source_warns = false;
    for input in &query.inputs {
        match &input.source {
            SourceRef::Url(url) => {
                source_fails |= url.contains(FAIL_MARKER);
                source_warns |= url.contains(WARN_MARKER);
                source_bytes = source_bytes.saturating_add(URL_SOURCE_BYTES);
            }
            SourceRef::Upload(uuid) => {
                source_bytes = source_bytes.saturating_add(upload_len(uuid)?);
            }
        }
        source_seconds += input
            .duration
            .filter(|d| *d > 0.0)
            .map_or(SOURCE_SECONDS, |d| d.min(SOURCE_SECONDS));
    }
    let outputs = query
        .formats
        .iter()
        .enumerate()
        .filter_map(|(i, format)| plan_output(i, format, source_seconds))
        .collect();
    let source_uri = query
        .inputs
        .first()
        .map(|input| match &input.source {
            SourceRef::Url(url) => url.clone(),
            SourceRef::Upload(uuid) => format!("tus:{uuid}"),
        })
        .unwrap_or_default();
    Ok(TaskPlan {
        source_fails,
        source_warns,
        source_bytes,
        source_seconds,
        outputs,
        source_uri,
    })
}

fn plan_output(index: usize, format: &FormatSpec, source_seconds: f64) -> Option<OutputPlan> {
    let list = format.output.list()?;
    let start = format.start_time.unwrap_or(0.0).clamp(0.0, source_seconds);
    let available = source_seconds - start;
    let seconds = format
        .duration
        .filter(|d| *d > 0.0)
        .map_or(available, |d| d.min(available));
    let (meta, bitrate) = match list {
        // A metadata output describes the source; it has no bitrate of its own.
        OutputList::Videos if format.output == OutputFormat::Metadata => {
            (super::metadata::source_meta(), None)
        }
        OutputList::Videos => video(format),
        OutputList::Audios => audio(format),
        OutputList::Images => image(format),
    };
    let size_mb = match (bitrate, format.output) {
        (Some(kbps), _) => kbps as f64 * seconds / 8.0 / 1000.0,
        (None, OutputFormat::Metadata) => 0.004,
        (None, _) => 0.052,
    };
    Some(OutputPlan {
        list,
        format: format.output,
        format_index: index,
        tag: format!("{}-{index}-0", list.tag_prefix()),
        user_tag: format.tag.clone(),
        profile: format.profile.clone(),
        destination: format.destination.clone(),
        image_format: format.image_format.clone(),
        file_id: ids::new_hex32(),
        meta,
        bitrate,
        seconds,
        size_mb,
    })
}

fn video(format: &FormatSpec) -> (Value, Option<u64>) {
    let (width, height) = frame(format, 1280, 720);
    let bitrate = format.bitrate.unwrap_or(match height {
        1080.. => 5000,
        720.. => 2500,
        480.. => 1200,
        _ => 700,
    });
    let codec = match format.video_codec.as_deref() {
        Some("libx264") | Some("lcevc_h264") => "h264",
        Some("libx265") | Some("lcevc_hevc") => "hevc",
        Some("libvpx") => "vp8",
        Some("libvpx-vp9") => "vp9",
        _ => format.output.default_codec(),
    };
    let meta = json!({
        "width": width,
        "height": height,
        "resolution": width.min(height),
        "resolution_width": width,
        "resolution_height": height,
        "codec": codec,
        "framerate": format.framerate.clone().unwrap_or_else(|| "30000/1001".into()),
        "bitrate": (bitrate * 1000).to_string(),
        "dar": "16:9",
        "sar": "1:1",
    });
    (meta, Some(bitrate))
}

fn audio(format: &FormatSpec) -> (Value, Option<u64>) {
    let bitrate = format.audio_bitrate.unwrap_or(128);
    let codec = match (format.output, format.audio_codec.as_deref()) {
        (OutputFormat::HlsAudio, Some(codec)) => codec.trim_start_matches("lib").to_string(),
        (OutputFormat::HlsAudio, None) => "aac".into(),
        (output, _) => output.default_codec().into(),
    };
    let meta = json!({
        "index": 1,
        "language": "und",
        "codec": codec,
        "channels": 2,
        "sample_rate": 44100,
        "bit_rate": bitrate * 1000,
    });
    (meta, Some(bitrate))
}

fn image(format: &FormatSpec) -> (Value, Option<u64>) {
    let (width, height) = frame(format, 320, 180);
    (json!({"width": width, "height": height}), None)
}

/// Output frame size, keeping 16:9 when only one side is given.
fn frame(format: &FormatSpec, default_width: u32, default_height: u32) -> (u32, u32) {
    let even = |n: u64| u32::try_from((n + 1) & !1).unwrap_or(u32::MAX);
    match (format.width, format.height) {
        (Some(w), Some(h)) => (w, h),
        (Some(w), None) => (w, even(u64::from(w) * 9 / 16)),
        (None, Some(h)) => (even(u64::from(h) * 16 / 9), h),
        (None, None) => (default_width, default_height),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query;

    fn parsed(value: Value) -> ParsedQuery {
        query::parse(&value.to_string()).expect("valid query")
    }

    #[test]
    fn one_output_per_reportable_format_with_tags() {
        let q = parsed(json!({"query": {"source": "https://x/v.mp4", "format": [
            {"output": "mp4", "tag": "480p", "size": "854x480"},
            {"output": "metadata"},
            {"output": "mp3", "audio_bitrate": 96},
            {"output": "thumbnail", "width": 320}
        ]}}));
        let plan = build(&q, |_| Err("no uploads".into())).expect("plan");
        let tags: Vec<_> = plan.outputs.iter().map(|o| o.tag.as_str()).collect();
        assert_eq!(tags, ["video-0-0", "video-1-0", "audio-2-0", "image-3-0"]);
        assert_eq!(plan.outputs[0].user_tag.as_deref(), Some("480p"));
        assert_eq!(plan.outputs[0].bitrate, Some(1200));
        assert_eq!(plan.outputs[0].meta["height"], 480);
        assert_eq!(plan.outputs[1].bitrate, None);
        assert_eq!(plan.outputs[2].bitrate, Some(96));
        assert_eq!(plan.outputs[3].meta, json!({"width": 320, "height": 180}));
        assert_eq!(plan.source_uri, "https://x/v.mp4");
        assert!(!plan.source_fails);
        assert_eq!(plan.source_bytes, URL_SOURCE_BYTES);
    }

    #[test]
    fn failing_and_uploaded_sources() {
        let q = parsed(json!({"query": {
            "stitch": ["https://x/fail.mp4", "tus:u1"],
            "format": [{"output": "mp4", "start_time": 50, "duration": 20}]
        }}));
        let plan = build(&q, |uuid| {
            assert_eq!(uuid, "u1");
            Ok(1234)
        })
        .expect("plan");
        assert!(plan.source_fails);
        assert_eq!(plan.source_bytes, URL_SOURCE_BYTES + 1234);
        assert!((plan.source_seconds - 2.0 * SOURCE_SECONDS).abs() < 1e-9);
        assert!((plan.outputs[0].seconds - 10.034).abs() < 1e-9);
        let err = build(&q, |_| Err("unknown upload".into()));
        assert_eq!(err, Err("unknown upload".into()));
    }
}
