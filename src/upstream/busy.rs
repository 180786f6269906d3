//! Repeating a request Qencode answered with ERROR_SYSTEM_BUSY (8).
//!
//! Busy means Qencode did nothing ("not enough resources to process request at the
//! moment"): no task was created, none started. So even `create_task` and
//! `start_encode2`, which the HTTP client never repeats once sent, may be sent again;
//! Qencode's own Python SDK does the same. The wait is the one the answer names (its
//! `retry_after`, else `Retry-After`), and the repeats are bounded three ways: at most
//! [`BUSY_ATTEMPTS`] in all, no single wait over [`MAX_BUSY_WAIT`], and only while the
//! caller's deadline leaves time for the wait. Otherwise the busy answer goes back to the
//! caller, who gets UNAVAILABLE with the delay as RetryInfo.

use super::{
    client::JsonResponse,
    codes::{body_retry_after, error_code},
    Deadline,
};
use crate::support::error::Error;
use std::{future::Future, time::Duration};
use tracing::debug;

/// ERROR_SYSTEM_BUSY.
const SYSTEM_BUSY: i64 = 8;
/// Most sends of one request while Qencode is busy.
pub const BUSY_ATTEMPTS: u32 = 3;
/// The longest wait between two of them: a longer one is the caller's to make.
pub const MAX_BUSY_WAIT: Duration = Duration::from_secs(10);
/// The wait when a busy answer names none (the delay RetryInfo reports then, too).
const DEFAULT_BUSY_WAIT: Duration = Duration::from_secs(5);

/// The wait before sending again after `attempt` (1-based) sends, when `response` is a
/// busy answer worth repeating within `deadline`; `None` otherwise.
pub fn wait_after(attempt: u32, response: &JsonResponse, deadline: Deadline) -> Option<Duration> {
    if error_code(&response.body) != Some(SYSTEM_BUSY) || attempt >= BUSY_ATTEMPTS {
        return None;
    }
    let wait = body_retry_after(&response.body)
        .or(response.retry_after)
        .unwrap_or(DEFAULT_BUSY_WAIT);
    let fits = deadline.remaining().is_none_or(|left| left > wait);
    (wait <= MAX_BUSY_WAIT && fits).then_some(wait)
}

/// Sends with `send` until the answer is not a busy one worth repeating
/// ([`wait_after`]); returns the last answer.
pub async fn while_busy<F, Fut>(
    operation: &'static str,
    deadline: Deadline,
    mut send: F,
) -> Result<JsonResponse, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<JsonResponse, Error>>,
{
    let mut attempt = 1;
    loop {
        let response = send().await?;
        let Some(wait) = wait_after(attempt, &response, deadline) else {
            return Ok(response);
        };
        debug!(
            operation,
            attempt,
            wait_ms = wait.as_millis() as u64,
            "Qencode is busy; sending again"
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use serde_json::json;

    fn answer(body: serde_json::Value) -> JsonResponse {
        JsonResponse {
            status: StatusCode::OK,
            retry_after: None,
            body,
            text: bytes::Bytes::new(),
            headers: http::HeaderMap::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn busy_answers_are_repeated_after_their_delay_within_bounds() {
        let busy = answer(json!({"error": 8, "retry_after": 2}));
        let none = Deadline::NONE;
        assert_eq!(wait_after(1, &busy, none), Some(Duration::from_secs(2)));
        assert_eq!(
            wait_after(BUSY_ATTEMPTS - 1, &busy, none),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            wait_after(BUSY_ATTEMPTS, &busy, none),
            None,
            "attempts bounded"
        );
        let short = Deadline::after(Duration::from_secs(2));
        assert_eq!(
            wait_after(1, &busy, short),
            None,
            "no time left for the wait"
        );
        let long = answer(json!({"error": 8, "retry_after": 60}));
        assert_eq!(
            wait_after(1, &long, none),
            None,
            "too long a wait is the caller's"
        );
        let unnamed = answer(json!({"error": 8}));
        assert_eq!(wait_after(1, &unnamed, none), Some(DEFAULT_BUSY_WAIT));
        let mut header = answer(json!({"error": 8}));
        header.retry_after = Some(Duration::from_secs(1));
        assert_eq!(wait_after(1, &header, none), Some(Duration::from_secs(1)));
        for other in [json!({"error": 0}), json!({"error": 5}), json!({})] {
            assert_eq!(wait_after(1, &answer(other), none), None);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sends_until_qencode_is_not_busy() {
        let mut sent = 0;
        let started = tokio::time::Instant::now();
        let response = while_busy("create_task", Deadline::NONE, || {
            sent += 1;
            let body = if sent < 3 {
                json!({"error": 8, "retry_after": 1})
            } else {
                json!({"error": 0, "task_token": "t"})
            };
            async move { Ok(answer(body)) }
        })
        .await
        .unwrap();
        assert_eq!(error_code(&response.body), None);
        assert_eq!(sent, 3);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }
}
