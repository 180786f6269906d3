//! The gRPC server: the services, health, reflection and graceful shutdown.

use crate::grpc::layer::{GatewayLayer, LayerSettings};
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
use rand::Rng;
use std::{future::Future, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio::sync::watch;
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
    /// True while the server serves and is not shutting down (`/readyz`).
    pub ready: Arc<watch::Sender<bool>>,
    settings: ServerSettings,
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
            ready: Arc::new(watch::Sender::new(false)),
            settings: ServerSettings::from_config(config),
        })
    }
}

/// Server settings taken from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings {
    keepalive_interval: Duration,
    keepalive_timeout: Duration,
    max_connection_age: Duration,
    max_connection_age_grace: Duration,
    max_concurrent_streams: u32,
    max_message_size: usize,
    health_check_interval: Duration,
    layer: LayerSettings,
}

impl ServerSettings {
    /// The settings in `config`; the connection age gets its ±10% jitter here, once per
    /// process, so replicas started together do not recycle connections in lockstep.
    pub fn from_config(config: &Config) -> Self {
        let jitter = rand::rng().random_range(0.9..=1.1);
        ServerSettings {
            keepalive_interval: config.keepalive_interval,
            keepalive_timeout: config.keepalive_timeout,
            max_connection_age: config.max_connection_age.mul_f64(jitter),
            max_connection_age_grace: config.max_connection_age_grace,
            max_concurrent_streams: config.max_concurrent_streams,
            max_message_size: config.max_message_size as usize,
            health_check_interval: config.health_check_interval,
            layer: LayerSettings {
                max_concurrent_calls: config.max_concurrent_calls as usize,
                default_deadline: config.default_deadline,
                max_concurrent_uploads: config.max_concurrent_uploads as usize,
            },
        }
    }
}

/// Serves the gateway on `listener` until `shutdown` completes, then drains in-flight
/// calls. Health reports NOT_SERVING until the services are wired and again from the
/// moment shutdown begins, so balancers stop sending new calls first; watch streams end
/// at once with UNAVAILABLE so their clients reconnect elsewhere.
pub async fn serve(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let settings = gateway.settings;
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

    let max = settings.max_message_size;
    let transcoding = pb::transcoding_server::TranscodingServer::new(TranscodingService::new(
        gateway.transcoding.clone(),
        gateway.watchers.clone(),
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let live = pb::live_streaming_server::LiveStreamingServer::new(LiveStreamingService::new(
        gateway.live.clone(),
        gateway.watchers.clone(),
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);

    let router = Server::builder()
        // Keepalive pings find dead peers behind NATs and proxies that drop idle flows.
        .http2_keepalive_interval(Some(settings.keepalive_interval))
        .http2_keepalive_timeout(Some(settings.keepalive_timeout))
        // Bounded connection age lets L4 balancers and meshes rebalance long-lived clients.
        .max_connection_age(settings.max_connection_age)
        .max_connection_age_grace(settings.max_connection_age_grace)
        .max_concurrent_streams(settings.max_concurrent_streams)
        .tcp_nodelay(true)
        // Outermost: spans, metrics, the unary concurrency limit and default deadlines
        // must see every call, including the ones refused.
        .layer(GatewayLayer::new(
            settings.layer,
            gateway.watchers.shutdown_signal(),
        ))
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(transcoding)
        .add_service(live);

    gateway
        .watchers
        .spawn_pollers(gateway.transcoding.clone(), gateway.live.clone());
    let (stop_monitor, monitor_stopped) = watch::channel(false);
    tokio::spawn(crate::health::monitor(
        health.clone(),
        gateway.clone(),
        settings.health_check_interval,
        monitor_stopped,
    ));
    health.set_service_status("", ServingStatus::Serving).await;
    gateway.ready.send_replace(true);
    let local = listener.local_addr().ok();
    info!(addr = ?local, "serving gRPC");

    let shutdown_health = health.clone();
    let draining = gateway.clone();
    let shutdown = async move {
        shutdown.await;
        info!("shutting down: health NOT_SERVING, ending watch streams, draining calls");
        draining.ready.send_replace(false);
        stop_monitor.send_replace(true);
        set_all(&shutdown_health, ServingStatus::NotServing).await;
        draining.watchers.shutdown();
    };
    router
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
