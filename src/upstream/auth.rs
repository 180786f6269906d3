//! The central token manager, shared by both APIs.
//!
//! Callers ask for a token; the manager hands out the cached one. Concurrent callers on a
//! cold cache share one upstream request (moka's coalescing init), which runs in a task of
//! its own: a caller waits for it only until its call's deadline
//! ([`TokenManager::token_within`]) and then answers DEADLINE_EXCEEDED itself, while the
//! request goes on for the callers still waiting (a hung token endpoint once held calls
//! for the HTTP client's 3 attempts of 30 s, past any deadline). At about 80% of a
//! token's lifetime a single background refresh replaces it, so callers never wait on a
//! refresh. When the upstream rejects a token, [`TokenManager::with_token`] invalidates
//! it, fetches a new one and retries the call once. Failed fetches are not cached, but a
//! short back-off shared by all callers keeps a dead upstream from being hammered.
//!
//! Time is `tokio::time::Instant`, so tests drive expiry with tokio's paused clock.

pub mod fleet_tokens;

use super::deadline::Deadline;
use crate::support::reasons;
use crate::support::{
    error::{Error, ErrorKind, GATEWAY_DOMAIN},
    secret::Secret,
};
use futures::future::{BoxFuture, FutureExt, Shared};
use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// Fraction of a token's lifetime after which it is refreshed in the background.
const REFRESH_FRACTION: f64 = 0.8;
/// Tokens are treated as expired this long before the upstream's expiry (clock skew).
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// First and longest back-off after a failed fetch.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// A token as the upstream issued it.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token.
    pub value: Secret,
    /// How long it is valid from now.
    pub lifetime: Duration,
}

/// Fetches a new token from an upstream (one implementation per API).
pub trait TokenSource: Send + Sync + 'static {
    /// Which API, for logs and metrics.
    fn api(&self) -> &'static str;
    /// Requests a new token.
    fn fetch(&self) -> BoxFuture<'_, Result<IssuedToken, Error>>;
    /// Told when the upstream refused `rejected`, before the manager forgets it; a source
    /// that shares tokens (fleet mode) forgets it there too. Nothing to do by default.
    fn invalidate<'a>(&'a self, _rejected: &'a Secret) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// What a call made with a token reports.
#[derive(Debug)]
pub enum TokenCallError {
    /// The upstream refused the token itself: invalidate, refresh, retry once. The error
    /// is what the caller gets if the fresh token is refused too.
    TokenRejected(Error),
    /// Any other failure.
    Other(Error),
}

/// Counters for metrics and tests.
#[derive(Debug, Default)]
pub struct TokenStats {
    /// Upstream token requests made (initial and after invalidation).
    pub fetches: AtomicU64,
    /// Background refreshes made ahead of expiry.
    pub refreshes: AtomicU64,
    /// Failed upstream token requests.
    pub failures: AtomicU64,
    /// Calls answered from the cache.
    pub hits: AtomicU64,
}

#[derive(Debug)]
struct CachedToken {
    value: Secret,
    refresh_at: Instant,
    expires_at: Instant,
}

/// An upstream token request under way, shared by every caller waiting for it.
type Fetching = Shared<BoxFuture<'static, Result<Arc<CachedToken>, Error>>>;

#[derive(Debug, Default)]
struct Backoff {
    until: Option<Instant>,
    delay: Duration,
    last_error: Option<Error>,
}

/// Caches and refreshes one API's access token.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    source: Box<dyn TokenSource>,
    /// One entry (the current token); moka coalesces concurrent fetches of it.
    cache: moka::future::Cache<(), Arc<CachedToken>>,
    /// The upstream request under way, in its own task: a caller that stops waiting at
    /// its deadline drops only its wait, so the request is neither cancelled for the
    /// others nor started again by the next caller moka hands the init to.
    inflight: Mutex<Option<Fetching>>,
    /// True while a background refresh runs, so only one runs at a time.
    refreshing: AtomicBool,
    backoff: Mutex<Backoff>,
    stats: TokenStats,
    /// Whether the last upstream token request succeeded (`None` before the first one):
    /// health checks follow it.
    healthy: tokio::sync::watch::Sender<Option<bool>>,
}

