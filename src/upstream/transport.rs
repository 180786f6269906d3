//! One HTTP exchange with Qencode: send a request, read its answer within a byte limit
//! and a time limit.
//!
//! Two ways to send, chosen once when the client is built:
//!
//! - **direct** (the normal case): hyper-util's pooled client over a rustls connector.
//!   GetStatus makes one upstream request per call, and reqwest, on top of the same
//!   hyper client, cost about 17k instructions of the ~200k a GetStatus takes: it parses
//!   each URL twice more (its redirect policy and its response both want a `url::Url`)
//!   and wraps the request in layers the gateway does not use (redirects are off,
//!   nothing is decompressed). Trust and connection settings are reqwest's own
//!   defaults: the platform's roots through `rustls-platform-verifier`, ALPN `h2` then
//!   `http/1.1`, TCP_NODELAY, TCP keep-alive every 15 s, idle connections kept 60 s.
//! - **through a proxy**: when the environment names one (`HTTPS_PROXY`, `HTTP_PROXY`,
//!   `ALL_PROXY`, either case), reqwest, which reads those variables and `NO_PROXY`
//!   exactly as curl does and tunnels HTTPS through `CONNECT`. A proxied deployment
//!   pays the extra instructions; no proxy logic is written twice.
//!
//! Either way a failure comes back as a [`TransportError`]: whether it timed out and
//! whether the connection was never made, with the underlying error for
//! [`super::cause::describe`] to name. Nothing here knows JSON or retries.

use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::{error::Error as StdError, fmt, sync::Arc, time::Duration};

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);
/// TCP keep-alive probes on upstream connections (reqwest's default), so a connection
/// a middlebox dropped is found before a request waits on it.
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
/// The environment variables that name a proxy; any one set sends every request
/// through reqwest.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The error of one exchange.
#[derive(Debug)]
pub struct TransportError {
    /// The time limit passed (the whole exchange, or the connect).
    pub timed_out: bool,
    /// No connection was made, so the request never left the gateway.
    pub connect: bool,
    /// What failed, for [`super::cause::describe`]; `None` when the time limit cut the
    /// exchange. It never holds the request's URL (the Live API's token route carries
    /// the key in its path).
    pub source: Option<Box<dyn StdError + Send + Sync>>,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{source}"),
            None => f.write_str("timed out"),
        }
    }
}

impl TransportError {
    fn elapsed() -> Self {
        TransportError {
            timed_out: true,
            connect: false,
            source: None,
        }
    }

    fn direct(e: hyper_util::client::legacy::Error) -> Self {
        TransportError {
            timed_out: chain_timed_out(&e),
            connect: e.is_connect(),
            source: Some(Box::new(e)),
        }
    }

    fn body(e: hyper::Error) -> Self {
        TransportError {
            timed_out: chain_timed_out(&e),
            connect: false,
            source: Some(Box::new(e)),
        }
    }

    fn proxied(e: reqwest::Error) -> Self {
        TransportError {
            timed_out: e.is_timeout(),
            connect: e.is_connect(),
            source: Some(Box::new(e.without_url())),
        }
    }
}

/// True when one of [`PROXY_VARIABLES`] is set to something, as `lookup` reads them.
fn names_a_proxy(lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|name| lookup(name).is_some_and(|value| !value.is_empty()))
}

/// True when an `io::Error` of kind `TimedOut` is in `e`'s chain (hyper-util reports a
/// connect timeout that way).
fn chain_timed_out(e: &(dyn StdError + 'static)) -> bool {
    let mut level = Some(e);
    while let Some(current) = level {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        level = current.source();
    }
    false
}

/// What to do with an answer's body beyond `n` bytes.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// Read none of it: the body is `None` (also when `Content-Length` says so).
    Refuse(usize),
    /// Keep the first `n` bytes and read no further.
    Truncate(usize),
}

/// An answer, whatever its status.
#[derive(Debug)]
pub struct Fetched {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body; `None` when it was over a [`Limit::Refuse`] limit.
    pub body: Option<Bytes>,
}

/// A request to send.
pub struct Outgoing<'a> {
    /// The method.
    pub method: Method,
    /// Where to.
    pub url: &'a url::Url,
    /// Extra headers (a token, trace context, TUS's own).
    pub headers: &'a [(HeaderName, String)],
    /// The `Content-Type` of the body, when the headers do not give one.
    pub content_type: Option<HeaderValue>,
    /// The body; empty for none.
    pub body: Bytes,
}

type Direct = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The sending half of the shared upstream client; cheap to clone.
#[derive(Clone)]
pub struct Transport {
    inner: Inner,
}

// One per process, cloned into the API clients at start-up: its size costs nothing,
// and a box would add a pointer chase to every request.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Inner {
    Direct(Direct),
    Proxied(reqwest::Client),
}

/// The `User-Agent` of every upstream request.
const USER_AGENT: &str = concat!("qencode-gateway/", env!("CARGO_PKG_VERSION"));

impl Transport {
    /// The transport the environment asks for: through reqwest when a proxy variable is
    /// set, direct otherwise. Needs rustls' process-wide crypto provider installed.
    pub fn from_env(connect_timeout: Duration) -> Result<Self, String> {
        if names_a_proxy(|name| std::env::var_os(name)) {
            Self::proxied(connect_timeout, None)
        } else {
            Self::direct(connect_timeout, Vec::new())
        }
    }

