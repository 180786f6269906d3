//! The gateway binary runs with transparent huge pages off (`support::huge_pages`): with
//! them on, mimalloc's heap grew in 2 MiB pages and a watcher's memory depended on how
//! many of them a burst of stream openings touched.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// The running binary, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `THP_enabled` of `/proc/<pid>/status`: `Some(false)` once the process turned huge
/// pages off (`PR_SET_THP_DISABLE`), `None` where the kernel does not say.
fn thp_enabled(pid: &str) -> Option<bool> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .map(|v| v.trim() != "0")
}

#[test]
fn the_gateway_serves_with_transparent_huge_pages_off() {
    // The switch is inherited: a test process that has it off already cannot tell.
    match thp_enabled("self") {
        Some(true) => {}
        other => {
            eprintln!("skipped: this process's THP_enabled is {other:?}");
            return;
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"))
        .env_clear()
        .env("GATEWAY_DATABASE_URL", "off")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GATEWAY_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_HTTP_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qencode-gateway");
    let pid = child.id().to_string();
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
                if line.contains("serving gRPC") {
                    let _ = tx.send(());
                }
            }
        });
    }
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the gateway started serving");
    assert_eq!(
        thp_enabled(&pid),
        Some(false),
        "the serving gateway still has transparent huge pages on"
    );
}
