//! The HTTP listener beside gRPC (`GATEWAY_HTTP_LISTEN`): Qencode's task callbacks,
//! Prometheus metrics, and probes for tools that do not speak gRPC (`/healthz`: the
//! process is alive; `/readyz`: the gRPC server serves and is not shutting down).

use crate::Gateway;
use axum::{extract::State, http::StatusCode, routing::get, serve::ListenerExt, Router};
use std::future::Future;
use tokio::net::TcpListener;
use tracing::info;

/// The HTTP routes of `gateway`.
pub fn router(gateway: &Gateway) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(gateway.clone());
    if let Some(signer) = gateway.watchers.signer() {
        router = router.merge(crate::watch::callback::router(
            gateway.watchers.tasks.clone(),
            signer,
            gateway.watchers.fleet(),
        ));
    }
    router
}

/// Serves the HTTP routes until `shutdown` completes.
pub async fn serve_http(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    info!(addr = %crate::server::display_addr(&listener), "serving HTTP (callbacks, /metrics, /healthz, /readyz)");
    let listener = listener.tap_io(|tcp| crate::listener::set_nodelay(tcp));
    axum::serve(listener, router(&gateway))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn readyz(State(gateway): State<Gateway>) -> (StatusCode, &'static str) {
    if *gateway.ready.borrow() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics(State(gateway): State<Gateway>) -> ([(&'static str, &'static str); 1], String) {
    let mut text = String::new();
    crate::metrics::global().render(&mut text);
    let tokens = [gateway.transcoding.tokens(), gateway.live.tokens()];
    let read = |f: fn(&crate::auth::TokenStats) -> u64| -> Vec<(Vec<(&'static str, String)>, f64)> {
        tokens
            .iter()
            .map(|t| (vec![("api", t.api().to_owned())], f(t.stats()) as f64))
            .collect()
    };
    use std::sync::atomic::Ordering::Relaxed;
    crate::metrics::render_value(
        &mut text,
        "gateway_token_fetches_total",
        "Upstream access token requests.",
        "counter",
        &read(|s| s.fetches.load(Relaxed)),
    );
    crate::metrics::render_value(
        &mut text,
        "gateway_token_refreshes_total",
        "Tokens refreshed ahead of expiry.",
        "counter",
        &read(|s| s.refreshes.load(Relaxed)),
    );
    crate::metrics::render_value(
        &mut text,
        "gateway_token_failures_total",
        "Failed upstream access token requests.",
        "counter",
        &read(|s| s.failures.load(Relaxed)),
    );
    crate::metrics::render_value(
        &mut text,
        "gateway_token_cache_hits_total",
        "Calls served a cached token.",
        "counter",
        &read(|s| s.hits.load(Relaxed)),
    );
    let watchers = &gateway.watchers;
    crate::metrics::render_value(
        &mut text,
        "gateway_watchers_open",
        "Open watch streams.",
        "gauge",
        &[(vec![], watchers.limit.open() as f64)],
    );
    crate::metrics::render_value(
        &mut text,
        "gateway_pollers_active",
        "Ids polled upstream for watchers, by kind.",
        "gauge",
        &[
            (
                vec![("kind", "task".to_owned())],
                watchers.tasks.active() as f64,
            ),
            (
                vec![("kind", "live_stream".to_owned())],
                watchers.streams.active() as f64,
            ),
        ],
    );
    if let Some(fleet) = watchers.fleet() {
        fleet.render_metrics(&mut text);
    }
    ([("content-type", "text/plain; version=0.0.4")], text)
}
