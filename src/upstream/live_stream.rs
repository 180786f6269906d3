//! Reads Live Streaming API stream objects leniently into `pb::LiveStream`.
//!
//! The document itself shows `framerate` as `0` and as `"30"`, `dvr.enabled` as `1`, `0`
//! and `false`, `dvr.format` as a string or a list, `destination` as null, an object or
//! a list, and fields that come and go with the stream's state. Nothing here fails: a
//! field that cannot be read is left empty.

use crate::{
    pb::{
        self, number_or_string, Dvr, DvrDestination, LiveStream, NumberOrString, StreamParams,
        StreamState, StreamStatus,
    },
    upstream::lenient::{array_of, bool_of, f64_of, object_of, string_of},
};
use serde_json::{Map, Value};

/// Maps a raw status name to the enum; unknown values map to UNSPECIFIED.
pub fn stream_state(raw: &str) -> StreamState {
    match raw.trim().to_ascii_lowercase().as_str() {
        "created" => StreamState::Created,
        "starting" => StreamState::Starting,
        "waiting" => StreamState::Waiting,
        "launching" => StreamState::Launching,
        "live" => StreamState::Live,
        "idle" => StreamState::Idle,
        "stopping" => StreamState::Stopping,
        "stopped" => StreamState::Stopped,
        "deleted" => StreamState::Deleted,
        _ => StreamState::Unspecified,
    }
}

/// Reads a `{"timestamp", "name"}` status object (or a bare status string).
pub fn parse_status(value: Option<&Value>) -> Option<StreamStatus> {
    let (name, timestamp) = match value? {
        Value::String(name) => (name.clone(), String::new()),
        other => {
            let object = object_of(Some(other))?;
            (
                string_of(object.get("name"))
                    .or_else(|| string_of(object.get("status")))
                    .unwrap_or_default(),
                string_of(object.get("timestamp")).unwrap_or_default(),
            )
        }
    };
    Some(StreamStatus {
        state: stream_state(&name) as i32,
        name,
        timestamp,
    })
}

/// Reads one stream object. `None` when the value is not an object.
pub fn parse_stream(value: &Value) -> Option<LiveStream> {
    let object = object_of(Some(value))?;
    let get = |key: &str| object.get(key);
    Some(LiveStream {
        id: string_of(get("id")).unwrap_or_default(),
        name: string_of(get("name")).unwrap_or_default(),
        status: parse_status(get("status")),
        server_urls: object_of(get("server_urls"))
            .map(|urls| {
                urls.iter()
                    .filter_map(|(kind, url)| string_of(Some(url)).map(|u| (kind.clone(), u)))
                    .collect()
            })
            .unwrap_or_default(),
        stream_key: string_of(get("stream_key")).unwrap_or_default(),
        playback_ids: array_of(get("playback_ids"))
            .iter()
            .filter_map(playback_id)
            .collect(),
        origin_host: string_of(get("origin_host")),
        origin_url: string_of(get("origin_url")),
        created_at: string_of(get("created_at")).unwrap_or_default(),
        params: object_of(get("params")).map(|p| parse_params(&p)),
        simulcast_targets: array_of(get("simulcast_targets"))
            .iter()
            .filter_map(simulcast_target)
            .collect(),
        quality: string_of(get("quality")),
    })
}

fn playback_id(value: &Value) -> Option<pb::PlaybackId> {
    let object = object_of(Some(value))?;
    Some(pb::PlaybackId {
        id: string_of(object.get("id")).unwrap_or_default(),
        policy: string_of(object.get("policy")).unwrap_or_default(),
        playback_url: string_of(object.get("playback_url")).unwrap_or_default(),
        created: string_of(object.get("created")).unwrap_or_default(),
    })
}

fn simulcast_target(value: &Value) -> Option<pb::SimulcastTarget> {
    let object = object_of(Some(value))?;
    Some(pb::SimulcastTarget {
        id: string_of(object.get("id")).unwrap_or_default(),
        url: string_of(object.get("url")).unwrap_or_default(),
        stream_key: string_of(object.get("stream_key")).unwrap_or_default(),
    })
}

