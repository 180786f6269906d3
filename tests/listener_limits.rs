//! Listener limits, end to end: idle connections past the cap cannot lock the HTTP
//! listener out for good, and a gRPC connection that never sends the HTTP/2 preface is
//! closed within the handshake timeout.

mod common;

use common::*;
use qencode_gateway::pb;
use std::time::Duration;
use tokio::{io::AsyncReadExt, net::TcpStream};

/// Bound of every wait on the gateway (never reached when it behaves).
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn idle_connections_past_the_cap_do_not_lock_out_the_listeners() {
    let env = start_with(fast_sandbox(), |c| {
        c.limits.max_connections = 50;
        c.limits.handshake_timeout = Duration::from_millis(300);
    })
    .await;
    env.wait_serving().await;
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(
            TcpStream::connect(env.config.http_listen)
                .await
                .expect("connect"),
        );
    }
    // The 50 that got a slot are closed at the handshake timeout, the 150 others at
    // once; then /healthz answers again (a bounded wait on that condition).
    let healthz = format!("{}healthz", env.http_url());
    let give_up = tokio::time::Instant::now() + PATIENCE;
    let body = loop {
        match reqwest::get(&healthz).await {
            Ok(response) if response.status().is_success() => {
                break response.text().await.expect("body")
            }
            other => {
                assert!(
                    tokio::time::Instant::now() < give_up,
                    "/healthz never answered: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(body, "ok\n");
    for mut conn in idle {
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(PATIENCE, conn.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "every idle connection is closed: {read:?}"
        );
    }
    env.transcoding()
        .await
        .create_task(pb::CreateTaskRequest {})
        .await
        .expect("gRPC still serves");
    let metrics = reqwest::get(format!("{}metrics", env.http_url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    for limit in ["GATEWAY_MAX_CONNECTIONS", "GATEWAY_HANDSHAKE_TIMEOUT"] {
        assert!(
            metrics.contains(&format!(
                "gateway_limit_hits_total{{limit=\"{limit}\",scope=\"http\"}}"
            )),
            "{metrics}"
        );
    }
    env.stop().await;
}

#[tokio::test]
async fn a_grpc_connection_without_a_preface_is_closed_at_the_handshake_timeout() {
    let env = start_with(fast_sandbox(), |c| {
        c.limits.handshake_timeout = Duration::from_millis(200)
    })
    .await;
    env.wait_serving().await;
    let mut silent = TcpStream::connect(env.addr).await.expect("connect");
    // Part of a preface is not a preface.
    let mut partial = TcpStream::connect(env.addr).await.expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut partial, b"PRI * HTTP/2.0")
        .await
        .expect("write");
    for conn in [&mut silent, &mut partial] {
        let mut buf = [0u8; 64];
        // hyper may write its SETTINGS first; read until the connection ends.
        let ended = tokio::time::timeout(PATIENCE, async {
            loop {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the server closed the connection");
    }
    env.transcoding()
        .await
        .create_task(pb::CreateTaskRequest {})
        .await
        .expect("a client that speaks is served");
    env.stop().await;
}
