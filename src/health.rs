//! Health that tells the truth.
//!
//! `""` (the whole server) is NOT_SERVING during start-up and from the moment shutdown
//! begins. Each service is SERVING only while its upstream access token can be obtained:
//! the monitor follows every token request's outcome (so a refused key shows at once),
//! and checks again on an interval, every second while a service is down, so it comes
//! back as soon as the upstream accepts the key again.

use crate::{auth::TokenManager, shutdown::Shutdown};
use futures::future::select_all;
use std::time::Duration;
use tokio::sync::watch;
use tonic_health::{server::HealthReporter, ServingStatus};
use tracing::{info, warn};

/// Retry pace while a service is down.
const DOWN_RETRY: Duration = Duration::from_secs(1);
/// Bound of one token check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Sets every name in `names` to `status`.
pub async fn set_all(reporter: &HealthReporter, names: &[&str], status: ServingStatus) {
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
}

/// Follows each (service name, token manager) pair until `shutdown` begins.
pub async fn monitor(
    reporter: HealthReporter,
    services: Vec<(&'static str, TokenManager)>,
    interval: Duration,
    shutdown: Shutdown,
) {
    let mut outcomes: Vec<watch::Receiver<Option<bool>>> =
        services.iter().map(|(_, tokens)| tokens.health()).collect();
    let mut last: Vec<Option<bool>> = vec![None; services.len()];
    loop {
        for (i, (service, tokens)) in services.iter().enumerate() {
            // A check that fails right after a failed request does not hit the upstream:
            // the token manager's shared back-off answers it.
            let ok = check(tokens).await;
            if shutdown.has_begun() {
                return;
            }
            if last[i] != Some(ok) {
                if ok {
                    info!(service, "upstream token available: SERVING");
                } else {
                    warn!(service, "upstream token unavailable: NOT_SERVING");
                }
                let status = if ok {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                reporter.set_service_status(*service, status).await;
                last[i] = Some(ok);
            }
            outcomes[i].borrow_and_update();
        }
        let wait = if last.iter().all(|s| *s == Some(true)) {
            interval
        } else {
            DOWN_RETRY.min(interval)
        };
        // Any token request's outcome wakes the monitor at once.
        let changed = async {
            if outcomes.is_empty() {
                std::future::pending::<()>().await;
            }
            let _ = select_all(outcomes.iter_mut().map(|rx| Box::pin(rx.changed()))).await;
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = changed => {}
            () = shutdown.begun() => return,
        }
    }
}

async fn check(tokens: &TokenManager) -> bool {
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, tokens.token()).await,
        Ok(Ok(_))
    )
}
