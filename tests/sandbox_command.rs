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

/// `qencode-gateway sandbox` with `env` (on a free loopback port): `Ok(url)` once it
/// serves, or `Err((exit code, stderr))` when it refuses its settings.
fn sandbox_with(env: &[(&str, &str)]) -> Result<(Running, String), (Option<i32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"))
        .arg("sandbox")
        .env_clear()
        .env("SANDBOX_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qencode-gateway sandbox");
    let out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(at) = line.find("url=http://") {
                let url = line[at + 4..].split_whitespace().next().map(str::to_owned);
                let _ = tx.send(url);
            }
        }
    });
    match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(url) => Ok((Running(child), url.expect("a URL"))),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait().expect("wait");
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            Err((status.code(), text))
        }
    }
}

#[test]
fn sandbox_flags_from_the_environment_take_1_and_name_the_variable_when_bad() {
    let served = sandbox_with(&[("SANDBOX_NO_CALLBACKS", "1")]);
    assert!(
        served.is_ok(),
        "SANDBOX_NO_CALLBACKS=1 refused: {:?}",
        served.err()
    );
    let (code, stderr) = sandbox_with(&[("SANDBOX_NO_CALLBACKS", "maybe")])
        .err()
        .expect("a bad value is refused");
    assert_eq!(code, Some(64), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("'maybe' for SANDBOX_NO_CALLBACKS (the environment; flag --no-callbacks)"),
        "{stderr}"
    );
}
