//! TLS handshakes of accepted gRPC connections, each in its own task so a slow client
//! delays no one else, bounded by `GATEWAY_HANDSHAKE_TIMEOUT`. Failed handshakes
//! (no or an untrusted client certificate, plain HTTP/2 on a TLS port) are logged,
//! rate-limited, and the connection closed.

use super::{Accepted, Limited};
use crate::edge::server_tls::Tls;
use crate::support::limit_hits::Throttle;
use std::{io, sync::Arc, time::Duration};
use tokio::sync::mpsc;
use tokio_stream::{wrappers::ReceiverStream, Stream, StreamExt};
use tracing::warn;

/// How many finished handshakes may wait for tonic to take them.
const READY_QUEUE: usize = 64;

/// The TLS connections of `listener`, as a stream for tonic. Handshakes run in their own
/// tasks; accepting stops when tonic drops the stream.
pub fn incoming(
    listener: Limited,
    tls: Arc<Tls>,
    handshake_timeout: Duration,
) -> impl Stream<Item = io::Result<Accepted>> + Send {
    let (ready, taken) = mpsc::channel(READY_QUEUE);
    tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                () = ready.closed() => return,
                conn = listener.accept() => conn,
            };
            let acceptor = tls.acceptor();
            let ready = ready.clone();
            tokio::spawn(async move {
                static FAILED: Throttle = Throttle::new();
                match tokio::time::timeout(handshake_timeout, acceptor.accept(conn)).await {
                    Ok(Ok(stream)) => {
                        let _ = ready.send(Accepted::tls(stream)).await;
                    }
                    Ok(Err(e)) => {
                        if let Some(suppressed) = FAILED.allow() {
                            warn!(error = %e, suppressed, "TLS handshake failed; connection closed");
                        }
                    }
                    Err(_) => {
                        if let Some(suppressed) = FAILED.allow() {
                            warn!(suppressed, "no TLS handshake within GATEWAY_HANDSHAKE_TIMEOUT; connection closed");
                        }
                    }
                }
            });
        }
    });
    ReceiverStream::new(taken).map(Ok)
}
