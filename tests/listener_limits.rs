//! Listener limits, end to end: idle connections past the cap cannot lock the HTTP
//! listeners (callbacks, admin) out for good nor each other out at all, slow headers and
//! oversize bodies are cut on both, and a gRPC connection that never sends the HTTP/2
//! preface is closed within the handshake timeout.

mod common;

use common::*;
use qencode_gateway::pb;
use std::time::Duration;
use tokio::{io::AsyncReadExt, net::TcpStream};

/// Bound of every wait on the gateway (never reached when it behaves).
const PATIENCE: Duration = Duration::from_secs(20);

/// Opens `n` connections to `addr` that never send anything.
async fn idle_connections(addr: std::net::SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    idle
}

/// Waits (bounded) until `url` gives any HTTP answer, and returns it.
async fn answer(url: &str) -> reqwest::Response {
    eventually(&format!("{url} answered"), PATIENCE, async || {
        reqwest::get(url).await
    })
    .await
}

// Real clock: each look of its waits builds a reqwest client (CPU, no time passes), so
// on the paused clock the 1 s handshake timeout took ~100 looks: 1.9 s instead of 1.2 s.
#[tokio::test]
async fn idle_connections_past_the_cap_do_not_lock_out_the_listeners() {
    let env = start_with(fast_sandbox(), |c| {
        c.limits.max_connections = 50;
        c.limits.handshake_timeout = Duration::from_secs(1);
    })
    .await;
    env.wait_serving().await;
    let healthz = format!("{}healthz", env.admin_url());
    // Filling the public callback port's connection cap leaves the admin port alone:
    // each listener has its own cap, so probes and scrapes get through at once (no
    // retry here) while the callback port is full.
    let mut idle = idle_connections(env.config.http_listen, 200).await;
    let response = reqwest::get(&healthz).await.expect("admin answers at once");
    assert_eq!(response.text().await.expect("body"), "ok\n");
    // Then the admin port's own cap: 50 connections get a slot and are closed at the
    // handshake timeout, the 150 others at once; then both ports answer again (a
    // bounded wait on that condition).
    idle.extend(idle_connections(env.config.admin_listen, 200).await);
    eventually("/healthz ok", PATIENCE, async || {
        let response = answer(&healthz).await;
        if !response.status().is_success() {
            return Err(response.status());
        }
        assert_eq!(response.text().await.expect("body"), "ok\n");
        Ok(())
    })
    .await;
    // The callback port serves only callbacks: any answer (404) shows it is back.
    let callbacks = answer(&format!("{}healthz", env.http_url())).await;
    assert_eq!(callbacks.status(), reqwest::StatusCode::NOT_FOUND);
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
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("gRPC still serves");
    let metrics = reqwest::get(format!("{}metrics", env.admin_url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    for scope in ["http", "admin"] {
        for limit in ["GATEWAY_MAX_CONNECTIONS", "GATEWAY_HANDSHAKE_TIMEOUT"] {
            assert!(
                metrics.contains(&format!(
                    "gateway_limit_hits_total{{limit=\"{limit}\",scope=\"{scope}\"}}"
                )),
                "{limit} in {scope}: {metrics}"
            );
        }
    }
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn slow_headers_and_oversize_bodies_are_cut_on_both_http_listeners() {
    let env = start_with(fast_sandbox(), |c| {
        c.limits.http_header_read_timeout = Duration::from_millis(300);
        c.limits.http_max_body_size = 1024;
        c.callback_url = Some(url::Url::parse(&format!("http://{}", c.http_listen)).unwrap());
        c.callback_secret = Some("callback-secret".parse().unwrap());
    })
    .await;
    env.wait_serving().await;
    for addr in [env.config.http_listen, env.config.admin_listen] {
        // Headers begun and never finished: closed at the header read timeout (hyper
        // may answer 408 first; read until the connection ends).
        let mut slow = TcpStream::connect(addr).await.expect("connect");
        tokio::io::AsyncWriteExt::write_all(&mut slow, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        let ended = tokio::time::timeout(PATIENCE, async {
            let mut buf = [0u8; 256];
            loop {
                match slow.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "{addr}: slow headers are cut");
    }
    // A callback body over GATEWAY_HTTP_MAX_BODY_SIZE is refused before it is read
    // (its URL signed, or it would be refused before its size mattered).
    let signer = qencode_gateway::domain::signer::CallbackSigner::new(
        env.http_url(),
        &qencode_gateway::support::secret::Secret::new("callback-secret"),
    );
    let oversize = reqwest::Client::new()
        .post(signer.url_for("t"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 4096])
        .send()
        .await
        .expect("callback post");
    assert_eq!(oversize.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
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
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("a client that speaks is served");
    env.stop().await;
}
