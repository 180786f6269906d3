//! The sandbox's command line, shared by the `qencode-sandbox` binary and
//! `qencode-gateway sandbox`, so both take the same flags and the same environment.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use tokio::net::TcpListener;

use crate::{Sandbox, SandboxConfig};

/// Every [`SandboxConfig`] field as a flag with a matching environment variable.
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Address the sandbox listens on.
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:8100")]
    pub listen: SocketAddr,
    /// API key accepted by both APIs (repeat, or separate with commas, for several);
    /// `--live-api-key` sets the Live Streaming keys apart.
    #[arg(
        long = "api-key",
        env = "SANDBOX_API_KEYS",
        value_delimiter = ',',
        default_value = "sandbox-api-key",
        hide_env_values = true,
        value_parser = parse_key
    )]
    pub api_keys: Vec<String>,
    /// Live Streaming API keys, when they differ from `--api-key` (Qencode issues them
    /// per live project).
    #[arg(
        long = "live-api-key",
        env = "SANDBOX_LIVE_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true,
        value_parser = parse_key
    )]
    pub live_api_keys: Vec<String>,
    /// How long each task phase (downloading, queued, encoding, saving) lasts.
    #[arg(long, env = "SANDBOX_PHASE_DURATION", default_value = "2s", value_parser = parse_duration)]
    pub phase_duration: Duration,
    /// How long each live stream phase (starting, waiting, launching, stopping) lasts.
    #[arg(long, env = "SANDBOX_LIVE_PHASE_DURATION", default_value = "1s", value_parser = parse_duration)]
    pub live_phase_duration: Duration,
    /// Lifetime of issued Transcoding access tokens.
    #[arg(long, env = "SANDBOX_TOKEN_TTL", default_value = "24h", value_parser = parse_duration)]
    pub token_ttl: Duration,
    /// Lifetime of issued Live Streaming bearer tokens.
    #[arg(long, env = "SANDBOX_LIVE_TOKEN_TTL", default_value = "24h", value_parser = parse_duration)]
    pub live_token_ttl: Duration,
    /// Largest TUS upload accepted, in bytes (uploads are held in memory).
    #[arg(long, env = "SANDBOX_MAX_UPLOAD_SIZE", default_value_t = 256 * 1024 * 1024)]
    pub max_upload_size: u64,
    /// Base URL written into returned URLs (`status_url`, `upload_url`, TUS
    /// `Location`) when the sandbox sits behind a proxy that rewrites `Host`.
    #[arg(long, env = "SANDBOX_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// Never POST callbacks (task events to a query's `callback_url`, status
    /// changes to a live stream's `callback_url`). From the environment it takes the
    /// usual spellings: `1`, `true`, `yes`, `on` (or `0`, `false`, `no`, `off`).
    #[arg(long, env = "SANDBOX_NO_CALLBACKS", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_callbacks: bool,
    /// Transcoding profile id `/v1/start_encode` accepts (repeat, or separate with
    /// commas, for several); each stands for an mp4 at 720p and one at 480p.
    #[arg(
        long = "profile",
        env = "SANDBOX_PROFILES",
        value_delimiter = ',',
        default_values_t = crate::DEFAULT_PROFILES.map(String::from),
        value_parser = parse_key
    )]
    pub profiles: Vec<String>,
}

impl SandboxArgs {
    /// The sandbox configuration these flags describe.
    pub fn config(&self) -> SandboxConfig {
        let live_api_keys = if self.live_api_keys.is_empty() {
            self.api_keys.clone()
        } else {
            self.live_api_keys.clone()
        };
        SandboxConfig {
            api_keys: self.api_keys.clone(),
            live_api_keys,
            phase_duration: self.phase_duration,
            live_phase_duration: self.live_phase_duration,
            token_ttl: self.token_ttl,
            live_token_ttl: self.live_token_ttl,
            max_upload_size: self.max_upload_size,
            public_url: self
                .public_url
                .as_ref()
                .map(|url| url.as_str().trim_end_matches('/').to_owned()),
            callbacks: !self.no_callbacks,
            profiles: self.profiles.clone(),
        }
    }
}

/// Serves the sandbox these flags describe until `shutdown` completes.
pub async fn run(args: SandboxArgs, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let listener = TcpListener::bind(args.listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {} (SANDBOX_LISTEN): {e}", args.listen),
        )
    })?;
    let handle = Sandbox::start(listener, args.config()).await?;
    tracing::info!(url = %handle.base_url(), "serving the Qencode sandbox (Transcoding and Live Streaming APIs)");
    shutdown.await;
    handle.shutdown().await;
    Ok(())
}

/// An API key or profile id: not empty, no whitespace or control characters (they
/// would never match).
fn parse_key(text: &str) -> Result<String, String> {
    let key = text.trim();
    if key.is_empty() || key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must be non-empty, without whitespace".into());
    }
    Ok(key.to_owned())
}

/// `500ms`, `2s`, `5m`, `24h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let per_unit = match &text[digits.len()..] {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        unit => return Err(format!("unknown unit '{unit}' (use ms, s, m or h)")),
    };
    match digits.parse::<f64>() {
        Ok(n) if n.is_finite() && (0.0..=1e9).contains(&n) => {
            Ok(Duration::from_secs_f64(n * per_unit))
        }
        _ => Err(format!("'{text}' is not a duration (try 500ms, 2s, 5m)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    fn parse(argv: &[&str]) -> SandboxConfig {
        let mut full = vec!["qencode-sandbox"];
        full.extend_from_slice(argv);
        Cli::try_parse_from(full).expect("parses").args.config()
    }

    #[test]
    fn one_api_key_serves_both_apis_unless_live_keys_are_set_apart() {
        let both = parse(&["--api-key", "k"]);
        assert_eq!(both.api_keys, ["k"]);
        assert_eq!(both.live_api_keys, ["k"]);
        let apart = parse(&["--api-key", "k", "--live-api-key", "l1,l2"]);
        assert_eq!(apart.api_keys, ["k"]);
        assert_eq!(apart.live_api_keys, ["l1", "l2"]);
    }

    #[test]
    fn every_config_field_has_a_flag() {
        let c = parse(&[
            "--phase-duration=150ms",
            "--live-phase-duration=1m",
            "--token-ttl=2h",
            "--live-token-ttl=30",
            "--max-upload-size=10",
            "--public-url=https://sandbox.example/",
            "--no-callbacks",
            "--profile=p1",
            "--profile",
            "p2,p3",
        ]);
        assert_eq!(c.phase_duration, Duration::from_millis(150));
        assert_eq!(c.live_phase_duration, Duration::from_secs(60));
        assert_eq!(c.token_ttl, Duration::from_secs(7200));
        assert_eq!(c.live_token_ttl, Duration::from_secs(30));
        assert_eq!(c.max_upload_size, 10);
        assert_eq!(c.public_url.as_deref(), Some("https://sandbox.example"));
        assert!(!c.callbacks);
        assert_eq!(c.profiles, ["p1", "p2", "p3"]);
    }

    #[test]
    fn callbacks_are_on_and_the_example_profiles_known_by_default() {
        let c = parse(&[]);
        assert!(c.callbacks);
        assert_eq!(c.profiles, crate::DEFAULT_PROFILES);
    }

    #[test]
    fn bad_durations_and_keys_are_refused() {
        for bad in ["", "x", "5d", "-1s", "1e99s", "NaNs"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_key(" ").is_err());
        assert!(parse_key("a b").is_err());
    }
}
