//! Who is calling: the identity a connection or request proves, before any policy.
//!
//! Three sources, strongest first: the verified client certificate of an mTLS connection
//! (its URI SAN, a SPIFFE id, else its first DNS SAN; [`san`]), the header a trusted
//! mesh sidecar sets ([`mesh`], only when configured), and a bearer token, which is
//! never kept: only its SHA-256 digest is compared with the policy's.

pub mod mesh;
pub mod san;

use ring::digest::{digest, SHA256};
use std::{net::SocketAddr, sync::Arc};

/// What the listener learnt of a connection; tonic puts it in every request's
/// extensions (`Connected::connect_info`).
#[derive(Debug, Clone, Default)]
pub struct PeerInfo {
    /// The client's address.
    pub remote: Option<SocketAddr>,
    /// The identity of its verified client certificate (mTLS only).
    pub certificate: Option<Arc<str>>,
}

/// The identity a DER client certificate names: its first URI SAN, else its first DNS
/// SAN.
pub fn certificate_identity(der: &[u8]) -> Option<Arc<str>> {
    let names = san::names(der);
    names
        .uris
        .into_iter()
        .next()
        .or_else(|| names.dns.into_iter().next())
        .map(Arc::from)
}

/// The SHA-256 digest of the `authorization: Bearer <token>` of `headers`, if any; the
/// token itself goes no further than this function.
pub fn bearer_digest(headers: &http::HeaderMap) -> Option<[u8; 32]> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return None;
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_digested() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(bearer_digest(&headers), None);
        headers.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer_digest(&headers), None);
        headers.insert("authorization", "bearer s3cret".parse().unwrap());
        let expected = digest(&SHA256, b"s3cret");
        assert_eq!(
            bearer_digest(&headers).unwrap().as_slice(),
            expected.as_ref()
        );
    }
}