impl TokenManager {
    /// A manager for `source`.
    pub fn new(source: impl TokenSource) -> Self {
        TokenManager {
            inner: Arc::new(Inner {
                source: Box::new(source),
                cache: moka::future::Cache::new(1),
                inflight: Mutex::new(None),
                refreshing: AtomicBool::new(false),
                backoff: Mutex::new(Backoff::default()),
                stats: TokenStats::default(),
                healthy: tokio::sync::watch::Sender::new(None),
            }),
        }
    }

    /// Counters for metrics and tests.
    pub fn stats(&self) -> &TokenStats {
        &self.inner.stats
    }

    /// Which API this manager serves ("transcoding", "live").
    pub fn api(&self) -> &'static str {
        self.inner.source.api()
    }

    /// Follows whether the last upstream token request succeeded.
    pub fn health(&self) -> tokio::sync::watch::Receiver<Option<bool>> {
        self.inner.healthy.subscribe()
    }

    /// The current token, fetching one if there is none or it expired. The wait is
    /// bounded only by the upstream client's own timeouts: for health checks and tools;
    /// calls use [`TokenManager::token_within`].
    pub async fn token(&self) -> Result<Secret, Error> {
        self.current().await
    }

    /// The current token, waiting for a fetch no longer than `deadline` leaves (less the
    /// margin the gateway keeps to answer in): then DEADLINE_EXCEEDED, answered by the
    /// gateway before the caller's own timer fires, while the fetch goes on for others.
    pub async fn token_within(&self, deadline: Deadline) -> Result<Secret, Error> {
        let Some(left) = deadline.remaining() else {
            return self.current().await;
        };
        match tokio::time::timeout(left, self.current()).await {
            Ok(result) => result,
            Err(_) => Err(Error::deadline_exceeded(format!(
                "the call's deadline (its grpc-timeout, or GATEWAY_DEFAULT_DEADLINE when it sent none) expired after {left:?} waiting for an access token from Qencode's {} API",
                self.api()
            ))
            .with_metadata("api", self.api())
            .with_metadata("waiting_for", "access_token")),
        }
    }

    async fn current(&self) -> Result<Secret, Error> {
        let inner = &self.inner;
        // Two rounds at most: the second runs only when the cached token had expired.
        for _ in 0..2 {
            let fetched = AtomicBool::new(false);
            let entry = inner
                .cache
                .entry(())
                .or_try_insert_with(async {
                    fetched.store(true, Ordering::Relaxed);
                    self.fetch_shared().await
                })
                .await
                .map_err(|e: Arc<Error>| (*e).clone())?;
            let token = entry.into_value();
            let now = Instant::now();
            if now >= token.expires_at {
                self.remove_if(|current| Arc::ptr_eq(current, &token)).await;
                continue;
            }
            if !fetched.load(Ordering::Relaxed) {
                inner.stats.hits.fetch_add(1, Ordering::Relaxed);
            }
            if now >= token.refresh_at {
                self.spawn_refresh();
            }
            return Ok(token.value.clone());
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            GATEWAY_DOMAIN,
            reasons::TOKEN_EXPIRED_ON_ARRIVAL,
            format!(
                "the {} API issued a token that had already expired",
                inner.source.api()
            ),
        ))
    }

    /// Forgets `rejected` if it is still the current token, so the next call fetches.
    ///
    /// The source forgets it first: were the local copy dropped first, a concurrent
    /// caller could miss the cache, read the refused token back from a shared source
    /// (Redis in fleet mode) before the source forgot it, and cache it again, so the
    /// retry would be refused a second time.
    pub async fn invalidate(&self, rejected: &Secret) {
        self.inner.source.invalidate(rejected).await;
        self.remove_if(|current| &current.value == rejected).await;
    }

    /// Removes the cached token when `stale` says so, atomically: a token refreshed in
    /// the meantime is never removed by a caller that saw the old one.
    async fn remove_if(&self, stale: impl Fn(&Arc<CachedToken>) -> bool) {
        use moka::ops::compute::Op;
        self.inner
            .cache
            .entry(())
            .and_compute_with(|current| {
                let drop_it = current.is_some_and(|entry| stale(entry.value()));
                async move {
                    if drop_it {
                        Op::Remove
                    } else {
                        Op::Nop
                    }
                }
            })
            .await;
    }

    /// The upstream token request under way, or a new one in its own task.
    fn fetch_shared(&self) -> Fetching {
        let mut inflight = self.inner.lock_inflight();
        if let Some(fetching) = inflight.as_ref() {
            return fetching.clone();
        }
        let inner = self.inner.clone();
        // The task clears the slot when done; it needs this lock to do so, so the slot is
        // always filled below before it can be cleared.
        let task = tokio::spawn(async move {
            let result = inner.fetch().await;
            inner.lock_inflight().take();
            result
        });
        let fetching = async move {
            task.await.unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Unavailable,
                    GATEWAY_DOMAIN,
                    reasons::TOKEN_FETCH_ABORTED,
                    "the access token request ended before it was answered (shutting down?)",
                ))
            })
        }
        .boxed()
        .shared();
        *inflight = Some(fetching.clone());
        fetching
    }

    /// Runs `call` with a token; when the upstream rejects the token, invalidates it and
    /// retries once with a fresh one. Waiting for a token is bounded by `deadline`, as
    /// `call` must bound its own request by it.
    pub async fn with_token<T, F, Fut>(&self, deadline: Deadline, mut call: F) -> Result<T, Error>
    where
        F: FnMut(Secret) -> Fut,
        Fut: Future<Output = Result<T, TokenCallError>>,
    {
        let token = self.token_within(deadline).await?;
        match call(token.clone()).await {
            Ok(value) => Ok(value),
            Err(TokenCallError::Other(error)) => Err(error),
            Err(TokenCallError::TokenRejected(_)) => {
                info!(
                    api = self.inner.source.api(),
                    "upstream rejected the access token; refreshing"
                );
                self.invalidate(&token).await;
                let fresh = self.token_within(deadline).await?;
                match call(fresh).await {
                    Ok(value) => Ok(value),
                    Err(TokenCallError::Other(error) | TokenCallError::TokenRejected(error)) => {
                        Err(error)
                    }
                }
            }
        }
    }

    fn spawn_refresh(&self) {
        let inner = self.inner.clone();
        if inner.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        tokio::spawn(async move {
            if let Ok(token) = inner.fetch().await {
                inner.stats.refreshes.fetch_add(1, Ordering::Relaxed);
                inner.cache.insert((), token).await;
            }
            inner.refreshing.store(false, Ordering::Release);
        });
    }
}

