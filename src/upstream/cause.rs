//! What a transport failure was, in words an operator can act on.
//!
//! hyper-util reports every connect failure as "client error (Connect)" (and reqwest,
//! on the proxied path, as "error sending request"); the cause (a refused connection,
//! a failed DNS lookup, a rejected certificate, a timeout) sits several `source()`
//! levels down, in hyper-util's, std's or rustls' error. This walks that chain once and
//! names the cause and the host, never the path or query (the Live API's token route
//! carries the key in its URL).

use super::transport::TransportError;
use std::{error::Error as StdError, io};

/// The kind of transport failure, also the `cause` of the error's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Nothing listens on the port (or a firewall rejects it).
    Refused,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The connection or the answer took too long.
    Timeout,
    /// The peer reset or closed the connection mid-request.
    Reset,
    /// Anything else.
    Other,
}

impl Cause {
    /// Short stable name, for metadata and log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Refused => "refused",
            Cause::Dns => "dns",
            Cause::Tls => "tls",
            Cause::Timeout => "timeout",
            Cause::Reset => "reset",
            Cause::Other => "other",
        }
    }
}

/// A transport failure described: its cause, the host (`host:port`, empty when the
/// error names no URL) and the innermost message, which names no URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// What failed.
    pub cause: Cause,
    /// `host:port` of the request.
    pub host: String,
    /// A short phrase: "connection refused", "DNS lookup failed: …", …
    pub detail: String,
}

/// Describes `e`, a failed request to `url`, by walking its source chain. Only the
/// host and port of `url` are read.
pub fn describe(e: &TransportError, url: &url::Url) -> Described {
    let host = url
        .host_str()
        .map(|host| match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
        .unwrap_or_default();
    // Only a cut by the time limit comes without a source.
    let (cause, detail) = match &e.source {
        Some(source) if !e.timed_out => classify(source.as_ref()),
        _ => (Cause::Timeout, "timed out".to_owned()),
    };
    Described {
        cause,
        host,
        detail,
    }
}

/// The cause and a phrase for it, from the first level of the chain that says.
fn classify(e: &(dyn StdError + 'static)) -> (Cause, String) {
    let mut innermost = String::new();
    let mut dns = false;
    let mut level: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(current) = level {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return (Cause::Tls, format!("TLS handshake failed: {tls}"));
        }
        let mut next = current.source();
        if let Some(io) = current.downcast_ref::<io::Error>() {
            // An io::Error's `source()` skips the error it wraps (rustls' lives there,
            // often inside a second io::Error): descend into it instead.
            if let Some(inner) = io.get_ref() {
                next = Some(inner as &(dyn StdError + 'static));
            }
            match io.kind() {
                io::ErrorKind::ConnectionRefused => {
                    return (Cause::Refused, "connection refused".into())
                }
                io::ErrorKind::TimedOut => return (Cause::Timeout, "timed out".into()),
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => {
                    return (Cause::Reset, format!("connection closed: {io}"))
                }
                _ => {}
            }
        }
        let text = current.to_string();
        // hyper-util's connector wraps resolver failures as "dns error".
        dns |= text.starts_with("dns error");
        innermost = text;
        level = next;
    }
    if dns {
        return (Cause::Dns, format!("DNS lookup failed: {innermost}"));
    }
    (Cause::Other, innermost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::transport::testing::failure;
    use http::Method;

    #[tokio::test]
    async fn a_closed_port_is_a_refused_connection_on_that_host() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/v1/access_token?key=secret-key");
        let (url, e) = failure(Method::POST, &url).await;
        assert!(e.connect);
        let described = describe(&e, &url);
        assert_eq!(described.cause, Cause::Refused);
        assert_eq!(described.host, format!("127.0.0.1:{port}"));
        assert_eq!(described.detail, "connection refused");
        assert!(!format!("{described:?} {e:?}").contains("secret-key"));
    }

    #[tokio::test]
    async fn an_unresolvable_host_is_a_dns_failure() {
        // `.invalid` never resolves (RFC 6761), with or without a network.
        let (url, e) = failure(Method::GET, "http://api.qencode.invalid/v1/status").await;
        let described = describe(&e, &url);
        assert_eq!(described.cause, Cause::Dns, "{described:?}");
        assert_eq!(described.host, "api.qencode.invalid:80");
        assert!(described.detail.starts_with("DNS lookup failed"));
    }

    #[tokio::test]
    async fn a_plain_http_server_behind_https_is_a_tls_failure() {
        // An HTTP/1 server that answers a TLS ClientHello with plain text.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let (url, e) = failure(Method::GET, &format!("https://{addr}/v1/status")).await;
        let described = describe(&e, &url);
        assert_eq!(described.cause, Cause::Tls, "{described:?}");
        assert_eq!(described.host, addr.to_string());
    }

    #[tokio::test]
    async fn a_peer_that_closes_mid_request_is_a_reset() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 64];
                let _ = socket.read(&mut buf).await;
                drop(socket);
            }
        });
        let (url, e) = failure(Method::GET, &format!("http://{addr}/v1/status")).await;
        assert!(!e.connect, "the connection was made");
        let described = describe(&e, &url);
        assert!(
            matches!(described.cause, Cause::Reset | Cause::Other),
            "{described:?}"
        );
        assert!(!described.detail.contains("/v1/status"), "{described:?}");
    }
}
