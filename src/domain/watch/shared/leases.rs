//! One poller per watched item (task or live stream) across the fleet.
//!
//! [`LeasedSource`] wraps a poller's source. Before a poll, a replica claims a lease per
//! due item (`<prefix>lease:<token>` for tasks, `<prefix>stream-lease:<id>` for streams,
//! = its id, with a TTL; one Lua script for the whole batch) and polls only the items it
//! holds, sharing every result ([`crate::domain::watch::shared::snapshots::share`]: snapshot stored, changes
//! published). For items another replica holds it serves its watchers from the stored
//! snapshot and the channel, and asks the upstream nothing. [`LeasedSource::maintain`]
//! renews the held leases while local watchers remain (compare-and-set), releases the
//! others (compare-and-delete), and releases everything when shutdown begins, so the
//! fleet takes over at once; a dead holder's leases simply expire within one lease period.
//!
//! Batching is what keeps the upstream quiet for tasks, so task leases gather on one
//! replica: the holder of `<prefix>poller:task` (whoever takes it first, renewed like a
//! lease) takes free leases at once; any other replica takes a free lease only the second
//! time it finds it free, which leaves the preferred replica a tick to take it when it
//! watches the task too; and a replica that is not preferred yields the leases it holds
//! now and then, so leases taken in a race at start still gather. Live streams have no
//! batch read, so their leases do not gather: whoever finds one free takes it
//! ([`crate::domain::watch::shared::kinds::Kind::gathering_key`] says why). A watcher's first snapshot never waits
//! for gathering: an item with no state yet and no holder is polled at once without a
//! lease. A duplicate poll during a hand-over is harmless (equal states wake nobody).
//! While Redis does not answer, every replica polls all its items itself.

use super::{
    kinds::Watched,
    snapshot_codec::{self, Shared},
    snapshots::{self, Item},
};
use crate::fleet::{Down, Fleet};
use crate::{
    domain::watch::{
        poller::{Fetched, Source},
        Hub, ObservedAt,
    },
    support::shutdown::Shutdown,
};
use futures::future::BoxFuture;
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

/// For each KEYS[i]: renew it when ARGV[1] holds it (1), take it when free and ARGV[2+i]
/// is '1' (1), else 0 when free and 2 when someone else holds it. ARGV[2]: TTL in ms.
static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local out = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2]); out[i] = 1
  elseif not holder then
    if ARGV[2 + i] == '1' then redis.call('SET', key, ARGV[1], 'PX', ARGV[2]); out[i] = 1 else out[i] = 0 end
  else
    out[i] = 2
  end
end
return out",
    )
});

/// For each KEYS[i] that ARGV[1] holds: renew it (ARGV[2+i] = '1') or release it; 1 when
/// still held afterwards. ARGV[2]: TTL in ms.
static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local out = {}
for i, key in ipairs(KEYS) do
  out[i] = 0
  if redis.call('GET', key) == ARGV[1] then
    if ARGV[2 + i] == '1' then redis.call('PEXPIRE', key, ARGV[2]); out[i] = 1 else redis.call('DEL', key) end
  end
end
return out",
    )
});

/// What this replica knows of its leases.
#[derive(Default)]
struct Leases {
    /// Items whose lease this replica holds.
    held: HashSet<String>,
    /// The last state shared per held item, so only changes are published.
    shared: HashMap<String, Vec<u8>>,
    /// Items found without a holder once: taken the next time (when leases gather).
    seen_free: HashSet<String>,
    /// Whether this replica holds the gathering key (takes free leases at once).
    preferred: bool,
    /// Tasks whose lease this replica, not preferred, released so the preferred replica
    /// could gather them (taken back when it does not), with the renewal rounds since.
    yielded: HashMap<String, u32>,
}

/// Renewal rounds after which a replica that is not preferred yields a lease again (a
/// preferred replica that missed it the first time, under load, gets another chance).
const YIELD_AGAIN_AFTER: u32 = 10;

impl Leases {
    /// Whether to release `key` this round so the preferred replica can take it.
    fn yield_due(&mut self, key: &str) -> bool {
        match self.yielded.get_mut(key) {
            Some(rounds) if *rounds < YIELD_AGAIN_AFTER => {
                *rounds += 1;
                false
            }
            Some(rounds) => {
                *rounds = 0;
                true
            }
            None => {
                self.yielded.insert(key.to_owned(), 0);
                true
            }
        }
    }
}

