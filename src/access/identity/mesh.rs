//! Caller identities a service-mesh sidecar asserts in request headers.
//!
//! Only trustworthy when the sidecar is the only way to reach the gateway: anyone who
//! reaches the port directly can write these headers. So they are read only when
//! `GATEWAY_TRUST_MESH_IDENTITY` names the mesh, and the gateway warns at start.

/// Which mesh's header to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mesh {
    /// Istio (Envoy): the `URI=` of the last element of `x-forwarded-client-cert`.
    Istio,
    /// Linkerd: `l5d-client-id`.
    Linkerd,
}

impl Mesh {
    /// The caller's identity as the sidecar states it in `headers`.
    pub fn identity(self, headers: &http::HeaderMap) -> Option<String> {
        match self {
            Mesh::Istio => headers
                .get("x-forwarded-client-cert")
                .and_then(|v| v.to_str().ok())
                .and_then(xfcc_uri),
            Mesh::Linkerd => headers
                .get("l5d-client-id")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
        }
    }
}

/// The `URI` of the closest (last) element of an `x-forwarded-client-cert` value:
/// each proxy on the way appends its peer, so the last one is who spoke to our sidecar.
/// Values may be quoted (and then may hold `,` and `;`).
fn xfcc_uri(value: &str) -> Option<String> {
    let elements = split_unquoted(value, ',');
    let last = elements.last()?;
    split_unquoted(last, ';').into_iter().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("uri")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|uri| !uri.is_empty())
    })
}

/// Splits on `separator` outside double quotes.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &'static str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(name, http::HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn istio_takes_the_last_element_uri() {
        let value = "By=spiffe://a/gw;Hash=ab;URI=spiffe://a/far,By=spiffe://a/gw;Hash=cd;Subject=\"CN=x,O=y\";URI=spiffe://a/ns/media/sa/encoder";
        let mut map = http::HeaderMap::new();
        map.insert(
            "x-forwarded-client-cert",
            http::HeaderValue::from_str(value).unwrap(),
        );
        assert_eq!(
            Mesh::Istio.identity(&map).as_deref(),
            Some("spiffe://a/ns/media/sa/encoder")
        );
        assert_eq!(
            Mesh::Istio.identity(&headers("x-forwarded-client-cert", "Hash=ab")),
            None
        );
        assert_eq!(Mesh::Linkerd.identity(&map), None);
    }

    #[test]
    fn linkerd_reads_its_header() {
        let map = headers(
            "l5d-client-id",
            "encoder.media.serviceaccount.identity.linkerd.cluster.local",
        );
        assert_eq!(
            Mesh::Linkerd.identity(&map).as_deref(),
            Some("encoder.media.serviceaccount.identity.linkerd.cluster.local")
        );
        assert_eq!(Mesh::Istio.identity(&map), None);
    }
}
