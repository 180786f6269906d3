//! Server streams count against their caps from their first byte, their HEADERS, not
//! from their request message.
//!
//! A watch took its `GATEWAY_MAX_WATCHERS` slot only when its request message had
//! arrived, and health `Watch` and reflection counted against nothing, so streams
//! opened with HEADERS alone escaped every cap: 50,000 of them on 50 connections held
//! ~860 MiB for as long as the client liked. Now the layer takes the slot before it
//! waits for the message (which the default deadline bounds, `admission::arrive`):
//! - the gateway's watches take a watcher slot of the one [`WatcherLimit`] the hubs
//!   share, and hand it to the watch once the message is there ([`HeldWatcher`]), so a
//!   stream is counted once, from its HEADERS to its end;
//! - health `Watch` and reflection, which any client may open even with a policy,
//!   take an open-stream slot ([`OpenSlot`]): at most [`OPEN_STREAMS_PER_CONNECTION`]
//!   per connection and `GATEWAY_MAX_CONNECTIONS` in all (one per connection on
//!   average: gRPC's client-side health checking opens one `Watch` per connection).
//!   Apart from the watcher cap, so an unauthenticated client cannot use up the slots
//!   of the callers a policy lets watch.

use crate::support::reasons;
use crate::{
    domain::watch::{Permit, WatcherLimit},
    support::{
        error::{Error, ErrorKind, GATEWAY_DOMAIN},
        limit_hits::{bite, Throttle},
    },
};
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

/// Most health `Watch` and reflection streams one connection may hold open: a client
/// watching every health name of a gateway with a few projects fits, a flood does not
/// (HTTP/2 lets a connection open `GATEWAY_MAX_CONCURRENT_STREAMS`, 1,000 by default).
pub const OPEN_STREAMS_PER_CONNECTION: usize = 8;

/// A watcher slot taken from a watch's HEADERS, waiting in the request's extensions
/// for the watch to take it ([`HeldWatcher::take`]); freed with the request if the
/// call ends before that.
#[derive(Clone, Debug)]
pub struct HeldWatcher(Arc<Mutex<Option<Permit>>>);

impl HeldWatcher {
    /// The slot, once (later calls get `None`).
    pub fn take(&self) -> Option<Permit> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The caps streams count against; cheap to clone.
#[derive(Clone, Default)]
pub(super) struct StreamSlots {
    /// The hubs' watcher limit (`None` for a layer built without a gateway: the watch
    /// then takes its slot itself, when its message arrives).
    watchers: Option<Arc<WatcherLimit>>,
    open: Arc<OpenStreams>,
}

struct OpenStreams {
    /// Most open streams in all.
    total: usize,
    /// (open streams in all, open streams per connection).
    counts: Mutex<(usize, HashMap<SocketAddr, usize>)>,
}

impl Default for OpenStreams {
    /// No total cap (a layer built without a gateway); the per-connection one holds.
    fn default() -> Self {
        OpenStreams {
            total: usize::MAX,
            counts: Mutex::default(),
        }
    }
}

/// One open health `Watch` or reflection stream; freed on drop.
pub(super) struct OpenSlot {
    open: Arc<OpenStreams>,
    connection: Option<SocketAddr>,
}

impl StreamSlots {
    /// Watches count against `watchers`; at most `open_total` open streams in all.
    pub(super) fn new(watchers: Arc<WatcherLimit>, open_total: usize) -> Self {
        StreamSlots {
            watchers: Some(watchers),
            open: Arc::new(OpenStreams {
                total: open_total,
                counts: Mutex::default(),
            }),
        }
    }

    /// A watcher slot for a watch whose HEADERS just arrived, or RESOURCE_EXHAUSTED
    /// (`TOO_MANY_WATCHERS`) at once.
    pub(super) fn watcher(&self) -> Result<Option<HeldWatcher>, Error> {
        let Some(limit) = &self.watchers else {
            return Ok(None);
        };
        match limit.acquire() {
            Ok(permit) => Ok(Some(HeldWatcher(Arc::new(Mutex::new(Some(permit)))))),
            Err(refusal) => {
                static THROTTLE: Throttle = Throttle::new();
                bite(
                    &THROTTLE,
                    "GATEWAY_MAX_WATCHERS",
                    "grpc",
                    "a watch was refused: the gateway serves its maximum of watchers",
                );
                Err(refusal)
            }
        }
    }

