//! Health that tells the truth.
//!
//! `""` (the whole server) is NOT_SERVING during start-up and from the moment shutdown
//! begins. Each service is SERVING only while its upstream access token can be obtained:
//! the monitor follows every token request's outcome (so a refused key shows at once),
//! and checks again on an interval, every second while a service is down, so it comes
//! back as soon as the upstream accepts the key again.

use crate::{
    auth::TokenManager,
    server::{LIVE_STREAMING_SERVICE, TRANSCODING_SERVICE},
    Gateway,
};
use std::time::Duration;
use tokio::sync::watch;
use tonic_health::{server::HealthReporter, ServingStatus};
use tracing::{info, warn};

/// Retry pace while a service is down.
const DOWN_RETRY: Duration = Duration::from_secs(1);
/// Bound of one token check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs until `shutdown` flips to true.
pub async fn monitor(
    reporter: HealthReporter,
    gateway: Gateway,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let services = [
        (TRANSCODING_SERVICE, gateway.transcoding.tokens().clone()),
        (LIVE_STREAMING_SERVICE, gateway.live.tokens().clone()),
    ];
    let mut health: Vec<watch::Receiver<Option<bool>>> =
        services.iter().map(|(_, tokens)| tokens.health()).collect();
    let mut last: Vec<Option<bool>> = vec![None; services.len()];
    loop {
        for (i, (service, tokens)) in services.iter().enumerate() {
            // A check that fails right after a failed request does not hit the upstream:
            // the token manager's shared back-off answers it.
            let ok = check(tokens).await;
            if *shutdown.borrow() {
                return;
            }
            if last[i] != Some(ok) {
                if ok {
                    info!(service, "upstream token available: SERVING");
                } else {
                    warn!(service, "upstream token unavailable: NOT_SERVING");
                }
                reporter
                    .set_service_status(
                        *service,
                        if ok {
                            ServingStatus::Serving
                        } else {
                            ServingStatus::NotServing
                        },
                    )
                    .await;
                last[i] = Some(ok);
            }
            health[i].borrow_and_update();
        }
        let all_up = last.iter().all(|s| *s == Some(true));
        let wait = if all_up {
            interval
        } else {
            DOWN_RETRY.min(interval)
        };
        let [first, second] = &mut health[..] else {
            return;
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = first.changed() => {}
            _ = second.changed() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn check(tokens: &TokenManager) -> bool {
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, tokens.token()).await,
        Ok(Ok(_))
    )
}
