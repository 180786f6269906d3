//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;
use crate::upstream::deadline::{attempt_timeout, Deadline};
use crate::upstream::transport::testing;

#[test]
fn too_large_requests_are_invalid_argument_and_never_repeated() {
    for status in [StatusCode::PAYLOAD_TOO_LARGE, StatusCode::URI_TOO_LONG] {
        let failure = Failure::too_large("start_encode2", status).expect("too large");
        assert_eq!(failure.error.kind, ErrorKind::InvalidArgument);
        assert!(!failure.retryable(true), "{status}");
    }
    assert!(Failure::too_large("start_encode2", StatusCode::BAD_GATEWAY).is_none());
}

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(backoff_cap(1), Duration::from_millis(50));
    assert_eq!(backoff_cap(2), Duration::from_millis(100));
    assert_eq!(backoff_cap(3), Duration::from_millis(200));
    for attempt in 1..7 {
        assert!(backoff_cap(attempt + 1) >= backoff_cap(attempt));
    }
    assert_eq!(backoff_cap(7), MAX_BACKOFF);
    assert_eq!(backoff_cap(40), MAX_BACKOFF);
    assert_eq!(backoff_cap(u32::MAX), MAX_BACKOFF);
    assert_eq!(backoff_cap(0), Duration::from_millis(50));
}

#[test]
fn backoff_jitter_stays_within_half_and_all_of_the_cap() {
    for attempt in [0, 1, 2, 3, 10, u32::MAX] {
        let cap = backoff_cap(attempt);
        for _ in 0..200 {
            let wait = backoff(attempt);
            assert!(wait >= cap / 2 && wait <= cap, "{wait:?} for cap {cap:?}");
            assert!(wait <= MAX_BACKOFF);
        }
    }
}

#[test]
fn retries_wait_as_long_as_the_upstream_asks_within_the_longest_backoff() {
    let second = Duration::from_secs(1);
    assert_eq!(wait_before_retry(1, Some(second)), Some(second));
    assert!(wait_before_retry(1, None).is_some_and(|w| w <= BASE_BACKOFF));
    assert!(wait_before_retry(1, Some(Duration::ZERO)).is_some_and(|w| w > Duration::ZERO));
    assert_eq!(wait_before_retry(1, Some(MAX_BACKOFF + second)), None);
}

fn headers(value: &str) -> header::HeaderMap {
    let mut headers = header::HeaderMap::new();
    headers.insert(header::RETRY_AFTER, value.parse().unwrap());
    headers
}

#[test]
fn retry_after_reads_seconds() {
    assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
    assert_eq!(retry_after(&headers(" 0 ")), Some(Duration::ZERO));
    assert_eq!(retry_after(&header::HeaderMap::new()), None);
}

#[test]
fn retry_after_ignores_garbage() {
    for value in ["soon", "-3", "1.5", "", "21 Oct 2015", "Wed, 21 Oct 2015"] {
        assert_eq!(retry_after(&headers(value)), None, "{value:?}");
    }
}

#[test]
fn retry_after_reads_http_dates() {
    let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let at = |value: &str| retry_after_at(&headers(value), now);
    let eight = Some(Duration::from_secs(8));
    assert_eq!(at("Wed, 21 Oct 2015 07:28:08 GMT"), eight);
    assert_eq!(at("Wednesday, 21-Oct-15 07:28:08 GMT"), eight);
    assert_eq!(at("Wed Oct 21 07:28:08 2015"), eight);
    assert_eq!(
        at("Wed, 21 Oct 2015 07:27:00 GMT"),
        Some(Duration::ZERO),
        "past"
    );
    assert_eq!(
        at("Thu, 22 Oct 2015 07:28:00 GMT"),
        Some(Duration::from_secs(3600)),
        "clamped"
    );
}

