//! Accepted connections with the socket options every listener needs.
//!
//! tonic applies `Server::tcp_nodelay` only when it binds the address itself, not to a
//! listener handed to `serve_with_incoming*`; axum sets nothing. Without TCP_NODELAY a
//! response written in two pieces (h2 writes headers and data, then trailers) waits for
//! the client's delayed ACK: about 40 ms on every call whose answer is 256 bytes or more.
//! So both listeners accept through [`nodelay`] and nothing else.

use std::io;
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::{wrappers::TcpListenerStream, Stream, StreamExt};
use tracing::warn;

/// Sets TCP_NODELAY on an accepted connection; a failure is logged, not fatal (the
/// connection still works, only slower).
pub fn set_nodelay(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        warn!(error = %e, "cannot set TCP_NODELAY on an accepted connection");
    }
}

/// The connections `listener` accepts, each with TCP_NODELAY set.
pub fn nodelay(listener: TcpListener) -> impl Stream<Item = io::Result<TcpStream>> + Send {
    TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted {
            set_nodelay(stream);
        }
        accepted
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;

    #[tokio::test]
    async fn accepted_connections_have_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = pin!(nodelay(listener));
        let _client = TcpStream::connect(addr).await.unwrap();
        let accepted = incoming.next().await.unwrap().unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "TCP_NODELAY must be set on accept"
        );
    }
}
