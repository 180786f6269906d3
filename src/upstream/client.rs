//! The shared upstream HTTP client.
//!
//! One client for both APIs, so connection pooling, body limits, spans and request
//! metrics live in one place; the exchange itself is [`super::transport`]'s
//! (hyper-util's pooled client over rustls, or reqwest through a proxy). Each request
//! is bounded by the smaller of the configured timeout and the caller's gRPC deadline
//! ([`super::deadline`]). Transport failures and non-JSON bodies become precise
//! [`Error`]s here; JSON bodies go back to the API client, which knows what its error
//! fields mean (its [`Operation::error_code`] names the code for metrics). Retries
//! happen only where repeating is safe ([`super::retry`]), with a shared retry budget.

use super::{
    deadline::{attempt_timeout, Deadline},
    retry::{retry_after, wait_before_retry, Failure, MAX_ATTEMPTS},
    transport::{Fetched, Limit, Outgoing, Transport},
};
use crate::support::reasons;
use crate::{
    support::error::{Error, ErrorKind},
    upstream::lenient,
};
use bytes::Bytes;
use http::{header, HeaderValue, Method, StatusCode};
use serde_json::Value;
use std::borrow::Cow;
use std::{sync::Arc, time::Duration};
use tokio::time::Instant;
use tower::retry::budget::{Budget, TpsBudget};
use tracing::{debug, Instrument};

/// Bodies larger than this are refused rather than buffered (status answers are small).
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Bytes of a raw answer's body kept for error messages; the rest is not read.
const MAX_RAW_BODY_BYTES: usize = 4 * 1024;
/// The slowest rate a raw request body is given time to travel at, on top of the
/// configured timeout: an 8 MiB body gets 32 s more, so a slow link is not mistaken for
/// a dead upstream.
const MIN_BODY_RATE: u64 = 256 * 1024;

/// What an upstream request is, for retries, logs and error messages.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// Which API: "transcoding" or "live".
    pub api: &'static str,
    /// Operation name, e.g. "create_task".
    pub name: &'static str,
    /// Route template for logs and spans; never holds a token or key.
    pub route: &'static str,
    /// True when repeating the request cannot do harm (reads, token requests). Requests
    /// that create or change something are retried only when they were never sent.
    pub idempotent: bool,
    /// Reads the API's own error code from a JSON answer (`None` when it reports none),
    /// for the `qencode_error_<n>` metrics outcome and the span; [`no_error_code`] for
    /// APIs that report errors by status alone.
    pub error_code: fn(&Value) -> Option<i64>,
}

/// An [`Operation::error_code`] for answers that carry no error code.
pub fn no_error_code(_: &Value) -> Option<i64> {
    None
}

/// A JSON answer from the upstream, whatever its HTTP status.
#[derive(Debug)]
pub struct JsonResponse<B = Value> {
    /// HTTP status.
    pub status: StatusCode,
    /// The `Retry-After` header in seconds, when present.
    pub retry_after: Option<Duration>,
    /// The parsed body (leniently: see [`lenient::parse_json`] and [`Answer`]).
    pub body: B,
    /// The body as received, for a caller that reads it again another way (a typed
    /// answer that turns out to be an error is mapped from its `Value`).
    pub text: Bytes,
    /// Response headers (TUS answers carry their data there).
    pub headers: header::HeaderMap,
}

/// How a JSON body is read: as a `Value` (any answer), or straight into a typed answer
/// on a hot path ([`super::status_answer::StatusAnswer`]). `Default` is the empty body.
pub trait Answer: Default + Send + Sized {
    /// Reads a UTF-8 body; `None` when it is not JSON, even after repair.
    fn read(text: &str) -> Option<Self>;
    /// True when the body has an `error` field: an error the API explains.
    fn names_error(&self) -> bool;
    /// The API's own error code, for the metrics outcome and the span.
    fn error_code(&self, op: &Operation) -> Option<i64>;
}

impl Answer for Value {
    fn read(text: &str) -> Option<Self> {
        lenient::parse_json(text).ok()
    }
    fn names_error(&self) -> bool {
        self.get("error").is_some()
    }
    fn error_code(&self, op: &Operation) -> Option<i64> {
        (op.error_code)(self)
    }
}

impl Answer for super::status_answer::StatusAnswer {
    /// Strict JSON syntax straight into the typed answer; text that needs repair is
    /// repaired into a `Value` and read from that.
    fn read(text: &str) -> Option<Self> {
        use serde::Deserialize;
        serde_json::from_str(text).ok().or_else(|| {
            let value = lenient::parse_json(text).ok()?;
            Self::deserialize(value).ok()
        })
    }
    fn names_error(&self) -> bool {
        self.names_error
    }
    fn error_code(&self, _: &Operation) -> Option<i64> {
        self.code
    }
}

/// An answer read for its status and headers whatever they are: TUS keeps its data in
/// headers and answers errors in plain text.
#[derive(Debug)]
pub struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: header::HeaderMap,
    /// The start of the body (at most 4 KiB), for error messages.
    pub body: Bytes,
}

