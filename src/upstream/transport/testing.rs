//! Test helpers: one request through a transport, as the client sends them.

use super::*;

/// The direct transport, as `HttpClient::new` builds it without a proxy.
pub(crate) fn direct() -> Transport {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Transport::direct(Duration::from_secs(5), Vec::new()).unwrap()
}

/// `method url` with no body through `transport`, within `timeout`.
pub(crate) async fn fetch(
    transport: &Transport,
    method: Method,
    url: &str,
    timeout: Duration,
) -> (url::Url, Result<Fetched, TransportError>) {
    let url = url::Url::parse(url).unwrap();
    let request = Outgoing {
        method,
        url: &url,
        headers: &[],
        content_type: None,
        body: Bytes::new(),
    };
    let result = transport
        .fetch(request, timeout, Limit::Refuse(1 << 20))
        .await;
    (url, result)
}

/// The error of `method url` through the direct transport.
pub(crate) async fn failure(method: Method, url: &str) -> (url::Url, TransportError) {
    let (url, result) = fetch(&direct(), method, url, Duration::from_secs(5)).await;
    (url, result.expect_err("the request should fail"))
}
