//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;
use crate::support::error::{ErrorKind, GATEWAY_DOMAIN};
use crate::upstream::deadline::DEADLINE_MARGIN;
use std::sync::atomic::AtomicUsize;

/// A source that counts fetches, waits a little (so callers overlap) and can fail.
#[derive(Clone, Default)]
struct FakeSource {
    calls: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
}

impl TokenSource for FakeSource {
    fn api(&self) -> &'static str {
        "test"
    }
    fn fetch(&self) -> BoxFuture<'_, Result<IssuedToken, Error>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    GATEWAY_DOMAIN,
                    "DOWN",
                    "down",
                ));
            }
            Ok(IssuedToken {
                value: Secret::new(format!("token-{n}")),
                lifetime: Duration::from_secs(1030),
            })
        })
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_cold_callers_share_one_fetch() {
    let source = FakeSource::default();
    let manager = TokenManager::new(source.clone());
    let calls = (0..500).map(|_| manager.token());
    let tokens = futures::future::join_all(calls).await;
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    assert!(tokens
        .iter()
        .all(|t| t.as_ref().unwrap().expose() == "token-1"));
}

#[tokio::test(start_paused = true)]
async fn refreshes_ahead_of_expiry_without_making_callers_wait() {
    let source = FakeSource::default();
    let manager = TokenManager::new(source.clone());
    assert_eq!(manager.token().await.unwrap().expose(), "token-1");
    // Lifetime 1000 s after the margin: refresh from 800 s.
    tokio::time::advance(Duration::from_secs(799)).await;
    assert_eq!(manager.token().await.unwrap().expose(), "token-1");
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    // Past 80%: the caller still gets the valid token at once...
    assert_eq!(manager.token().await.unwrap().expose(), "token-1");
    // ...while one background refresh replaces it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(source.calls.load(Ordering::SeqCst), 2);
    assert_eq!(manager.token().await.unwrap().expose(), "token-2");
    assert_eq!(manager.stats().refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn expired_tokens_are_replaced() {
    let source = FakeSource::default();
    let manager = TokenManager::new(source.clone());
    manager.token().await.unwrap();
    source.fail.store(true, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(1001)).await;
    source.fail.store(false, Ordering::SeqCst);
    assert_eq!(manager.token().await.unwrap().expose(), "token-2");
}

#[tokio::test(start_paused = true)]
async fn rejected_token_is_refreshed_and_the_call_retried_once() {
    let source = FakeSource::default();
    let manager = TokenManager::new(source.clone());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let result = manager
        .with_token(Deadline::NONE, |token| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(token.expose().to_owned());
                if token.expose() == "token-1" {
                    Err(TokenCallError::TokenRejected(Error::new(
                        ErrorKind::Unauthenticated,
                        GATEWAY_DOMAIN,
                        "X",
                        "x",
                    )))
                } else {
                    Ok(42)
                }
            }
        })
        .await;
    assert_eq!(result.unwrap(), 42);
    assert_eq!(*seen.lock().unwrap(), vec!["token-1", "token-2"]);

    // A token that stays rejected ends the call after one retry.
    let attempts = AtomicUsize::new(0);
    let result: Result<(), Error> = manager
        .with_token(Deadline::NONE, |_| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async {
                Err(TokenCallError::TokenRejected(Error::new(
                    ErrorKind::Unauthenticated,
                    GATEWAY_DOMAIN,
                    "X",
                    "x",
                )))
            }
        })
        .await;
    assert_eq!(result.unwrap_err().kind, ErrorKind::Unauthenticated);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_for_everyone_then_recover() {
    let source = FakeSource::default();
    source.fail.store(true, Ordering::SeqCst);
    let manager = TokenManager::new(source.clone());
    assert!(manager.token().await.is_err());
    // Within the back-off, callers get the error without an upstream request.
    for _ in 0..20 {
        assert_eq!(manager.token().await.unwrap_err().reason, "DOWN");
    }
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    source.fail.store(false, Ordering::SeqCst);
    tokio::time::advance(MIN_BACKOFF).await;
    assert_eq!(manager.token().await.unwrap().expose(), "token-2");
}

