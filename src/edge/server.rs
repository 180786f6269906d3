//! One entry point for the binary, the tests and the benches: [`run`] serves gRPC, the
//! HTTP callbacks and the admin endpoints on given listeners until the gateway's [`Shutdown`](crate::support::shutdown::Shutdown)
//! begins, then drains within the grace period.

use crate::edge::grpc::layer::GatewayLayer;
use crate::edge::listener::Accepted;
use crate::upstream::auth::TokenManager;
use crate::{
    edge::{
        grpc::{
            live_streaming_service::LiveStreamingService, transcoding_service::TranscodingService,
        },
        http_listeners::{serve_admin, serve_callbacks},
        listener::{self, display_addr},
    },
    pb, Gateway,
};
use pb::{live_streaming_server::LiveStreamingServer, transcoding_server::TranscodingServer};
use std::{pin::Pin, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio_stream::{Stream, StreamExt};
use tonic::{server::NamedService, transport::Server};
use tonic_health::ServingStatus;
use tracing::{error, info, warn};

/// The listeners the gateway serves on, bound by the caller (tests bind `127.0.0.1:0`).
pub struct Listeners {
    /// gRPC: both services, health and reflection.
    pub grpc: TcpListener,
    /// HTTP: only Qencode's task and stream callbacks (the port an ingress exposes).
    pub http: TcpListener,
    /// Admin HTTP: /metrics, /healthz and /readyz (for Prometheus and probes only).
    pub admin: TcpListener,
}

/// How [`run`] ended, when it did not end cleanly.
#[derive(Debug)]
pub enum RunError {
    /// The gRPC server failed.
    Grpc(tonic::transport::Error),
    /// Calls were still in flight when the shutdown grace period ran out.
    GraceExpired(Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Grpc(e) => write!(f, "gRPC server failed: {e}"),
            RunError::GraceExpired(grace) => write!(
                f,
                "shutdown grace period ({grace:?}) over with calls still in flight"
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// Serves `gateway` on `listeners` until its shutdown begins, then drains: health goes
/// NOT_SERVING (and /readyz 503), watch streams end with UNAVAILABLE, new gRPC and
/// callback connections are refused and in-flight calls finish, all within
/// `GATEWAY_SHUTDOWN_GRACE`; the admin listener (/healthz, /readyz, /metrics) serves
/// until the drain is over.
pub async fn run(gateway: Gateway, listeners: Listeners) -> Result<(), RunError> {
    let shutdown = gateway.shutdown.clone();
    let grace = gateway.settings.shutdown_grace;
    let http = tokio::spawn(serve_callbacks(
        listeners.http,
        gateway.clone(),
        shutdown.begun(),
    ));
    // The admin listener outlives the drain: the kubelet's liveness probe must pass
    // (/healthz 200) while calls drain, and /readyz says 503 meanwhile; it stops when
    // the drain ends (or the grace runs out).
    let (drained, drain_over) = tokio::sync::oneshot::channel::<()>();
    let admin = tokio::spawn(serve_admin(listeners.admin, gateway.clone(), async move {
        let _ = drain_over.await;
    }));
    let grpc = serve_grpc(listeners.grpc, gateway);
    // From the moment shutdown begins, the drain gets `grace`; then give up on it.
    let grace_over = async {
        shutdown.begun().await;
        tokio::time::sleep(grace).await;
    };
    let result = tokio::select! {
        served = grpc => served.map_err(RunError::Grpc),
        () = grace_over => Err(RunError::GraceExpired(grace)),
    };
    let _ = drained.send(());
    // The callback listener stopped accepting when shutdown began, the admin one now;
    // give their open requests (a scrape, a callback) a moment together, not one after
    // the other.
    let (http, admin) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(1), http),
        tokio::time::timeout(Duration::from_secs(1), admin),
    );
    for (listener, outcome) in [("callbacks", http), ("admin", admin)] {
        match outcome {
            Ok(Ok(Err(e))) => error!(error = %e, listener, "HTTP listener failed"),
            Err(_) => warn!(listener, "HTTP listener still busy at exit"),
            _ => {}
        }
    }
    result
}

/// One API's token manager of a project.
type ManagerOf = fn(&crate::access::projects::Project) -> TokenManager;

/// Health names and their token managers: each service follows every project's
/// manager of its API (SERVING while any works), `<service>@<project>` one project's.
fn health_entries(
    projects: Arc<crate::access::projects::Projects>,
) -> impl Fn() -> crate::edge::health::Entries + Send + 'static {
    move || {
        let all = projects.all();
        let apis: [(&str, ManagerOf); 2] = [
            (TranscodingServer::<TranscodingService>::NAME, |p| {
                p.transcoding.clone()
            }),
            (LiveStreamingServer::<LiveStreamingService>::NAME, |p| {
                p.live.clone()
            }),
        ];
        let mut entries = Vec::with_capacity(apis.len() * (all.len() + 1));
        for (service, manager) in apis {
            entries.push((service.to_owned(), all.iter().map(|p| manager(p)).collect()));
            for p in &all {
                entries.push((format!("{service}@{}", p.name), vec![manager(p)]));
            }
        }
        entries
    }
}

/// Serves gRPC on `listener` until shutdown begins, then drains in-flight calls. Health
/// reports NOT_SERVING until the services are wired and again from the moment shutdown
/// begins, so balancers stop sending new calls first.
async fn serve_grpc(
    listener: TcpListener,
    gateway: Gateway,
) -> Result<(), tonic::transport::Error> {
    let settings = gateway.settings;
    let services = health_entries(gateway.projects.clone());
    let initial = services();
    let names: Vec<&str> = std::iter::once("")
        .chain(initial.iter().map(|(name, _)| name.as_str()))
        .collect();
    let (health, health_service) = tonic_health::server::health_reporter();
    crate::edge::health::set_all(&health, &names, ServingStatus::NotServing).await;

    let max = settings.max_message_size;
    let transcoding = TranscodingServer::new(TranscodingService::new(
        gateway.transcoding.clone(),
        gateway.watchers.clone(),
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let live = LiveStreamingServer::new(LiveStreamingService::new(
        gateway.live.clone(),
        gateway.watchers.clone(),
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let (reflection_v1, reflection_v1alpha) = crate::edge::grpc::reflection::services();

    let router = Server::builder()
        // Keepalive pings find dead peers behind NATs and proxies that drop idle flows.
        .http2_keepalive_interval(Some(settings.keepalive_interval))
        .http2_keepalive_timeout(Some(settings.keepalive_timeout))
        // Bounded connection age lets L4 balancers and meshes rebalance long-lived clients.
        .max_connection_age(settings.max_connection_age)
        .max_connection_age_grace(settings.max_connection_age_grace)
        .max_concurrent_streams(settings.max_concurrent_streams)
        // Bounded windows bound what a client can make the gateway buffer unread: per
        // stream, and for all streams of a connection together.
        .initial_stream_window_size(settings.stream_window_size)
        .initial_connection_window_size(settings.connection_window_size)
        // Outermost: spans, metrics, the unary concurrency limit and default deadlines
        // must see every call, including the ones refused.
        .layer(
            GatewayLayer::new(settings.layer, gateway.shutdown.clone())
                .with_access(gateway.access.clone())
                .with_stream_caps(
                    gateway.watchers.limit.clone(),
                    settings.connections.max_connections,
                ),
        )
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(transcoding)
        .add_service(live);

    gateway.spawn_background(health.clone(), services);
    health.set_service_status("", ServingStatus::Serving).await;
    gateway.ready.send_replace(true);
    warn_about_access(&gateway, &listener);
    info!(addr = %display_addr(&listener), tls = gateway.tls.is_some(), "serving gRPC");
    let limited = listener::Limited::new(listener, settings.connections, "grpc");
    let incoming: Pin<Box<dyn Stream<Item = std::io::Result<Accepted>> + Send>> =
        match gateway.tls.clone() {
            Some(tls) => Box::pin(listener::handshake::incoming(
                limited,
                tls,
                settings.connections.handshake_timeout,
            )),
            None => Box::pin(limited.incoming().map(|conn| conn.map(Accepted::plain))),
        };

    let draining = gateway.clone();
    let drain = async move {
        draining.shutdown.begun().await;
        info!("shutting down: health NOT_SERVING, ending watch streams, draining calls");
        draining.ready.send_replace(false);
        crate::edge::health::set_all(&health, &names, ServingStatus::NotServing).await;
    };
    router.serve_with_incoming_shutdown(incoming, drain).await
}

/// The start-up warnings about who can reach the account.
fn warn_about_access(gateway: &Gateway, listener: &TcpListener) {
    let loopback = listener.local_addr().is_ok_and(|a| a.ip().is_loopback());
    if !gateway.access.enforced() && !loopback {
        warn!(
            addr = %display_addr(listener),
            "no GATEWAY_POLICY_FILE: any client that reaches this port can use the Qencode account"
        );
    }
    if let Some(mesh) = gateway.access.mesh() {
        warn!(
            mesh = ?mesh,
            "GATEWAY_TRUST_MESH_IDENTITY is set: caller identities come from request headers, which is only safe when the mesh sidecar is the only way to reach this port"
        );
    }
}
