//! The `qencode-sandbox` binary: `--listen ADDR --api-key k` serves both APIs with key
//! `k`, and `--live-api-key` sets the Live Streaming keys apart.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running binary, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the sandbox binary on an ephemeral port and returns its base URL, read from
/// its start-up log line (so no port is guessed).
fn start(args: &[&str]) -> (Running, String) {
    start_with(args, true)
}

/// [`start`]; with `drain` false the log pipe is closed once the URL is read.
fn start_with(args: &[&str], drain: bool) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qencode-sandbox"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_clear()
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qencode-sandbox");
    let stderr = child.stderr.take().expect("stderr");
    let running = Running(child);
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.expect("read the log");
        if let Some(at) = line.find("url=http://") {
            let url = line[at + 4..]
                .split_whitespace()
                .next()
                .expect("url")
                .to_owned();
            if drain {
                std::thread::spawn(move || lines.for_each(drop));
            }
            return (running, url);
        }
    }
    panic!("qencode-sandbox exited without announcing its URL");
}

async fn transcoding_token(base: &str, key: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{base}/v1/access_token"))
        .form(&[("api_key", key)])
        .send()
        .await
        .expect("access_token")
        .json()
        .await
        .expect("json")
}

async fn live_token_status(base: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/access_token/{key}"))
        .send()
        .await
        .expect("live access_token")
        .status()
        .as_u16()
}

#[tokio::test]
async fn one_api_key_serves_both_apis() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (_sandbox, base) = start(&["--api-key", "k", "--phase-duration", "100ms"]);
    assert_eq!(transcoding_token(&base, "k").await["error"], 0);
    assert_eq!(live_token_status(&base, "k").await, 200);
    assert_ne!(transcoding_token(&base, "other").await["error"], 0);
    assert_eq!(live_token_status(&base, "other").await, 401);
}

#[tokio::test]
async fn live_keys_can_be_set_apart() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (_sandbox, base) = start(&["--api-key", "k", "--live-api-key", "live"]);
    assert_eq!(transcoding_token(&base, "k").await["error"], 0);
    assert_eq!(live_token_status(&base, "live").await, 200);
    assert_eq!(live_token_status(&base, "k").await, 401);
}

/// A supervisor that stops reading the log must not cost requests: each one logs, and
/// a failed log write once panicked the request's task (the connection closed with no
/// answer).
#[tokio::test]
async fn requests_are_answered_after_the_log_pipe_closes() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (_sandbox, base) = start_with(&["--api-key", "k"], false);
    for _ in 0..5 {
        assert_eq!(transcoding_token(&base, "k").await["error"], 0);
        assert_eq!(live_token_status(&base, "k").await, 200);
    }
}
