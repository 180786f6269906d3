//! Safe retries of submissions (Transcode, StartEncode) under a request id.
//!
//! A submission whose answer is lost (the gateway restarted, a proxy reset the
//! connection, the answer came too late) may or may not have started an encode, which
//! costs money. With a request id the gateway makes the call idempotent (AIP-155): a
//! repeat with the same id and request returns the first call's answer, or resumes it
//! where the gateway's ledger says it stopped, and never starts a second encode. So qgw
//! sends one with every submission (the caller's `--request-id`, or a UUID v4 made
//! here) and repeats the same call, same id, after a failure that says nothing about
//! the outcome: `UNAVAILABLE`, `DEADLINE_EXCEEDED`, or a transport error.
//!
//! A gateway without a ledger refuses request ids (`FAILED_PRECONDITION`,
//! `LEDGER_OFF`) before doing anything, so a generated id is then dropped and the call
//! made once more without it, and without retries: nothing makes a repeat safe there.

use std::{
    future::Future,
    hash::{BuildHasher, RandomState},
    time::Duration,
};
use tokio::time::Instant;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Most attempts of one submission, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// The wait before the second attempt; it doubles with each further attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two attempts (also caps the gateway's `RetryInfo`).
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// The request id of a submission and who chose it.
#[derive(Debug, Clone)]
pub struct RequestId {
    /// Sent as the request's `request_id`.
    pub id: String,
    /// Made up by qgw rather than given with `--request-id`: dropped (not refused) by a
    /// gateway without a ledger.
    pub generated: bool,
}

impl RequestId {
    /// The caller's `--request-id`, or a fresh UUID v4.
    pub fn from_flag(flag: Option<String>) -> Self {
        match flag {
            Some(id) => Self {
                id,
                generated: false,
            },
            None => Self {
                id: uuid::Uuid::new_v4().to_string(),
                generated: true,
            },
        }
    }
}

