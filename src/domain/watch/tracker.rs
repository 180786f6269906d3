//! Every started task in the ledger followed to its end, watched or not, and its state
//! changes written to the ledger.
//!
//! The tracker holds a subscription in the task hub for each such task
//! ([`Hub::track`]: no watcher slot taken), so the one poller fetches them with the
//! watched ones, in the same batches on the same ticks: tracking adds no upstream
//! request for a task that is also watched, and one per batch per interval for the
//! rest. In a fleet the hub's ids go through the leases like watched ones, so one
//! replica polls each task and every replica hears its states. Tracking resumes from the
//! ledger at start and rescans it periodically (tasks started on another replica, or
//! announced while the tracker lagged), so no task is left behind.

use super::{Hub, Observed};
use crate::{
    ledger::Ledger, pb::TaskStatus, support::shutdown::Shutdown, upstream::task_status::is_terminal,
};
use futures::{stream::SelectAll, StreamExt};
use std::{collections::HashSet, pin::Pin, sync::Arc, time::Duration};
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, warn};

/// How many poll intervals pass between two reads of the ledger for tasks to follow
/// (a minute at the default 5 s).
pub const RESCAN_INTERVALS: u32 = 12;

/// One followed task's states, ending after its last one.
type Updates = Pin<Box<dyn futures::Stream<Item = (String, Observed<TaskStatus>)> + Send>>;

/// Follows every started task in `ledger` until shutdown.
pub async fn run(
    hub: Arc<Hub<TaskStatus>>,
    ledger: Ledger,
    rescan_every: Duration,
    shutdown: Shutdown,
) {
    let mut started = ledger.started_tasks();
    let mut tracked: HashSet<String> = HashSet::new();
    let mut updates: SelectAll<Updates> = SelectAll::new();
    let mut rescan = tokio::time::interval(rescan_every);
    rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = shutdown.begun();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = rescan.tick() => match ledger.active_started_tasks().await {
                Ok(tokens) => {
                    for token in tokens {
                        follow(&hub, &mut tracked, &mut updates, token);
                    }
                }
                Err(e) => warn!(error = %e.message, "tracker: cannot read the tasks to follow; retrying at the next rescan"),
            },
            announced = started.recv() => match announced {
                Ok(token) => follow(&hub, &mut tracked, &mut updates, token),
                // Missed some: the next rescan finds them.
                Err(RecvError::Lagged(missed)) => debug!(missed, "tracker lagged behind started tasks"),
                Err(RecvError::Closed) => return,
            },
            Some((token, observed)) = updates.next(), if !updates.is_empty() => {
                record(&ledger, &mut tracked, &token, &observed).await;
            }
        }
    }
}

/// Starts following `token` unless it is followed already.
fn follow(
    hub: &Hub<TaskStatus>,
    tracked: &mut HashSet<String>,
    updates: &mut SelectAll<Updates>,
    token: String,
) {
    if !tracked.insert(token.clone()) {
        return;
    }
    let subscription = hub.track(&token);
    // The states as they change, the first one as soon as there is one; the stream ends
    // right after a terminal state (or a missing task), dropping the subscription, so
    // the hub forgets the id.
    let states = futures::stream::unfold(
        (subscription, false, true),
        |(mut sub, ended, mut first)| async move {
            if ended {
                return None;
            }
            loop {
                if !first && sub.rx.changed().await.is_err() {
                    // The hub let go (shutdown).
                    return None;
                }
                first = false;
                let current = sub.rx.borrow_and_update().clone();
                if let Some(observed) = current {
                    let ended = match &observed {
                        Observed::Value(status) | Observed::Stale(status, _) => is_terminal(status),
                        Observed::Missing => true,
                        Observed::Failed(_) => false,
                    };
                    return Some((observed, (sub, ended, false)));
                }
            }
        },
    )
    .map(move |observed| (token.clone(), observed));
    updates.push(Box::pin(states));
}

/// Writes what a followed task's state is now; forgets it once it ended.
async fn record(
    ledger: &Ledger,
    tracked: &mut HashSet<String>,
    token: &str,
    observed: &Observed<TaskStatus>,
) {
    let (written, ended) = match observed {
        Observed::Value(status) => (
            ledger.record_status(token, status).await,
            is_terminal(status),
        ),
        Observed::Missing => (ledger.record_missing(token).await, true),
        // Polls fail: the last state stands; the watchers hear it is stale.
        Observed::Stale(..) | Observed::Failed(_) => return,
    };
    match written {
        // Ended: no longer followed here (a rescan finds it again only if the write
        // below failed and the ledger still says it is active).
        Ok(()) if ended => {
            tracked.remove(token);
        }
        Ok(()) => {}
        Err(e) => {
            warn!(error = %e.message, "tracker: cannot record a task's state; the next change or rescan retries");
            if ended {
                tracked.remove(token);
            }
        }
    }
}