/// Reads a `params` object.
pub fn parse_params(object: &Map<String, Value>) -> StreamParams {
    let get = |key: &str| object.get(key);
    StreamParams {
        name: string_of(get("name")),
        input_format: string_of(get("input_format")),
        output_format: string_of(get("output_format")),
        stream_timeout: f64_of(get("stream_timeout")).map(|n| n as i32),
        framerate: framerate(get("framerate")),
        callback_url: string_of(get("callback_url")),
        playback_domain: string_of(get("playback_domain")),
        dvr: object_of(get("dvr")).map(|d| dvr(&d)),
        mode: string_of(get("mode")),
    }
}

/// Keeps the upstream's form: a number stays a number, a string stays a string.
fn framerate(value: Option<&Value>) -> Option<NumberOrString> {
    let value = match value? {
        Value::Number(n) => number_or_string::Value::Number(n.as_f64()?),
        Value::String(s) if !s.is_empty() && s != "None" => {
            number_or_string::Value::Text(s.clone())
        }
        _ => return None,
    };
    Some(NumberOrString { value: Some(value) })
}

fn dvr(object: &Map<String, Value>) -> Dvr {
    let get = |key: &str| object.get(key);
    let destination = match get("destination") {
        Some(Value::Array(items)) => items.iter().filter_map(destination).collect(),
        Some(single) => destination(single).into_iter().collect(),
        None => Vec::new(),
    };
    let format = match get("format") {
        Some(Value::Array(items)) => items.iter().filter_map(|f| string_of(Some(f))).collect(),
        other => string_of(other).into_iter().collect(),
    };
    Dvr {
        enabled: bool_of(get("enabled")).map(i32::from),
        destination,
        stream_source: string_of(get("stream_source")),
        resolution: string_of(get("resolution")),
        format,
        max_file_duration: f64_of(get("max_file_duration")).map(|n| n as i32),
    }
}

/// What a storage credential the upstream echoes reads as in every stream the gateway
/// returns: it says the credential is set without giving it to a reader.
pub const REDACTED: &str = "[REDACTED]";

/// A DVR destination as callers see it: the storage's access key and secret, which the
/// Live API echoes, are replaced by [`REDACTED`]. Any caller allowed to read streams
/// (GetStream, ListStreams, WatchStream, a read-only dashboard) would otherwise receive
/// another team's storage credentials; the caller who set them already has them.
fn destination(value: &Value) -> Option<DvrDestination> {
    let object = object_of(Some(value))?;
    let redacted = |key: &str| string_of(object.get(key)).map(|_| REDACTED.to_owned());
    Some(DvrDestination {
        url: string_of(object.get("url")),
        key: redacted("key"),
        secret: redacted("secret"),
        permissions: string_of(object.get("permissions")),
        storage_class: string_of(object.get("storage_class")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_shapes_from_the_document() {
        let stream = parse_stream(&json!({
            "id": "x", "status": {"timestamp": "2021-12-01 17:24:04", "name": "stopped"},
            "server_urls": {"rtmp": "rtmp://a", "rtmps": "rtmps://a", "whip": "https://w", "bad": null},
            "params": {"framerate": "30", "dvr": {"enabled": false, "format": ["mp4", "hls"], "destination": null}},
        }))
        .unwrap();
        assert_eq!(
            stream.status.as_ref().unwrap().state(),
            StreamState::Stopped
        );
        assert_eq!(
            stream.server_urls.len(),
            3,
            "unknown kinds kept, nulls dropped"
        );
        let params = stream.params.unwrap();
        assert_eq!(
            params.framerate.unwrap().value,
            Some(number_or_string::Value::Text("30".into()))
        );
        let dvr = params.dvr.unwrap();
        assert_eq!(dvr.enabled, Some(0));
        assert_eq!(dvr.format, ["mp4", "hls"]);
        assert!(dvr.destination.is_empty());
    }

    #[test]
    fn unknown_states_and_junk() {
        assert_eq!(
            parse_status(Some(&json!({"name": "teleporting"})))
                .unwrap()
                .state(),
            StreamState::Unspecified
        );
        assert_eq!(
            parse_status(Some(&json!("live"))).unwrap().state(),
            StreamState::Live
        );
        assert!(parse_stream(&json!("nope")).is_none());
        let empty = parse_stream(&json!({})).unwrap();
        assert!(empty.status.is_none() && empty.params.is_none());
    }
}