/// A poller's source (tasks or streams, `V`), polling only the items this replica holds
/// the lease of.
pub struct LeasedSource<V, S> {
    /// The upstream source, asked only about held (or unclaimable) items.
    inner: Arc<S>,
    /// This replica's watchers: which items to keep leases for, and their last states.
    hub: Arc<Hub<V>>,
    fleet: Arc<Fleet>,
    /// How long a lease lasts unless renewed: the longest a dead holder's items go
    /// unpolled. From the kind's own poll interval ([`Fleet::lease_ttl_for`]).
    ttl: Duration,
    leases: Mutex<Leases>,
}

impl<V: Watched, S: Source<V>> LeasedSource<V, S> {
    /// Polls through `inner` what this replica holds; watchers live in `hub`; leases last
    /// `ttl` unless renewed.
    pub fn new(inner: Arc<S>, hub: Arc<Hub<V>>, fleet: Arc<Fleet>, ttl: Duration) -> Self {
        LeasedSource {
            inner,
            hub,
            fleet,
            ttl,
            leases: Mutex::new(Leases::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Leases> {
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lease_key(&self, token: &str) -> String {
        self.fleet.key(&format!("{}{token}", V::KIND.lease()))
    }

    /// Runs `script` on `keys` with one flag each; one result per key.
    async fn script(
        &self,
        what: &'static str,
        script: &'static redis::Script,
        keys: Vec<String>,
        flags: Vec<bool>,
    ) -> Result<Vec<i64>, Down> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let owner = self.fleet.replica().to_owned();
        let ttl = self.ttl.as_millis() as u64;
        self.fleet
            .run(what, |mut c| async move {
                let mut invocation = script.prepare_invoke();
                invocation.key(keys).arg(owner).arg(ttl);
                for flag in flags {
                    invocation.arg(if flag { "1" } else { "0" });
                }
                invocation.invoke_async(&mut c).await
            })
            .await
    }

    async fn poll(&self, keys: &[String]) -> HashMap<String, Fetched<V>> {
        if !self.fleet.shares(V::KIND) {
            return self.inner.fetch(keys).await;
        }
        let gathers = V::KIND.gathering_key().is_some();
        let may_take: Vec<bool> = {
            let leases = self.lock();
            keys.iter()
                .map(|k| {
                    !gathers
                        || leases.preferred
                        || leases.seen_free.contains(k)
                        || leases.held.contains(k)
                })
                .collect()
        };
        let lease_keys = keys.iter().map(|k| self.lease_key(k)).collect();
        let Ok(claims) = self
            .script("claim leases", &CLAIM, lease_keys, may_take)
            .await
        else {
            return self.inner.fetch(keys).await;
        };
        let (mut mine, mut direct, mut others) = (Vec::new(), Vec::new(), Vec::new());
        {
            let mut leases = self.lock();
            for (key, claim) in keys.iter().zip(claims) {
                match claim {
                    1 => {
                        leases.seen_free.remove(key);
                        leases.held.insert(key.clone());
                        mine.push(key.clone());
                    }
                    0 => {
                        leases.seen_free.insert(key.clone());
                        if self.hub.current(key).is_none() {
                            direct.push(key.clone());
                        } else {
                            others.push(key.as_str());
                        }
                    }
                    _ => {
                        leases.seen_free.remove(key);
                        if leases.held.remove(key) {
                            leases.shared.remove(key);
                        }
                        others.push(key.as_str());
                    }
                }
            }
        }
        let mut results = match snapshots::snapshots(&self.fleet, &others).await {
            Ok(found) => others
                .iter()
                .zip(found)
                .map(|(key, snapshot)| {
                    let fetched = match snapshot {
                        Some((Shared::Value(state), at)) => Fetched::Shared(*state, at),
                        Some((Shared::Missing, _)) => Fetched::Missing,
                        None => Fetched::Elsewhere,
                    };
                    ((*key).to_owned(), fetched)
                })
                .collect(),
            Err(Down) => {
                direct.extend(others.iter().map(|k| (*k).to_owned()));
                HashMap::new()
            }
        };
        let polled: Vec<String> = mine.iter().chain(&direct).cloned().collect();
        if !polled.is_empty() {
            let fetched = self.inner.fetch(&polled).await;
            // One reading time for the hub here and for every replica's, so this
            // replica orders its own readings as the others do.
            let at = ObservedAt::now();
            self.share_held(&mine, &fetched, at).await;
            results.extend(fetched.into_iter().map(|(key, fetched)| {
                let fetched = match fetched {
                    Fetched::Value(state) => Fetched::Shared(state, Some(at)),
                    other => other,
                };
                (key, fetched)
            }));
        }
        results
    }

    /// Shares what this replica, as holder, just learned about `mine` (read at `at`).
    async fn share_held(
        &self,
        mine: &[String],
        fetched: &HashMap<String, Fetched<V>>,
        at: ObservedAt,
    ) {
        let mut items = Vec::new();
        {
            let mut leases = self.lock();
            for key in mine {
                let state = match fetched.get(key) {
                    Some(Fetched::Value(state) | Fetched::Shared(state, _)) => {
                        Shared::Value(Box::new(state.clone()))
                    }
                    Some(Fetched::Missing) | None => Shared::Missing,
                    Some(Fetched::Failed(_) | Fetched::Elsewhere) => continue,
                };
                // The state alone: a new reading of the same state is no change.
                let bytes = snapshot_codec::encode_state(&state);
                let changed = leases.shared.get(key) != Some(&bytes);
                if changed {
                    leases.shared.insert(key.clone(), bytes);
                }
                items.push(Item {
                    token: key,
                    state,
                    at,
                    publish: changed,
                });
            }
        }
        snapshots::share(&self.fleet, &items).await;
    }

    /// Renews the gathering key (when the kind has one) and the held leases every third
    /// of a lease period, drops what nobody here watches any more, and releases
    /// everything when `shutdown` begins.
    pub async fn maintain(self: Arc<Self>, shutdown: Shutdown) {
        let kind = V::KIND;
        let poller_key = kind.gathering_key().map(|name| self.fleet.key(name));
        let every = self.ttl / 3;
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = shutdown.begun() => break,
            }
            let preferred = match &poller_key {
                Some(key) => self
                    .script("claim poller", &CLAIM, vec![key.clone()], vec![true])
                    .await
                    .is_ok_and(|r| r.first() == Some(&1)),
                None => false,
            };
            let gathers = poller_key.is_some();
            let (held, keep): (Vec<String>, Vec<bool>) = {
                let mut leases = self.lock();
                let held: Vec<String> = leases.held.iter().cloned().collect();
                let keep = held
                    .iter()
                    .map(|k| {
                        let yields = gathers && !preferred && leases.yield_due(k);
                        self.hub.is_watched(k) && !yields
                    })
                    .collect();
                (held, keep)
            };
            let keys = held.iter().map(|k| self.lease_key(k)).collect();
            let renewed = self.script("renew leases", &RENEW, keys, keep).await;
            let mut leases = self.lock();
            leases.preferred = preferred;
            if let Ok(renewed) = renewed {
                for (key, still) in held.iter().zip(renewed) {
                    if still != 1 {
                        leases.held.remove(key);
                        leases.shared.remove(key);
                    }
                }
            }
            let hub = &self.hub;
            leases.seen_free.retain(|k| hub.is_watched(k));
            leases.yielded.retain(|k, _| hub.is_watched(k));
            self.fleet.set_leases_held(kind, leases.held.len());
        }
        // Shutting down: hand everything to the fleet now rather than at expiry.
        let mut keys: Vec<String> = self.lock().held.iter().map(|k| self.lease_key(k)).collect();
        keys.extend(poller_key);
        let release = vec![false; keys.len()];
        let _ = self.script("release leases", &RENEW, keys, release).await;
        self.fleet.set_leases_held(kind, 0);
    }
}

impl<V: Watched, S: Source<V>> Source<V> for LeasedSource<V, S> {
    fn fetch<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, HashMap<String, Fetched<V>>> {
        Box::pin(self.poll(keys))
    }

    fn is_terminal(&self, value: &V) -> bool {
        self.inner.is_terminal(value)
    }

    /// As the inner source: a stream that disappears (here or in the stored snapshot)
    /// was deleted.
    fn gone(&self, last: &V) -> Option<V> {
        self.inner.gone(last)
    }
}
