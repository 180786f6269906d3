//! The service every call goes through: tonic's channel, with a failed connection
//! reported as `UNAVAILABLE` naming the address that was dialled.
//!
//! tonic turns a failed connection into `UNAVAILABLE` with the bare OS or TLS error
//! ("tcp connect error"), which does not say which address failed: the one thing a
//! person needs to spot a wrong `--target`. The address is known only here, where the
//! call was made, so the status is written here rather than in `fail.rs`.

use std::{
    error::Error,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
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
}

impl Transport {
    /// Calls go over `channel`, which dials `uri`.
    pub fn new(channel: Channel, uri: &str) -> Self {
        Self {
            channel,
            uri: uri.into(),
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
        Box::pin(async move { answer.await.map_err(|error| explain(&uri, error)) })
    }
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
