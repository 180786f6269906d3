//! Task and live stream states fleet-wide: what one replica learns (a verified callback,
//! a poll as lease holder) reaches every replica's watchers.
//!
//! [`share`] stores each state as the item's latest snapshot (`<prefix>snap:<token>` for
//! tasks, `<prefix>stream-snap:<id>` for streams; with a TTL, for watchers that arrive
//! later) and publishes changes on `<prefix>task:<token>` / `<prefix>stream:<id>`
//! ([`crate::domain::watch::shared::kinds`]). Every replica runs [`subscribe`] once per kind: one pattern
//! subscription on its own connection, re-made after any disconnect, pushing each state
//! into the local hub. A state pushed twice wakes nobody (equal states are dropped by
//! the hub), so a replica hearing its own messages is harmless. Every state carries when
//! it was read ([`crate::domain::watch::ObservedAt`]), and the hub drops one read before
//! the state it has: Redis resuming after a stop delivers what it held back, old.

use super::{
    kinds::Watched,
    snapshot_codec::{self, Shared},
};
use crate::fleet::Fleet;
use crate::{
    domain::watch::{Hub, ObservedAt},
    support::shutdown::Shutdown,
};
use futures::StreamExt;
use std::{sync::Arc, time::Duration};
use tracing::debug;

/// How long a stored snapshot outlives its last update: long enough to span the
/// slowest poll pace, short enough that abandoned tasks leave Redis on their own.
pub const SNAPSHOT_TTL: Duration = Duration::from_secs(600);
/// Pause before re-subscribing after a failure (doubles up to [`MAX_RETRY`]).
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// One state to share: the item, its state, and whether to publish it (changed) or
/// only refresh the stored snapshot.
pub struct Item<'a, V> {
    /// The task token or stream id.
    pub token: &'a str,
    /// Its state.
    pub state: Shared<V>,
    /// When the state was read from the upstream.
    pub at: ObservedAt,
    /// True when watchers elsewhere should hear of it now.
    pub publish: bool,
}

/// Stores (and where asked, publishes) `items` in one round trip. Best effort: when
/// Redis is down, the other replicas poll for themselves.
pub async fn share<V: Watched>(fleet: &Fleet, items: &[Item<'_, V>]) {
    if items.is_empty() || !fleet.shares(V::KIND) {
        return;
    }
    let kind = V::KIND;
    let mut pipe = redis::pipe();
    for item in items {
        let bytes = snapshot_codec::encode(&item.state, item.at);
        pipe.cmd("SET")
            .arg(fleet.key(&format!("{}{}", kind.snapshot(), item.token)))
            .arg(&bytes)
            .arg("PX")
            .arg(SNAPSHOT_TTL.as_millis() as u64)
            .ignore();
        if item.publish {
            pipe.cmd("PUBLISH")
                .arg(fleet.key(&format!("{}{}", kind.channel(), item.token)))
                .arg(bytes)
                .ignore();
        }
    }
    let _: Result<(), crate::fleet::Down> = fleet
        .run("share state", |mut c| async move {
            pipe.query_async(&mut c).await
        })
        .await;
}

/// Shares a state a verified callback brought just now (a task's or a live stream's).
pub async fn share_callback<V: Watched>(fleet: &Fleet, token: &str, state: &V) {
    let item = Item {
        token,
        state: Shared::Value(Box::new(state.clone())),
        at: ObservedAt::now(),
        publish: true,
    };
    share(fleet, &[item]).await;
}

/// A stored snapshot and when its state was read (`None`: unknown).
pub type Stored<V> = (Shared<V>, Option<ObservedAt>);

/// Reads the stored snapshots of `tokens` (`None` where there is none).
pub async fn snapshots<V: Watched>(
    fleet: &Fleet,
    tokens: &[&str],
) -> Result<Vec<Option<Stored<V>>>, crate::fleet::Down> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    if !fleet.shares(V::KIND) {
        return Ok(tokens.iter().map(|_| None).collect());
    }
    let prefix = V::KIND.snapshot();
    let keys: Vec<String> = tokens
        .iter()
        .map(|t| fleet.key(&format!("{prefix}{t}")))
        .collect();
    let found: Vec<Option<Vec<u8>>> = fleet
        .run("read snapshots", |mut c| async move {
            redis::cmd("MGET").arg(&keys).query_async(&mut c).await
        })
        .await?;
    Ok(found
        .into_iter()
        .map(|bytes| bytes.as_deref().and_then(snapshot_codec::decode))
        .collect())
}

/// Escapes glob characters so a prefix matches only itself in a pattern.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Pushes every state of `V`'s kind published by the fleet into `hub` until `shutdown`
/// begins, re-subscribing after every disconnect.
///
/// A subscription is also left as soon as Redis stops answering other operations, and
/// made again once the probe finds it answering: reads on a pub/sub connection have no
/// bound of their own, and a stopped Redis keeps the connection open and silent (and
/// then delivers, late, what it held back), so only the fleet's bounded operations can
/// tell this connection is no longer worth waiting on.
pub async fn subscribe<V: Watched>(fleet: Arc<Fleet>, hub: Arc<Hub<V>>, shutdown: Shutdown) {
    let kind = V::KIND;
    let channels = fleet.key(kind.channel());
    let pattern = format!("{}*", glob_escape(&channels));
    let mut up = fleet.trouble().follow();
    let mut retry = FIRST_RETRY;
    loop {
        tokio::select! {
            _ = up.wait_for(|up| *up) => {}
            () = shutdown.begun() => return,
        }
        let connected = tokio::select! {
            result = fleet.psubscribe(&pattern) => result,
            () = shutdown.begun() => return,
        };
        if let Ok(mut pubsub) = connected {
            retry = FIRST_RETRY;
            debug!(kind = kind.name(), "subscribed to the fleet's states");
            let mut messages = pubsub.on_message();
            loop {
                let message = tokio::select! {
                    message = messages.next() => message,
                    _ = up.wait_for(|up| !*up) => break,
                    () = shutdown.begun() => return,
                };
                let Some(message) = message else {
                    fleet.failed("subscription", &"connection lost");
                    break;
                };
                let Some(token) = message.get_channel_name().strip_prefix(&channels) else {
                    continue;
                };
                if !fleet.shares(kind) {
                    continue;
                }
                if let Some((Shared::<V>::Value(state), at)) =
                    snapshot_codec::decode(message.get_payload_bytes())
                {
                    let terminal = state.is_terminal();
                    hub.push_observed(token, *state, terminal, at);
                }
            }
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            () = shutdown.begun() => return,
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_only_themselves() {
        assert_eq!(glob_escape("qgw:task:"), "qgw:task:");
        assert_eq!(glob_escape("a*b?[c]"), "a\\*b\\?\\[c\\]");
    }
}
