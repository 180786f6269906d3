//! [`Shutdown`]: the one signal that stops the gateway.
//!
//! The binary begins it on SIGTERM/SIGINT, tests begin it by hand; the servers, the
//! tower layer, the watch streams, the pollers and the health monitor all hold a clone
//! and wait on it, so there is exactly one thing to trigger and one thing to follow.

use std::{future::Future, sync::Arc, time::Duration};
use tokio::sync::watch;

/// A cloneable shutdown signal: once begun it stays begun.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal that has not begun.
    pub fn new() -> Self {
        Shutdown(Arc::new(watch::Sender::new(false)))
    }

    /// Begins shutdown; later calls do nothing.
    pub fn begin(&self) {
        self.0
            .send_if_modified(|begun| !std::mem::replace(begun, true));
    }

    /// Whether shutdown has begun.
    pub fn has_begun(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes when shutdown begins (at once if it has). Owns what it needs, so it can
    /// be handed to a server or spawned.
    pub fn begun(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut begun = self.0.subscribe();
        async move {
            // The sender lives as long as this receiver's `Shutdown` clones do; should
            // they all be gone, nobody can begin shutdown any more, so never complete.
            if begun.wait_for(|begun| *begun).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Runs `then` on a task of its own `delay` after shutdown begins: one task for what
    /// would otherwise be a wait in every stream (the stream cut, closing the watch
    /// hubs). Must be called inside the runtime.
    pub fn spawn_after_begin(&self, delay: Duration, then: impl FnOnce() + Send + 'static) {
        let begun = self.begun();
        tokio::spawn(async move {
            begun.await;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            then();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_one_signal() {
        let shutdown = Shutdown::new();
        let waiter = tokio::spawn(shutdown.clone().begun());
        assert!(!shutdown.has_begun());
        let other = shutdown.clone();
        other.begin();
        other.begin();
        waiter.await.expect("waiter completes");
        assert!(shutdown.has_begun());
        shutdown.begun().await;
    }
}
