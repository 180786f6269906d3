//! [`Accepted`]: a gRPC connection as tonic gets it, plain or TLS, with what the
//! listener learnt of its peer ([`PeerInfo`], in every request's extensions).

use super::Conn;
use crate::access::identity::PeerInfo;
use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;

/// A connection handed to tonic.
pub struct Accepted {
    io: Io,
    peer: PeerInfo,
}

enum Io {
    Plain(Conn),
    Tls(Box<TlsStream<Conn>>),
}

impl Accepted {
    /// A plain TCP connection.
    pub fn plain(conn: Conn) -> Self {
        let peer = PeerInfo {
            remote: conn.stream().peer_addr().ok(),
            certificate: None,
        };
        Accepted {
            io: Io::Plain(conn),
            peer,
        }
    }

    /// A connection whose TLS handshake is done; a verified client certificate names
    /// its identity.
    pub fn tls(stream: TlsStream<Conn>) -> Self {
        let (conn, session) = stream.get_ref();
        let peer = PeerInfo {
            remote: conn.stream().peer_addr().ok(),
            certificate: session
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| crate::access::identity::certificate_identity(leaf)),
        };
        Accepted {
            io: Io::Tls(Box::new(stream)),
            peer,
        }
    }
}

macro_rules! delegate {
    ($self:ident, $io:ident => $call:expr) => {
        match &mut $self.get_mut().io {
            Io::Plain($io) => {
                let $io = Pin::new($io);
                $call
            }
            Io::Tls($io) => {
                let $io = Pin::new($io.as_mut());
                $call
            }
        }
    };
}

impl AsyncRead for Accepted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, io => io.poll_read(cx, buf))
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, io => io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, io => io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(io) => io.is_write_vectored(),
            Io::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, io => io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, io => io.poll_shutdown(cx))
    }
}

impl tonic::transport::server::Connected for Accepted {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}
