//! Push from a live stream's `callback_url`: the Live API posts the stream object on
//! each status change. The gateway signs the URL it sets (see
//! [`CallbackSigner::stream_url_for`]), so only a post for the stream named in the
//! signed URL changes anything; polling stays the safety net. In fleet mode a verified
//! post is also shared, so the stream's watchers on every replica see it.

use super::{stream_source::is_final, Hub};
use crate::{
    domain::signer::CallbackSigner,
    pb::LiveStream,
    upstream::{lenient::parse_json, live_stream::parse_stream},
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    routing::post,
    Router,
};
use std::sync::Arc;
use tracing::debug;

/// Route of the live stream callback endpoint on the HTTP listener.
pub const ROUTE: &str = "/callbacks/stream/{signature}";

#[derive(Clone)]
struct StreamCallbackState {
    hub: Arc<Hub<LiveStream>>,
    signer: Arc<CallbackSigner>,
    /// Fleet mode: verified callbacks reach every replica's watchers (the Live API
    /// posts to the one replica its `callback_url` names).
    fleet: Option<Arc<crate::fleet::Fleet>>,
}

/// The live stream callback endpoint, for the HTTP listener; in fleet mode each verified
/// callback is also shared with the other replicas.
pub fn router(
    hub: Arc<Hub<LiveStream>>,
    signer: Arc<CallbackSigner>,
    fleet: Option<Arc<crate::fleet::Fleet>>,
) -> Router {
    Router::new()
        .route(ROUTE, post(receive))
        .with_state(StreamCallbackState { hub, signer, fleet })
}

async fn receive(
    State(state): State<StreamCallbackState>,
    Path(signature): Path<String>,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let text = std::str::from_utf8(&body).unwrap_or_default();
    let Ok(value) = parse_json(text) else {
        return (StatusCode::BAD_REQUEST, "not JSON\n");
    };
    // The Live API wraps the object as `{"stream": {...}}`, as GET answers it.
    let object = value.get("stream").unwrap_or(&value);
    let Some(stream) = parse_stream(object) else {
        return (StatusCode::BAD_REQUEST, "no readable stream\n");
    };
    if stream.id.is_empty() || !state.signer.verify_stream(&stream.id, &signature) {
        static FORGED: crate::support::limit_hits::Throttle =
            crate::support::limit_hits::Throttle::new();
        crate::support::limit_hits::bite(
            &FORGED,
            "callback_signature",
            "http",
            "rejected a live stream callback whose signature does not match",
        );
        return (StatusCode::UNAUTHORIZED, "unknown callback\n");
    }
    let id = stream.id.clone();
    let terminal = is_final(&stream);
    if let Some(fleet) = &state.fleet {
        crate::domain::watch::shared::snapshots::share_callback(fleet, &id, &stream).await;
    }
    let delivered = state.hub.push(&id, stream, terminal);
    debug!(stream_id = %id, delivered, "live stream callback");
    (StatusCode::OK, "ok\n")
}
