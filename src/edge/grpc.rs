//! Thin tonic adapters: unwrap the request, call the domain, convert the result.
//! [`status`] is the one place a domain error becomes a `tonic::Status`.

pub mod admission;
pub mod codec;
pub mod decoded_size;
pub mod layer;
pub mod live_streaming_service;
pub mod reflection;
pub mod status;
pub mod transcoding_service;

use crate::support::reasons;
use crate::{
    domain::watch::{watch_stream::EventKind, Stale},
    pb::{UpstreamUnavailable, WatchEventKind},
    upstream::Deadline,
};
use std::{pin::Pin, time::Duration};
use tonic::metadata::MetadataMap;

/// The response stream type of both watch RPCs.
pub type ResponseStream<T> = Pin<Box<dyn futures::Stream<Item = Result<T, tonic::Status>> + Send>>;

/// The proto enum of an event kind.
pub fn event_kind(kind: EventKind) -> WatchEventKind {
    match kind {
        EventKind::Snapshot => WatchEventKind::Snapshot,
        EventKind::Change => WatchEventKind::Change,
        EventKind::Heartbeat => WatchEventKind::Heartbeat,
        EventKind::Stale => WatchEventKind::Stale,
    }
}

/// The call's project and audit note, put there by the layer. Every gateway method
/// gets one; a service mounted without the layer fails closed.
pub fn context<T>(
    request: &tonic::Request<T>,
) -> Result<crate::access::check::CallContext, tonic::Status> {
    request
        .extensions()
        .get::<crate::access::check::CallContext>()
        .cloned()
        .ok_or_else(|| {
            status::to_status(crate::support::error::Error::new(
                crate::support::error::ErrorKind::Internal,
                crate::support::error::GATEWAY_DOMAIN,
                reasons::NO_PROJECT,
                "the call reached the service without a project (the gateway layer is missing)",
            ))
        })
}

/// The watcher slot the layer took from a watch's HEADERS (`None` without the layer:
/// the watch then takes one itself).
pub fn held_watcher<T>(request: &tonic::Request<T>) -> Option<crate::domain::watch::Permit> {
    request
        .extensions()
        .get::<layer::HeldWatcher>()
        .and_then(layer::HeldWatcher::take)
}

/// The proto form of why a watched state is stale (`None` while it is fresh).
pub fn stale(stale: Option<Stale>) -> Option<UpstreamUnavailable> {
    stale.map(|s| UpstreamUnavailable {
        since: Some(s.since.into()),
        failed_polls: s.failed_polls,
        reason: s.reason.into_owned(),
    })
}

/// The caller's deadline from its `grpc-timeout` header (e.g. `500m`, `2S`).
pub fn deadline(metadata: &MetadataMap) -> Deadline {
    metadata
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
        .map(Deadline::after)
        .unwrap_or(Deadline::NONE)
}

/// Parses the gRPC wire format of a timeout: up to 8 digits and a unit.
pub(crate) fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    if text.len() < 2 || text.len() > 9 {
        return None;
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value.saturating_mul(3600)),
        "M" => Duration::from_secs(value.saturating_mul(60)),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("500m"), Some(Duration::from_millis(500)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout("S"), None);
    }
}
