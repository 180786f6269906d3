//! Per-caller rate limits: one token bucket per caller name, on tokio's clock (so tests
//! run it on the paused clock).

use std::{collections::HashMap, sync::Arc, sync::Mutex, time::Duration};
use tokio::time::Instant;

/// A token bucket: `burst` calls at once, refilled at `rate` per second.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The buckets of every caller; they outlive policy reloads (a reload that changes a
/// caller's rate applies the new rate to the tokens it has left).
#[derive(Debug, Default)]
pub struct Buckets {
    buckets: Mutex<HashMap<Arc<str>, Bucket>>,
}

impl Buckets {
    /// Takes one call from `caller`'s bucket, or says how long until one is there.
    pub fn take(&self, caller: &Arc<str>, rate: f64, burst: f64) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(caller.clone()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_rate() {
        let buckets = Buckets::default();
        let caller: Arc<str> = Arc::from("encoder");
        assert!(buckets.take(&caller, 2.0, 3.0).is_ok());
        assert!(buckets.take(&caller, 2.0, 3.0).is_ok());
        assert!(buckets.take(&caller, 2.0, 3.0).is_ok());
        let wait = buckets.take(&caller, 2.0, 3.0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(buckets.take(&caller, 2.0, 3.0).is_ok());
        assert!(buckets.take(&caller, 2.0, 3.0).is_err());
        // Another caller has its own bucket.
        assert!(buckets.take(&Arc::from("other"), 2.0, 3.0).is_ok());
        // A long pause refills up to the burst only.
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..3 {
            assert!(buckets.take(&caller, 2.0, 3.0).is_ok());
        }
        assert!(buckets.take(&caller, 2.0, 3.0).is_err());
    }
}
