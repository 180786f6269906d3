//! [`Gateway`]: everything the servers serve, built once from the configuration.

use crate::edge::grpc::layer::LayerSettings;
use crate::edge::listener::ConnLimits;
use crate::support::reasons;
use crate::{
    access::{
        check::Access,
        policy::ProjectKeys,
        projects::{ProjectParts, Projects},
    },
    domain::{
        live::LiveStreaming,
        owners::Owners,
        transcoding::Transcoding,
        upload::UploadSettings,
        watch::{task_push::CallbackSigner, WatchSettings, Watchers},
    },
    edge::server_tls::Tls,
    fleet::Fleet,
    ledger::Ledger,
    support::{config::Config, error::Error, shutdown::Shutdown},
    upstream::{
        live_api::LiveClient, transcoding_api::TranscodingClient, HttpClient, TrustedHosts,
    },
};
use rand::Rng;
use std::{sync::Arc, time::Duration};
use tokio::sync::watch;
use tracing::info;

/// Everything the server serves, built from the configuration.
#[derive(Clone)]
pub struct Gateway {
    /// The Transcoding domain (shared by every project).
    pub transcoding: Arc<Transcoding>,
    /// The LiveStreaming domain (shared by every project).
    pub live: Arc<LiveStreaming>,
    /// The Qencode projects: credentials and token managers.
    pub projects: Arc<Projects>,
    /// Watch streams: hubs, pollers, callbacks.
    pub watchers: Arc<Watchers>,
    /// True while the server serves and is not shutting down (`/readyz`).
    pub ready: Arc<watch::Sender<bool>>,
    /// The one shutdown signal every part of this gateway follows.
    pub shutdown: Shutdown,
    /// Listener and layer settings, fixed at start.
    pub settings: ServerSettings,
    /// Who may call what (checked by the layer before any service runs).
    pub access: Arc<Access>,
    /// TLS of the gRPC listener, when configured.
    pub tls: Option<Arc<Tls>>,
    /// The policy file to keep watching, when there is one.
    pub policy_feed: Option<Arc<PolicyFeed>>,
    /// The ledger of tasks and idempotent submissions (or its absence).
    pub ledger: Ledger,
}

/// What the policy reloader needs: the file, its bytes as loaded, the pace, and where
/// new policies go.
pub struct PolicyFeed {
    /// `GATEWAY_POLICY_FILE`.
    pub path: std::path::PathBuf,
    /// The bytes the current policy was read from.
    pub loaded: Vec<u8>,
    /// `GATEWAY_POLICY_POLL_INTERVAL`.
    pub interval: Duration,
    /// The live policy.
    pub current: Arc<watch::Sender<Arc<crate::access::policy::Policy>>>,
    /// The projects a reload updates.
    pub projects: Arc<Projects>,
}

/// The files the configuration names (the policy, the TLS certificate and key), read
/// once at start: the binary reads them before anything else so a bad file exits 64,
/// and the gateway is built from what was read.
pub struct Files {
    /// The policy file as loaded, when there is one.
    policy: Option<crate::access::policy::reload::Loaded>,
    /// The gRPC listener's TLS, when configured.
    tls: Option<Tls>,
}

impl Files {
    /// Reads every file `config` names; the one-line problem names the setting.
    pub fn load(config: &Config) -> Result<Self, String> {
        let tls = match config.access.tls_files() {
            None => None,
            Some(files) => Some(Tls::load(files)?),
        };
        let policy = match &config.access.policy_file {
            Some(path) => Some(crate::access::policy::reload::load(path)?),
            None => None,
        };
        if let Some(loaded) = &policy {
            crate::access::policy::reload::check_keys(loaded, config.api_key.is_some())?;
        }
        Ok(Files { policy, tls })
    }
}

