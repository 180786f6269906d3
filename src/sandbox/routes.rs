//! The sandbox's URL map, wrapped in the recording/fault layer.

use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{head, options, post};
use axum::Router;

use super::{access, middleware, start, status, tus, Sandbox};

/// Builds the router. The master status route matches any first segment; the
/// handler rejects segments that are not `master-<id>`.
pub(crate) fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/v1/access_token", post(access::access_token))
        .route("/v1/create_task", post(access::create_task))
        .route("/v1/start_encode2", post(start::start_encode2))
        .route("/v1/status", post(status::status))
        .route("/{master}/v1/status", post(status::master_status))
        .route("/v1/upload_file", options(tus::options))
        .route(
            "/v1/upload_file/{task_token}",
            post(tus::create).options(tus::options),
        )
        .route(
            "/v1/upload_file/{task_token}/{file_uuid}",
            head(tus::head).patch(tus::patch).options(tus::options),
        )
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(from_fn_with_state(
            sandbox.clone(),
            middleware::record_and_fault,
        ))
        .with_state(sandbox)
}