/// A source shared with other replicas (as Redis is in fleet mode): it hands out the
/// stored token while there is one, and forgets a refused one only after a delay.
#[derive(Clone, Default)]
struct SharedSource {
    stored: Arc<Mutex<Option<String>>>,
    minted: Arc<AtomicUsize>,
}

impl TokenSource for SharedSource {
    fn api(&self) -> &'static str {
        "shared"
    }
    fn fetch(&self) -> BoxFuture<'_, Result<IssuedToken, Error>> {
        Box::pin(async move {
            let mut stored = self.stored.lock().unwrap();
            let value = stored.get_or_insert_with(|| {
                format!("token-{}", self.minted.fetch_add(1, Ordering::SeqCst) + 1)
            });
            Ok(IssuedToken {
                value: Secret::new(value.clone()),
                lifetime: Duration::from_secs(1030),
            })
        })
    }
    fn invalidate<'a>(&'a self, rejected: &'a Secret) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let mut stored = self.stored.lock().unwrap();
            if stored.as_deref() == Some(rejected.expose()) {
                *stored = None;
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_caller_during_invalidation_does_not_bring_the_refused_token_back() {
    let manager = TokenManager::new(SharedSource::default());
    assert_eq!(manager.token().await.unwrap().expose(), "token-1");
    // Another caller asks for a token while the shared source is still forgetting.
    let other = manager.clone();
    let during = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        other.token().await.map(|t| t.expose().to_owned())
    });
    let retried = manager
        .with_token(Deadline::NONE, |token| async move {
            if token.expose() == "token-1" {
                Err(TokenCallError::TokenRejected(Error::new(
                    ErrorKind::Unauthenticated,
                    GATEWAY_DOMAIN,
                    "X",
                    "x",
                )))
            } else {
                Ok(token.expose().to_owned())
            }
        })
        .await;
    assert_eq!(retried.unwrap(), "token-2", "the retry uses a new token");
    during.await.unwrap().unwrap();
    assert_eq!(manager.token().await.unwrap().expose(), "token-2");
}

/// A source whose token endpoint takes a minute to answer.
#[derive(Clone, Default)]
struct SlowSource {
    calls: Arc<AtomicUsize>,
}

impl TokenSource for SlowSource {
    fn api(&self) -> &'static str {
        "slow"
    }
    fn fetch(&self) -> BoxFuture<'_, Result<IssuedToken, Error>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(IssuedToken {
                value: Secret::new(format!("token-{n}")),
                lifetime: Duration::from_secs(1030),
            })
        })
    }
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_token_ends_at_the_deadline_and_the_fetch_goes_on() {
    let source = SlowSource::default();
    let manager = TokenManager::new(source.clone());
    let started = Instant::now();
    let error = manager
        .token_within(Deadline::after(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::DeadlineExceeded);
    assert_eq!(error.metadata.get("waiting_for").unwrap(), "access_token");
    assert_eq!(started.elapsed(), Duration::from_secs(1) - DEADLINE_MARGIN);
    // The next callers, whatever their deadlines, wait for the same request.
    let error = manager
        .with_token(Deadline::after(Duration::from_secs(2)), |_| async {
            Ok::<_, TokenCallError>(())
        })
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::DeadlineExceeded);
    assert_eq!(manager.token().await.unwrap().expose(), "token-1");
    assert_eq!(
        source.calls.load(Ordering::SeqCst),
        1,
        "one upstream request"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(60),
        "the request was not restarted by a caller that gave up"
    );
    // A cached token is handed out even when no time is left.
    let expired = Deadline::after(Duration::ZERO);
    assert_eq!(
        manager.token_within(expired).await.unwrap().expose(),
        "token-1"
    );
}
