//! A callback receiver for the HTTP tests: a small axum server on 127.0.0.1:0
//! that hands every request it gets to the test through a channel, answering
//! 500 to the first `fail_first` of them and 200 afterwards.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header::CONTENT_TYPE, HeaderMap, StatusCode, Uri};
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// How long (on tokio's clock) a test waits for the next callback before failing.
/// Generous: on a paused clock the wait costs nothing unless a callback is missing.
pub(crate) const BOUND: Duration = Duration::from_secs(120);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) content_type: String,
    pub(crate) body: String,
    /// The status the receiver answered.
    pub(crate) answered: u16,
}

impl Received {
    /// The body as form fields (last value wins).
    pub(crate) fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON callback body")
    }
}

/// A running receiver.
pub(crate) struct Receiver {
    /// The URL to give as `callback_url`.
    pub(crate) url: String,
    rx: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    /// Starts a receiver failing its first `fail_first` requests with 500.
    pub(crate) async fn start(fail_first: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = mpsc::unbounded_channel();
        let failures = Arc::new(AtomicUsize::new(fail_first));
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let failures = failures.clone();
            async move {
                let fail = failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let status = if fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                };
                let content_type = headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let _ = tx.send(Received {
                    path: uri.path().to_string(),
                    content_type,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    answered: status.as_u16(),
                });
                status
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/hook"),
            rx,
        }
    }

    /// The next request, failing the test if none comes within [`BOUND`].
    pub(crate) async fn next(&mut self) -> Received {
        tokio::time::timeout(BOUND, self.rx.recv())
            .await
            .expect("a callback within the bound")
            .expect("receiver open")
    }

    /// The next request, unbounded (for tests that bound it themselves).
    pub(crate) async fn next_raw(&mut self) -> Option<Received> {
        self.rx.recv().await
    }

    /// The next request if one is already waiting.
    pub(crate) fn try_next(&mut self) -> Option<Received> {
        self.rx.try_recv().ok()
    }
}

/// Waits (on tokio's clock, polling every 10 ms, at most [`BOUND`]) until
/// `done` holds: for effects the sandbox logs after the receiver saw the
/// request, such as the outcome of a callback attempt.
pub(crate) async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
