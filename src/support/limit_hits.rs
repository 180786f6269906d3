//! What happens when a limit bites, in one place: a `gateway_limit_hits_total` counter
//! by limit and scope, and a WARN line that a flood cannot turn into a flood of lines
//! ([`Throttle`]: at most one line per limit every [`LOG_EVERY`], with the count of the
//! ones it held back). Also the one size check of `query_json`, kept here so the
//! transcoding validation calls a function instead of growing one.

use crate::support::error::Violations;
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Duration,
};
use tokio::time::Instant;
use tracing::warn;

/// The shortest gap between two WARN lines of one limit.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Lets one log line through every [`LOG_EVERY`] and counts the ones it holds back.
#[derive(Debug)]
pub struct Throttle {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl Throttle {
    /// A throttle that lets the first line through (usable in a `static`).
    pub const fn new() -> Self {
        Throttle {
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(lines held back since the last one)` when a line may be written now.
    pub fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| now.duration_since(at) < LOG_EVERY) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

/// Records that `limit` (its setting's name) bit in `scope` (e.g. `grpc`, `http`, a
/// method kind): one counter increment always, one WARN line when `throttle` allows.
pub fn bite(throttle: &Throttle, limit: &'static str, scope: &'static str, message: &str) {
    crate::support::metrics::record_limit_hit(limit, scope);
    if let Some(suppressed) = throttle.allow() {
        warn!(limit, scope, suppressed, "{message}");
    }
}

/// Default of `GATEWAY_MAX_QUERY_JSON_SIZE`.
pub const DEFAULT_MAX_QUERY_JSON: usize = 1 << 20;

/// True when `text` fits the `query_json` limit of `max` bytes
/// (`GATEWAY_MAX_QUERY_JSON_SIZE`); otherwise records the violation (and the limit hit)
/// and returns false, so nothing parses or forwards an oversize query.
pub fn query_json_fits(text: &str, max: usize, v: &mut Violations) -> bool {
    if text.len() <= max {
        return true;
    }
    static THROTTLE: Throttle = Throttle::new();
    bite(
        &THROTTLE,
        "GATEWAY_MAX_QUERY_JSON_SIZE",
        "query_json",
        "a query_json over the size limit was refused",
    );
    v.add(
        "query_json",
        format!(
            "is {} bytes, over the limit of {max} bytes (GATEWAY_MAX_QUERY_JSON_SIZE)",
            text.len()
        ),
    );
    false
}

/// True when the typed query's protobuf encoding fits the same limit of `max` bytes;
/// otherwise records the violation (and the limit hit) and returns false. Turning a
/// typed query into JSON costs far more than its wire size (a dynamic message and a JSON
/// value per element: ~1 KiB of peak memory per stitch item or format), so the check
/// comes before that conversion.
pub fn typed_query_fits(
    query: &crate::pb::TranscodingQuery,
    max: usize,
    v: &mut Violations,
) -> bool {
    let len = prost::Message::encoded_len(query);
    if len <= max {
        return true;
    }
    static THROTTLE: Throttle = Throttle::new();
    bite(
        &THROTTLE,
        "GATEWAY_MAX_QUERY_JSON_SIZE",
        "query",
        "a typed query over the size limit was refused",
    );
    v.add(
        "query",
        format!(
            "is {len} bytes encoded, over the limit of {max} bytes (GATEWAY_MAX_QUERY_JSON_SIZE)"
        ),
    );
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn throttle_lets_one_line_through_per_interval_and_counts_the_rest() {
        let throttle = Throttle::new();
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), None);
        assert_eq!(throttle.allow(), None);
        tokio::time::advance(LOG_EVERY).await;
        assert_eq!(throttle.allow(), Some(2));
        assert_eq!(throttle.allow(), None);
    }

    #[test]
    fn query_json_over_the_limit_names_the_field_and_the_limit() {
        let mut v = Violations::default();
        assert!(query_json_fits("{}", DEFAULT_MAX_QUERY_JSON, &mut v));
        let big = "x".repeat(DEFAULT_MAX_QUERY_JSON + 1);
        assert!(!query_json_fits(&big, DEFAULT_MAX_QUERY_JSON, &mut v));
        let error = v.into_result().unwrap_err();
        assert_eq!(error.violations[0].field, "query_json");
        assert!(
            error.violations[0]
                .description
                .contains("GATEWAY_MAX_QUERY_JSON_SIZE"),
            "{}",
            error.violations[0].description
        );
    }
}
