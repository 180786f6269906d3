//! The two HTTP listeners beside gRPC, split by audience so each port can be exposed
//! to exactly who needs it:
//!
//! - callbacks (`GATEWAY_HTTP_LISTEN`): Qencode's task and stream callbacks, the one
//!   port an ingress exposes to the internet; nothing else answers there (404).
//! - admin (`GATEWAY_ADMIN_LISTEN`): Prometheus metrics and probes for tools that do not
//!   speak gRPC (`/healthz`: the process is alive; `/readyz`: the gRPC server serves and
//!   is not shutting down), for the monitoring namespace and the kubelet only.
//!
//! Both are served by one loop (`serve`) with the same protections, each with its own
//! connection cap, so a flood on the public callback port cannot lock Prometheus or
//! probes out.

use crate::{
    edge::listener::{ConnLimits, Limited},
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
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use std::future::Future;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tracing::{debug, info};

/// The routes of the callback listener: Qencode's signed task and stream callbacks when
/// callbacks are on (a signer exists), else none. Their bodies get as long as headers
/// do (`GATEWAY_HTTP_HEADER_READ_TIMEOUT`), once the signed URL has been checked.
/// Anything else is 404 and its connection closed, its body unread.
pub fn callback_router(gateway: &Gateway) -> Router {
    let mut router = Router::new().fallback(|| async {
        crate::domain::watch::callback_body::refuse(StatusCode::NOT_FOUND, "not found\n")
    });
    if let Some(signer) = gateway.watchers.signer() {
        let bounds = crate::domain::watch::callback_body::BodyBounds {
            max_bytes: gateway.settings.http_max_body_size,
            within: gateway.settings.http_header_read_timeout,
        };
        router = router.merge(crate::domain::watch::stream_push::router(
            gateway.watchers.streams.clone(),
            signer.clone(),
            gateway.watchers.fleet(),
            bounds,
        ));
        router = router.merge(crate::domain::watch::task_push::router(
            gateway.watchers.tasks.clone(),
            signer,
            gateway.watchers.fleet(),
            bounds,
        ));
    }
    router
}

/// The routes of the admin listener: /metrics, /healthz, /readyz.
pub fn admin_router(gateway: &Gateway) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(gateway.clone())
}

/// Serves Qencode's callbacks on `listener` until `shutdown` completes.
pub async fn serve_callbacks(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    info!(
        addr = %crate::edge::listener::display_addr(&listener),
        callbacks = gateway.watchers.signer().is_some(),
        "serving HTTP callbacks (/callbacks/...)"
    );
    let app = callback_router(&gateway);
    serve(listener, app, &gateway, "http", shutdown).await
}

/// Serves /metrics, /healthz and /readyz on `listener` until `shutdown` completes ([`run`](crate::run)
/// completes it when the drain is over, not when it begins).
pub async fn serve_admin(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    info!(
        addr = %crate::edge::listener::display_addr(&listener),
        "serving admin HTTP (/metrics, /healthz, /readyz)"
    );
    let app = admin_router(&gateway);
    serve(listener, app, &gateway, "admin", shutdown).await
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests
/// finish. `scope` (`http`, `admin`) labels the listener's limit hits and connections.
///
/// Served with hyper directly rather than `axum::serve`, which sets no timer and so no
/// header read timeout: a client could open connections and send headers a byte a
/// minute. Each listener has its own `GATEWAY_MAX_CONNECTIONS`, like the gRPC one.
async fn serve(
    listener: TcpListener,
    app: Router,
    gateway: &Gateway,
    scope: &'static str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = gateway.settings;
    // HTTP/1 has no preface: one byte ends the handshake.
    let limits = ConnLimits {
        handshake_bytes: 1,
        ..settings.connections
    };
    let listener = Limited::new(listener, limits, scope);
    let app = app.layer(DefaultBodyLimit::max(settings.http_max_body_size));
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
                debug!(error = %e, scope, "HTTP connection ended with an error");
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
    let mut text = String::with_capacity(16 * 1024);
    crate::support::metrics::render(&mut text);
    crate::support::metrics::render_registry(&mut text, &scrape_time(&gateway));
    (
        [("content-type", crate::support::metrics::CONTENT_TYPE)],
        text,
    )
}

/// Labels of the token families: the API and the project (bounded by the policy's
/// `[projects]`, never by callers).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    api: &'static str,
    project: String,
}

/// Labels of the poller gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// Reads one counter of a token manager.
type ReadStat = fn(&crate::upstream::auth::TokenStats) -> u64;

/// This gateway's values read at scrape time (tokens, watchers, pollers): they belong to
/// one `Gateway`, so they are not in the process-wide registry.
fn scrape_time(gateway: &Gateway) -> Registry {
    use std::sync::atomic::Ordering::Relaxed;
    let mut registry = Registry::default();
    let projects = gateway.projects.all();
    let tokens: Vec<(&str, &crate::upstream::auth::TokenManager)> = projects
        .iter()
        .flat_map(|p| [(&*p.name, &p.transcoding), (&*p.name, &p.live)])
        .collect();
    let counters: [(&str, &str, ReadStat); 4] = [
        (
            "gateway_token_fetches",
            "Upstream access token requests",
            |s| s.fetches.load(Relaxed),
        ),
        (
            "gateway_token_refreshes",
            "Tokens refreshed ahead of expiry",
            |s| s.refreshes.load(Relaxed),
        ),
        (
            "gateway_token_failures",
            "Failed upstream access token requests",
            |s| s.failures.load(Relaxed),
        ),
        (
            "gateway_token_cache_hits",
            "Calls served a cached token",
            |s| s.hits.load(Relaxed),
        ),
    ];
    for (name, help, read) in counters {
        let family = Family::<ApiLabels, Counter>::default();
        for (project, t) in &tokens {
            family
                .get_or_create(&ApiLabels {
                    api: t.api(),
                    project: (*project).to_owned(),
                })
                .inc_by(read(t.stats()));
        }
        registry.register(name, help, family);
    }
    let watchers = &gateway.watchers;
    let open = Gauge::<i64>::default();
    open.set(i64::try_from(watchers.limit.open()).unwrap_or(i64::MAX));
    registry.register("gateway_watchers_open", "Open watch streams", open);
    let pollers = Family::<KindLabels, Gauge>::default();
    for (kind, active) in [
        ("task", watchers.tasks.active()),
        ("live_stream", watchers.streams.active()),
    ] {
        pollers
            .get_or_create(&KindLabels { kind })
            .set(i64::try_from(active).unwrap_or(i64::MAX));
    }
    registry.register(
        "gateway_pollers_active",
        "Ids polled upstream for watchers, by kind",
        pollers,
    );
    if let Some(fleet) = watchers.fleet() {
        fleet.register_metrics(&mut registry);
    }
    crate::support::process_metrics::register(&mut registry);
    registry
}
