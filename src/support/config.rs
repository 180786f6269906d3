//! Every setting, from environment variables with matching flags, validated up front.
//!
//! A bad value stops the process with one line naming the setting (exit code 64, as
//! linkerd does); secrets are never echoed, not even by `--help`.

mod access_settings;
mod limit_settings;
pub mod parse_error;

pub use access_settings::Access;
pub use limit_settings::Limits;

use clap::{Args, Parser};
use std::{net::SocketAddr, time::Duration};
use url::Url;

use crate::support::secret::Secret;

/// Command line of the `qencode-gateway` binary.
///
/// `--help` lists what an operator sets (keys, addresses, TLS, policy, fleet, logs);
/// the tuning knobs (limits, timeouts, windows, intervals) keep their variables and
/// flags but are listed only by `--help-all`, so the first screen fits in a head.
#[derive(Debug, Parser)]
#[command(
    name = "qencode-gateway",
    version,
    about,
    long_about = None,
    after_help = "Tuning settings (limits, timeouts, windows, intervals) are not listed here: see --help-all."
)]
pub struct Cli {
    /// Print help for every setting, the tuning ones included.
    #[arg(long, global = true)]
    pub help_all: bool,
    /// Serve the gateway (default) or only the sandbox.
    #[cfg(feature = "sandbox")]
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Gateway settings.
    #[command(flatten)]
    pub gateway: Config,
}

/// Subcommands.
#[cfg(feature = "sandbox")]
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve only the Qencode-compatible sandbox, so other teams can point tests at it.
    Sandbox(qencode_sandbox::cli::SandboxArgs),
}

