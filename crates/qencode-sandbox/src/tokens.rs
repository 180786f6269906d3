//! Issued access tokens and their expiry, one store per API (Transcoding session
//! tokens, Live bearer tokens), on tokio's clock so tests on a paused clock expire
//! them with `tokio::time::advance`.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Token → expiry (`None`: the TTL is too large to represent, so it never expires).
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    expiry: HashMap<String, Option<Instant>>,
}

impl TokenStore {
    /// Records `token`, issued at `now`, valid for `ttl`; forgets expired tokens first
    /// so a long-running sandbox stays small.
    pub(crate) fn issue(&mut self, token: String, now: Instant, ttl: Duration) {
        self.expiry
            .retain(|_, expiry| expiry.is_none_or(|expiry| expiry > now));
        self.expiry.insert(token, now.checked_add(ttl));
    }

    /// Whether `token` is current at `now`; drops it if it has expired.
    pub(crate) fn valid(&mut self, token: &str, now: Instant) -> bool {
        match self.expiry.get(token) {
            None => false,
            Some(Some(expiry)) if *expiry <= now => {
                self.expiry.remove(token);
                false
            }
            Some(_) => true,
        }
    }

    /// Forgets every token (a server-side revocation).
    pub(crate) fn clear(&mut self) {
        self.expiry.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_huge_ttls_do_not() {
        let now = Instant::now();
        let mut store = TokenStore::default();
        store.issue("a".into(), now, Duration::from_secs(10));
        store.issue("forever".into(), now, Duration::MAX);
        assert!(store.valid("a", now + Duration::from_secs(9)));
        assert!(!store.valid("a", now + Duration::from_secs(10)));
        assert!(!store.valid("a", now), "an expired token is dropped");
        assert!(store.valid("forever", now + Duration::from_secs(1 << 40)));
        assert!(!store.valid("never-issued", now));
        store.clear();
        assert!(!store.valid("forever", now));
    }
}
