//! The sandbox's URL map, wrapped in the recording/fault layer, behind a
//! rewrite that merges repeated slashes.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::middleware::{from_fn_with_state, map_request};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, head, options, post, MethodRouter};
use axum::Router;

use super::{access, live, metadata, middleware, profiles, start, status, tus, Sandbox};

/// Builds the router. The master status route matches any first segment; the
/// handler rejects segments that are not `master-<id>`.
///
/// The API routes sit behind an outer router whose only job is
/// [`merge_slashes`]: a layer on the API router itself would run after route
/// matching, too late to change which route a path hits.
pub(crate) fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .fallback_service(api_router(sandbox))
        .layer(map_request(merge_slashes))
}

fn api_router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/v1/access_token", post(access::access_token))
        .route("/v1/create_task", post(access::create_task))
        .route("/v1/start_encode2", post(start::start_encode2))
        .route("/v1/start_encode", post(profiles::start_encode))
        .route("/storage/{*path}", get(metadata::storage))
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

/// Merges runs of `/` in the request path (`//v1/status` is `/v1/status`), as
/// an nginx front does by default (`merge_slashes on`): clients that join a
/// base URL ending in `/` with a path starting with `/` work against Qencode,
/// so they must work here too. The query string is kept as sent.
async fn merge_slashes(mut request: Request) -> Request {
    let uri = request.uri();
    if !uri.path().contains("//") {
        return request;
    }
    let mut path = String::with_capacity(uri.path().len());
    for c in uri.path().chars() {
        if !(c == '/' && path.ends_with('/')) {
            path.push(c);
        }
    }
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    match path_and_query.parse() {
        Ok(path_and_query) => parts.path_and_query = Some(path_and_query),
        Err(_) => return request,
    }
    if let Ok(merged) = Uri::from_parts(parts) {
        *request.uri_mut() = merged;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn merged(uri: &str) -> String {
        let request = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .expect("request");
        merge_slashes(request).await.uri().to_string()
    }

    #[tokio::test]
    async fn repeated_slashes_merge_and_the_query_stays() {
        assert_eq!(merged("//v1/status").await, "/v1/status");
        assert_eq!(merged("/v1///status?a=b//c").await, "/v1/status?a=b//c");
        assert_eq!(
            merged("http://h:1//v1//live-streams").await,
            "http://h:1/v1/live-streams"
        );
        assert_eq!(merged("/v1/status").await, "/v1/status");
    }
}
