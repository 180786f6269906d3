//! The sandbox's URL map, wrapped in the recording/fault layer.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, head, options, post, MethodRouter};
use axum::Router;

use super::{access, live, middleware, start, status, tus, Sandbox};

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
        .merge(live_routes())
        .fallback(not_found)
        .layer(from_fn_with_state(
            sandbox.clone(),
            middleware::record_and_fault,
        ))
        .with_state(sandbox)
}

/// The Live Streaming API. Every route answers a wrong method with a JSON 405,
/// as the rest of that API answers in JSON.
fn live_routes() -> Router<Sandbox> {
    let json_405 = |route: MethodRouter<Sandbox>| route.fallback(live::method_not_allowed);
    Router::new()
        .route(
            "/v1/access_token/{api_key}",
            json_405(post(live::access_token)),
        )
        .route(
            "/v1/live-streams",
            json_405(post(live::create).get(live::list)),
        )
        .route(
            "/v1/live-streams/{stream_id}",
            json_405(get(live::get).put(live::update).delete(live::delete)),
        )
        .route(
            "/v1/live-streams/{stream_id}/start",
            json_405(post(live::start)),
        )
        .route(
            "/v1/live-streams/{stream_id}/stop",
            json_405(post(live::stop)),
        )
        .route(
            "/v1/live-streams/{stream_id}/playback-ids",
            json_405(post(live::add_playback_id)),
        )
        .route(
            "/v1/live-streams/{stream_id}/playback-ids/{playback_id}",
            json_405(delete(live::remove_playback_id)),
        )
        .route(
            "/v1/live-streams/{stream_id}/simulcast-targets",
            json_405(post(live::add_simulcast_target)),
        )
        .route(
            "/v1/live-streams/{stream_id}/simulcast-targets/{target_id}",
            json_405(delete(live::remove_simulcast_target)),
        )
}

/// Unknown paths: a JSON 404 under the Live Streaming API's prefix, a bare 404
/// elsewhere (as before the live API existed).
async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/v1/live-streams") {
        live::not_found().await.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}
