//! A real PostgreSQL server for the ledger tests: one per test binary, started on a free
//! port (as the user `nobody` when the tests run as root: postgres refuses root), and
//! stopped when the binary exits; or the server `QGW_TEST_POSTGRES_URL` names
//! (`postgres://user:password@host:port`). Each test gets a database of its own.
//!
//! Without Debian's `postgresql` installed the binary stops with one line saying how to
//! install it (`.ci/run` installs it). Nothing is skipped silently.

use sqlx::Connection;
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

/// The server's base URL (no database), started on first use.
fn server() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("QGW_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
        _ => start(),
    })
}

/// A fresh, empty database on the server: its `postgres://` URL.
pub async fn database() -> String {
    let base = server();
    let name = format!("qgw_{}", uuid::Uuid::new_v4().simple());
    let mut admin = connect(&format!("{base}/postgres")).await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let _ = admin.close().await;
    format!("{base}/{name}")
}

async fn connect(url: &str) -> sqlx::PgConnection {
    let mut last = None;
    for _ in 0..100 {
        match sqlx::PgConnection::connect(url).await {
            Ok(conn) => return conn,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("postgres at {url} did not accept a connection within 10 s: {last:?}");
}

/// The newest `/usr/lib/postgresql/<version>/bin`, or the binary ends with how to get one.
fn bindir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    match found.pop() {
        Some(bin) => bin,
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "the ledger tests need PostgreSQL's server (install: apt-get install -y postgresql), \
                 or QGW_TEST_POSTGRES_URL naming a server"
            );
            std::process::exit(1);
        }
    }
}

/// Runs `program args` as `nobody` when this process is root, else as itself.
fn as_server_user(program: &Path) -> Command {
    if rustix::process::geteuid().is_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Starts a throwaway server; returns its base URL.
fn start() -> String {
    let bin = bindir();
    let dir = std::env::temp_dir().join(format!(
        "qgw-pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).expect("postgres temp dir");
    if rustix::process::geteuid().is_root() {
        // nobody must own what the server writes.
        let status = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown of {}", dir.display());
    }
    let init = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .stdout(Stdio::null())
        .output()
        .expect("run initdb");
    assert!(
        init.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let postgres = as_server_user(&bin.join("postgres"));
    let mut server_command: Vec<String> = std::iter::once(postgres.get_program())
        .chain(postgres.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    server_command.extend(
        [
            "-D",
            &data.to_string_lossy(),
            "-p",
            &port.to_string(),
            "-k",
            &dir.to_string_lossy(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=400",
        ]
        .map(String::from),
    );
    let quoted: Vec<String> = server_command
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    // A watchdog shell: it holds the server and stops it (then removes its files) when
    // its stdin closes, which happens when this test binary exits, however it exits.
    let script = format!(
        "{} >/dev/null 2>&1 & pid=$!; read _; kill -INT $pid; wait $pid; rm -rf '{}'",
        quoted.join(" "),
        dir.display()
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start postgres");
    // Kept for the life of the process: its stdin is the watchdog's signal.
    Box::leak(Box::new(child));
    format!("postgres://postgres@127.0.0.1:{port}")
}
