//! `output: metadata`: the JSON document describing the source, served from
//! sandbox storage at the URL the task's status reports for it.
//!
//! Qencode's client libraries fetch that URL (the first `videos` entry, see
//! [`crate::outputs`]) and hand the bytes to the caller, who parses them as
//! ffprobe output; so the document follows ffprobe's `-show_format
//! -show_streams` JSON layout with plausible numbers for the pretend source.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::lifecycle::Phase;
use super::outputs::OutputFormat;
use super::plan::TaskPlan;
use super::Sandbox;

/// The pretend source's frame size.
const SOURCE_WIDTH: u32 = 1920;
const SOURCE_HEIGHT: u32 = 1080;
/// The pretend source's stream bitrates (bits per second).
const VIDEO_BITS: u64 = 4_300_000;
const AUDIO_BITS: u64 = 128_000;

/// The `meta` of a metadata output in a status list: the source's video
/// stream, in the same keys video outputs use.
pub(crate) fn source_meta() -> Value {
    json!({
        "width": SOURCE_WIDTH,
        "height": SOURCE_HEIGHT,
        "resolution": SOURCE_HEIGHT,
        "resolution_width": SOURCE_WIDTH,
        "resolution_height": SOURCE_HEIGHT,
        "codec": "h264",
        "framerate": "30000/1001",
        "bitrate": VIDEO_BITS.to_string(),
        "dar": "16:9",
        "sar": "1:1",
    })
}

/// The ffprobe-style document for the source of `plan`.
pub(crate) fn document(plan: &TaskPlan) -> Value {
    let duration = format!("{:.6}", plan.source_seconds);
    let bit_rate = if plan.source_seconds > 0.0 {
        (plan.source_bytes as f64 * 8.0 / plan.source_seconds).round() as u64
    } else {
        0
    };
    json!({
        "streams": [
            {
                "index": 0,
                "codec_name": "h264",
                "codec_long_name": "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10",
                "profile": "High",
                "codec_type": "video",
                "width": SOURCE_WIDTH,
                "height": SOURCE_HEIGHT,
                "coded_width": SOURCE_WIDTH,
                "coded_height": SOURCE_HEIGHT,
                "display_aspect_ratio": "16:9",
                "sample_aspect_ratio": "1:1",
                "pix_fmt": "yuv420p",
                "r_frame_rate": "30000/1001",
                "avg_frame_rate": "30000/1001",
                "duration": duration,
                "bit_rate": VIDEO_BITS.to_string(),
            },
            {
                "index": 1,
                "codec_name": "aac",
                "codec_long_name": "AAC (Advanced Audio Coding)",
                "profile": "LC",
                "codec_type": "audio",
                "sample_rate": "44100",
                "channels": 2,
                "channel_layout": "stereo",
                "duration": duration,
                "bit_rate": AUDIO_BITS.to_string(),
            }
        ],
        "format": {
            "filename": plan.source_uri,
            "nb_streams": 2,
            "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
            "format_long_name": "QuickTime / MOV",
            "duration": duration,
            "size": plan.source_bytes.to_string(),
            "bit_rate": bit_rate.to_string(),
        }
    })
}

/// `GET /storage/<task_token>/<format>/<n>/<file_id>.<ext>`: the metadata
/// document of a completed task's metadata output. Media outputs have no
/// bytes in the sandbox, so every other path is 404, as is a metadata file
/// asked for before the task completed (it has not been saved yet).
pub(crate) async fn storage(State(sandbox): State<Sandbox>, Path(path): Path<String>) -> Response {
    let mut segments = path.split('/');
    let (Some(task_token), Some(format), Some(_), Some(file), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if format != OutputFormat::Metadata.name() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(file_id) = file.strip_suffix(".json") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let inner = sandbox.shared.lock();
    let phase_duration = inner.config.phase_duration;
    let Some(started) = inner
        .tasks
        .get(task_token)
        .and_then(|task| task.started.as_ref())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let saved = started.phase(Instant::now(), phase_duration) == Phase::Completed;
    let listed = started.plan.outputs.iter().any(|output| {
        output.format == OutputFormat::Metadata
            && output.destination.is_none()
            && output.file_id == file_id
    });
    if !(saved && listed) {
        return StatusCode::NOT_FOUND.into_response();
    }
    Json(document(&started.plan)).into_response()
}
