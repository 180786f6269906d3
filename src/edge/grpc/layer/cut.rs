//! [`StreamCut`]: one signal that closes every server stream still open shortly after
//! shutdown begins.
//!
//! Each open stream used to hold its own boxed "shutdown began, then sleep" future: a
//! watch receiver and a timer entry, about 340 bytes per watcher for as long as the
//! stream lived, and one timer per stream firing at once at shutdown. Here one task
//! waits for shutdown and the delay, then wakes every stream through a shared
//! [`Notify`]; a stream holds only its registration (a boxed [`OwnedNotified`], under
//! 100 bytes).

use crate::support::shutdown::Shutdown;
use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Weak,
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::sync::{futures::OwnedNotified, Notify};

/// The shared signal; cheap to clone.
#[derive(Clone)]
pub struct StreamCut(Arc<Inner>);

struct Inner {
    notify: Arc<Notify>,
    /// Set (before the wake-up) once streams are to be closed.
    fired: AtomicBool,
    /// The task that fires the signal has been started.
    armed: AtomicBool,
    shutdown: Shutdown,
    delay: Duration,
}

impl StreamCut {
    /// A signal that fires `delay` after `shutdown` begins.
    pub fn new(shutdown: Shutdown, delay: Duration) -> Self {
        StreamCut(Arc::new(Inner {
            notify: Arc::new(Notify::new()),
            fired: AtomicBool::new(false),
            armed: AtomicBool::new(false),
            shutdown,
            delay,
        }))
    }

    /// A registration for one stream. The first one starts the task that fires the
    /// signal (so a layer built outside a runtime, or never serving a stream, spawns
    /// nothing).
    pub fn waiter(&self) -> CutWaiter {
        if !self.0.armed.swap(true, Ordering::AcqRel) {
            let inner: Weak<Inner> = Arc::downgrade(&self.0);
            self.0.shutdown.spawn_after_begin(self.0.delay, move || {
                if let Some(inner) = inner.upgrade() {
                    inner.fired.store(true, Ordering::SeqCst);
                    inner.notify.notify_waiters();
                }
            });
        }
        let mut notified = Box::pin(self.0.notify.clone().notified_owned());
        // Registered now, so a wake-up between here and the first poll is not lost;
        // one before it is seen through `fired`.
        notified.as_mut().enable();
        CutWaiter {
            notified,
            inner: self.0.clone(),
        }
    }
}

/// One stream's registration with the [`StreamCut`].
pub struct CutWaiter {
    notified: Pin<Box<OwnedNotified>>,
    inner: Arc<Inner>,
}

impl CutWaiter {
    /// Ready once streams are to be closed; registers `cx` otherwise.
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        self.notified.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[tokio::test(start_paused = true)]
    async fn every_waiter_fires_the_delay_after_shutdown_begins() {
        let shutdown = Shutdown::new();
        let cut = StreamCut::new(shutdown.clone(), Duration::from_millis(250));
        let mut early = cut.waiter();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(early.poll(&mut cx).is_pending());
        shutdown.begin();
        tokio::time::sleep(Duration::from_millis(249)).await;
        assert!(early.poll(&mut cx).is_pending(), "not before the delay");
        let mut late = cut.waiter();
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(early.poll(&mut cx).is_ready());
        assert!(late.poll(&mut cx).is_ready());
        // A stream opened after the signal sees it at once.
        assert!(cut.waiter().poll(&mut cx).is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn the_signal_wakes_a_waiting_stream() {
        let shutdown = Shutdown::new();
        let cut = StreamCut::new(shutdown.clone(), Duration::from_millis(250));
        let mut waiter = cut.waiter();
        let task = tokio::spawn(async move { std::future::poll_fn(|cx| waiter.poll(cx)).await });
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        shutdown.begin();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("woken by the signal")
            .expect("task");
    }

    #[tokio::test(start_paused = true)]
    async fn without_shutdown_nothing_fires() {
        let cut = StreamCut::new(Shutdown::new(), Duration::from_millis(250));
        let mut waiter = cut.waiter();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(waiter
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending());
    }
}
