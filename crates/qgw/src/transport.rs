//! The service every call goes through: tonic's channel, with a failed connection
//! reported as `UNAVAILABLE` naming the address that was dialled, and `--timeout` as
//! `DEADLINE_EXCEEDED`.
//!
//! tonic turns a failed connection into `UNAVAILABLE` with the bare OS or TLS error
//! ("tcp connect error"), which does not say which address failed: the one thing a
//! person needs to spot a wrong `--target`. Its own `Endpoint::timeout` expires as
//! `CANCELLED`, which a script cannot tell from a cancelled call. Both causes are known
//! only here, where the call is made, so the statuses are written here rather than in
//! `fail.rs`.

use std::{
    error::Error,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tonic::{
    body::Body,
    codegen::{http, Service},
    transport::Channel,
    ConnectError, Status,
};

/// A boxed error, as tonic's generated clients accept from a service.
type BoxError = Box<dyn Error + Send + Sync>;

/// The answer of one call.
type Answer = Pin<Box<dyn Future<Output = Result<http::Response<Body>, BoxError>> + Send>>;

/// A channel to the gateway at `uri`.
#[derive(Clone, Debug)]
pub struct Transport {
    channel: Channel,
    /// The URI dialled, for messages.
    uri: Arc<str>,
    /// How long a call may take until its answer starts (`--timeout`): the response
    /// headers of a unary call, the start of a stream. Connecting counts.
    timeout: Option<Duration>,
}

impl Transport {
    /// Calls go over `channel`, which dials `uri`, each bounded by `timeout`.
    pub fn new(channel: Channel, uri: &str, timeout: Option<Duration>) -> Self {
        Self {
            channel,
            uri: uri.into(),
            timeout,
        }
    }
}

impl Service<http::Request<Body>> for Transport {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let uri = &self.uri;
        self.channel
            .poll_ready(cx)
            .map_err(|error| explain(uri, error))
    }

    fn call(&mut self, request: http::Request<Body>) -> Answer {
        let answer = self.channel.call(request);
        let uri = Arc::clone(&self.uri);
        let timeout = self.timeout;
        Box::pin(async move {
            let answer = match timeout {
                // Dropping the call on expiry resets its HTTP/2 stream: the gateway
                // sees it cancelled.
                Some(limit) => tokio::time::timeout(limit, answer)
                    .await
                    .map_err(|_| too_late(&uri, limit))?,
                None => answer.await,
            };
            answer.map_err(|error| explain(&uri, error))
        })
    }
}

/// `DEADLINE_EXCEEDED`: no answer from `uri` within `limit`.
fn too_late(uri: &str, limit: Duration) -> BoxError {
    Status::deadline_exceeded(format!("no answer from {uri} within {limit:?} (--timeout)")).into()
}

/// `UNAVAILABLE` naming `uri` when `error` is a failed connection; `error` otherwise
/// (tonic then maps it as it always does).
fn explain(uri: &str, error: tonic::transport::Error) -> BoxError {
    let mut cause: Option<&(dyn Error + 'static)> = Some(&error);
    while let Some(current) = cause {
        if current.is::<ConnectError>() {
            return Status::unavailable(format!("cannot connect to {uri}: {}", chain(current)))
                .into();
        }
        cause = current.source();
    }
    error.into()
}

/// `error` and its sources as `a: b: c`, each message once (a wrapper often repeats the
/// message of what it wraps).
fn chain(error: &(dyn Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut cause = Some(error);
    while let Some(current) = cause {
        let message = current.to_string();
        if messages.last().is_none_or(|last| !last.contains(&message)) {
            messages.push(message);
        }
        cause = current.source();
    }
    messages.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_say_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let connect = ConnectError(Box::new(io));
        assert_eq!(chain(&connect), "refused");
        let wrapped = ConnectError(Box::new(ConnectError(Box::new(std::io::Error::other(
            "tcp connect error",
        )))));
        assert_eq!(chain(&wrapped), "tcp connect error");
    }
}
