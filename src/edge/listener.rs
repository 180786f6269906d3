//! Accepted connections with the socket options and limits every listener needs.
//!
//! tonic applies `Server::tcp_nodelay` only when it binds the address itself, not to a
//! listener handed to `serve_with_incoming*`; axum sets nothing. Without TCP_NODELAY a
//! response written in two pieces (h2 writes headers and data, then trailers) waits for
//! the client's delayed ACK: about 40 ms on every call whose answer is 256 bytes or more.
//! So both listeners accept through [`Limited`] and nothing else.
//!
//! Neither tonic nor hyper bounds what a connection costs before it speaks, so this is
//! also where that is bounded: at most `GATEWAY_MAX_CONNECTIONS` open per listener (past
//! it a connection is accepted and closed at once, which the client sees as a reset and
//! retries elsewhere, instead of waiting in the kernel's backlog); a connection that has
//! not sent its opening bytes within `GATEWAY_HANDSHAKE_TIMEOUT`, or has sent nothing
//! for `GATEWAY_IDLE_TIMEOUT`, or has taken no byte of what it is sent for
//! `GATEWAY_WRITE_STALL_TIMEOUT`, is closed ([`conn::Conn`]).

pub mod accepted;
pub mod conn;
pub mod handshake;
mod write_stall;

pub use accepted::Accepted;
pub use conn::Conn;

use crate::support::limit_hits::{bite, Throttle};
use std::{io, sync::Arc, time::Duration};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_stream::Stream;
use tracing::warn;

/// How long accepting pauses after the OS refused an accept (e.g. out of file
/// descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Sets TCP_NODELAY on an accepted connection; a failure is logged, not fatal (the
/// connection still works, only slower).
pub fn set_nodelay(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        warn!(error = %e, "cannot set TCP_NODELAY on an accepted connection");
    }
}

/// The limits of one listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Most open connections.
    pub max_connections: usize,
    /// Time to send the opening bytes.
    pub handshake_timeout: Duration,
    /// How many opening bytes end the handshake: the 24-byte HTTP/2 preface for gRPC.
    pub handshake_bytes: usize,
    /// Longest time with nothing read.
    pub idle_timeout: Duration,
    /// Longest time the peer may take no byte while a write waits for room.
    pub write_stall_timeout: Duration,
}

/// The length of the HTTP/2 client connection preface.
pub const H2_PREFACE_LEN: usize = 24;

/// A listener whose connections have TCP_NODELAY and count against its limits.
pub struct Limited {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    limits: ConnLimits,
    /// `grpc` or `http`, in logs and metric labels.
    scope: &'static str,
}

impl Limited {
    /// Wraps `listener`.
    pub fn new(listener: TcpListener, limits: ConnLimits, scope: &'static str) -> Self {
        Limited {
            listener,
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
            scope,
        }
    }

    /// The next connection within the limits; over the cap, connections are closed
    /// here and never returned. Accept errors are logged and waited out.
    pub async fn accept(&self) -> Conn {
        static FULL: Throttle = Throttle::new();
        static FAILED: Throttle = Throttle::new();
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => match self.slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        set_nodelay(&stream);
                        return Conn::new(stream, slot, self.limits, self.scope);
                    }
                    Err(_) => {
                        drop(stream);
                        bite(
                            &FULL,
                            "GATEWAY_MAX_CONNECTIONS",
                            self.scope,
                            "connection limit reached; closing new connections at once",
                        );
                    }
                },
                Err(e) => {
                    if let Some(suppressed) = FAILED.allow() {
                        warn!(error = %e, scope = self.scope, suppressed, "accept failed");
                    }
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    /// Open connections now.
    pub fn open(&self) -> usize {
        self.limits
            .max_connections
            .saturating_sub(self.slots.available_permits())
    }

    /// The connections as a stream (for tonic's `serve_with_incoming*`); never ends.
    pub fn incoming(self) -> impl Stream<Item = io::Result<Conn>> + Send {
        futures::stream::unfold(self, |listener| async move {
            let conn = listener.accept().await;
            Some((Ok(conn), listener))
        })
    }
}

/// A listener's address for logs (`?` when the OS cannot say).
pub fn display_addr(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |addr| addr.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize) -> ConnLimits {
        ConnLimits {
            max_connections,
            handshake_timeout: Duration::from_secs(60),
            handshake_bytes: 1,
            idle_timeout: Duration::from_secs(60),
            write_stall_timeout: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn accepted_connections_have_nodelay_and_count() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limited = Limited::new(listener, limits(2), "test");
        let _client = TcpStream::connect(addr).await.unwrap();
        let accepted = limited.accept().await;
        assert!(
            accepted.stream().nodelay().unwrap(),
            "TCP_NODELAY must be set on accept"
        );
        assert_eq!(limited.open(), 1);
        drop(accepted);
        assert_eq!(limited.open(), 0);
    }

    #[tokio::test]
    async fn over_the_cap_connections_are_closed_at_once() {
        use tokio::io::AsyncReadExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limited = Limited::new(listener, limits(1), "test");
        let _first = TcpStream::connect(addr).await.unwrap();
        let mut second = TcpStream::connect(addr).await.unwrap();
        let kept = limited.accept().await;
        let mut buf = [0u8; 1];
        let read = tokio::select! {
            _ = limited.accept() => panic!("nothing past the cap is handed out"),
            read = second.read(&mut buf) => read,
        };
        drop(kept);
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
}
