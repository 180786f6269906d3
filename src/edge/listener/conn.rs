//! [`Conn`]: an accepted connection that holds its listener slot and closes itself when
//! the peer does not speak in time, or stops taking what it is sent.
//!
//! The handshake and idle timers run inside `poll_read`, which hyper calls whenever it
//! waits for the peer: no task per connection, and a connection that is busy writing is
//! not cut. The write-stall timer (`listener/write_stall.rs`) runs inside the write calls that find
//! the socket's send buffer full. Closing is an I/O error (`TimedOut`), on which hyper
//! drops the connection.

use super::{write_stall::WriteStall, ConnLimits};
use crate::support::limit_hits::{bite, Throttle};
use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::OwnedSemaphorePermit,
    time::{Instant, Sleep},
};

/// An accepted connection (see the module doc).
pub struct Conn {
    stream: TcpStream,
    /// Freed when the connection closes.
    _slot: OwnedSemaphorePermit,
    /// Counted in `gateway_connections_open` while it lives.
    _open: crate::support::metrics::OpenConnection,
    /// Opening bytes still expected; zero once the handshake is done.
    handshake_left: usize,
    /// Fires at the handshake deadline, then at the idle deadline (re-armed lazily).
    timer: Pin<Box<Sleep>>,
    /// When nothing read since then means idle.
    idle_since: Instant,
    idle_timeout: Duration,
    /// Closes the connection when the peer takes no byte for `GATEWAY_WRITE_STALL_TIMEOUT`.
    write_stall: WriteStall,
    scope: &'static str,
}

impl Conn {
    pub(super) fn new(
        stream: TcpStream,
        slot: OwnedSemaphorePermit,
        limits: ConnLimits,
        scope: &'static str,
    ) -> Self {
        let now = Instant::now();
        let first = limits.handshake_timeout.min(limits.idle_timeout);
        Conn {
            stream,
            _slot: slot,
            _open: crate::support::metrics::OpenConnection::new(scope),
            handshake_left: limits.handshake_bytes,
            timer: Box::pin(tokio::time::sleep_until(now + first)),
            idle_since: now,
            idle_timeout: limits.idle_timeout,
            write_stall: WriteStall::new(limits.write_stall_timeout),
            scope,
        }
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Polls the timer while the peer is silent: `Some(error)` when it must close.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return None;
            }
            if self.handshake_left > 0 {
                static THROTTLE: Throttle = Throttle::new();
                bite(
                    &THROTTLE,
                    "GATEWAY_HANDSHAKE_TIMEOUT",
                    self.scope,
                    "closing connections that did not send their opening bytes in time",
                );
                return Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no handshake within GATEWAY_HANDSHAKE_TIMEOUT",
                ));
            }
            let deadline = self.idle_since + self.idle_timeout;
            if Instant::now() >= deadline {
                static THROTTLE: Throttle = Throttle::new();
                bite(
                    &THROTTLE,
                    "GATEWAY_IDLE_TIMEOUT",
                    self.scope,
                    "closing connections on which nothing was read for the idle timeout",
                );
                return Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "nothing read within GATEWAY_IDLE_TIMEOUT",
                ));
            }
            // Something was read since the timer was set: move it, and poll again so
            // it registers the waker.
            self.timer.as_mut().reset(deadline);
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len() - before;
                if read > 0 {
                    self.idle_since = Instant::now();
                    if self.handshake_left > 0 {
                        self.handshake_left = self.handshake_left.saturating_sub(read);
                        if self.handshake_left == 0 {
                            let deadline = self.idle_since + self.idle_timeout;
                            self.timer.as_mut().reset(deadline);
                        }
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match self.expired(cx) {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
            failed => failed,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.write_stall.write(cx, polled, this.scope)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.write_stall.write(cx, polled, this.scope)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.write_stall.flush(cx, polled, this.scope)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}
