//! The gRPC server: the services, health, reflection and graceful shutdown.

use crate::{
    auth::TokenManager,
    config::Config,
    error::Error,
    grpc::{live_streaming::LiveStreamingService, transcoding::TranscodingService},
    live::LiveStreaming,
    pb,
    transcoding::Transcoding,
    upload::UploadSettings,
    upstream::{
        live::{LiveClient, LiveTokens},
        transcoding::{TranscodingClient, TranscodingTokens},
        HttpClient, TrustedHosts,
    },
    watch::{callback::CallbackSigner, WatchSettings, Watchers},
};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tracing::info;

/// Fully qualified name of the Transcoding service (health checks use it).
pub const TRANSCODING_SERVICE: &str = "qencode.gateway.v1.Transcoding";
/// Fully qualified name of the LiveStreaming service (health checks use it).
pub const LIVE_STREAMING_SERVICE: &str = "qencode.gateway.v1.LiveStreaming";

/// Every health-checked name: the whole server (`""`) and each service.
pub const HEALTH_SERVICES: [&str; 3] = ["", TRANSCODING_SERVICE, LIVE_STREAMING_SERVICE];

async fn set_all(health: &tonic_health::server::HealthReporter, status: ServingStatus) {
    for service in HEALTH_SERVICES {
        health.set_service_status(service, status).await;
    }
}

/// Everything the server serves, built from the configuration.
#[derive(Clone)]
pub struct Gateway {
    /// The Transcoding domain.
    pub transcoding: Arc<Transcoding>,
    /// The LiveStreaming domain.
    pub live: Arc<LiveStreaming>,
    /// Watch streams: hubs, pollers, callbacks.
    pub watchers: Arc<Watchers>,
}

impl Gateway {
    /// Builds the upstream clients and token managers. The API key must be set (the
    /// binary starts the sandbox and points the config at it when none was given).
    pub fn from_config(config: &Config) -> Result<Self, Error> {
        let api_key = config.api_key.clone().ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::FailedPrecondition,
                crate::error::GATEWAY_DOMAIN,
                "NO_API_KEY",
                "QENCODE_API_KEY is not set",
            )
        })?;
        let http = HttpClient::new(config.upstream_timeout, config.upstream_connect_timeout)?;
        let trusted = TrustedHosts::new(config.api_url(), config.trusted_domain.clone());
        let client = TranscodingClient::new(http.clone(), config.api_url());
        let tokens = TokenManager::new(TranscodingTokens {
            client: client.clone(),
            api_key: api_key.clone(),
        });
        let live_client = LiveClient::new(http, config.live_api_url());
        let live_tokens = TokenManager::new(LiveTokens {
            client: live_client.clone(),
            api_key: config.live_api_key().unwrap_or(api_key),
        });
        let signer = config.callback_url.clone().map(|base| {
            Arc::new(match &config.callback_secret {
                Some(secret) => CallbackSigner::new(base, secret),
                None => CallbackSigner::with_random_secret(base),
            })
        });
        let settings = WatchSettings {
            poll_interval: config.poll_interval,
            live_poll_interval: config.live_poll_interval,
            batch_size: usize::from(config.status_batch_size),
            heartbeat: config.heartbeat_interval,
            max_watchers: config.max_watchers as usize,
        };
        Ok(Gateway {
            transcoding: Arc::new(
                Transcoding::new(client, tokens, trusted)
                    .with_callbacks(signer.clone())
                    .with_upload_settings(UploadSettings {
                        chunk_size: config.upload_chunk_size,
                        max_size: config.max_upload_size,
                    }),
            ),
            live: Arc::new(LiveStreaming::new(live_client, live_tokens)),
            watchers: Arc::new(Watchers::new(settings, signer)),
        })
    }
}

/// Serves the gateway on `listener` until `shutdown` completes, then drains in-flight
/// calls. Health reports NOT_SERVING until the services are wired and again from the
/// moment shutdown begins, so balancers stop sending new calls first.
pub async fn serve(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (health, health_service) = tonic_health::server::health_reporter();
    set_all(&health, ServingStatus::NotServing).await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| tracing::error!(error = %e, "reflection v1 unavailable"))
        .ok();
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| tracing::error!(error = %e, "reflection v1alpha unavailable"))
        .ok();

    let transcoding = pb::transcoding_server::TranscodingServer::new(TranscodingService::new(
        gateway.transcoding.clone(),
        gateway.watchers.clone(),
    ));
    let live = pb::live_streaming_server::LiveStreamingServer::new(LiveStreamingService::new(
        gateway.live.clone(),
        gateway.watchers.clone(),
    ));

    let router = Server::builder()
        // Keepalive pings find dead peers behind NATs and proxies that drop idle flows.
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .tcp_nodelay(true)
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(transcoding)
        .add_service(live);

    set_all(&health, ServingStatus::Serving).await;
    let local = listener.local_addr().ok();
    info!(addr = ?local, "serving gRPC");

    gateway
        .watchers
        .spawn_pollers(gateway.transcoding.clone(), gateway.live.clone());
    let shutdown_health = health.clone();
    let watchers = gateway.watchers.clone();
    let shutdown = async move {
        shutdown.await;
        info!("shutting down: health NOT_SERVING, ending watch streams, draining calls");
        set_all(&shutdown_health, ServingStatus::NotServing).await;
        watchers.shutdown();
    };
    router
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