/// Gateway settings. (Doc comments double as `--help` text, where bare URLs read best.)
#[derive(Debug, Clone, Args)]
#[allow(rustdoc::bare_urls)]
pub struct Config {
    /// Qencode Transcoding API key. When unset, the gateway serves the built-in sandbox.
    #[arg(long, env = "QENCODE_API_KEY", hide_env_values = true)]
    pub api_key: Option<Secret>,
    /// Base URL of Qencode's Transcoding API [default: https://api.qencode.com]. Setting it
    /// without an API key is an error rather than a silent switch to the sandbox.
    #[arg(long, env = "QENCODE_API_URL", value_parser = parse_base_url)]
    pub api_url: Option<Url>,
    /// Qencode Live Streaming API key [default: QENCODE_API_KEY].
    #[arg(long, env = "QENCODE_LIVE_API_KEY", hide_env_values = true)]
    pub live_api_key: Option<Secret>,
    /// Base URL of Qencode's Live Streaming API [default: https://api-live.qencode.com].
    #[arg(long, env = "QENCODE_LIVE_API_URL", value_parser = parse_base_url)]
    pub live_api_url: Option<Url>,
    /// `status_url` and `upload_url` values returned upstream are followed only to the
    /// API URL's own host or, over https, to hosts under this domain. Empty: API host only.
    #[arg(long, hide = true, env = "QENCODE_TRUSTED_DOMAIN", default_value = "qencode.com", value_parser = parse_domain)]
    pub trusted_domain: String,
    /// Address the gRPC server listens on.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "0.0.0.0:50051")]
    pub listen: SocketAddr,
    /// Address of the in-process sandbox when no API key is set (port 0: any free port).
    #[arg(
        long,
        hide = true,
        env = "GATEWAY_SANDBOX_LISTEN",
        default_value = "127.0.0.1:0"
    )]
    pub sandbox_listen: SocketAddr,
    /// Address of the HTTP listener for Qencode's task and stream callbacks, and nothing
    /// else: the one port to expose through an ingress.
    #[arg(long, env = "GATEWAY_HTTP_LISTEN", default_value = "0.0.0.0:8080")]
    pub http_listen: SocketAddr,
    /// Address of the admin HTTP listener: /metrics, /healthz and /readyz, for Prometheus
    /// and probes. Keep it away from the ingress.
    #[arg(long, env = "GATEWAY_ADMIN_LISTEN", default_value = "0.0.0.0:9090")]
    pub admin_listen: SocketAddr,
    /// Base interval at which watched tasks are polled upstream (backs off for long jobs
    /// and when Qencode is busy).
    #[arg(long, env = "GATEWAY_POLL_INTERVAL", default_value = "5s", value_parser = parse_interval)]
    pub poll_interval: Duration,
    /// Base interval at which watched live streams are polled upstream [default:
    /// GATEWAY_POLL_INTERVAL].
    #[arg(long, hide = true, env = "GATEWAY_LIVE_POLL_INTERVAL", value_parser = parse_interval)]
    pub live_poll_interval: Option<Duration>,
    /// Most tasks asked about in one upstream status request.
    #[arg(long, hide = true, env = "GATEWAY_STATUS_BATCH_SIZE", default_value = "100", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub status_batch_size: u16,
    /// Quiet time after which a watch stream repeats the state as a heartbeat (keep it
    /// under your proxies' idle timeouts).
    #[arg(long, hide = true, env = "GATEWAY_HEARTBEAT_INTERVAL", default_value = "15s", value_parser = parse_interval)]
    pub heartbeat_interval: Duration,
    /// A watch stream whose client takes no message for this long while one waits (its
    /// HTTP/2 window stays shut) is ended with RESOURCE_EXHAUSTED, freeing its watcher
    /// slot and what it holds. The clock runs only while a message waits, so quiet
    /// watches never trip it.
    #[arg(long, hide = true, env = "GATEWAY_WATCH_STALL_TIMEOUT", default_value = "30s", value_parser = parse_interval)]
    pub watch_stall_timeout: Duration,
    /// Most watch streams open at once; past it a new watch gets RESOURCE_EXHAUSTED.
    #[arg(long, hide = true, env = "GATEWAY_MAX_WATCHERS", default_value = "20000", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_watchers: u32,
    /// Public base URL at which Qencode reaches the HTTP listener. When set, started
    /// tasks get a signed per-task `callback_url` (unless the caller set one) so watchers
    /// learn of changes before the next poll.
    #[arg(long, env = "GATEWAY_CALLBACK_URL", value_parser = parse_base_url)]
    pub callback_url: Option<Url>,
    /// Key of the callback URL signatures. Set the same value on every replica; when
    /// unset a random one is generated at start.
    #[arg(long, env = "GATEWAY_CALLBACK_SECRET", hide_env_values = true)]
    pub callback_secret: Option<Secret>,
    /// Redis shared by the replicas of one gateway (redis:// or rediss://). Unset: each
    /// replica works alone and shares nothing. Set: tokens, callbacks, task and live
    /// stream polling are shared fleet-wide, and GATEWAY_CALLBACK_SECRET is required.
    /// Keep this Redis private: the access tokens in it are secrets, and so are the
    /// stream keys in its stored live stream states.
    #[arg(long, env = "GATEWAY_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<crate::fleet::RedisUrl>,
    /// The ledger of every task created through the gateway and of idempotent
    /// submissions: sqlite://PATH (one replica; the file and its folder are created when
    /// missing), postgres://user:password@host:port/db (a fleet: every replica the same),
    /// or off (a pure proxy: no request ids, task lists or budgets).
    #[arg(long, env = "GATEWAY_DATABASE_URL", hide_env_values = true, default_value = crate::ledger::database_url::DEFAULT_DATABASE_URL)]
    pub database_url: crate::ledger::DatabaseUrl,
    /// How long the ledger keeps a task after its creation; older ones are pruned in the
    /// background, in bounded batches.
    #[arg(long, hide = true, env = "GATEWAY_LEDGER_RETENTION", default_value = "30d", value_parser = parse_retention)]
    pub ledger_retention: Duration,
    /// Prefix of every key and channel the gateway uses in Redis (several gateways can
    /// share one Redis under different prefixes).
    #[arg(
        long,
        hide = true,
        env = "GATEWAY_REDIS_PREFIX",
        default_value = "qgw:"
    )]
    pub redis_prefix: String,
    /// Log line format: human-readable text, or JSON with trace and span ids.
    #[arg(long, env = "GATEWAY_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: crate::support::telemetry::LogFormat,
    /// Time allowed for a graceful shutdown (health NOT_SERVING, watch streams ended,
    /// in-flight calls drained, traces flushed); the process exits anyway after it.
    #[arg(long, env = "GATEWAY_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// HTTP/2 keepalive ping interval; finds dead peers behind NATs and idle-killing proxies.
    #[arg(long, hide = true, env = "GATEWAY_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = parse_interval)]
    pub keepalive_interval: Duration,
    /// Time a keepalive ping may go unanswered before the connection is closed.
    #[arg(long, hide = true, env = "GATEWAY_KEEPALIVE_TIMEOUT", default_value = "10s", value_parser = parse_interval)]
    pub keepalive_timeout: Duration,
    /// Connections are closed gracefully after about this long (±10% jitter) so L4
    /// balancers and meshes can rebalance; clients reconnect transparently.
    #[arg(long, hide = true, env = "GATEWAY_MAX_CONNECTION_AGE", default_value = "30m", value_parser = parse_interval)]
    pub max_connection_age: Duration,
    /// Time in-flight calls get to finish once a connection reached its maximum age.
    #[arg(long, hide = true, env = "GATEWAY_MAX_CONNECTION_AGE_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub max_connection_age_grace: Duration,
    /// Most unary calls in flight at once; past it calls are refused at once with
    /// RESOURCE_EXHAUSTED instead of queueing (watch streams count against
    /// GATEWAY_MAX_WATCHERS instead).
    #[arg(long, hide = true, env = "GATEWAY_MAX_CONCURRENT_CALLS", default_value = "1024", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_calls: u32,
    /// Most UploadFile calls in flight at once; each holds about 1.65 upload chunks of
    /// memory. Past it an upload is refused at once with RESOURCE_EXHAUSTED.
    #[arg(long, hide = true, env = "GATEWAY_MAX_CONCURRENT_UPLOADS", default_value = "16", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_uploads: u32,
    /// Most concurrent HTTP/2 streams per client connection.
    #[arg(long, hide = true, env = "GATEWAY_MAX_CONCURRENT_STREAMS", default_value = "1000", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_streams: u32,
    /// Largest gRPC message accepted or sent (bytes, or with a KiB/MiB/GiB suffix, like
    /// every other size).
    #[arg(long, hide = true, env = "GATEWAY_MAX_MESSAGE_SIZE", default_value = "16MiB", value_parser = parse_message_size)]
    pub max_message_size: u32,
    /// Deadline given to unary calls that bring none (`grpc-timeout`).
    #[arg(long, hide = true, env = "GATEWAY_DEFAULT_DEADLINE", default_value = "30s", value_parser = parse_interval)]
    pub default_deadline: Duration,
    /// How often health re-checks that upstream tokens can be obtained (every second
    /// while a service is down).
    #[arg(long, hide = true, env = "GATEWAY_HEALTH_CHECK_INTERVAL", default_value = "10s", value_parser = parse_interval)]
    pub health_check_interval: Duration,
    /// Upper bound of one upstream request (the caller's deadline may shorten it).
    #[arg(long, hide = true, env = "GATEWAY_UPSTREAM_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,
    /// Upper bound of connecting to the upstream.
    #[arg(long, hide = true, env = "GATEWAY_UPSTREAM_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub upstream_connect_timeout: Duration,
    /// Size of each TUS PATCH an upload is forwarded in (bytes, or with a KiB/MiB/GiB
    /// suffix). Each running upload holds about this much memory.
    #[arg(long, hide = true, env = "GATEWAY_UPLOAD_CHUNK_SIZE", default_value = "8MiB", value_parser = parse_chunk_size)]
    pub upload_chunk_size: u64,
    /// Largest file UploadFile accepts (bytes, or with a KiB/MiB/GiB suffix); a larger
    /// declared size is INVALID_ARGUMENT before anything is sent upstream.
    #[arg(long, env = "GATEWAY_MAX_UPLOAD_SIZE", default_value = "10GiB", value_parser = parse_max_upload_size)]
    pub max_upload_size: u64,
    /// Connection and request limits.
    #[command(flatten)]
    pub limits: Limits,
    /// Who may call: TLS, mTLS, mesh identity, the policy file.
    #[command(flatten)]
    pub access: Access,
}

