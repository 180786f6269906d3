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
    /// Token → the API key it was issued for, so tests can tell which project's key
    /// a request used ([`crate::Sandbox::key_uses`]).
    keys: HashMap<String, String>,
}

impl TokenStore {
    /// Records `token`, issued at `now`, valid for `ttl`; forgets expired tokens first
    /// so a long-running sandbox stays small.
    pub(crate) fn issue(&mut self, token: String, now: Instant, ttl: Duration) {
        self.expiry
            .retain(|_, expiry| expiry.is_none_or(|expiry| expiry > now));
        let expiry = &self.expiry;
        self.keys.retain(|token, _| expiry.contains_key(token));
        self.expiry.insert(token, now.checked_add(ttl));
    }

    /// Like [`TokenStore::issue`], remembering the API key `token` was issued for.
    pub(crate) fn issue_for(&mut self, key: &str, token: String, now: Instant, ttl: Duration) {
        self.issue(token.clone(), now, ttl);
        self.keys.insert(token, key.to_owned());
    }

    /// The API key `token` was issued for.
    pub(crate) fn key_of(&self, token: &str) -> Option<&str> {
        self.keys.get(token).map(String::as_str)
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
        self.keys.clear();
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