impl Gateway {
    /// Starts every background task of the gateway, in this one place (linkerd's
    /// `App::spawn`): the watchers' pollers, sweeper and shutdown closer, the health
    /// monitor that follows `services`' token managers, the ledger's tracker (with the
    /// watchers) and pruning, and the policy file's reload.
    /// Each stops when shutdown begins. (A token manager's refresh ahead of expiry is
    /// the one task started elsewhere: on demand, by the manager, while a call waits.)
    pub fn spawn_background(
        &self,
        health: tonic_health::server::HealthReporter,
        services: impl Fn() -> crate::edge::health::Entries + Send + 'static,
    ) {
        self.watchers.spawn_background(
            self.transcoding.clone(),
            self.live.clone(),
            self.projects.clone(),
        );
        tokio::spawn(crate::edge::health::monitor(
            health,
            services,
            self.settings.health_check_interval,
            self.shutdown.clone(),
        ));
        if self.ledger.is_on() {
            // Connect and migrate now rather than at the first submission, so whether
            // the ledger can be written is known before calls arrive.
            let ledger = self.ledger.clone();
            tokio::spawn(async move {
                if let Err(e) = ledger.ready().await {
                    tracing::warn!(error = %e.message, "the ledger is unavailable; submissions are refused until it answers");
                }
            });
            tokio::spawn(
                self.ledger
                    .clone()
                    .prune_until(self.settings.ledger_retention, self.shutdown.clone()),
            );
        }
        if let Some(feed) = &self.policy_feed {
            tokio::spawn(crate::access::policy::reload::watch_file(
                feed.path.clone(),
                feed.loaded.clone(),
                feed.interval,
                feed.current.clone(),
                feed.projects.clone(),
                self.shutdown.clone(),
            ));
        }
    }

    /// Reads the files `config` names, then [`Gateway::from_files`].
    pub fn from_config(config: &Config) -> Result<Self, Error> {
        Self::from_files(config, Files::load(config).map_err(config_error)?)
    }

    /// Builds the upstream clients and token managers. The API key must be set (the
    /// binary starts the sandbox and points the config at it when none was given).
    pub fn from_files(config: &Config, files: Files) -> Result<Self, Error> {
        let shutdown = Shutdown::new();
        let loaded = files.policy;
        let tls = files.tls.map(Arc::new);
        // `main` from QENCODE_API_KEY: the one project without `[projects]`.
        let main = config
            .api_key
            .clone()
            .map(|key| Projects::main_keys(key.clone(), config.live_api_key().unwrap_or(key)));
        let project_keys: Vec<ProjectKeys> =
            loaded.as_ref().map(|l| l.keys.clone()).unwrap_or_default();
        if project_keys.is_empty() && main.is_none() {
            return Err(Error::new(
                crate::support::error::ErrorKind::FailedPrecondition,
                crate::support::error::GATEWAY_DOMAIN,
                reasons::NO_API_KEY,
                "QENCODE_API_KEY is not set",
            ));
        }
        let http = HttpClient::new(config.upstream_timeout, config.upstream_connect_timeout)?;
        if http.is_proxied() {
            info!(
                "upstream requests go through the proxy the environment names \
                 (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY; NO_PROXY exempts hosts)"
            );
        }
        let trusted = TrustedHosts::new(config.api_url(), config.trusted_domain.clone());
        let fleet = fleet(config)?;
        let client = TranscodingClient::new(http.clone(), config.api_url());
        let live_client = LiveClient::new(http, config.live_api_url());
        let signer = config.callback_url.clone().map(|base| {
            Arc::new(match &config.callback_secret {
                Some(secret) => CallbackSigner::new(base, secret),
                None => CallbackSigner::with_random_secret(base),
            })
        });
        let projects = Arc::new(
            Projects::new(
                ProjectParts {
                    transcoding: client.clone(),
                    live: live_client.clone(),
                    fleet: fleet.clone(),
                },
                &project_keys,
                main,
            )
            .map_err(config_error)?,
        );
        if let Some(fleet) = &fleet {
            let projects = projects.clone();
            fleet.share_streams_while(move || projects.count() <= 1);
        }
        let (access, policy_feed) = access_from_config(config, loaded, &projects);
        let settings = WatchSettings {
            poll_interval: config.poll_interval,
            live_poll_interval: config.live_poll_interval(),
            batch_size: usize::from(config.status_batch_size),
            heartbeat: config.heartbeat_interval,
            stall_timeout: config.watch_stall_timeout,
            max_watchers: config.max_watchers as usize,
        };
        // One ownership store: which project created each task and reached each stream.
        let owners = Arc::new(Owners::default());
        let ledger = Ledger::new(&config.database_url).map_err(|e| config_error(e.0))?;
        Ok(Gateway {
            live: Arc::new(
                LiveStreaming::new(live_client, owners.clone()).with_callbacks(signer.clone()),
            ),
            transcoding: Arc::new(
                Transcoding::new(client, projects.clone(), owners, trusted)
                    .with_callbacks(signer.clone())
                    .with_ledger(ledger.clone())
                    .with_max_query_json(
                        usize::try_from(config.limits.max_query_json_size).unwrap_or(usize::MAX),
                    )
                    .with_upload_settings(UploadSettings {
                        chunk_size: config.upload_chunk_size,
                        max_size: config.max_upload_size,
                    }),
            ),
            projects,
            watchers: Arc::new(Watchers::new(settings, signer, shutdown.clone()).with_fleet(fleet)),
            ready: Arc::new(watch::Sender::new(false)),
            shutdown,
            settings: ServerSettings::from_config(config),
            access,
            tls,
            policy_feed,
            ledger,
        })
    }
}