/// Qencode's production Transcoding API.
pub const DEFAULT_API_URL: &str = "https://api.qencode.com";
/// Qencode's production Live Streaming API.
pub const DEFAULT_LIVE_API_URL: &str = "https://api-live.qencode.com";

impl Cli {
    /// The `--help-all` text: every setting, hidden tuning knobs included.
    pub fn help_all() -> String {
        use clap::CommandFactory;
        let mut command = Cli::command()
            .mut_args(|arg| arg.hide(false))
            .after_help("");
        command.render_long_help().to_string()
    }
}

impl Config {
    /// Settings for one upstream serving both APIs (the sandbox), everything else at its
    /// default (tests, embedding).
    pub fn for_upstream(api_url: Url, api_key: Secret) -> Self {
        let mut config = Cli::parse_from(["qencode-gateway"]).gateway;
        config.live_api_url = Some(api_url.clone());
        config.api_url = Some(api_url);
        config.api_key = Some(api_key);
        // No ledger unless asked for (`DatabaseUrl::memory()` gives one that dies with
        // the process): the ledger's SQLite worker thread is outside the runtime, so
        // tests on tokio's paused clock would see their deadlines pass while it works.
        config.database_url = crate::ledger::DatabaseUrl::Off;
        config
    }

    /// The Transcoding API base URL in effect.
    pub fn api_url(&self) -> Url {
        url_or_default(&self.api_url, DEFAULT_API_URL)
    }

