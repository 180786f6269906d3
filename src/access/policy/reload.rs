//! Keeps the policy current: the file is re-read every few seconds and on SIGHUP; a new
//! valid policy replaces the old one for the next call (connections stay up), a bad one
//! is logged and the old policy kept.

use super::{Policy, ProjectKeys};
use crate::{access::projects::Projects, support::shutdown::Shutdown};
use std::{path::PathBuf, sync::Arc, time::Duration};
use tokio::sync::watch;
use tracing::{info, warn};

/// A policy file as read: the policy, its projects' keys, the bytes.
pub struct Loaded {
    /// The validated policy.
    pub policy: Policy,
    /// Every `[projects]` entry's keys, read from their sources.
    pub keys: Vec<ProjectKeys>,
    /// The bytes it was read from.
    pub bytes: Vec<u8>,
}

/// Reads and validates the policy file at `path`, and reads its projects' keys (from
/// the process environment or files): a project without a key is a bad policy.
pub fn load(path: &std::path::Path) -> Result<Loaded, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("GATEWAY_POLICY_FILE {}: {e}", path.display()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("GATEWAY_POLICY_FILE {}: not UTF-8", path.display()))?;
    let problem = |e: String| format!("GATEWAY_POLICY_FILE {}: {e}", path.display());
    let policy = Policy::parse(text).map_err(problem)?;
    let keys = policy
        .project_keys(&|name| std::env::var(name).ok())
        .map_err(problem)?;
    Ok(Loaded {
        policy,
        keys,
        bytes,
    })
}

/// The one-line problem when no project would have a key: no `[projects]` in the
/// policy and no `QENCODE_API_KEY` (`main_key`). Without a policy that is the no-key
/// mode (the built-in sandbox); with one it is not, since a policy names real keys, so
/// say why and how to reach a sandbox instead.
pub fn check_keys(loaded: &Loaded, main_key: bool) -> Result<(), String> {
    if main_key || !loaded.keys.is_empty() {
        return Ok(());
    }
    Err(
        "QENCODE_API_KEY is not set and the policy file (GATEWAY_POLICY_FILE) defines no \
         [projects]; a policy file turns off the built-in sandbox: set QENCODE_API_KEY, or \
         run the sandbox apart (`qencode-gateway sandbox` or `qencode-sandbox`) and set \
         QENCODE_API_URL, QENCODE_LIVE_API_URL and QENCODE_API_KEY to its address and key"
            .into(),
    )
}

/// Re-reads `path` every `interval` and on SIGHUP until `shutdown`, publishing each new
/// valid policy on `current`, after making its projects the ones in force in
/// `projects` (so no call admitted under the new policy finds its project missing).
/// Comparing the bytes (not the mtime) sees every change,
/// even two writes within one timestamp tick.
pub async fn watch_file(
    path: PathBuf,
    mut seen: Vec<u8>,
    interval: Duration,
    current: Arc<watch::Sender<Arc<Policy>>>,
    projects: Arc<Projects>,
    shutdown: Shutdown,
) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| warn!(error = %e, "cannot listen for SIGHUP; the policy file is still polled"))
        .ok();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = shutdown.begun();
    tokio::pin!(stop);
    loop {
        #[cfg(unix)]
        let hup = async {
            match hangup.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hup = std::future::pending::<Option<()>>();
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
            _ = hup => info!("SIGHUP: re-reading the policy file"),
        }
        match std::fs::read(&path) {
            Ok(bytes) if bytes == seen => continue,
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, path = %path.display(), "cannot read the policy file; keeping the current policy");
                continue;
            }
        }
        match load(&path).and_then(|loaded| {
            projects.apply(&loaded.keys)?;
            Ok(loaded)
        }) {
            Ok(Loaded { policy, bytes, .. }) => {
                seen = bytes;
                info!(
                    callers = policy.callers.len(),
                    projects = policy.projects.len(),
                    "policy reloaded"
                );
                current.send_replace(Arc::new(policy));
            }
            Err(problem) => {
                // Remember the bad bytes too, so one bad file is reported once.
                if let Ok(bytes) = std::fs::read(&path) {
                    seen = bytes;
                }
                warn!(problem = %problem, "the new policy file is invalid; keeping the current policy");
            }
        }
    }
}
