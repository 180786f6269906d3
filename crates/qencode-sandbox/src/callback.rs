//! Outgoing callbacks (webhooks): one POST per event, retried with backoff, every
//! attempt logged.
//!
//! Deliveries always run on spawned tasks (see [`crate::task_callbacks`] and the
//! live stream scheduler), so a slow or dead receiver never holds up request
//! handling. Timeouts and backoff sleep on tokio's clock, so a test on a paused
//! clock does not wait for them in real time.

use std::time::Duration;

use axum::http::Method;
use bytes::Bytes;
use serde_json::Value;
use tokio::time::Instant;

use super::record::Endpoint;
use super::Sandbox;

/// How long one attempt may take, connect to response headers and body.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per callback: the first try and three retries.
pub(crate) const MAX_ATTEMPTS: u32 = 4;
/// Wait before the first retry; doubled before each further one (1 s, 2 s, 4 s).
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Which API a callback belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// A Transcoding task event, form-encoded (`callback_type=task`).
    Task,
    /// A live stream status change, the stream object as JSON.
    LiveStream,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The receiver answered 2xx; no more attempts.
    Delivered {
        /// HTTP status.
        status: u16,
    },
    /// The receiver answered something else; retried while attempts remain.
    Rejected {
        /// HTTP status.
        status: u16,
    },
    /// No answer: connection refused, reset or the attempt timed out; retried
    /// while attempts remain.
    Failed {
        /// What went wrong.
        error: String,
    },
}

/// One attempt to deliver a callback, as tests read it back from
/// [`crate::Sandbox::callbacks`]. Each attempt also appears in the request log
/// as [`Endpoint::Callback`].
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackAttempt {
    /// Task or live stream callback.
    pub kind: CallbackKind,
    /// The task token or stream id it is about.
    pub subject: String,
    /// The task event (`queued`, `saved`, `error`) or the stream status name.
    pub event: String,
    /// Where it was POSTed.
    pub url: String,
    /// 1 for the first try, counting up through retries.
    pub attempt: u32,
    /// How the attempt ended.
    pub outcome: CallbackOutcome,
    /// The request body as sent (form-encoded or JSON text).
    pub body: String,
    /// When the attempt ended, on tokio's clock.
    pub at: Instant,
}

/// A callback ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Callback {
    pub(crate) kind: CallbackKind,
    pub(crate) subject: String,
    pub(crate) event: String,
    pub(crate) url: String,
    pub(crate) body: Body,
}

/// A callback body in one of the two encodings the APIs use.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// `application/x-www-form-urlencoded` fields, in order.
    Form(Vec<(&'static str, String)>),
    /// `application/json`.
    Json(Value),
}

impl Body {
    fn encode(&self) -> (&'static str, String) {
        match self {
            Self::Form(fields) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in fields {
                    form.append_pair(name, value);
                }
                ("application/x-www-form-urlencoded", form.finish())
            }
            Self::Json(value) => ("application/json", value.to_string()),
        }
    }
}

/// Sends `callback`, retrying failures with backoff; true once delivered.
pub(crate) async fn deliver(sandbox: &Sandbox, callback: Callback) -> bool {
    let (content_type, body) = callback.body.encode();
    let path = url::Url::parse(&callback.url)
        .map(|url| url.path().to_string())
        .unwrap_or_default();
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=MAX_ATTEMPTS {
        let outcome = send_once(sandbox, &callback.url, content_type, &body).await;
        let delivered = matches!(outcome, CallbackOutcome::Delivered { .. });
        tracing::debug!(url = %callback.url, event = %callback.event, attempt, ?outcome, "callback attempt");
        {
            let mut inner = sandbox.shared.lock();
            inner.record(Method::POST, path.clone(), Endpoint::Callback, None, None);
            inner.record_callback(CallbackAttempt {
                kind: callback.kind,
                subject: callback.subject.clone(),
                event: callback.event.clone(),
                url: callback.url.clone(),
                attempt,
                outcome,
                body: body.clone(),
                at: Instant::now(),
            });
        }
        if delivered {
            return true;
        }
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
    tracing::warn!(url = %callback.url, event = %callback.event, "callback not delivered; giving up");
    false
}

/// One POST, bounded by [`ATTEMPT_TIMEOUT`].
async fn send_once(
    sandbox: &Sandbox,
    url: &str,
    content_type: &'static str,
    body: &str,
) -> CallbackOutcome {
    let client = match sandbox.shared.callback_client() {
        Ok(client) => client,
        Err(error) => return CallbackOutcome::Failed { error },
    };
    let request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(Bytes::from(body.to_string()));
    let exchange = async {
        let response = request.send().await?;
        let status = response.status();
        // Read the answer to the end so the attempt covers the whole exchange.
        response.bytes().await?;
        Ok::<_, reqwest::Error>(status)
    };
    match tokio::time::timeout(ATTEMPT_TIMEOUT, exchange).await {
        Err(_) => CallbackOutcome::Failed {
            error: format!("no answer within {ATTEMPT_TIMEOUT:?}"),
        },
        Ok(Err(error)) => CallbackOutcome::Failed {
            error: error.to_string(),
        },
        Ok(Ok(status)) if status.is_success() => CallbackOutcome::Delivered {
            status: status.as_u16(),
        },
        Ok(Ok(status)) => CallbackOutcome::Rejected {
            status: status.as_u16(),
        },
    }
}

/// The HTTP client for callbacks. It keeps no idle connections: a pooled
/// connection's idle timer would let a paused test clock jump ahead, and
/// callbacks are too rare to gain from reuse. Proxies from the environment are
/// ignored because callbacks usually go to a receiver on the same machine.
pub(crate) fn build_client() -> Result<reqwest::Client, String> {
    // reqwest is built without a default TLS provider (for https callback
    // URLs); installing one twice fails harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| format!("cannot build the callback HTTP client: {e}"))
}
