//! The transport against real servers on loopback: HTTPS with certificates made here
//! (rcgen), ALPN both ways, an untrusted certificate, and a forward proxy.

use super::testing::fetch;
use super::*;
use crate::upstream::cause::{describe, Cause};
use http_body_util::Full;
use hyper::{body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::{convert::Infallible, net::SocketAddr};

/// A CA, and a certificate it signed for `localhost` with its key.
struct Certificates {
    ca: rustls::pki_types::CertificateDer<'static>,
    leaf: rustls::pki_types::CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

fn certificates() -> Certificates {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, &issuer).unwrap();
    Certificates {
        ca: ca_cert.der().clone(),
        leaf: leaf.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

/// Answers every request with JSON naming the HTTP version, the user agent, the
/// content type and the body it received.
async fn echo(request: http::Request<Incoming>) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (version, agent, kind) = (
        format!("{:?}", request.version()),
        header(header::USER_AGENT),
        header(header::CONTENT_TYPE),
    );
    let target = request.uri().to_string();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let answer = serde_json::json!({
        "version": version,
        "user_agent": agent,
        "content_type": kind,
        "target": target,
        "body": String::from_utf8_lossy(&body),
    });
    Ok(http::Response::new(Full::new(Bytes::from(
        answer.to_string(),
    ))))
}

/// An HTTPS server on loopback offering `alpn`, serving [`echo`].
async fn https_server(certificates: &Certificates, alpn: &[&[u8]]) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certificates.leaf.clone()],
            certificates.key.clone_key(),
        )
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service_fn(echo))
                    .await;
            });
        }
    });
    addr
}

/// A plain HTTP/1 server on loopback serving [`echo`]; also a forward proxy, since
/// [`echo`] reports the request target it was sent.
async fn http_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service_fn(echo)),
            );
        }
    });
    addr
}

fn transport_trusting(ca: &rustls::pki_types::CertificateDer<'static>) -> Transport {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Transport::direct(Duration::from_secs(5), vec![ca.clone()]).unwrap()
}

/// POSTs a form through `transport` and returns the echoed JSON.
async fn post_form(transport: &Transport, url: &str) -> serde_json::Value {
    let url = url::Url::parse(url).unwrap();
    let request = Outgoing {
        method: Method::POST,
        url: &url,
        headers: &[],
        content_type: Some(HeaderValue::from_static(
            "application/x-www-form-urlencoded",
        )),
        body: Bytes::from_static(b"task_tokens=abc"),
    };
    let fetched = transport
        .fetch(request, Duration::from_secs(5), Limit::Refuse(1 << 20))
        .await
        .expect("answered");
    assert_eq!(fetched.status, StatusCode::OK);
    serde_json::from_slice(&fetched.body.expect("within the limit")).unwrap()
}

#[tokio::test]
async fn https_negotiates_h2_when_offered_and_sends_the_request_whole() {
    let certificates = certificates();
    let addr = https_server(&certificates, &[b"h2", b"http/1.1"]).await;
    let transport = transport_trusting(&certificates.ca);
    let url = format!("https://localhost:{}/v1/status", addr.port());
    let echoed = post_form(&transport, &url).await;
    assert_eq!(echoed["version"], "HTTP/2.0");
    assert_eq!(echoed["user_agent"], USER_AGENT);
    assert_eq!(echoed["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(echoed["body"], "task_tokens=abc");
}

#[tokio::test]
async fn https_speaks_http1_to_a_server_that_offers_only_http1() {
    let certificates = certificates();
    let addr = https_server(&certificates, &[b"http/1.1"]).await;
    let transport = transport_trusting(&certificates.ca);
    let url = format!("https://localhost:{}/v1/status", addr.port());
    let echoed = post_form(&transport, &url).await;
    assert_eq!(echoed["version"], "HTTP/1.1");
    assert_eq!(echoed["body"], "task_tokens=abc");
}

#[tokio::test]
async fn a_certificate_no_trusted_root_signed_is_a_tls_failure_before_sending() {
    let certificates = certificates();
    let addr = https_server(&certificates, &[b"h2", b"http/1.1"]).await;
    // The platform's roots only: the test CA is not among them.
    let transport = super::testing::direct();
    let (url, result) = fetch(
        &transport,
        Method::GET,
        &format!("https://localhost:{}/v1/status?key=secret-key", addr.port()),
        Duration::from_secs(5),
    )
    .await;
    let e = result.expect_err("untrusted");
    assert!(e.connect, "the request was never sent: {e:?}");
    let described = describe(&e, &url);
    assert_eq!(described.cause, Cause::Tls, "{described:?}");
    assert_eq!(described.host, format!("localhost:{}", addr.port()));
    assert!(!format!("{described:?} {e:?}").contains("secret-key"));
}

#[tokio::test]
async fn the_proxied_transport_sends_through_the_proxy() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let proxy = http_server().await;
    let transport =
        Transport::proxied(Duration::from_secs(5), Some(&format!("http://{proxy}"))).unwrap();
    assert!(transport.is_proxied());
    // Nothing listens on this port: only the proxy can have answered.
    let echoed = post_form(&transport, "http://127.0.0.1:9/v1/status").await;
    assert_eq!(echoed["target"], "http://127.0.0.1:9/v1/status");
    assert_eq!(echoed["version"], "HTTP/1.1");
    assert_eq!(echoed["user_agent"], USER_AGENT);
    assert_eq!(echoed["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(echoed["body"], "task_tokens=abc");
}

#[tokio::test]
async fn the_direct_transport_sends_origin_form_over_plain_http() {
    let server = http_server().await;
    let echoed = post_form(
        &super::testing::direct(),
        &format!("http://{server}/v1/status"),
    )
    .await;
    assert_eq!(echoed["target"], "/v1/status");
    assert_eq!(echoed["user_agent"], USER_AGENT);
    assert_eq!(echoed["body"], "task_tokens=abc");
}

#[test]
fn any_proxy_variable_with_a_value_chooses_the_proxied_transport() {
    let only = |set: &'static str, value: &'static str| {
        move |name: &str| (name == set).then(|| std::ffi::OsString::from(value))
    };
    for name in PROXY_VARIABLES {
        assert!(names_a_proxy(only(name, "http://proxy:3128")), "{name}");
        assert!(!names_a_proxy(only(name, "")), "{name} empty");
    }
    assert!(!names_a_proxy(only("NO_PROXY", "*")));
    assert!(!names_a_proxy(|_| None));
}

#[test]
fn a_refused_body_is_none_whether_announced_or_found_long() {
    assert!(Reader::new(Limit::Refuse(4), Some(5)).refused());
    let mut reader = Reader::new(Limit::Refuse(4), None);
    assert!(reader.push(b"ab"));
    assert!(!reader.push(b"cde"));
    assert_eq!(reader.finish(), None);
    let mut reader = Reader::new(Limit::Refuse(4), Some(4));
    assert!(reader.push(b"abcd"));
    assert_eq!(reader.finish().as_deref(), Some(&b"abcd"[..]));
}

#[test]
fn a_truncated_body_keeps_its_start_and_stops_reading() {
    let mut reader = Reader::new(Limit::Truncate(4), Some(1 << 40));
    assert!(!reader.refused());
    assert!(reader.push(b"ab"));
    assert!(!reader.push(b"cdef"));
    assert_eq!(reader.finish().as_deref(), Some(&b"abcd"[..]));
}