impl Inner {
    /// One upstream fetch, unless a recent failure's back-off is still running.
    async fn fetch(&self) -> Result<Arc<CachedToken>, Error> {
        if let Some(error) = self.backing_off() {
            return Err(error);
        }
        self.stats.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        match self.source.fetch().await {
            Ok(issued) => {
                let lifetime = issued
                    .lifetime
                    .saturating_sub(EXPIRY_MARGIN)
                    .max(Duration::from_secs(1));
                debug!(
                    api = self.source.api(),
                    lifetime_s = lifetime.as_secs(),
                    "fetched access token"
                );
                self.lock_backoff().until = None;
                self.lock_backoff().delay = Duration::ZERO;
                self.healthy.send_replace(Some(true));
                Ok(Arc::new(CachedToken {
                    value: issued.value,
                    refresh_at: started + lifetime.mul_f64(REFRESH_FRACTION),
                    expires_at: started + lifetime,
                }))
            }
            Err(error) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                let mut backoff = self.lock_backoff();
                backoff.delay = (backoff.delay * 2).clamp(MIN_BACKOFF, MAX_BACKOFF);
                backoff.until = Some(Instant::now() + backoff.delay);
                backoff.last_error = Some(error.clone());
                self.healthy.send_replace(Some(false));
                warn!(api = self.source.api(), reason = %error.reason, backoff_ms = backoff.delay.as_millis() as u64, "access token request failed");
                Err(error)
            }
        }
    }

    fn backing_off(&self) -> Option<Error> {
        let backoff = self.lock_backoff();
        match backoff.until {
            Some(until) if Instant::now() < until => backoff.last_error.clone(),
            _ => None,
        }
    }

    fn lock_inflight(&self) -> std::sync::MutexGuard<'_, Option<Fetching>> {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_backoff(&self) -> std::sync::MutexGuard<'_, Backoff> {
        // A poisoned lock only means a panic elsewhere; the data is still usable.
        self.backoff.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod auth_tests;
