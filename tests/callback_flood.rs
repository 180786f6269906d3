//! Slow-body clients on the callback port (raw TCP: headers, then one byte of a body
//! that never ends). A post whose URL is not signed is refused before its body is
//! awaited, a signed one is cut when its body is late, and while such clients come and
//! go a real signed callback still gets through.

mod common;

use common::*;
use qencode_gateway::pb::{self, TaskState};
use qencode_sandbox::SandboxConfig;
use std::{net::SocketAddr, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Bound of every wait on the gateway (never reached when it behaves).
const PATIENCE: Duration = Duration::from_secs(20);

/// A gateway whose tasks stay put (no sandbox callbacks) and that signs callback URLs.
async fn start_signing(tweak: impl FnOnce(&mut qencode_gateway::support::config::Config)) -> Env {
    let sandbox = SandboxConfig {
        phase_duration: Duration::from_secs(3600),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, |c| {
        c.callback_url = Some(url::Url::parse(&format!("http://{}", c.http_listen)).unwrap());
        c.callback_secret = Some("callback-secret".parse().unwrap());
        c.poll_interval = Duration::from_secs(3600);
        tweak(c);
    })
    .await;
    env.wait_serving().await;
    env
}

/// A started task and the path of the callback URL the gateway gave Qencode for it.
async fn task_and_callback_path(
    env: &Env,
    client: &mut pb::transcoding_client::TranscodingClient<tonic::transport::Channel>,
) -> (String, String) {
    let token = transcoded_task(client).await;
    let query = env.sandbox.task(&token).unwrap().query.unwrap();
    let url = query["query"]["callback_url"]
        .as_str()
        .expect("callback_url added")
        .to_owned();
    let path = url::Url::parse(&url).unwrap().path().to_owned();
    (token, path)
}

/// The same path with its signature (the last segment) replaced by a forged one.
fn forged(path: &str) -> String {
    let (head, _) = path.rsplit_once('/').unwrap();
    format!("{head}/{}", "00".repeat(32))
}

/// Posts to `path` announcing a 1,000-byte form and sends one byte of it.
async fn slow_post(addr: SocketAddr, path: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nt"
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp
}

/// Everything the server sends until it closes the connection (bounded).
async fn until_closed(mut tcp: TcpStream) -> String {
    let mut text = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the gateway answered and closed the connection");
    String::from_utf8_lossy(&text).into_owned()
}

#[tokio::test]
async fn a_forged_slow_post_is_refused_before_its_body() {
    let env = start_signing(|_| {}).await;
    let mut client = env.transcoding().await;
    let (_, path) = task_and_callback_path(&env, &mut client).await;
    let answer = until_closed(slow_post(env.config.http_listen, &forged(&path)).await).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    env.stop().await;
}

#[tokio::test]
async fn a_signed_post_whose_body_is_late_is_cut() {
    let env =
        start_signing(|c| c.limits.http_header_read_timeout = Duration::from_millis(300)).await;
    let mut client = env.transcoding().await;
    let (_, path) = task_and_callback_path(&env, &mut client).await;
    let answer = until_closed(slow_post(env.config.http_listen, &path).await).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    env.stop().await;
}

#[tokio::test]
async fn a_real_callback_gets_through_slow_posts_that_fill_the_connection_cap() {
    const CAP: usize = 4;
    let env = start_signing(|c| c.limits.max_connections = CAP as u32).await;
    let channel = env.channel().await;
    let mut client = pb::transcoding_client::TranscodingClient::new(channel);
    let (token, path) = task_and_callback_path(&env, &mut client).await;
    let mut watch = client
        .watch_status(pb::WatchStatusRequest {
            task_token: token.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    let snapshot = watch.message().await.expect("snapshot").expect("snapshot");
    assert_ne!(snapshot.status.unwrap().state(), TaskState::Completed);

    // As many slow posts as the listener takes connections, then the real callback.
    let mut slow = Vec::new();
    for _ in 0..CAP {
        slow.push(slow_post(env.config.http_listen, &forged(&path)).await);
    }
    let status = serde_json::json!({"status": "completed", "percent": 100, "error": 0});
    let form = [
        ("status", status.to_string()),
        ("callback_type", "task".into()),
        ("task_token", token.clone()),
        ("event", "saved".into()),
    ];
    let delivered = reqwest::Client::new()
        .post(format!("http://{}{path}", env.config.http_listen))
        .form(&form)
        .send()
        .await
        .expect("the real callback reached the gateway");
    assert_eq!(delivered.status(), 200);
    let change = tokio::time::timeout(PATIENCE, watch.message())
        .await
        .expect("the watcher heard the callback")
        .expect("watch")
        .expect("a message");
    assert_eq!(change.status.unwrap().state(), TaskState::Completed);
    for tcp in slow {
        let answer = until_closed(tcp).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
    env.stop().await;
}
