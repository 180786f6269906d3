//! The no-key mode: with no Qencode key and no Qencode URL configured, the gateway serves
//! the built-in sandbox in-process and points both APIs at it, and says so loudly.
//!
//! Push works out of the box there: unless `GATEWAY_CALLBACK_URL` is set, the callback
//! URL becomes the gateway's own callback listener (`GATEWAY_HTTP_LISTEN`, not the admin
//! one), which the in-process sandbox can always reach, so watchers learn of task
//! changes from callbacks, not only from polls.

use crate::support::{config::Config, secret::Secret};
use qencode_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::TcpListener;
use tracing::{info, warn};

/// Starts the sandbox when `config` points at no real upstream and rewrites `config` to
/// use it; `None` when a real upstream is configured. `http_addr` is the address the
/// gateway's HTTP listener is bound to (for the callback URL). Keep the handle alive as
/// long as the gateway serves.
pub async fn start_if_unconfigured(
    config: &mut Config,
    http_addr: SocketAddr,
) -> std::io::Result<Option<SandboxHandle>> {
    if !config.wants_sandbox() {
        return Ok(None);
    }
    // Each phase outlasts one poll interval, so a watcher with the default settings
    // sees every phase, the encoding percent included, not only the callbacks' events.
    let phases = SandboxConfig {
        phase_duration: config.poll_interval + std::time::Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    start_sandbox(config, http_addr, phases).await.map(Some)
}

/// [`start_if_unconfigured`] with the sandbox's own settings (its API keys are replaced
/// by a fresh one); tests use it for fast task phases.
pub async fn start_sandbox(
    config: &mut Config,
    http_addr: SocketAddr,
    sandbox_config: SandboxConfig,
) -> std::io::Result<SandboxHandle> {
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
        ..sandbox_config
    };
    let handle = Sandbox::start(listener, sandbox_config).await?;
    warn!(
        sandbox_url = %handle.base_url(),
        "no QENCODE_API_KEY set: serving the built-in Qencode SANDBOX. Nothing is really transcoded; set QENCODE_API_KEY to use Qencode"
    );
    config.api_url = url::Url::parse(&handle.base_url()).ok();
    config.live_api_url = config.api_url.clone();
    config.api_key = Some(Secret::new(key));
    if config.callback_url.is_none() {
        config.callback_url = own_callback_url(http_addr);
        if let Some(url) = &config.callback_url {
            info!(callback_url = %url, "sandbox callbacks go to the gateway's own HTTP listener");
        }
    }
    Ok(handle)
}

/// The HTTP listener's base URL as seen from this host: loopback when it listens on
/// every address.
fn own_callback_url(http_addr: SocketAddr) -> Option<url::Url> {
    let ip = match http_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    url::Url::parse(&format!(
        "http://{}/",
        SocketAddr::new(ip, http_addr.port())
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_url_is_reachable_from_this_host() {
        let url = |addr: &str| own_callback_url(addr.parse().unwrap()).unwrap().to_string();
        assert_eq!(url("0.0.0.0:8081"), "http://127.0.0.1:8081/");
        assert_eq!(url("[::]:8081"), "http://[::1]:8081/");
        assert_eq!(url("10.1.2.3:9"), "http://10.1.2.3:9/");
    }
}
