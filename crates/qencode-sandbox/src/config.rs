//! Sandbox settings chosen by whoever starts it (a test or the CLI).

use std::time::Duration;

/// Settings for a [`super::Sandbox`]. Construct with struct update syntax over
/// [`SandboxConfig::default`] so new fields do not break callers.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Transcoding API keys accepted by `/v1/access_token`.
    pub api_keys: Vec<String>,
    /// Lifetime of issued access tokens. Qencode session tokens last a day.
    pub token_ttl: Duration,
    /// Time each lifecycle phase (downloading, queued, encoding, saving) takes.
    pub phase_duration: Duration,
    /// Largest TUS upload accepted (bytes); uploads are held in memory.
    pub max_upload_size: u64,
    /// Base URL used in returned URLs (`upload_url`, `status_url`, TUS
    /// `Location`). `None` derives it from the request's `Host`, which is right
    /// unless the sandbox sits behind a proxy that rewrites it.
    pub public_url: Option<String>,
    /// Live Streaming API keys accepted by `/v1/access_token/<api_key>`. Kept
    /// apart from `api_keys` because Qencode issues them per live project.
    pub live_api_keys: Vec<String>,
    /// Lifetime of issued live access tokens (the JWT's `exp - iat`, rounded up to
    /// whole seconds). Qencode's last a day.
    pub live_token_ttl: Duration,
    /// Time each live stream phase takes: starting, waiting and launching after a
    /// start (then live), and stopping after a stop (then stopped).
    pub live_phase_duration: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            api_keys: vec!["sandbox-api-key".into()],
            token_ttl: Duration::from_secs(24 * 60 * 60),
            phase_duration: Duration::from_secs(2),
            max_upload_size: 256 * 1024 * 1024,
            public_url: None,
            live_api_keys: vec!["sandbox-api-key".into()],
            live_token_ttl: Duration::from_secs(24 * 60 * 60),
            live_phase_duration: Duration::from_secs(1),
        }
    }
}
