//! TLS and mTLS on the gRPC listener, over real handshakes with certificates made here:
//! a client certificate's SPIFFE id is the caller the policy sees; no or an untrusted
//! client certificate gets no call through.

mod common;

use common::{tls::*, *};
use qencode_gateway::pb::{
    live_streaming_client::LiveStreamingClient, transcoding_client::TranscodingClient,
    CreateTaskRequest, ListStreamsRequest,
};
use tonic::Code;

const ENCODER: &str = "spiffe://test.example/ns/media/sa/encoder";

const POLICY: &str = r#"
[[callers]]
name = "encoder"
identity = "spiffe://test.example/ns/media/sa/encoder"
allow = ["qencode.gateway.v1.Transcoding/*"]
"#;

/// A gateway serving mTLS with `ca` as the client CA and [`POLICY`].
async fn start_mtls(ca: &Ca) -> Env {
    let dir = temp_dir();
    let server = ca.leaf(&["localhost"]);
    let cert = write(&dir, "server.pem", &server.cert);
    let key = write(&dir, "server.key", &server.key);
    let client_ca = write(&dir, "ca.pem", &ca.pem);
    let policy = write(&dir, "policy.toml", POLICY);
    start_with(fast_sandbox(), |c| {
        c.access.tls_cert = Some(cert);
        c.access.tls_key = Some(key);
        c.access.tls_client_ca = Some(client_ca);
        c.access.policy_file = Some(policy);
    })
    .await
}

#[tokio::test]
async fn a_client_certificate_spiffe_id_is_the_caller_the_policy_sees() {
    let ca = Ca::new("test CA");
    let env = start_mtls(&ca).await;
    let leaf = ca.leaf(&[ENCODER, "encoder.media.svc"]);
    let channel = channel(env.addr, client_config(&ca.pem, Some(&leaf)))
        .await
        .expect("mTLS handshake");
    let mut transcoding = TranscodingClient::new(channel.clone());
    transcoding
        .create_task(CreateTaskRequest::default())
        .await
        .expect("allowed by the policy");
    let denied = LiveStreamingClient::new(channel)
        .list_streams(ListStreamsRequest {})
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let details = details(&denied);
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("caller").map(String::as_str),
        Some("encoder")
    );
    assert_eq!(
        info.metadata.get("method").map(String::as_str),
        Some("qencode.gateway.v1.LiveStreaming/ListStreams")
    );
    env.stop().await;
}

#[tokio::test]
async fn a_certificate_without_a_known_identity_is_unauthenticated() {
    let ca = Ca::new("test CA");
    let env = start_mtls(&ca).await;
    let stranger = ca.leaf(&["stranger.media.svc"]);
    let channel = channel(env.addr, client_config(&ca.pem, Some(&stranger)))
        .await
        .expect("mTLS handshake");
    let status = TranscodingClient::new(channel)
        .create_task(CreateTaskRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    env.stop().await;
}

/// Connects with `config` and makes one call: it must not get through.
async fn refused(env: &Env, config: rustls::ClientConfig) {
    let Ok(channel) = channel(env.addr, config).await else {
        return; // The handshake failed at connect: refused.
    };
    // With TLS 1.3 the client may finish its side before the server checks its
    // certificate; then the first call fails.
    let status = TranscodingClient::new(channel)
        .create_task(CreateTaskRequest::default())
        .await
        .expect_err("no call may pass without a trusted client certificate");
    assert!(
        matches!(
            status.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ),
        "{status:?}"
    );
}

#[tokio::test]
async fn missing_or_untrusted_client_certificates_fail_the_handshake() {
    let ca = Ca::new("test CA");
    let env = start_mtls(&ca).await;
    refused(&env, client_config(&ca.pem, None)).await;
    let other = Ca::new("another CA");
    let untrusted = other.leaf(&[ENCODER]);
    refused(&env, client_config(&ca.pem, Some(&untrusted))).await;
    // A plain-text client gets nothing either.
    let plain = tonic::transport::Endpoint::from_shared(format!("http://{}", env.addr))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plain {
        assert!(TranscodingClient::new(channel)
            .create_task(CreateTaskRequest::default())
            .await
            .is_err());
    }
    env.stop().await;
}

#[tokio::test]
async fn renewed_server_certificates_are_used_without_a_restart() {
    let ca = Ca::new("test CA");
    let dir = temp_dir();
    let first = ca.leaf(&["localhost"]);
    let cert = write(&dir, "server.pem", &first.cert);
    let key = write(&dir, "server.key", &first.key);
    let env = start_with(fast_sandbox(), |c| {
        c.access.tls_cert = Some(cert.clone());
        c.access.tls_key = Some(key.clone());
    })
    .await;
    channel(env.addr, client_config(&ca.pem, None))
        .await
        .expect("TLS with the first certificate");
    // A new CA signs the renewed certificate: only a reloaded listener can satisfy a
    // client that trusts the new CA alone.
    let renewed_ca = Ca::new("renewed CA");
    let renewed = renewed_ca.leaf(&["localhost"]);
    // Key first, then the certificate; the modification time must move for the reload,
    // so wait (bounded) until it differs from the old one.
    let old = std::fs::metadata(&cert).unwrap().modified().unwrap();
    eventually("the mtime moved", std::time::Duration::from_secs(5), || {
        write(&dir, "server.key", &renewed.key);
        write(&dir, "server.pem", &renewed.cert);
        std::fs::metadata(&cert).unwrap().modified().unwrap() != old
    })
    .await;
    let channel = channel(env.addr, client_config(&renewed_ca.pem, None))
        .await
        .expect("TLS with the renewed certificate");
    TranscodingClient::new(channel)
        .create_task(CreateTaskRequest::default())
        .await
        .expect("a call over the renewed certificate");
    env.stop().await;
}
