//! [`WriteStall`]: the clock of a connection whose peer has stopped taking bytes.
//!
//! A client can open streams with a huge HTTP/2 window and then never read its socket.
//! HTTP/2 flow control then never pushes back: hyper keeps moving response data into
//! h2's per-stream send buffers (about 400 KiB each, not exposed by tonic) and nothing
//! upstream of the socket can tell a slow reader from a dead one. The socket can: its
//! send buffer is full and a write returns `Pending`. This clock starts at that first
//! `Pending` and stops at the next write that moves a byte; if none does within
//! `GATEWAY_WRITE_STALL_TIMEOUT` the write fails with `TimedOut`, hyper drops the
//! connection, and with it every stream, watcher slot and buffer it held.
//!
//! Only a write that moves bytes stops the clock. A successful flush does not: on a
//! `TcpStream` it is a no-op that says nothing about the peer, and a caller alternating
//! a pending write with a flush must not keep a stalled connection alive.
//!
//! Waking: the timer is polled with the context of the pending write, so its expiry
//! wakes the connection task. h2 ends every poll of its connection with a flush of the
//! frames it buffers (`Streams::poll_complete`), and hyper's HTTP/1 keeps its unwritten
//! bytes and writes them again when woken, so the failing write does happen.

use crate::support::limit_hits::{bite, Throttle};
use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::time::{Instant, Sleep};

/// The write-stall clock of one connection (see the module doc).
#[derive(Debug)]
pub struct WriteStall {
    /// `GATEWAY_WRITE_STALL_TIMEOUT`.
    timeout: Duration,
    /// Created at the first stall only, so a connection that never stalls allocates
    /// nothing; re-armed (not re-allocated) at each later stall.
    timer: Option<Pin<Box<Sleep>>>,
    /// True from a pending write until a write moves bytes: the timer is running.
    stalled: bool,
}

impl WriteStall {
    /// A clock that lets a peer take no byte for `timeout` while a write waits.
    pub fn new(timeout: Duration) -> Self {
        WriteStall {
            timeout,
            timer: None,
            stalled: false,
        }
    }

    /// Passes a write's outcome through: bytes written stop the clock; `Pending` starts
    /// it (if not running) and becomes `TimedOut` once it has run out.
    pub fn write(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
        scope: &'static str,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    self.stalled = false;
                }
                Poll::Ready(Ok(written))
            }
            Poll::Pending => self.pending(cx, scope),
            failed => failed,
        }
    }

    /// Passes a flush's outcome through: `Pending` counts as a stall like a write's; a
    /// finished flush leaves the clock as it is (see the module doc).
    pub fn flush(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<()>>,
        scope: &'static str,
    ) -> Poll<io::Result<()>> {
        match polled {
            Poll::Pending => self.pending(cx, scope),
            done => done,
        }
    }

    /// The socket took nothing: start the clock if it is not running, poll it (which
    /// registers the waker), and fail once it has run out.
    fn pending<T>(&mut self, cx: &mut Context<'_>, scope: &'static str) -> Poll<io::Result<T>> {
        if !self.stalled {
            self.stalled = true;
            let deadline = Instant::now() + self.timeout;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let Some(timer) = &mut self.timer else {
            return Poll::Pending;
        };
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        static THROTTLE: Throttle = Throttle::new();
        bite(
            &THROTTLE,
            "GATEWAY_WRITE_STALL_TIMEOUT",
            scope,
            "closing connections whose peer took no byte for the write stall timeout",
        );
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer took no byte within GATEWAY_WRITE_STALL_TIMEOUT",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    const TIMEOUT: Duration = Duration::from_secs(30);

    fn pending_write(stall: &mut WriteStall, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        stall.write(cx, Poll::Pending, "test")
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_pending_for_the_timeout_fails_with_timed_out() {
        let mut stall = WriteStall::new(TIMEOUT);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(pending_write(&mut stall, &mut cx).is_pending());
        tokio::time::advance(TIMEOUT - Duration::from_millis(1)).await;
        assert!(pending_write(&mut stall, &mut cx).is_pending());
        assert!(stall.flush(&mut cx, Poll::Ready(Ok(())), "test").is_ready());
        tokio::time::advance(Duration::from_millis(1)).await;
        match stall.flush(&mut cx, Poll::Pending, "test") {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
            other => panic!("a finished flush does not stop the clock: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_moves_bytes_stops_the_clock() {
        let mut stall = WriteStall::new(TIMEOUT);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(pending_write(&mut stall, &mut cx).is_pending());
        tokio::time::advance(TIMEOUT / 2).await;
        // Zero bytes is no progress; one byte is.
        assert!(matches!(
            stall.write(&mut cx, Poll::Ready(Ok(0)), "test"),
            Poll::Ready(Ok(0))
        ));
        assert!(matches!(
            stall.write(&mut cx, Poll::Ready(Ok(1)), "test"),
            Poll::Ready(Ok(1))
        ));
        tokio::time::advance(TIMEOUT / 2).await;
        // A new stall starts a new clock.
        assert!(pending_write(&mut stall, &mut cx).is_pending());
        tokio::time::advance(TIMEOUT - Duration::from_millis(1)).await;
        assert!(pending_write(&mut stall, &mut cx).is_pending());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(matches!(
            pending_write(&mut stall, &mut cx),
            Poll::Ready(Err(_))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_expiry_wakes_the_task_that_saw_the_stall() {
        use std::sync::{
            atomic::{AtomicBool, Ordering},
            Arc,
        };
        struct Flag(AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut stall = WriteStall::new(TIMEOUT);
        assert!(pending_write(&mut stall, &mut cx).is_pending());
        tokio::time::advance(TIMEOUT).await;
        assert!(flag.0.load(Ordering::SeqCst), "the timer woke the task");
    }
}
