//! The HTTP listener beside gRPC (`GATEWAY_HTTP_LISTEN`): Qencode's task callbacks and
//! a liveness probe for tools that do not speak gRPC.

use crate::Gateway;
use axum::{routing::get, Router};
use std::future::Future;
use tokio::net::TcpListener;
use tracing::info;

/// The HTTP routes of `gateway`.
pub fn router(gateway: &Gateway) -> Router {
    let mut router = Router::new().route("/healthz", get(|| async { "ok\n" }));
    if let Some(signer) = gateway.watchers.signer() {
        router = router.merge(crate::watch::callback::router(
            gateway.watchers.tasks.clone(),
            signer,
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
    info!(addr = ?listener.local_addr().ok(), "serving HTTP (callbacks, probes)");
    axum::serve(listener, router(&gateway))
        .with_graceful_shutdown(shutdown)
        .await
}
