//! The stream object as the document's response examples show it.
//!
//! Ingest and playback hosts are Qencode's own names: nothing connects to them in
//! tests, and clients only need their shape. `origin_url`, which no example
//! shows, follows the playback URL pattern on the origin host.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::phase::Run;
use super::state::{LivePlaybackId, LiveSimulcastTarget, LiveStream};

/// Qencode's timestamp format (UTC).
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
const RTMP_URL: &str = "rtmp://rtmp-live.qencode.com/qlive";
const RTMPS_URL: &str = "rtmps://rtmp-live.qencode.com/qlive";
/// The only quality tier the examples show.
const QUALITY: &str = "LIVE SD";

/// A UTC time as Qencode writes it.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

/// The HLS playback URL of a playback id.
pub(crate) fn playback_url(playback_id: &str) -> String {
    format!("https://play-{playback_id}.qencode.com/qhls/qlive/playlist.m3u8")
}

/// The stream object at `now`.
pub(crate) fn stream(stream: &LiveStream, now: Instant, phase: Duration) -> Value {
    let (status, since) = stream.status(now, phase);
    let mut server_urls = Map::new();
    server_urls.insert("rtmp".into(), json!(RTMP_URL));
    server_urls.insert("rtmps".into(), json!(RTMPS_URL));
    let mut object = Map::new();
    object.insert("id".into(), json!(stream.id));
    object.insert("name".into(), json!(stream.name));
    object.insert("quality".into(), json!(QUALITY));
    object.insert(
        "status".into(),
        json!({"timestamp": timestamp(since), "name": status.name()}),
    );
    if let Run::Started { origin_host, .. } = &stream.run {
        let key = &stream.stream_key;
        if status.is_running() {
            server_urls.insert(
                "webrtc".into(),
                json!(format!(
                    "wss://{origin_host}:3334/qlive/{key}?direction=send&transport=tcp"
                )),
            );
            server_urls.insert(
                "srt".into(),
                json!(format!("srt://{origin_host}:9999?streamid={key}")),
            );
        }
        if status.has_origin() {
            object.insert("origin_host".into(), json!(origin_host));
            object.insert(
                "origin_url".into(),
                json!(format!("https://{origin_host}/qhls/qlive/playlist.m3u8")),
            );
        }
    }
    object.insert("server_urls".into(), Value::Object(server_urls));
    object.insert("stream_key".into(), json!(stream.stream_key));
    object.insert(
        "playback_ids".into(),
        stream.playback_ids.iter().map(playback_id).collect(),
    );
    object.insert("created_at".into(), json!(timestamp(stream.created)));
    object.insert("params".into(), Value::Object(stream.params.clone()));
    object.insert(
        "simulcast_targets".into(),
        stream
            .simulcast_targets
            .iter()
            .map(simulcast_target)
            .collect(),
    );
    Value::Object(object)
}

fn playback_id(playback: &LivePlaybackId) -> Value {
    json!({
        "id": playback.id,
        "policy": playback.policy,
        "created": playback.created,
        "playback_url": playback_url(&playback.id),
    })
}

fn simulcast_target(target: &LiveSimulcastTarget) -> Value {
    json!({"id": target.id, "url": target.url, "stream_key": target.stream_key})
}