    /// The direct transport, trusting the platform's roots and `extra_roots`.
    pub fn direct(
        connect_timeout: Duration,
        extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = if extra_roots.is_empty() {
            rustls_platform_verifier::Verifier::new(provider.clone())
        } else {
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
        }
        .map_err(|e| format!("could not load the platform's TLS roots: {e}"))?;
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("could not configure TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_keepalive(Some(TCP_KEEPALIVE));
        http.set_keepalive_interval(Some(TCP_KEEPALIVE));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        Ok(Transport {
            inner: Inner::Direct(client),
        })
    }

    /// The reqwest transport: through `proxy` when given, otherwise through what the
    /// environment's proxy variables say.
    pub fn proxied(connect_timeout: Duration, proxy: Option<&str>) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder();
        if let Some(proxy) = proxy {
            let proxy = reqwest::Proxy::all(proxy)
                .map_err(|e| format!("not a proxy URL: {}", e.without_url()))?;
            builder = builder.proxy(proxy);
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(POOL_IDLE)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| format!("could not build the HTTP client: {}", e.without_url()))?;
        Ok(Transport {
            inner: Inner::Proxied(client),
        })
    }

    /// True when requests go through reqwest and the environment's proxy.
    pub fn is_proxied(&self) -> bool {
        matches!(self.inner, Inner::Proxied(_))
    }

    /// Sends `request` and reads its answer, all within `timeout`.
    pub async fn fetch(
        &self,
        request: Outgoing<'_>,
        timeout: Duration,
        limit: Limit,
    ) -> Result<Fetched, TransportError> {
        let exchange = async {
            match &self.inner {
                Inner::Direct(client) => fetch_direct(client, request, limit).await,
                Inner::Proxied(client) => fetch_proxied(client, request, limit).await,
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(TransportError::elapsed()))
    }
}

async fn fetch_direct(
    client: &Direct,
    request: Outgoing<'_>,
    limit: Limit,
) -> Result<Fetched, TransportError> {
    let uri = http::Uri::try_from(request.url.as_str()).map_err(|e| TransportError {
        timed_out: false,
        connect: true,
        // The error names no part of the URL, only what was wrong with it.
        source: Some(Box::new(e)),
    })?;
    let mut outgoing = http::Request::new(Full::new(request.body));
    *outgoing.method_mut() = request.method;
    *outgoing.uri_mut() = uri;
    let headers = outgoing.headers_mut();
    headers.reserve(request.headers.len() + 3);
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    if let Some(content_type) = request.content_type {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    for (name, value) in request.headers {
        headers.append(name.clone(), header_value(value)?);
    }
    let response = client
        .request(outgoing)
        .await
        .map_err(TransportError::direct)?;
    let (parts, mut body) = response.into_parts();
    let announced = content_length(&parts.headers);
    let mut reader = Reader::new(limit, announced);
    if !reader.refused() {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(TransportError::body)?;
            if let Ok(data) = frame.into_data() {
                if !reader.push(&data) {
                    break;
                }
            }
        }
    }
    Ok(Fetched {
        status: parts.status,
        headers: parts.headers,
        body: reader.finish(),
    })
}

async fn fetch_proxied(
    client: &reqwest::Client,
    request: Outgoing<'_>,
    limit: Limit,
) -> Result<Fetched, TransportError> {
    let mut builder = client.request(request.method, request.url.clone());
    for (name, value) in request.headers {
        builder = builder.header(name, header_value(value)?);
    }
    if let Some(content_type) = request.content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    if !request.body.is_empty() {
        builder = builder.body(request.body);
    }
    let mut response = builder.send().await.map_err(TransportError::proxied)?;
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut reader = Reader::new(limit, content_length(&headers));
    if !reader.refused() {
        while let Some(chunk) = response.chunk().await.map_err(TransportError::proxied)? {
            if !reader.push(&chunk) {
                break;
            }
        }
    }
    Ok(Fetched {
        status,
        headers,
        body: reader.finish(),
    })
}

/// A header's value, or the error of a request that was never sent (the error names no
/// value: a header may hold a token).
fn header_value(value: &str) -> Result<HeaderValue, TransportError> {
    HeaderValue::from_str(value).map_err(|e| TransportError {
        timed_out: false,
        connect: true,
        source: Some(Box::new(e)),
    })
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Collects a body within a [`Limit`], in one allocation when its length is announced.
struct Reader {
    limit: Limit,
    buffer: Option<BytesMut>,
}

impl Reader {
    fn new(limit: Limit, announced: Option<u64>) -> Self {
        let (cap, refuse) = match limit {
            Limit::Refuse(n) => (n, announced.is_some_and(|len| len > n as u64)),
            Limit::Truncate(n) => (n, false),
        };
        let size = announced.map_or(0, |len| len.min(cap as u64) as usize);
        Reader {
            limit,
            buffer: (!refuse).then(|| BytesMut::with_capacity(size)),
        }
    }

    fn refused(&self) -> bool {
        self.buffer.is_none()
    }

    /// Adds a chunk; false when no more should be read.
    fn push(&mut self, chunk: &[u8]) -> bool {
        let Some(buffer) = self.buffer.as_mut() else {
            return false;
        };
        match self.limit {
            Limit::Refuse(n) => {
                if buffer.len() + chunk.len() > n {
                    self.buffer = None;
                    return false;
                }
                buffer.extend_from_slice(chunk);
                true
            }
            Limit::Truncate(n) => {
                let room = n - buffer.len();
                buffer.extend_from_slice(&chunk[..chunk.len().min(room)]);
                buffer.len() < n
            }
        }
    }

    fn finish(self) -> Option<Bytes> {
        self.buffer.map(BytesMut::freeze)
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;
