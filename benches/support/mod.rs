//! What every benchmark needs: the gateway binary as a child process (so its memory and
//! CPU are measured alone), optionally pinned to a core, and readings of that process
//! from /proc.
#![allow(dead_code)]

use qencode_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};
use tonic::transport::Channel;

/// The API key the benchmark sandbox accepts.
pub const API_KEY: &str = "bench-key";

/// A sandbox in this process and the gateway binary pointed at it.
pub struct Launched {
    /// The in-process sandbox.
    pub sandbox: SandboxHandle,
    /// The gateway child process (killed on drop).
    pub gateway: Gateway,
    /// The gateway's pid, for /proc readings.
    pub pid: u32,
    /// `http://127.0.0.1:<port>` of the gateway's gRPC listener.
    pub endpoint: String,
    /// A connected channel.
    pub channel: Channel,
}

/// Starts a sandbox with `sandbox` (its `api_keys` and `live_api_keys` become
/// [`API_KEY`]) and the release gateway binary (or `BENCH_GATEWAY_BINARY`) with the extra
/// `env`, and waits until the gateway accepts connections.
pub async fn launch(sandbox: SandboxConfig, env: &[(&str, String)]) -> Launched {
    launch_pinned(sandbox, env, None).await
}

/// [`launch`], with the gateway started through `taskset -c <core>` when `core` is given
/// (the caller checked [`taskset`] exists). taskset execs the gateway, so the child's pid
/// is the gateway's own and the /proc readings stay right.
pub async fn launch_pinned(
    sandbox: SandboxConfig,
    env: &[(&str, String)],
    core: Option<(PathBuf, usize)>,
) -> Launched {
    // A wrapper for a one-off profile of any bench (e.g. `valgrind --tool=dhat`).
    let wrapper: Vec<String> = std::env::var("BENCH_GATEWAY_WRAPPER")
        .map(|w| w.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    launch_wrapped(sandbox, env, core, &wrapper).await
}

/// [`launch_pinned`], with the gateway started as an argument of `wrapper` when it is not
/// empty (e.g. `valgrind --tool=callgrind`, which execs nothing, so the pid stays the
/// gateway's process).
pub async fn launch_wrapped(
    sandbox: SandboxConfig,
    env: &[(&str, String)],
    core: Option<(PathBuf, usize)>,
    wrapper: &[String],
) -> Launched {
    let config = SandboxConfig {
        api_keys: vec![API_KEY.into()],
        live_api_keys: vec![API_KEY.into()],
        ..sandbox
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    let sandbox = Sandbox::start(listener, config).await.expect("sandbox");
    let port = free_port();
    // Another build of the gateway (e.g. one without mimalloc) for an A/B run.
    let binary = std::env::var("BENCH_GATEWAY_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_qencode-gateway").to_owned());
    let mut command = match (core, wrapper.split_first()) {
        (Some((taskset, core)), _) => {
            let mut command = Command::new(taskset);
            command
                .arg("-c")
                .arg(core.to_string())
                .args(wrapper)
                .arg(binary);
            command
        }
        (None, Some((program, args))) => {
            let mut command = Command::new(program);
            command.args(args).arg(binary);
            command
        }
        (None, None) => Command::new(binary),
    };
    // The sandbox serves both APIs: without the live URL the gateway would reach for
    // Qencode's real Live API host (and report that service NOT_SERVING offline).
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("QENCODE_API_KEY", API_KEY)
        .env("QENCODE_API_URL", sandbox.base_url())
        .env("QENCODE_LIVE_API_KEY", API_KEY)
        .env("QENCODE_LIVE_API_URL", sandbox.base_url())
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_HTTP_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let gateway = Gateway {
        child: command.spawn().expect("start the gateway binary"),
        wrapped: !wrapper.is_empty(),
    };
    let pid = gateway.child.id();
    let endpoint = format!("http://127.0.0.1:{port}");
    let channel = loop {
        match Channel::from_shared(endpoint.clone())
            .expect("endpoint")
            .connect()
            .await
        {
            Ok(channel) => break channel,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    Launched {
        sandbox,
        gateway,
        pid,
        endpoint,
        channel,
    }
}

/// The gateway child process; killed when dropped.
pub struct Gateway {
    /// The process (the wrapper's, when there is one: it execs nothing).
    pub child: Child,
    /// Started under a wrapper (a profiler), which writes its report only when the
    /// gateway exits by itself: it is sent SIGTERM and given a minute.
    wrapped: bool,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.wrapped {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            // A minute, in tenths of a second (Drop cannot await tokio's clock).
            for _ in 0..600 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// VmRSS of `pid` in bytes (0 when unreadable).
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// utime + stime of `pid` in seconds.
pub fn cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field(11) + field(12)) as f64 / 100.0
}

/// Waits until the gateway's health service reports `service` (`""`: the whole server)
/// SERVING; panics after `patience`.
pub async fn wait_serving(channel: &Channel, service: &str, patience: Duration) {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let mut health = HealthClient::new(channel.clone());
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .map(|r| r.into_inner().status());
        if matches!(status, Ok(ServingStatus::Serving)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gateway service {service:?} never became SERVING"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A new connection to the gateway at `endpoint`.
pub async fn connect(endpoint: &str) -> Channel {
    Channel::from_shared(endpoint.to_owned())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

/// Starts one mp4 transcode of `source` through the gateway; returns its task token.
pub async fn transcode_mp4(channel: Channel, source: String) -> String {
    use qencode_gateway::pb;
    let query = pb::TranscodingQuery {
        source: Some(source),
        format: vec![pb::Format {
            output: Some("mp4".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    pb::transcoding_client::TranscodingClient::new(channel)
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::Query(query)),
            payload: None,
            ..Default::default()
        })
        .await
        .expect("transcode")
        .into_inner()
        .task_token
}

/// A port free at the moment of asking, for the child's listen address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The `taskset` executable on this process's PATH, if any (resolved here because the
/// gateway's environment is cleared, PATH included).
pub fn taskset() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("taskset"))
        .find(|candidate| candidate.is_file())
}
