//! The HTTP listener beside gRPC (`GATEWAY_HTTP_LISTEN`): Qencode's task callbacks,
//! Prometheus metrics, and probes for tools that do not speak gRPC (`/healthz`: the
//! process is alive; `/readyz`: the gRPC server serves and is not shutting down).

use crate::{
    listener::{ConnLimits, Limited},
    Gateway,
};
use axum::{
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::get,
    Router,
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use std::future::Future;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tracing::{debug, info};

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
        ));
    }
    router
}

/// Serves the HTTP routes until `shutdown` completes, then lets open requests finish.
///
/// Served with hyper directly rather than `axum::serve`, which sets no timer and so no
/// header read timeout: a client could open connections and send headers a byte a
/// minute. Connections count against `GATEWAY_MAX_CONNECTIONS` like gRPC ones.
pub async fn serve_http(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    info!(addr = %crate::server::display_addr(&listener), "serving HTTP (callbacks, /metrics, /healthz, /readyz)");
    let settings = gateway.settings;
    let limits = ConnLimits {
        handshake_bytes: 1,
        ..settings.connections
    };
    let listener = Limited::new(listener, limits, "http");
    let app = router(&gateway).layer(DefaultBodyLimit::max(settings.http_max_body_size));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.http_header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let conn = tokio::select! {
            conn = listener.accept() => conn,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|request: http::Request<Incoming>| request.map(axum::body::Body::new)),
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(conn), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
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
    ([("content-type", "text/plain; version=0.0.4")], text)
}