/// Runs `call(request_id, deadline)` until it answers, fails in a way a repeat cannot
/// help, or [`MAX_ATTEMPTS`] are spent. With `budget` (`--timeout`), every attempt and
/// wait fits in it from the first attempt on, and each attempt gets what is left as its
/// deadline (for the request's `grpc-timeout`).
pub async fn submit<T, F, Fut>(
    budget: Option<Duration>,
    request_id: &RequestId,
    mut call: F,
) -> Result<T, Status>
where
    F: FnMut(String, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let started = Instant::now();
    let left = || budget.map(|b| b.saturating_sub(started.elapsed()));
    let mut attempt = 1;
    loop {
        let status = match bounded(left(), call(request_id.id.clone(), left())).await {
            Ok(answer) => return Ok(answer),
            Err(status) => status,
        };
        if request_id.generated && is_ledger_off(&status) {
            // Refused before anything was done: once more without an id, no retries.
            return bounded(left(), call(String::new(), left())).await;
        }
        if attempt >= MAX_ATTEMPTS || !is_retryable(&status) {
            return Err(status);
        }
        let wait = backoff(attempt, retry_delay(&status), jitter());
        if left().is_some_and(|left| left <= wait) {
            return Err(status);
        }
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// `answer`, or `DEADLINE_EXCEEDED` once `left` has passed.
async fn bounded<T>(
    left: Option<Duration>,
    answer: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    match left {
        Some(left) => tokio::time::timeout(left, answer)
            .await
            .unwrap_or_else(|_| {
                Err(Status::deadline_exceeded(
                    "no answer within --timeout (retries included)",
                ))
            }),
        None => answer.await,
    }
}

/// Whether a repeat of the same call may succeed and cannot do harm (the request id
/// sees to the latter): the gateway was unreachable or busy, an answer was too late,
/// or the connection failed mid-call. A status that came from the gateway carries no
/// source; one made here from a transport error does.
pub fn is_retryable(status: &Status) -> bool {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded => true,
        Code::Unknown | Code::Internal => std::error::Error::source(status).is_some(),
        _ => false,
    }
}

/// Whether the gateway refused the request id because it runs without a ledger.
fn is_ledger_off(status: &Status) -> bool {
    status.code() == Code::FailedPrecondition
        && status
            .get_error_details()
            .error_info()
            .is_some_and(|info| info.reason == "LEDGER_OFF")
}

/// The gateway's `RetryInfo` delay, if it sent one.
fn retry_delay(status: &Status) -> Option<Duration> {
    status.get_error_details().retry_info()?.retry_delay
}

/// The wait after failed attempt `attempt` (1-based): exponential from
/// [`FIRST_BACKOFF`], at least the gateway's `hint`, at most [`MAX_BACKOFF`]; `jitter`
/// (0..1) takes up to half of it off, so many clients failed together do not come
/// back together.
fn backoff(attempt: u32, hint: Option<Duration>, jitter: f64) -> Duration {
    let exponential = FIRST_BACKOFF.saturating_mul(1 << (attempt - 1).min(8));
    let base = exponential.max(hint.unwrap_or_default()).min(MAX_BACKOFF);
    base.mul_f64(1.0 - jitter.clamp(0.0, 1.0) / 2.0)
}

/// A number in 0..1 that differs from call to call (std's randomly keyed hasher: a
/// retry spread needs no cryptographic randomness).
fn jitter() -> f64 {
    let bits = RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        atomic::{AtomicU32, Ordering},
        Arc, Mutex,
    };
    use tonic_types::ErrorDetails;

    #[test]
    fn which_failures_are_retried() {
        assert!(is_retryable(&Status::unavailable("down")));
        assert!(is_retryable(&Status::deadline_exceeded("late")));
        assert!(!is_retryable(&Status::invalid_argument("bad")));
        assert!(!is_retryable(&Status::not_found("gone")));
        // From the gateway (no source): a server error, not retried.
        assert!(!is_retryable(&Status::internal("bug")));
        assert!(!is_retryable(&Status::unknown("?")));
        // Made here from a transport error: retried.
        let reset = Status::from_error(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(reset.code(), Code::Unknown);
        assert!(is_retryable(&reset));
    }

    #[test]
    fn backoff_doubles_honours_hints_and_is_capped() {
        assert_eq!(backoff(1, None, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(2, None, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(3, None, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(30, None, 0.0), MAX_BACKOFF);
        assert_eq!(
            backoff(1, Some(Duration::from_secs(2)), 0.0),
            Duration::from_secs(2)
        );
        assert_eq!(backoff(1, Some(Duration::from_secs(60)), 0.0), MAX_BACKOFF);
        assert_eq!(backoff(2, None, 1.0), Duration::from_millis(250));
        let spread = jitter();
        assert!((0.0..1.0).contains(&spread), "{spread}");
    }

    #[test]
    fn generated_ids_are_uuids() {
        let id = RequestId::from_flag(None);
        assert!(id.generated);
        assert_eq!(
            uuid::Uuid::parse_str(&id.id).map(|u| u.get_version_num()),
            Ok(4)
        );
        assert_ne!(id.id, RequestId::from_flag(None).id);
        let given = RequestId::from_flag(Some("mine".into()));
        assert!(!given.generated);
        assert_eq!(given.id, "mine");
    }

    /// Runs `submit` over `answers` (one per attempt), returning its result and the
    /// request id each attempt sent.
    async fn run(
        budget: Option<Duration>,
        id: &RequestId,
        answers: Vec<Result<u32, Status>>,
    ) -> (Result<u32, Status>, Vec<String>) {
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let calls = AtomicU32::new(0);
        let result = submit(budget, id, |request_id, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            sent.lock().expect("lock").push(request_id);
            let next = answers.lock().expect("lock").next();
            async move { next.unwrap_or_else(|| Err(Status::internal("no more answers"))) }
        })
        .await;
        let sent = sent.lock().expect("lock").clone();
        assert_eq!(calls.load(Ordering::SeqCst) as usize, sent.len());
        (result, sent)
    }

    #[tokio::test]
    async fn retries_with_the_same_id_until_an_answer() {
        let id = RequestId::from_flag(Some("r1".into()));
        let answers = vec![
            Err(Status::unavailable("down")),
            Err(Status::deadline_exceeded("late")),
            Ok(7),
        ];
        let (result, sent) = run(None, &id, answers).await;
        assert_eq!(result.ok(), Some(7));
        assert_eq!(sent, ["r1", "r1", "r1"]);
    }

    #[tokio::test]
    async fn stops_at_a_final_answer_and_after_max_attempts() {
        let id = RequestId::from_flag(Some("r2".into()));
        let answers = vec![Err(Status::invalid_argument("bad")), Ok(1)];
        let (result, sent) = run(None, &id, answers).await;
        assert_eq!(result.map_err(|s| s.code()), Err(Code::InvalidArgument));
        assert_eq!(sent.len(), 1);

        // A budget smaller than the first backoff: no second attempt.
        let answers = vec![Err(Status::unavailable("down")), Ok(1)];
        let (result, sent) = run(Some(Duration::from_millis(100)), &id, answers).await;
        assert_eq!(result.map_err(|s| s.code()), Err(Code::Unavailable));
        assert_eq!(sent.len(), 1);
    }

    #[tokio::test]
    async fn a_generated_id_is_dropped_by_a_gateway_without_ledger() {
        let details = ErrorDetails::with_error_info("LEDGER_OFF", "qencode-gateway", []);
        let off = Status::with_error_details(Code::FailedPrecondition, "no ledger", details);
        let generated = RequestId::from_flag(None);
        let (result, sent) = run(None, &generated, vec![Err(off.clone()), Ok(3)]).await;
        assert_eq!(result.ok(), Some(3));
        assert_eq!(sent, [generated.id.clone(), String::new()]);

        // The caller's own id is never dropped silently.
        let given = RequestId::from_flag(Some("mine".into()));
        let (result, sent) = run(None, &given, vec![Err(off), Ok(3)]).await;
        assert_eq!(result.map_err(|s| s.code()), Err(Code::FailedPrecondition));
        assert_eq!(sent, ["mine"]);
    }
}
