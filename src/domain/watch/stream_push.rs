//! Push from a live stream's `callback_url`: the Live API posts the stream object on
//! each status change. The gateway signs the URL it sets (see
//! [`CallbackSigner::stream_url_for`]: `/callbacks/stream/<stream_id>/<signature>`), so
//! only a post for the stream named in the signed URL changes anything; polling stays
//! the safety net. The URL is checked before the body is read, and the body is read
//! within bounds ([`super::callback_body`] reads it). In fleet mode a verified
//! post is also shared, so the stream's watchers on every replica see it.

use super::{
    callback_body::{self, BodyBounds},
    stream_source::is_final,
    Hub,
};
use crate::{
    domain::signer::CallbackSigner,
    pb::LiveStream,
    upstream::{lenient::parse_json, live_stream::parse_stream},
};
use axum::{
    body::Body,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use std::sync::Arc;
use tracing::debug;

/// Route of the live stream callback endpoint on the HTTP listener.
pub const ROUTE: &str = "/callbacks/stream/{stream_id}/{signature}";
/// The first form of the route, which named no stream: refused unread.
const UNSIGNED_ROUTE: &str = "/callbacks/stream/{signature}";

#[derive(Clone)]
struct StreamCallbackState {
    hub: Arc<Hub<LiveStream>>,
    signer: Arc<CallbackSigner>,
    /// Fleet mode: verified callbacks reach every replica's watchers (the Live API
    /// posts to the one replica its `callback_url` names).
    fleet: Option<Arc<crate::fleet::Fleet>>,
    bounds: BodyBounds,
}

/// The live stream callback endpoint, for the HTTP listener, reading bodies within
/// `bounds`; in fleet mode each verified callback is also shared with the other
/// replicas.
pub fn router(
    hub: Arc<Hub<LiveStream>>,
    signer: Arc<CallbackSigner>,
    fleet: Option<Arc<crate::fleet::Fleet>>,
    bounds: BodyBounds,
) -> Router {
    Router::new()
        .route(ROUTE, post(receive))
        .route(
            UNSIGNED_ROUTE,
            post(|| async {
                callback_body::forged("rejected a live stream callback URL that names no stream")
            }),
        )
        .with_state(StreamCallbackState {
            hub,
            signer,
            fleet,
            bounds,
        })
}

async fn receive(
    State(state): State<StreamCallbackState>,
    Path((stream_id, signature)): Path<(String, String)>,
    body: Body,
) -> Response {
    // The URL first: a request not signed for the stream it names is refused unread.
    if !state.signer.verify_stream(&stream_id, &signature) {
        return callback_body::forged(
            "rejected a live stream callback whose signature does not match",
        );
    }
    let body = match callback_body::read(body, state.bounds).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let text = std::str::from_utf8(&body).unwrap_or_default();
    let Ok(value) = parse_json(text) else {
        return (StatusCode::BAD_REQUEST, "not JSON\n").into_response();
    };
    // The Live API wraps the object as `{"stream": {...}}`, as GET answers it.
    let object = value.get("stream").unwrap_or(&value);
    let Some(stream) = parse_stream(object) else {
        return (StatusCode::BAD_REQUEST, "no readable stream\n").into_response();
    };
    if stream.id != stream_id {
        // Signed for one stream, about another.
        return callback_body::forged(
            "rejected a live stream callback about another stream than its URL's",
        );
    }
    let id = stream.id.clone();
    let terminal = is_final(&stream);
    if let Some(fleet) = &state.fleet {
        crate::domain::watch::shared::snapshots::share_callback(fleet, &id, &stream).await;
    }
    let delivered = state.hub.push(&id, stream, terminal);
    debug!(stream_id = %id, delivered, "live stream callback");
    (StatusCode::OK, "ok\n").into_response()
}
