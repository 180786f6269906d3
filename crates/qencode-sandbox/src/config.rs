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
    /// Whether the sandbox POSTs callbacks: task events to a query's
    /// `callback_url` and status changes to a live stream's `callback_url`.
    /// Off keeps a sandbox from calling out at all (e.g. when callback URLs in
    /// recorded queries point at hosts that must not be hit).
    pub callbacks: bool,
    /// Transcoding profile ids `/v1/start_encode` accepts. Profiles live in a
    /// Qencode account, not in requests, so the sandbox cannot know what one
    /// holds: each known id stands for the same two mp4 outputs, 1280x720
    /// tagged `720p` and 854x480 tagged `480p`. Any other id answers error 12
    /// (ERROR_PROFILE_NOT_FOUND).
    pub profiles: Vec<String>,
}

/// The profile ids Qencode's own examples and client libraries use, known to a
/// default sandbox so those examples run against it unchanged.
pub const DEFAULT_PROFILES: [&str; 2] = ["5adb0584aa43b", "5adb0584aacca"];

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
            callbacks: true,
            profiles: DEFAULT_PROFILES.iter().map(|id| id.to_string()).collect(),
        }
    }
}
