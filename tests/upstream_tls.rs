//! The gateway against Qencode over HTTPS, as in production: every upstream request,
//! tokens and the task's master status endpoint included, goes through a TLS front
//! whose certificate a test CA signed, trusted through `SSL_CERT_FILE` as an operator
//! would. The front relays the bytes to the sandbox and counts its handshakes, so a
//! request that went around TLS would not be counted.
//!
//! One test in its own binary: it sets `SSL_CERT_FILE` for the process before any
//! client reads it.

mod common;

use common::{tls::*, *};
use qencode_gateway::pb::{self, TaskState};
use qencode_sandbox::Endpoint;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use tokio::net::{TcpListener, TcpStream};

/// Terminates TLS on `listener` (ALPN h2 and http/1.1) with `leaf` and relays each
/// connection to `upstream`; counts completed handshakes.
fn tls_front(
    listener: TcpListener,
    leaf: &Leaf,
    upstream: std::net::SocketAddr,
    handshakes: Arc<AtomicUsize>,
) {
    let chain = CertificateDer::pem_slice_iter(leaf.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, handshakes) = (acceptor.clone(), handshakes.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                handshakes.fetch_add(1, Ordering::SeqCst);
                let Ok(mut plain) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
}

#[tokio::test(start_paused = true)]
async fn every_upstream_request_goes_over_tls_to_a_root_from_ssl_cert_file() {
    let ca = Ca::new("upstream test CA");
    let dir = temp_dir();
    let ca_file = write(&dir, "ca.pem", &ca.pem);
    // Before any HTTP client exists in this process (the only test in this binary).
    std::env::set_var("SSL_CERT_FILE", &ca_file);

    let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("https://localhost:{}", front.local_addr().unwrap().port());
    let sandbox_config = qencode_sandbox::SandboxConfig {
        // The sandbox names its master status endpoints under the TLS front.
        public_url: Some(origin.clone()),
        ..fast_sandbox()
    };
    let api_url = url::Url::parse(&origin).unwrap();
    let env = start_with(sandbox_config, |c| {
        c.api_url = Some(api_url.clone());
        c.live_api_url = Some(api_url);
    })
    .await;
    let handshakes = Arc::new(AtomicUsize::new(0));
    let sandbox_addr = url::Url::parse(&env.sandbox.base_url()).unwrap();
    let sandbox_addr = sandbox_addr.socket_addrs(|| None).unwrap()[0];
    tls_front(
        front,
        &ca.leaf(&["localhost"]),
        sandbox_addr,
        handshakes.clone(),
    );

    // Both services fetch their tokens over TLS before they report SERVING.
    env.wait_serving().await;
    assert!(env.sandbox.count(Endpoint::AccessToken) >= 1);
    assert!(env.sandbox.count(Endpoint::LiveAccessToken) >= 1);

    let mut client = env.transcoding().await;
    let token = transcoded_task(&mut client).await;
    let seen = follow_task(&mut client, &token).await;
    let last = seen.last().unwrap();
    assert_eq!(last.state(), TaskState::Completed, "{seen:?}");
    assert!(
        last.status_url.starts_with(&format!("{origin}/master-")),
        "the master endpoint is under the TLS front: {}",
        last.status_url
    );
    assert!(env.sandbox.count(Endpoint::MasterStatus) >= 1);
    let live = env
        .live()
        .await
        .list_streams(pb::ListStreamsRequest::default())
        .await;
    assert!(live.is_ok(), "{live:?}");
    assert!(handshakes.load(Ordering::SeqCst) >= 1);
    env.stop().await;
}
