//! Health that tells the truth.
//!
//! `""` (the whole server) is NOT_SERVING during start-up and from the moment shutdown
//! begins. Each service is SERVING only while its upstream access token can be obtained:
//! the monitor follows every token request's outcome (so a refused key shows at once),
//! and checks again on an interval, every second while a service is down, so it comes
//! back as soon as the upstream accepts the key again.
//!
//! With several Qencode projects, `<service>@<project>` (e.g.
//! `qencode.gateway.v1.Transcoding@main`) follows one project's token, and the plain
//! service name is SERVING while any project's token can be obtained: a project's
//! revoked key is the same on every replica, so taking replicas out of a balancer
//! for it would only stop the other projects' calls too. Operators and alerts watch
//! the project names.

use crate::{support::shutdown::Shutdown, upstream::auth::TokenManager};
use futures::future::select_all;
use std::{collections::HashMap, time::Duration};
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

/// Health names and the token managers each follows: a name is SERVING while any one
/// of its managers can get a token.
pub type Entries = Vec<(String, Vec<TokenManager>)>;

/// Follows `entries` (asked again every round, so projects added or re-keyed by a
/// policy reload are followed from the next round) until `shutdown` begins. A name
/// that is no longer listed (a removed project) is set to NOT_SERVING once.
pub async fn monitor(
    reporter: HealthReporter,
    entries: impl Fn() -> Entries + Send + 'static,
    interval: Duration,
    shutdown: Shutdown,
) {
    let mut last: HashMap<String, bool> = HashMap::new();
    loop {
        let services = entries();
        let mut outcomes: Vec<watch::Receiver<Option<bool>>> = Vec::new();
        for (service, managers) in &services {
            // A check that fails right after a failed request does not hit the upstream:
            // the token manager's shared back-off answers it.
            let mut ok = false;
            for tokens in managers {
                let mut outcome = tokens.health();
                ok |= check(tokens).await;
                outcome.borrow_and_update();
                outcomes.push(outcome);
            }
            if shutdown.has_begun() {
                return;
            }
            if last.get(service) != Some(&ok) {
                if ok {
                    info!(service = %service, "upstream token available: SERVING");
                } else {
                    warn!(service = %service, "upstream token unavailable: NOT_SERVING");
                }
                let status = if ok {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                reporter.set_service_status(service, status).await;
                last.insert(service.clone(), ok);
            }
        }
        let gone: Vec<String> = last
            .keys()
            .filter(|name| !services.iter().any(|(s, _)| s == *name))
            .cloned()
            .collect();
        for name in gone {
            reporter
                .set_service_status(&name, ServingStatus::NotServing)
                .await;
            last.remove(&name);
        }
        let wait = if last.values().all(|ok| *ok) {
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
