//! Every `--target` form reaches the gateway; a gateway that cannot be reached or does
//! not answer in time is reported with the code the README promises.

mod common;

use std::{
    net::{IpAddr, Ipv6Addr, TcpListener},
    process::Output,
};

/// Runs `qgw args...` with `target` as `--target` (and nothing else).
async fn qgw_at(target: &str, args: &[&str]) -> Output {
    let mut command = common::qgw();
    command.arg("--target").arg(target).args(args);
    common::run_bounded(command).await
}

/// Asserts `qgw health` through `target` got every service's answer.
async fn health_through(target: &str) {
    let output = qgw_at(target, &["health"]).await;
    let stdout = common::ok_stdout(&output);
    assert!(
        stdout.contains("qencode.gateway.v1.Transcoding: serving"),
        "--target {target}: {stdout}"
    );
}

/// Asserts `output` is UNAVAILABLE (10 + 14) with `address` named on stderr.
fn assert_unavailable(output: &Output, address: &str) {
    assert_eq!(output.status.code(), Some(24), "{}", common::text(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("UNAVAILABLE"), "{stderr}");
    assert!(stderr.contains(address), "names {address}: {stderr}");
}

/// A port on 127.0.0.1 that nothing listens on (bound by the OS, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread")]
async fn host_port_and_http_forms_reach_the_gateway() {
    let env = common::start().await;
    env.until_serving().await;
    let port = env.addr.port();
    for target in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        health_through(&target).await;
    }

    // The same from the environment.
    let mut command = common::qgw();
    command
        .env("QGW_TARGET", format!("127.0.0.1:{port}"))
        .arg("health");
    common::ok_stdout(&common::run_bounded(command).await);
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn ipv6_forms_reach_the_gateway() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("SKIPPED: no IPv6 loopback on this machine");
        return;
    }
    let env = common::start_on(IpAddr::V6(Ipv6Addr::LOCALHOST)).await;
    env.until_serving().await;
    let port = env.addr.port();
    health_through(&format!("[::1]:{port}")).await;
    health_through(&format!("http://[::1]:{port}")).await;
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn https_and_tls_forms_speak_tls() {
    // The test gateway serves plaintext, so a client that really speaks TLS fails the
    // handshake: UNAVAILABLE naming the address, where plaintext would have succeeded.
    let env = common::start().await;
    env.until_serving().await;
    let port = env.addr.port();
    let output = qgw_at(&format!("https://127.0.0.1:{port}"), &["health"]).await;
    assert_unavailable(&output, &format!("127.0.0.1:{port}"));

    let mut command = common::qgw();
    command.args(["--tls", "--target", &format!("localhost:{port}"), "health"]);
    let output = common::run_bounded(command).await;
    assert_unavailable(&output, &format!("localhost:{port}"));
    env.stop();
}

#[tokio::test]
async fn a_closed_port_is_unavailable_and_named() {
    let port = closed_port();
    for target in [
        format!("127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}"),
    ] {
        let output = qgw_at(&target, &["status", "t"]).await;
        assert_unavailable(&output, &format!("127.0.0.1:{port}"));
    }
}

#[tokio::test]
async fn timeout_before_the_answer_is_deadline_exceeded() {
    // Accepts connections (the kernel's backlog) and never answers a byte.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = format!("127.0.0.1:{}", silent.local_addr().expect("addr").port());
    let output = qgw_at(&target, &["--timeout", "300ms", "status", "t"]).await;
    assert_eq!(output.status.code(), Some(14), "{}", common::text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEADLINE_EXCEEDED"), "{stderr}");
    drop(silent);
}