    /// An open-stream slot on the connection from `connection`, or RESOURCE_EXHAUSTED
    /// (`TOO_MANY_OPEN_STREAMS`) at once.
    pub(super) fn open(&self, connection: Option<SocketAddr>) -> Result<OpenSlot, Error> {
        let open = &self.open;
        let mut counts = open.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let (all, per_connection) = &mut *counts;
        let on_connection = connection.map_or(0, |c| per_connection.get(&c).copied().unwrap_or(0));
        let refusal = if on_connection >= OPEN_STREAMS_PER_CONNECTION {
            Some((
                "per_connection",
                format!("this connection already holds its {OPEN_STREAMS_PER_CONNECTION} health Watch and reflection streams"),
            ))
        } else if *all >= open.total {
            Some((
                "GATEWAY_MAX_CONNECTIONS",
                format!(
                    "the gateway already serves its {} health Watch and reflection streams (GATEWAY_MAX_CONNECTIONS)",
                    open.total
                ),
            ))
        } else {
            None
        };
        if let Some((limit, message)) = refusal {
            static THROTTLE: Throttle = Throttle::new();
            bite(
                &THROTTLE,
                "open_streams",
                "grpc",
                "a health Watch or reflection stream was refused: too many open",
            );
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                GATEWAY_DOMAIN,
                reasons::TOO_MANY_OPEN_STREAMS,
                message,
            )
            .with_metadata("limit", limit));
        }
        *all += 1;
        if let Some(c) = connection {
            *per_connection.entry(c).or_insert(0) += 1;
        }
        Ok(OpenSlot {
            open: open.clone(),
            connection,
        })
    }
}

impl Drop for OpenSlot {
    fn drop(&mut self) {
        let mut counts = self
            .open
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (all, per_connection) = &mut *counts;
        *all = all.saturating_sub(1);
        if let Some(c) = self.connection {
            if let Some(n) = per_connection.get_mut(&c) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    per_connection.remove(&c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_streams_are_capped_per_connection_and_in_all() {
        let slots = StreamSlots::new(WatcherLimit::new(1), OPEN_STREAMS_PER_CONNECTION + 2);
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:1001".parse().unwrap();
        let mut on_a: Vec<_> = (0..OPEN_STREAMS_PER_CONNECTION)
            .map(|_| slots.open(Some(a)).unwrap())
            .collect();
        let refused = slots.open(Some(a)).err().unwrap();
        assert_eq!(refused.reason, "TOO_MANY_OPEN_STREAMS");
        assert_eq!(
            refused.metadata.get("limit").map(String::as_str),
            Some("per_connection")
        );
        let _b1 = slots.open(Some(b)).unwrap();
        let _b2 = slots.open(Some(b)).unwrap();
        let full = slots.open(Some(b)).err().unwrap();
        assert_eq!(
            full.metadata.get("limit").map(String::as_str),
            Some("GATEWAY_MAX_CONNECTIONS")
        );
        on_a.pop();
        assert!(slots.open(Some(a)).is_ok(), "a freed slot is free again");
    }

    #[test]
    fn a_held_watcher_counts_until_taken_and_dropped() {
        let limit = WatcherLimit::new(1);
        let slots = StreamSlots::new(limit.clone(), 1);
        let held = slots.watcher().unwrap().unwrap();
        assert_eq!(limit.open(), 1);
        assert_eq!(
            slots.watcher().err().unwrap().kind,
            ErrorKind::ResourceExhausted
        );
        let permit = held.take().expect("the slot");
        assert!(held.take().is_none(), "taken once");
        assert_eq!(limit.open(), 1, "still counted while the watch holds it");
        drop(permit);
        assert_eq!(limit.open(), 0);
    }
}
