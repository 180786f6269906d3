//! The per-watcher outbox: a small task moves a watcher's messages into a one-message
//! queue, and ends the watch when its client takes none for too long.
//!
//! Why a task: hyper polls a response body only while the client's HTTP/2 window has
//! room. Once a client that never reads has shut it, nothing polls the watcher's stream,
//! so the stream itself can neither notice, nor time out, nor let go of its
//! subscription. The task can: it waits at most `stall` for room in the queue, and
//! otherwise drops the watcher's stream (which frees the hub subscription and the
//! watcher slot at once), counts the limit hit, and leaves RESOURCE_EXHAUSTED for the
//! client to read should it ever read again. What is left until then is the HTTP/2
//! stream itself with at most one message queued here and one in hyper; the keepalive
//! and `GATEWAY_MAX_CONNECTION_AGE` bound how long the connection lives. A client that
//! keeps its window open and stops reading its socket never stalls this queue (hyper
//! keeps moving messages into h2's send buffers); `GATEWAY_WRITE_STALL_TIMEOUT` closes
//! its connection instead (`listener/write_stall.rs`).
//!
//! The task asks for room before it takes the next message from the watcher's stream, so
//! a slow client gets the newest state when it reads (the watch channel still skips the
//! intermediate ones), never a backlog; and the stall clock runs only while a message
//! waits, so a quiet watch is never taken for a stalled one.

use crate::error::{Error, ErrorKind, GATEWAY_DOMAIN};
use crate::limits::{bite, Throttle};
use futures::{Stream, StreamExt};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

/// The error a watch ends with when its client took no message for `stall`.
pub fn stalled(stall: Duration) -> Error {
    Error::new(
        ErrorKind::ResourceExhausted,
        GATEWAY_DOMAIN,
        "WATCH_CLIENT_STALLED",
        format!(
            "the client took no message for {stall:?}, so the watch was ended to free what it held (GATEWAY_WATCH_STALL_TIMEOUT); read messages as they come and watch again"
        ),
    )
}

/// `messages` through a one-message queue fed by its own task: the returned stream
/// yields them in order and, when the client left one waiting longer than `stall`, ends
/// with [`stalled`] instead of the rest. Dropping the returned stream (the client went
/// away) ends the task and drops `messages` at once.
pub fn forward<T, S>(
    messages: S,
    stall: Duration,
) -> impl Stream<Item = Result<T, Error>> + Send + use<T, S>
where
    T: Send + 'static,
    S: Stream<Item = Result<T, Error>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(1);
    let (ended_tx, ended_rx) = oneshot::channel::<Error>();
    tokio::spawn(async move {
        let mut messages = std::pin::pin!(messages);
        loop {
            let permit = match tokio::time::timeout(stall, tx.reserve()).await {
                Ok(Ok(permit)) => permit,
                // The receiver is gone: tonic dropped the response stream.
                Ok(Err(_)) => return,
                Err(_) => {
                    static THROTTLE: Throttle = Throttle::new();
                    bite(
                        &THROTTLE,
                        "GATEWAY_WATCH_STALL_TIMEOUT",
                        "watch",
                        "ended watch streams whose client took no message in time",
                    );
                    // Sent before `tx` drops, so the receiver sees it after the queue.
                    let _ = ended_tx.send(stalled(stall));
                    return;
                }
            };
            let next = tokio::select! {
                next = messages.next() => next,
                () = tx.closed() => return,
            };
            match next {
                Some(message) => permit.send(message),
                None => return,
            }
        }
    });
    let ended =
        futures::stream::once(ended_rx).filter_map(|ended| async move { ended.ok().map(Err) });
    ReceiverStream::new(rx).chain(ended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };

    /// Counts as dropped when the forwarder lets go of the watcher's stream.
    struct Dropped(Arc<AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn numbers(
        dropped: &Arc<AtomicBool>,
    ) -> impl Stream<Item = Result<u32, Error>> + Send + 'static {
        let guard = Dropped(dropped.clone());
        futures::stream::unfold((0u32, guard), |(n, guard)| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok(n), (n + 1, guard)))
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_gets_every_message_and_a_quiet_watch_never_stalls() {
        let dropped = Arc::new(AtomicBool::new(false));
        // Messages a second apart, a stall bound of a tenth of that: only a waiting
        // message counts, not the quiet time between messages.
        let mut out = Box::pin(forward(numbers(&dropped), Duration::from_millis(100)));
        for n in 0..5 {
            assert_eq!(out.next().await.unwrap().unwrap(), n);
        }
        drop(out);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(
            dropped.load(Ordering::SeqCst),
            "a client that leaves frees the watcher"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_takes_nothing_is_ended_with_resource_exhausted() {
        let dropped = Arc::new(AtomicBool::new(false));
        let mut out = Box::pin(forward(numbers(&dropped), Duration::from_secs(30)));
        assert_eq!(out.next().await.unwrap().unwrap(), 0);
        // The client stops reading: one message fills the queue, then nothing moves.
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(
            !dropped.load(Ordering::SeqCst),
            "not yet: the message waited under 30 s"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            dropped.load(Ordering::SeqCst),
            "the watcher's stream was let go"
        );
        assert_eq!(
            out.next().await.unwrap().unwrap(),
            1,
            "what was queued comes first"
        );
        let ended = out.next().await.unwrap().unwrap_err();
        assert_eq!(
            (ended.kind, ended.reason.as_ref()),
            (ErrorKind::ResourceExhausted, "WATCH_CLIENT_STALLED")
        );
        assert!(out.next().await.is_none());
    }
}