fn config_error(problem: String) -> Error {
    Error::new(
        crate::support::error::ErrorKind::InvalidArgument,
        crate::support::error::GATEWAY_DOMAIN,
        reasons::BAD_CONFIGURATION,
        problem,
    )
}

/// The access rules and, with a policy file, what keeps them current.
fn access_from_config(
    config: &Config,
    loaded: Option<crate::access::policy::reload::Loaded>,
    projects: &Arc<Projects>,
) -> (Arc<Access>, Option<Arc<PolicyFeed>>) {
    let mesh = config.access.trust_mesh_identity;
    let (Some(path), Some(loaded)) = (&config.access.policy_file, loaded) else {
        let access = Access::new(None, mesh).with_projects(projects.clone());
        return (Arc::new(access), None);
    };
    let current = Arc::new(watch::Sender::new(Arc::new(loaded.policy)));
    let access = Access::new(Some(current.subscribe()), mesh).with_projects(projects.clone());
    let feed = PolicyFeed {
        path: path.clone(),
        loaded: loaded.bytes,
        interval: config.access.policy_poll_interval,
        current,
        projects: projects.clone(),
    };
    (Arc::new(access), Some(Arc::new(feed)))
}

/// The fleet's Redis when `GATEWAY_REDIS_URL` is set (logged by host and port only).
fn fleet(config: &Config) -> Result<Option<Arc<Fleet>>, Error> {
    let Some(url) = &config.redis_url else {
        info!("no GATEWAY_REDIS_URL: this replica shares nothing (own tokens, own polling, only the callbacks sent to it)");
        return Ok(None);
    };
    let fleet = Fleet::new(url, &config.redis_prefix, config.poll_interval)?;
    info!(redis = %url.display(), prefix = %config.redis_prefix, replica = fleet.replica(), "fleet mode: sharing tokens, callbacks, task and stream polling through Redis");
    Ok(Some(Arc::new(fleet)))
}

/// Server settings taken from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings {
    /// HTTP/2 keepalive ping interval.
    pub keepalive_interval: Duration,
    /// How long a keepalive ping may go unanswered.
    pub keepalive_timeout: Duration,
    /// Connection age after which the server sends GOAWAY (with jitter applied).
    pub max_connection_age: Duration,
    /// Time calls get to finish after a GOAWAY for connection age.
    pub max_connection_age_grace: Duration,
    /// Most concurrent HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Largest gRPC message either way.
    pub max_message_size: usize,
    /// Pace of the health monitor's token checks.
    pub health_check_interval: Duration,
    /// How long the drain may take once shutdown begins.
    pub shutdown_grace: Duration,
    /// How long the ledger keeps a task (`GATEWAY_LEDGER_RETENTION`).
    pub ledger_retention: Duration,
    /// Limits and deadlines of the tower layer.
    pub layer: LayerSettings,
    /// Connection limits of both listeners (the handshake length differs per listener).
    pub connections: ConnLimits,
    /// HTTP/2 flow-control window per gRPC stream.
    pub stream_window_size: u32,
    /// HTTP/2 flow-control window per gRPC connection.
    pub connection_window_size: u32,
    /// Time an HTTP/1 client gets to send a request's headers.
    pub http_header_read_timeout: Duration,
    /// Largest HTTP request body.
    pub http_max_body_size: usize,
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
            shutdown_grace: config.shutdown_grace,
            ledger_retention: config.ledger_retention,
            layer: LayerSettings {
                max_concurrent_calls: config.max_concurrent_calls as usize,
                default_deadline: config.default_deadline,
                max_concurrent_uploads: config.max_concurrent_uploads as usize,
                max_message_size: config.max_message_size as usize,
            },
            connections: ConnLimits {
                max_connections: config.limits.max_connections as usize,
                handshake_timeout: config.limits.handshake_timeout,
                handshake_bytes: crate::edge::listener::H2_PREFACE_LEN,
                idle_timeout: config
                    .limits
                    .idle_timeout(config.keepalive_interval + config.keepalive_timeout),
                write_stall_timeout: config.limits.write_stall_timeout,
            },
            stream_window_size: config.limits.stream_window_size,
            connection_window_size: config.limits.connection_window_size(),
            http_header_read_timeout: config.limits.http_header_read_timeout,
            http_max_body_size: usize::try_from(config.limits.http_max_body_size)
                .unwrap_or(usize::MAX),
        }
    }
}
