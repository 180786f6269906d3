//! One access token per project and API for the whole fleet.
//!
//! [`FleetTokens`] wraps an API's [`TokenSource`]: the token manager of each replica
//! still caches and refreshes as before, but its "fetch" first reads the fleet's token
//! from Redis (`<prefix>token:<project>:<api>`, so two projects never share a token,
//! stored with the upstream's lifetime as TTL). When there is none, or it is due for refresh, one replica takes a short lock
//! (`SET ... NX PX`), checks again, asks the upstream and stores the result; the others
//! poll the key for a bounded time (a refresh in progress leaves them the still-valid
//! token). An upstream refusal deletes the stored token only if it is still the refused
//! one (compare-and-delete in Lua), so a late invalidation never drops a fresh token.
//! Whenever Redis does not answer, the replica asks the upstream itself, as alone.

use crate::fleet::{Down, Fleet};
use crate::{
    support::{error::Error, secret::Secret},
    upstream::auth::{IssuedToken, TokenSource},
};
use futures::future::BoxFuture;
use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};
use tokio::time::Instant;

/// How long the lock of one upstream token request lasts (it is released as soon as the
/// token is stored); also the longest other replicas wait for it.
const LOCK_TTL: Duration = Duration::from_secs(10);
/// Pace at which waiting replicas look for the token being fetched.
const WAIT_POLL: Duration = Duration::from_millis(25);
/// The token manager treats tokens as expired this long early (`auth.rs`); a stored
/// token is due for refresh once less than a quarter of the rest of its life is left.
const MARGIN: Duration = Duration::from_secs(30);
const REFRESH_WHEN_LEFT: f64 = 0.25;

/// Deletes KEYS[1] only while it still holds the token ARGV[1] (after the lifetime).
static FORGET: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local v = redis.call('GET', KEYS[1])
if v then
  local at = string.find(v, ' ', 1, true)
  if at and string.sub(v, at + 1) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
end
return 0",
    )
});

/// Deletes KEYS[1] only while it holds ARGV[1]: releasing a lock (or lease) never
/// releases someone else's.
pub(super) static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0",
    )
});

/// An API's token source that shares its tokens with the fleet.
pub struct FleetTokens<S> {
    inner: S,
    fleet: Arc<Fleet>,
    /// `<prefix>token:<project>:<api>`: `"<lifetime ms> <token>"`, expiring with the
    /// token. The project is part of the key because each project's key issues its own
    /// tokens: a shared key would hand one project's token to another's calls.
    key: String,
    /// `<prefix>token:<project>:<api>:lock`: the replica fetching from the upstream.
    lock: String,
}

/// A token read from Redis.
struct Stored {
    value: Secret,
    /// Time to live Redis reports.
    left: Duration,
    /// The lifetime the upstream gave it.
    life: Duration,
}

impl Stored {
    fn due(&self) -> bool {
        let rest = self.life.saturating_sub(MARGIN).mul_f64(REFRESH_WHEN_LEFT);
        self.left <= MARGIN + rest
    }

    fn issued(self) -> IssuedToken {
        IssuedToken {
            value: self.value,
            lifetime: self.left,
        }
    }
}

impl<S: TokenSource> FleetTokens<S> {
    /// Shares `inner`'s tokens of `project` through `fleet`.
    pub fn new(inner: S, project: &str, fleet: Arc<Fleet>) -> Self {
        let key = fleet.key(&format!("token:{project}:{}", inner.api()));
        FleetTokens {
            lock: format!("{key}:lock"),
            key,
            inner,
            fleet,
        }
    }

    async fn read(&self) -> Result<Option<Stored>, Down> {
        let key = self.key.clone();
        let (text, ttl_ms): (Option<String>, i64) = self
            .fleet
            .run("read token", |mut c| async move {
                redis::pipe().get(&key).pttl(&key).query_async(&mut c).await
            })
            .await?;
        let Some((life, value)) = text.as_deref().and_then(|t| t.split_once(' ')) else {
            return Ok(None);
        };
        let (Ok(life_ms), Ok(left_ms)) = (life.parse::<u64>(), u64::try_from(ttl_ms)) else {
            return Ok(None);
        };
        if left_ms == 0 || value.is_empty() {
            return Ok(None);
        }
        Ok(Some(Stored {
            value: Secret::new(value),
            left: Duration::from_millis(left_ms),
            life: Duration::from_millis(life_ms),
        }))
    }

    async fn take_lock(&self) -> Result<bool, Down> {
        let (lock, owner) = (self.lock.clone(), self.fleet.replica().to_owned());
        let set: Option<String> = self
            .fleet
            .run("lock token", |mut c| async move {
                redis::cmd("SET")
                    .arg(&lock)
                    .arg(&owner)
                    .arg("NX")
                    .arg("PX")
                    .arg(LOCK_TTL.as_millis() as u64)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }

    async fn release_lock(&self) {
        let (lock, owner) = (self.lock.clone(), self.fleet.replica().to_owned());
        let _: Result<i64, Down> = self
            .fleet
            .run("unlock token", |mut c| async move {
                RELEASE.key(&lock).arg(&owner).invoke_async(&mut c).await
            })
            .await;
    }

    async fn store(&self, issued: &IssuedToken) {
        let ms = issued.lifetime.as_millis().max(1) as u64;
        let (key, text) = (self.key.clone(), format!("{ms} {}", issued.value.expose()));
        let _: Result<(), Down> = self
            .fleet
            .run("store token", |mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&text)
                    .arg("PX")
                    .arg(ms)
                    .query_async(&mut c)
                    .await
            })
            .await;
    }

    /// Holding the lock: unless another replica stored a fresh token meanwhile, asks
    /// the upstream and stores its answer. Releases the lock either way.
    async fn fetch_locked(&self) -> Result<IssuedToken, Error> {
        let result = match self.read().await {
            Ok(Some(stored)) if !stored.due() => Ok(stored.issued()),
            _ => {
                let fetched = self.inner.fetch().await;
                if let Ok(issued) = &fetched {
                    self.store(issued).await;
                }
                fetched
            }
        };
        self.release_lock().await;
        result
    }

    async fn fetch_shared(&self) -> Result<IssuedToken, Error> {
        let give_up = Instant::now() + LOCK_TTL;
        loop {
            let found = match self.read().await {
                Ok(Some(stored)) if !stored.due() => return Ok(stored.issued()),
                Ok(found) => found,
                Err(Down) => return self.inner.fetch().await,
            };
            match self.take_lock().await {
                Ok(true) => return self.fetch_locked().await,
                Ok(false) => {
                    // Someone refreshes; the current token is still good meanwhile.
                    if let Some(stored) = found {
                        return Ok(stored.issued());
                    }
                }
                Err(Down) => return self.inner.fetch().await,
            }
            if Instant::now() >= give_up {
                // The fetching replica seems stuck: do not wait for it any longer.
                return self.inner.fetch().await;
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }
}

impl<S: TokenSource> TokenSource for FleetTokens<S> {
    fn api(&self) -> &'static str {
        self.inner.api()
    }

    fn fetch(&self) -> BoxFuture<'_, Result<IssuedToken, Error>> {
        Box::pin(self.fetch_shared())
    }

    fn invalidate<'a>(&'a self, rejected: &'a Secret) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let (key, token) = (self.key.clone(), rejected.expose().to_owned());
            let _: Result<i64, Down> = self
                .fleet
                .run("forget token", |mut c| async move {
                    FORGET.key(&key).arg(&token).invoke_async(&mut c).await
                })
                .await;
        })
    }
}