    /// The Live Streaming API base URL in effect.
    pub fn live_api_url(&self) -> Url {
        url_or_default(&self.live_api_url, DEFAULT_LIVE_API_URL)
    }

    /// The live-stream poll interval in effect: its own, else the task one.
    pub fn live_poll_interval(&self) -> Duration {
        self.live_poll_interval.unwrap_or(self.poll_interval)
    }

    /// The Live Streaming API key in effect (its own, else the Transcoding one).
    pub fn live_api_key(&self) -> Option<Secret> {
        self.live_api_key.clone().or_else(|| self.api_key.clone())
    }

    /// True when nothing points at a real upstream, so the built-in sandbox is used. A
    /// policy file may name each project's keys (`[projects]`), so with one the
    /// gateway never falls back to the sandbox.
    pub fn wants_sandbox(&self) -> bool {
        self.access.policy_file.is_none()
            && self.api_key.is_none()
            && self.live_api_key.is_none()
            && self.api_url.is_none()
            && self.live_api_url.is_none()
    }

    /// Checks settings that are only wrong together; returns the one-line problem.
    pub fn check(&self) -> Result<(), String> {
        if self.api_key.is_none() && !self.wants_sandbox() && self.access.policy_file.is_none() {
            return Err("QENCODE_API_KEY is not set but other Qencode settings are; set it, or unset them all to use the sandbox".into());
        }
        if self.redis_url.is_some() && self.callback_secret.is_none() {
            return Err("GATEWAY_REDIS_URL is set but GATEWAY_CALLBACK_SECRET is not; every replica must verify every callback, so set the same secret on all of them".into());
        }
        if self.redis_url.is_some() && self.database_url.is_local() {
            return Err("GATEWAY_REDIS_URL is set but the ledger is a local SQLite file the replicas cannot share; set GATEWAY_DATABASE_URL=postgres://… (the same on every replica), or GATEWAY_DATABASE_URL=off".into());
        }
        self.check_listeners()?;
        self.limits
            .check(self.keepalive_interval + self.keepalive_timeout)?;
        self.access.check()
    }

