//! `POST /v1/live-streams/<id>/simulcast-targets` and
//! `DELETE /v1/live-streams/<id>/simulcast-targets/<target_id>`.

use axum::extract::State;
use axum::Json;
use bytes::Bytes;
use serde_json::Value;

use super::auth::Authorized;
use super::error::LiveError;
use super::params;
use super::path::{ItemPath, StreamId};
use super::state::LiveSimulcastTarget;
use super::streams::change_stream;
use crate::{ids, Sandbox};

/// `POST .../simulcast-targets` with `{"url": "rtmp(s)://...", "stream_key": ...}`.
pub(crate) async fn add_simulcast_target(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    StreamId(id): StreamId,
    body: Bytes,
) -> Result<Json<Value>, LiveError> {
    let body = params::parse_body(&body).map_err(LiveError::bad_request)?;
    let field = |name: &str| {
        body.as_ref()
            .and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let url = field("url")
        .filter(|url| is_rtmp_url(url))
        .ok_or_else(|| LiveError::bad_request("url must be an rtmp:// or rtmps:// URL"))?;
    let stream_key =
        field("stream_key").ok_or_else(|| LiveError::bad_request("stream_key is required"))?;
    let target = LiveSimulcastTarget {
        id: ids::new_uuid(),
        url,
        stream_key,
    };
    let target_id = target.id.clone();
    let response = change_stream(&sandbox, &id, |stream, _, _| {
        stream.simulcast_targets.push(target);
        Ok(())
    })?;
    tracing::info!(stream_id = %id, %target_id, "live simulcast target added");
    Ok(response)
}

/// `DELETE .../simulcast-targets/<target_id>`; 404 for an id the stream lacks.
pub(crate) async fn remove_simulcast_target(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    path: ItemPath,
) -> Result<Json<Value>, LiveError> {
    let response = change_stream(&sandbox, &path.stream_id, |stream, _, _| {
        let before = stream.simulcast_targets.len();
        stream.simulcast_targets.retain(|t| t.id != path.item_id);
        if stream.simulcast_targets.len() == before {
            return Err(LiveError::not_found("simulcast target not found"));
        }
        Ok(())
    })?;
    tracing::info!(stream_id = %path.stream_id, target_id = %path.item_id, "live simulcast target removed");
    Ok(response)
}

/// Whether `url` is an RTMP(S) ingest URL with a host.
fn is_rtmp_url(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "rtmp" | "rtmps") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rtmp_urls_are_targets() {
        assert!(is_rtmp_url("rtmp://a.rtmp.youtube.com/live2"));
        assert!(is_rtmp_url("rtmps://live-api-s.facebook.com:443/rtmp/"));
        assert!(!is_rtmp_url("https://example.com/live"));
        assert!(!is_rtmp_url("rtmp://"));
        assert!(!is_rtmp_url("not a url"));
    }
}
