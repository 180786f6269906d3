//! [`TokenMemory`]: what the gateway remembers per task token (that it created the task,
//! which project did), in about 50 bytes an entry.
//!
//! Every CreateTask adds an entry, kept for a day up to a cap of 100,000 or more. In a
//! moka cache each entry cost ~400 bytes (its key string, the entry, its timer and
//! deque nodes), so 100,000 CreateTask calls grew the gateway by ~80 MiB
//! (`cargo bench --bench unary`). Here a token is kept as a 128-bit keyed digest (random
//! keys per process, so no caller can craft two tokens that collide) with a small value
//! and its insertion second, in one hash map plus one queue in insertion order that
//! expires and evicts from its front: bounded by count and by age, O(1) per call.

use std::{
    collections::{HashMap, VecDeque},
    hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState},
    sync::Mutex,
    time::Duration,
};
use tokio::time::Instant;

/// A token's digest.
type Digest = [u8; 16];

/// A bounded, expiring map from task tokens to small `V`s.
pub struct TokenMemory<V> {
    inner: Mutex<Inner<V>>,
    capacity: usize,
    ttl: Duration,
    keys: (RandomState, RandomState),
    epoch: Instant,
}

struct Inner<V> {
    /// Digest -> value and the second (since `epoch`) it was stored.
    entries: HashMap<Digest, (V, u32), BuildHasherDefault<DigestHasher>>,
    /// Digests in the order they were stored, with that second: an entry whose second
    /// differs was stored again later, and its old place here is skipped.
    order: VecDeque<(Digest, u32)>,
}

impl<V: Copy> TokenMemory<V> {
    /// A memory of at most `capacity` tokens, each kept for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        TokenMemory {
            inner: Mutex::new(Inner {
                entries: HashMap::default(),
                order: VecDeque::new(),
            }),
            capacity: capacity.max(1),
            ttl,
            keys: (RandomState::new(), RandomState::new()),
            epoch: Instant::now(),
        }
    }

    /// Remembers `value` for `token` (replacing what was there), forgetting the oldest
    /// entries past the capacity and every expired one at the front.
    pub fn insert(&self, token: &str, value: V) {
        let digest = self.digest(token);
        let now = self.second();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        // Stored again within the same second: its place in the queue stays right.
        let previous = inner.entries.insert(digest, (value, now));
        if previous.is_none_or(|(_, at)| at != now) {
            inner.order.push_back((digest, now));
        }
        while let Some(&(oldest, at)) = inner.order.front() {
            let full = inner.entries.len() > self.capacity;
            if !full && !self.expired(at, now) {
                break;
            }
            inner.order.pop_front();
            if inner
                .entries
                .get(&oldest)
                .is_some_and(|(_, stored)| *stored == at)
            {
                inner.entries.remove(&oldest);
            }
        }
        // Places of entries stored again pile up only as fast as calls come; keep the
        // queue from outgrowing the map by much.
        if inner.order.len() > 2 * self.capacity {
            let Inner { entries, order } = &mut *inner;
            order.retain(|(d, at)| entries.get(d).is_some_and(|(_, s)| s == at));
        }
    }

    /// What is remembered for `token`, unless it expired.
    pub fn get(&self, token: &str) -> Option<V> {
        let digest = self.digest(token);
        let now = self.second();
        let inner = self.inner.lock().ok()?;
        let (value, at) = inner.entries.get(&digest)?;
        (!self.expired(*at, now)).then_some(*value)
    }

    /// True when `token` is remembered.
    pub fn contains(&self, token: &str) -> bool {
        self.get(token).is_some()
    }

    /// Tokens remembered now (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.entries.len())
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn digest(&self, token: &str) -> Digest {
        let mut digest = [0u8; 16];
        digest[..8].copy_from_slice(&self.keys.0.hash_one(token).to_le_bytes());
        digest[8..].copy_from_slice(&self.keys.1.hash_one(token).to_le_bytes());
        digest
    }

    fn second(&self) -> u32 {
        let elapsed = Instant::now().saturating_duration_since(self.epoch);
        u32::try_from(elapsed.as_secs()).unwrap_or(u32::MAX)
    }

    fn expired(&self, at: u32, now: u32) -> bool {
        u64::from(now.saturating_sub(at)) >= self.ttl.as_secs().max(1)
    }
}

/// The map's own hasher: a digest is already uniformly random, so its first 8 bytes
/// are the hash.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, byte) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(*byte) << (8 * i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tokens_are_remembered_until_they_expire() {
        let memory = TokenMemory::new(10, Duration::from_secs(60));
        memory.insert("a", 1u16);
        memory.insert("b", 2u16);
        assert_eq!((memory.get("a"), memory.get("b")), (Some(1), Some(2)));
        assert_eq!(memory.get("c"), None);
        memory.insert("a", 3);
        assert_eq!(
            memory.get("a"),
            Some(3),
            "stored again, the new value counts"
        );
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(memory.contains("a"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!memory.contains("a") && !memory.contains("b"));
        memory.insert("c", 4);
        assert_eq!(memory.len(), 1, "expired entries leave as new ones come");
    }

    #[tokio::test(start_paused = true)]
    async fn the_oldest_go_past_the_capacity() {
        let memory = TokenMemory::new(100, Duration::from_secs(3600));
        for i in 0..1_000 {
            memory.insert(&format!("token-{i}"), ());
        }
        assert_eq!(memory.len(), 100);
        assert!(!memory.contains("token-899"));
        assert!(memory.contains("token-900") && memory.contains("token-999"));
        // A token stored again is not evicted by its own older place in the queue.
        for _ in 0..1_000 {
            memory.insert("token-999", ());
        }
        assert!(memory.contains("token-999"));
        assert!(memory.inner.lock().unwrap().order.len() <= 200);
    }

    #[test]
    fn an_entry_costs_well_under_a_hundred_bytes() {
        let entry = std::mem::size_of::<(Digest, (u16, u32))>() + 1;
        let place = std::mem::size_of::<(Digest, u32)>();
        assert!(entry + place <= 64, "{entry} + {place}");
    }
}
