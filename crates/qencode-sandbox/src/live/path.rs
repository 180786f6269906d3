//! Path parameters of live routes. A segment that cannot be decoded (bad
//! percent-encoding, invalid UTF-8) names no stream, so it is a JSON 404 rather
//! than axum's plain-text 400.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::error::LiveError;
use crate::Sandbox;

/// `<stream_id>` of `/v1/live-streams/<stream_id>[/start|/stop|...]`.
#[derive(Debug, Clone)]
pub(crate) struct StreamId(pub(crate) String);

impl FromRequestParts<Sandbox> for StreamId {
    type Rejection = LiveError;

    async fn from_request_parts(parts: &mut Parts, sandbox: &Sandbox) -> Result<Self, LiveError> {
        Path::<String>::from_request_parts(parts, sandbox)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|_| LiveError::stream_not_found())
    }
}

/// `<stream_id>` and `<item_id>` of `/v1/live-streams/<stream_id>/<kind>/<item_id>`.
#[derive(Debug, Clone)]
pub(crate) struct ItemPath {
    pub(crate) stream_id: String,
    pub(crate) item_id: String,
}

impl FromRequestParts<Sandbox> for ItemPath {
    type Rejection = LiveError;

    async fn from_request_parts(parts: &mut Parts, sandbox: &Sandbox) -> Result<Self, LiveError> {
        Path::<(String, String)>::from_request_parts(parts, sandbox)
            .await
            .map(|Path((stream_id, item_id))| Self { stream_id, item_id })
            .map_err(|_| LiveError::not_found("not found"))
    }
}
