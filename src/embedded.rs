//! The no-key mode: with no Qencode key and no Qencode URL configured, the gateway serves
//! the built-in sandbox in-process and points both APIs at it, and says so loudly.

use crate::{config::Config, secret::Secret};
use qencode_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use tokio::net::TcpListener;
use tracing::warn;

/// Starts the sandbox when `config` points at no real upstream and rewrites `config` to
/// use it; `None` when a real upstream is configured. Keep the handle alive as long as
/// the gateway serves.
pub async fn start_if_unconfigured(config: &mut Config) -> std::io::Result<Option<SandboxHandle>> {
    if !config.wants_sandbox() {
        return Ok(None);
    }
    let listener = TcpListener::bind(config.sandbox_listen)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot listen for the sandbox on {} (GATEWAY_SANDBOX_LISTEN): {e}",
                    config.sandbox_listen
                ),
            )
        })?;
    // A fresh key per process: nothing outside this process can use the sandbox's API.
    let key = format!("sandbox-{}", uuid::Uuid::new_v4().simple());
    let sandbox_config = SandboxConfig {
        api_keys: vec![key.clone()],
        live_api_keys: vec![key.clone()],
        ..SandboxConfig::default()
    };
    let handle = Sandbox::start(listener, sandbox_config).await?;
    warn!(
        sandbox_url = %handle.base_url(),
        "no QENCODE_API_KEY set: serving the built-in Qencode SANDBOX. Nothing is really transcoded; set QENCODE_API_KEY to use Qencode"
    );
    config.api_url = url::Url::parse(&handle.base_url()).ok();
    config.live_api_url = config.api_url.clone();
    config.api_key = Some(Secret::new(key));
    Ok(Some(handle))
}
