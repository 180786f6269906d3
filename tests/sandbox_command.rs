//! `qencode-gateway sandbox …` still serves the sandbox alone, delegating to the
//! `qencode-sandbox` crate's command line (same flags: `--api-key` for both APIs).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The running binary, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_sandbox_subcommand_serves_both_apis_with_the_given_key() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--api-key", "k"])
        .env_clear()
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qencode-gateway sandbox");
    // Plain logs go to stdout when it is not a terminal; read both, whichever has it.
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let _running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    for reader in [
        Box::new(out) as Box<dyn std::io::Read + Send>,
        Box::new(err) as Box<dyn std::io::Read + Send>,
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                if let Some(at) = line.find("url=http://") {
                    let url = line[at + 4..].split_whitespace().next().map(str::to_owned);
                    let _ = tx.send(url);
                }
            }
        });
    }
    let base = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the sandbox announced its URL")
        .expect("a URL");
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(format!("{base}/v1/access_token"))
        .form(&[("api_key", "k")])
        .send()
        .await
        .expect("access_token")
        .json()
        .await
        .expect("json");
    assert_eq!(token["error"], 0, "{token}");
    let live = client
        .post(format!("{base}/v1/access_token/k"))
        .send()
        .await
        .expect("live access_token");
    assert_eq!(live.status(), 200);
}