/// The request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded` pairs.
    Form(Vec<(&'static str, String)>),
    /// A JSON document.
    Json(Value),
}

/// A [`Body`] encoded for the wire, once per request whatever the attempts.
struct Payload {
    content_type: Option<HeaderValue>,
    bytes: Bytes,
}

impl Payload {
    fn encode(body: &Body) -> Self {
        let (content_type, bytes) = match body {
            Body::Empty => {
                return Payload {
                    content_type: None,
                    bytes: Bytes::new(),
                }
            }
            Body::Form(pairs) => (
                "application/x-www-form-urlencoded",
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish()
                    .into_bytes(),
            ),
            // A `Value` always serializes (its keys are strings).
            Body::Json(value) => (
                "application/json",
                serde_json::to_vec(value).unwrap_or_default(),
            ),
        };
        Payload {
            content_type: Some(HeaderValue::from_static(content_type)),
            bytes: Bytes::from(bytes),
        }
    }
}

/// The shared client.
#[derive(Clone)]
pub struct HttpClient {
    transport: Transport,
    /// Upper bound of one request when the caller's deadline is longer or absent.
    timeout: Duration,
    /// Limits retries to a fraction of traffic so a struggling upstream is not
    /// hammered by retry storms (gRPC A6 / Envoy / linkerd practice).
    budget: Arc<TpsBudget>,
}

impl HttpClient {
    /// A client with the given timeouts, sending through a proxy when the environment
    /// names one ([`Transport::from_env`]).
    pub fn new(timeout: Duration, connect_timeout: Duration) -> Result<Self, Error> {
        // A provider must be installed once per process for rustls; a second call
        // returns Err because one is already there, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let transport = Transport::from_env(connect_timeout).map_err(|reason| {
            Error::new(
                ErrorKind::Internal,
                crate::support::error::GATEWAY_DOMAIN,
                reasons::HTTP_CLIENT_INIT,
                reason,
            )
        })?;
        Ok(HttpClient {
            transport,
            timeout,
            budget: Arc::new(TpsBudget::new(Duration::from_secs(10), 10, 0.2)),
        })
    }

    /// True when requests go through the environment's proxy.
    pub fn is_proxied(&self) -> bool {
        self.transport.is_proxied()
    }

    /// Sends a request and returns its JSON answer (read as `A`), retrying where safe.
    pub async fn send<A: Answer>(
        &self,
        op: Operation,
        method: Method,
        url: &url::Url,
        headers: &[(header::HeaderName, String)],
        body: &Body,
        deadline: Deadline,
    ) -> Result<JsonResponse<A>, Error> {
        let span = upstream_span(op, &method);
        async move {
            let started = Instant::now();
            let mut headers = headers.to_vec();
            headers.extend(crate::support::telemetry::outgoing_headers());
            let payload = Payload::encode(body);
            self.budget.deposit();
            let mut attempt = 1;
            let result = loop {
                let result = self
                    .attempt::<A>(op, method.clone(), url, &headers, &payload, deadline)
                    .await;
                let failure = match result {
                    Ok(response) => break Ok(response),
                    Err(failure) => failure,
                };
                let retryable = failure.retryable(op.idempotent);
                let Some(wait) = wait_before_retry(attempt, failure.error.retry_after) else {
                    break Err(failure.error);
                };
                let time_left = deadline.remaining().is_none_or(|left| left > wait);
                if !retryable || attempt >= MAX_ATTEMPTS || !time_left || !self.budget.withdraw() {
                    break Err(failure.error);
                }
                debug!(attempt, reason = %failure.error.reason, "retrying upstream request");
                tokio::time::sleep(wait).await;
                attempt += 1;
            };
            let outcome = match &result {
                Ok(response) => outcome(response.status, response.body.error_code(&op)),
                Err(error) => failed(error),
            };
            crate::support::metrics::record_upstream(op.api, op.name, outcome, started.elapsed());
            result
        }
        .instrument(span)
        .await
    }

    /// Sends one request with `body` as raw bytes and returns the answer whatever its
    /// status. Exactly once: the caller owns retries, because only it knows how to resume
    /// (TUS asks the server how much it stored). A large body lengthens the configured
    /// timeout by a second per 256 KiB; the caller's deadline still bounds it.
    pub async fn exchange(
        &self,
        op: Operation,
        method: Method,
        url: &url::Url,
        headers: &[(header::HeaderName, String)],
        body: Option<Bytes>,
        deadline: Deadline,
    ) -> Result<RawResponse, Error> {
        let span = upstream_span(op, &method);
        async move {
            let started = Instant::now();
            let mut headers = headers.to_vec();
            headers.extend(crate::support::telemetry::outgoing_headers());
            let result = self
                .exchange_once(op, method, url, &headers, body, deadline)
                .await;
            let outcome = match &result {
                Ok(response) => outcome(response.status, None),
                Err(error) => failed(error),
            };
            crate::support::metrics::record_upstream(op.api, op.name, outcome, started.elapsed());
            result
        }
        .instrument(span)
        .await
    }

    async fn exchange_once(
        &self,
        op: Operation,
        method: Method,
        url: &url::Url,
        headers: &[(header::HeaderName, String)],
        body: Option<Bytes>,
        deadline: Deadline,
    ) -> Result<RawResponse, Error> {
        let body = body.unwrap_or_default();
        let len = body.len() as u64;
        let limit = self.timeout + Duration::from_secs(len / MIN_BODY_RATE);
        let timeout = attempt_timeout(op.name, limit, deadline)?;
        let request = Outgoing {
            method,
            url,
            headers,
            content_type: None,
            body,
        };
        let fetched = self
            .transport
            .fetch(
                request,
                timeout.timeout,
                Limit::Truncate(MAX_RAW_BODY_BYTES),
            )
            .await
            .map_err(|e| Failure::transport(op.name, e, url, timeout).error)?;
        Ok(RawResponse {
            status: fetched.status,
            headers: fetched.headers,
            body: fetched.body.unwrap_or_default(),
        })
    }

    async fn attempt<A: Answer>(
        &self,
        op: Operation,
        method: Method,
        url: &url::Url,
        headers: &[(header::HeaderName, String)],
        payload: &Payload,
        deadline: Deadline,
    ) -> Result<JsonResponse<A>, Failure> {
        let timeout = attempt_timeout(op.name, self.timeout, deadline).map_err(Failure::fatal)?;
        let request = Outgoing {
            method,
            url,
            headers,
            content_type: payload.content_type.clone(),
            body: payload.bytes.clone(),
        };
        let Fetched {
            status,
            headers,
            body: bytes,
        } = self
            .transport
            .fetch(request, timeout.timeout, Limit::Refuse(MAX_BODY_BYTES))
            .await
            .map_err(|e| Failure::transport(op.name, e, url, timeout))?;
        if let Some(failure) = Failure::too_large(op.name, status) {
            return Err(failure);
        }
        let retry_after = retry_after(&headers);
        let body = match bytes.as_ref() {
            Some(bytes) if bytes.is_empty() => A::default(),
            Some(bytes) => match std::str::from_utf8(bytes).ok().and_then(A::read) {
                Some(value) => value,
                None => {
                    let content_type = headers
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("no content type")
                        .split(';')
                        .next()
                        .unwrap_or_default();
                    return Err(Failure::not_json(
                        op.name,
                        status,
                        content_type,
                        retry_after,
                    ));
                }
            },
            None => {
                return Err(Failure::fatal(
                    Error::upstream(
                        ErrorKind::Unavailable,
                        reasons::UPSTREAM_BODY_TOO_LARGE,
                        format!(
                            "Qencode answered {} with a body over {MAX_BODY_BYTES} bytes",
                            op.name
                        ),
                    )
                    .with_metadata("http_status", status.as_u16()),
                ))
            }
        };
        if let Some(failure) =
            Failure::unexplained_server_error(op.name, status, body.names_error(), retry_after)
        {
            return Err(failure);
        }
        Ok(JsonResponse {
            status,
            retry_after,
            body,
            text: bytes.unwrap_or_default(),
            headers,
        })
    }
}

