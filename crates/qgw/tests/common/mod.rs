//! A sandbox + gateway on 127.0.0.1:0 and a way to run the `qgw` binary against it
//! with a bounded wait.
#![allow(dead_code)]

// The root crate's one wait helper (it names no gateway type, so it builds here too).
#[path = "../../../../tests/common/eventually.rs"]
mod eventually;

pub use eventually::eventually;
use qencode_gateway::{
    ledger::DatabaseUrl,
    run,
    support::{config::Config, secret::Secret},
    Gateway, Listeners,
};
use qencode_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    process::{Output, Stdio},
    time::Duration,
};
use tokio::{net::TcpListener, process::Command};

/// The API key the test sandbox accepts.
const API_KEY: &str = "test-api-key-qgw";

/// How long one qgw run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// How long [`Env::until_serving`] waits for the gateway to report SERVING.
const SERVING_LIMIT: Duration = Duration::from_secs(10);

/// A running sandbox + gateway pair.
pub struct Env {
    /// Keeps the sandbox alive.
    pub sandbox: SandboxHandle,
    /// The gateway's gRPC address.
    pub addr: SocketAddr,
    gateway: Gateway,
}

/// Sandbox with fast phases (tasks finish in about a second) and a default gateway.
pub async fn start() -> Env {
    start_on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await
}

/// Like [`start`], with the gateway's gRPC listener on `ip` (e.g. `::1`), port 0.
pub async fn start_on(ip: IpAddr) -> Env {
    start_with(ip, DatabaseUrl::Off).await
}

/// Like [`start`], with a ledger (an in-memory SQLite database): request ids, GetTask
/// and ListTasks work.
pub async fn start_with_ledger() -> Env {
    start_with(IpAddr::V4(Ipv4Addr::LOCALHOST), DatabaseUrl::memory()).await
}

/// A sandbox and a gateway on `ip` whose ledger is `database_url`.
pub async fn start_with(ip: IpAddr, database_url: DatabaseUrl) -> Env {
    let sandbox_config = SandboxConfig {
        api_keys: vec![API_KEY.to_owned()],
        live_api_keys: vec![API_KEY.to_owned()],
        phase_duration: Duration::from_millis(150),
        live_phase_duration: Duration::from_millis(100),
        ..SandboxConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    let sandbox = Sandbox::start(listener, sandbox_config)
        .await
        .expect("start sandbox");
    let url = url::Url::parse(&sandbox.base_url()).expect("sandbox url");
    let mut config = Config::for_upstream(url, Secret::new(API_KEY));
    config.database_url = database_url;
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    config.http_listen = http.local_addr().expect("http addr");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    config.admin_listen = admin.local_addr().expect("admin addr");
    let gateway = Gateway::from_config(&config).expect("gateway");
    let grpc = TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .expect("bind gateway");
    let addr = grpc.local_addr().expect("gateway addr");
    tokio::spawn(run(gateway.clone(), Listeners { grpc, http, admin }));
    Env {
        sandbox,
        addr,
        gateway,
    }
}

impl Env {
    /// The `--target` of this gateway.
    pub fn target(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `qgw --target <gateway> args...` off a terminal and waits for it.
    pub async fn qgw(&self, args: &[&str]) -> Output {
        let mut command = qgw();
        command.arg("--target").arg(self.target()).args(args);
        run_bounded(command).await
    }

    /// Polls `qgw health` until the gateway reports SERVING (it does once it holds
    /// upstream tokens), for at most [`SERVING_LIMIT`]; returns that run's stdout.
    pub async fn until_serving(&self) -> String {
        eventually("qgw health SERVING", SERVING_LIMIT, async || {
            let output = self.qgw(&["health"]).await;
            if output.status.success() {
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            } else {
                Err(text(&output))
            }
        })
        .await
    }

    /// Stops the gateway.
    pub fn stop(self) {
        self.gateway.shutdown.begin();
    }
}

/// Runs `command` with piped output, killing it after [`RUN_LIMIT`].
pub async fn run_bounded(command: Command) -> Output {
    run_bounded_to(command, Stdio::piped()).await
}

/// Runs `command` with `stdout` as its standard output and stderr piped, killing it
/// after [`RUN_LIMIT`]; the output's `stdout` is empty unless `stdout` was a pipe.
pub async fn run_bounded_to(mut command: Command, stdout: Stdio) -> Output {
    command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("run qgw");
    // On timeout the child is dropped, and `kill_on_drop` kills it.
    match tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await {
        Ok(output) => output.expect("run qgw"),
        Err(_) => panic!("qgw ran over {RUN_LIMIT:?}: {command:?}"),
    }
}

/// The write end of a pipe whose read end is already closed, as a process's stdout:
/// its first write fails with `EPIPE`, as under `qgw ... | head` once head has exited,
/// with no race.
pub fn closed_pipe() -> Stdio {
    let (writer, reader) = tokio::net::unix::pipe::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer.into_blocking_fd().expect("pipe fd"))
}

/// A `qgw` command (not yet run).
pub fn qgw() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qgw"))
}

/// Stdout and stderr of a run, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Stdout of a successful run; fails the test otherwise.
pub fn ok_stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", text(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The value of `"key": "value"` in the first JSON line of `stdout` that has it.
pub fn json_field(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|value| value.get(key).and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {key:?} in {stdout}"))
}