#[test]
fn retry_after_clamps_huge_values() {
    let hour = Some(Duration::from_secs(3600));
    assert_eq!(retry_after(&headers("3601")), hour);
    assert_eq!(retry_after(&headers("18446744073709551615")), hour);
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

const LIMIT: AttemptTimeout = AttemptTimeout {
    timeout: Duration::from_secs(5),
    deadline_bound: false,
};

#[tokio::test]
async fn a_connect_failure_was_never_sent() {
    let url = format!("http://127.0.0.1:{}/v1/create_task", closed_port());
    let (url, e) = testing::failure(http::Method::POST, &url).await;
    let failure = Failure::transport("create_task", e, &url, LIMIT);
    assert!(failure.never_sent);
    assert!(failure.transient);
    assert!(
        failure.retryable(false),
        "safe to repeat even if not idempotent"
    );
    assert_eq!(failure.error.reason, "UPSTREAM_UNREACHABLE");
    assert_eq!(failure.error.kind, ErrorKind::Unavailable);
    let port = url_port(&failure.error.message);
    assert_eq!(
        failure.error.message,
        format!(
            "could not connect to Qencode at 127.0.0.1:{port} (create_task): connection refused"
        )
    );
    assert_eq!(
        failure.error.metadata.get("cause").map(String::as_str),
        Some("refused")
    );
    assert_eq!(
        failure.error.metadata.get("host"),
        Some(&format!("127.0.0.1:{port}"))
    );
}

/// The port a message names after `127.0.0.1:`.
fn url_port(message: &str) -> String {
    let (_, rest) = message.split_once("127.0.0.1:").expect("names the host");
    rest.chars().take_while(char::is_ascii_digit).collect()
}

/// A timeout error from a listener that accepts connections and never answers.
async fn timeout_error(listener: &tokio::net::TcpListener) -> (url::Url, TransportError) {
    let url = format!("http://{}/v1/status", listener.local_addr().unwrap());
    let (url, result) = testing::fetch(
        &testing::direct(),
        http::Method::GET,
        &url,
        Duration::from_secs(1),
    )
    .await;
    let e = result.expect_err("nothing answers");
    assert!(e.timed_out, "{e}");
    (url, e)
}

#[tokio::test(start_paused = true)]
async fn a_timeout_bound_by_the_callers_deadline_is_not_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let deadline = Deadline::after(Duration::from_secs(1));
    let attempt = attempt_timeout("status", Duration::from_secs(5), deadline).unwrap();
    assert!(attempt.deadline_bound);
    let (url, e) = timeout_error(&listener).await;
    let failure = Failure::transport("status", e, &url, attempt);
    assert!(!failure.transient);
    assert!(!failure.never_sent);
    assert!(!failure.retryable(true));
    assert_eq!(failure.error.kind, ErrorKind::DeadlineExceeded);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_of_the_configured_limit_is_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (url, e) = timeout_error(&listener).await;
    let failure = Failure::transport("status", e, &url, LIMIT);
    assert!(failure.transient);
    assert!(!failure.never_sent);
    assert!(failure.retryable(true));
    assert!(!failure.retryable(false), "it may have reached Qencode");
    assert_eq!(failure.error.reason, "UPSTREAM_TIMEOUT");
}

#[test]
fn a_5xx_without_a_json_error_is_transient() {
    let status = StatusCode::BAD_GATEWAY;
    let failure = Failure::unexplained_server_error("status", status, false, None).unwrap();
    assert!(failure.transient);
    assert_eq!(failure.error.retry_after, None);
    assert!(!failure.never_sent);
    assert_eq!(failure.error.reason, "UPSTREAM_HTTP_ERROR");
    assert_eq!(failure.error.metadata.get("http_status").unwrap(), "502");
    let unavailable = StatusCode::SERVICE_UNAVAILABLE;
    let later = Some(Duration::from_secs(4));
    let failure = Failure::unexplained_server_error("status", unavailable, false, later);
    assert_eq!(
        failure.unwrap().error.retry_after,
        later,
        "Retry-After kept"
    );
    // An explained 5xx and any non-5xx go back to the API client.
    assert!(Failure::unexplained_server_error("status", status, true, None).is_none());
    assert!(Failure::unexplained_server_error("status", StatusCode::OK, false, None).is_none());
}

#[test]
fn a_non_json_answer_is_transient_only_for_5xx() {
    let busy = Failure::not_json(
        "status",
        StatusCode::SERVICE_UNAVAILABLE,
        "text/html",
        Some(Duration::from_secs(3)),
    );
    assert!(busy.transient);
    assert_eq!(busy.error.reason, "UPSTREAM_NOT_JSON");
    assert_eq!(busy.error.retry_after, Some(Duration::from_secs(3)));
    let not_found = Failure::not_json("status", StatusCode::NOT_FOUND, "text/html", None);
    assert!(!not_found.transient);
    assert!(!Failure::fatal(not_found.error).retryable(true));
}