/// The span of one upstream request, with attributes per OpenTelemetry's HTTP client
/// conventions. The route is the template, never a token or key, so spans stay
/// secret-free.
fn upstream_span(op: Operation, method: &Method) -> tracing::Span {
    tracing::info_span!(
        "upstream_request",
        otel.name = %format!("{} {}", method, op.route),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        url.template = op.route,
        http.response.status_code = tracing::field::Empty,
        qencode.api = op.api,
        qencode.operation = op.name,
        qencode.error_code = tracing::field::Empty,
    )
}

/// Records an answer on the current span; returns its bounded metrics outcome label.
fn outcome(status: StatusCode, qencode_code: Option<i64>) -> Cow<'static, str> {
    let span = tracing::Span::current();
    span.record("http.response.status_code", status.as_u16());
    if let Some(code) = qencode_code {
        span.record("qencode.error_code", code);
        span.record("otel.status_code", "ERROR");
        return if (1..=20).contains(&code) {
            Cow::Owned(format!("qencode_error_{code}"))
        } else {
            Cow::Borrowed("qencode_error_other")
        };
    }
    if status.is_success() {
        return Cow::Borrowed("ok");
    }
    span.record("otel.status_code", "ERROR");
    Cow::Owned(format!("http_{}", status.as_u16()))
}

/// Records a failure on the current span; returns its metrics outcome label (the error
/// reason, from a closed set).
fn failed(error: &Error) -> Cow<'static, str> {
    tracing::Span::current().record("otel.status_code", "ERROR");
    Cow::Owned(error.reason.to_ascii_lowercase())
}