    /// Two listeners on one address would fail to bind with a bare "address in use";
    /// say which settings collide instead. (Port 0 means any free port: no collision.)
    fn check_listeners(&self) -> Result<(), String> {
        let listeners = [
            ("GATEWAY_LISTEN", self.listen),
            ("GATEWAY_HTTP_LISTEN", self.http_listen),
            ("GATEWAY_ADMIN_LISTEN", self.admin_listen),
        ];
        for (i, (first, a)) in listeners.iter().enumerate() {
            for (second, b) in &listeners[i + 1..] {
                if a == b && a.port() != 0 {
                    return Err(format!(
                        "{first} and {second} are both {a}; each listener needs its own port"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Parses a duration in humantime's forms ("500ms", "30s", "5m", "1h 30m", "2d") or a
/// plain number of seconds, up to 30 days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(text)
            .map_err(|_| format!("'{text}' is not a duration (try 500ms, 30s, 5m)"))?,
    };
    if duration > Duration::from_secs(86_400 * 30) {
        return Err(format!("'{text}' is out of range (at most 30 days)"));
    }
    Ok(duration)
}

/// A ledger retention from 1 hour to 10 years (humantime's forms: "30d", "12h").
fn parse_retention(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(text)
            .map_err(|_| format!("'{text}' is not a duration (try 30d, 90d, 12h)"))?,
    };
    if duration < Duration::from_secs(3600) || duration > Duration::from_secs(86_400 * 3650) {
        return Err("must be from 1h to 3650d".into());
    }
    Ok(duration)
}

/// A duration of at least 10 ms (intervals of zero would spin).
fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_millis(10) {
        return Err("must be at least 10ms".into());
    }
    Ok(duration)
}

/// Parses a byte count in bytesize's forms: "1048576", "256KiB", "8MiB", "10GiB", and
/// decimal units as such ("1MB" is 1,000,000 bytes).
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let size = text
        .parse::<bytesize::ByteSize>()
        .map_err(|_| format!("'{text}' is not a size (try 1048576, 256KiB, 8MiB, 10GiB)"))?
        .as_u64();
    // bytesize saturates a size past u64 instead of failing.
    if size == u64::MAX {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(size)
}

/// A chunk size from 1 KiB (smaller would mean a request per few bytes) to 1 GiB.
fn parse_chunk_size(text: &str) -> Result<u64, String> {
    let size = parse_byte_size(text)?;
    if !(1 << 10..=1 << 30).contains(&size) {
        return Err("must be from 1KiB to 1GiB".into());
    }
    Ok(size)
}

/// A message size from 1 KiB (smaller would refuse ordinary calls) to under 4 GiB (gRPC's
/// length prefix is 32 bits).
fn parse_message_size(text: &str) -> Result<u32, String> {
    let size = parse_byte_size(text)?;
    match u32::try_from(size) {
        Ok(size) if size >= 1 << 10 => Ok(size),
        _ => Err("must be at least 1KiB and under 4GiB".into()),
    }
}

/// A maximum upload size of at least one byte.
fn parse_max_upload_size(text: &str) -> Result<u64, String> {
    let size = parse_byte_size(text)?;
    if size == 0 {
        return Err("must be at least 1 byte".into());
    }
    Ok(size)
}

fn url_or_default(url: &Option<Url>, default: &str) -> Url {
    match url {
        Some(url) => url.clone(),
        // The defaults are constants, and a unit test parses them.
        None => Url::parse(default).expect("default API URLs are valid"),
    }
}

fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http(s) URL with a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    Ok(url)
}

fn parse_domain(text: &str) -> Result<String, String> {
    let domain = text.trim().trim_start_matches('.').to_ascii_lowercase();
    if domain
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Err("must be a DNS domain such as qencode.com".into());
    }
    Ok(domain)
}

#[cfg(test)]
mod config_tests;
