//! Case 2: idle TCP connections (nothing ever sent) to the HTTP callback listener and to
//! the gRPC listener, then to both at once, while /healthz on the admin listener and new
//! gRPC connections are timed.
//!
//! `ABUSE_BENCH_IDLE_CONNS` (20000 per listener) connections, held for
//! `ABUSE_BENCH_HOLD_SECS` (20) by child processes of `ABUSE_BENCH_PER_HOLDER` (10000)
//! connections each: this process's hard file limit is too low to hold them itself.
//! A holder is this binary re-executed with `ABUSE_BENCH_HOLDER` set; it raises its soft
//! file limit to the hard one (`ulimit -n` in the `sh` that starts it), binds its own
//! loopback source address (so no two phases share source ports), opens its
//! connections, reports `connected ...` and, at the end of the hold, `done ...` with
//! how many the gateway closed and after how long.

use super::support::{free_port, launch, rss};
use super::{percentile, size, sorted, status_mib};
use qencode_sandbox::SandboxConfig;
use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{io::AsyncReadExt, net::TcpSocket, sync::Semaphore, time::Instant};
use tonic::transport::Channel;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

/// The environment variable that makes this binary a connection holder.
const HOLDER: &str = "ABUSE_BENCH_HOLDER";
/// Connects in flight at once in a holder (the listen backlog is 1024).
const CONNECTS_IN_FLIGHT: usize = 256;
/// Bound of one connect (a full accept queue drops SYNs; the client retries).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound of each probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Time between probes.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// How one held connection ended.
enum Outcome {
    /// The connect failed.
    Failed,
    /// The gateway closed it during the hold.
    Closed,
    /// Open at the end of the hold.
    Held,
}

/// What a holder is asked to do.
pub(crate) struct HolderSpec {
    target: SocketAddr,
    source: IpAddr,
    count: usize,
    hold: Duration,
}

/// The holder's task when this process was started as one.
pub(crate) fn holder_spec() -> Option<HolderSpec> {
    let spec = std::env::var(HOLDER).ok()?;
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let [target, source, count, hold_ms] = parts[..] else {
        panic!("{HOLDER}: want `target source count hold_ms`, got {spec:?}");
    };
    Some(HolderSpec {
        target: target.parse().expect("holder target"),
        source: source.parse().expect("holder source"),
        count: count.parse().expect("holder count"),
        hold: Duration::from_millis(hold_ms.parse().expect("holder hold")),
    })
}

/// Holder mode: opens the connections, waits for the hold, reports on stdout.
pub(crate) fn hold(spec: HolderSpec) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("holder runtime")
        .block_on(hold_connections(spec));
}

async fn hold_connections(spec: HolderSpec) {
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    // Lifetimes (s) of the connections the gateway closed, and connect errors by kind.
    let closed = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
    // When the hold ends: known once every connection is open.
    let (hold_tx, hold_rx) = tokio::sync::watch::channel(None::<Instant>);
    let mut tasks = Vec::with_capacity(spec.count);
    for _ in 0..spec.count {
        let slot = slots.clone().acquire_owned().await.expect("slots");
        let (closed, errors, mut hold_until) = (closed.clone(), errors.clone(), hold_rx.clone());
        let (target, source) = (spec.target, spec.source);
        tasks.push(tokio::spawn(async move {
            let connected = async {
                let socket = TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(source, 0))?;
                socket.connect(target).await
            };
            let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, connected).await {
                Ok(Ok(conn)) => conn,
                failed => {
                    let kind = match failed {
                        Ok(Err(e)) => format!("{:?}", e.kind()),
                        _ => "connect timeout".into(),
                    };
                    *errors.lock().expect("errors").entry(kind).or_insert(0) += 1;
                    return Outcome::Failed;
                }
            };
            drop(slot);
            let opened = Instant::now();
            let ended = async {
                let mut buf = [0u8; 512];
                loop {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => continue,
                    }
                }
            };
            // Read until the gateway closes or the hold ends.
            tokio::select! {
                () = ended => {
                    closed.lock().expect("closed").push(opened.elapsed().as_secs_f64());
                    return Outcome::Closed;
                }
                () = async {
                    let until = hold_until.wait_for(Option::is_some).await.ok().and_then(|u| *u);
                    if let Some(until) = until {
                        tokio::time::sleep_until(until).await;
                    }
                } => {}
            }
            Outcome::Held
        }));
    }
    // Every connect has started; wait for the last ones to finish before reporting.
    let _ = slots.acquire_many(CONNECTS_IN_FLIGHT as u32).await;
    let connect_secs = started.elapsed().as_secs_f64();
    let failed: usize = errors.lock().expect("errors").values().sum();
    let closed_so_far = closed.lock().expect("closed").len();
    println!(
        "connected opened={} failed={failed} closed_meanwhile={closed_so_far} secs={connect_secs:.2}",
        spec.count - failed
    );
    hold_tx.send_replace(Some(Instant::now() + spec.hold));
    let mut held_at_end = 0;
    for task in tasks {
        if let Ok(Outcome::Held) = task.await {
            held_at_end += 1;
        }
    }
    let closed = sorted(closed.lock().expect("closed").clone());
    let at_once = closed.iter().filter(|s| **s < 1.0).count();
    let errors: Vec<String> = errors
        .lock()
        .expect("errors")
        .iter()
        .map(|(k, v)| format!("{v}x{k}"))
        .collect();
    println!(
        "done closed={} at_once={at_once} p50={:.3} p99={:.3} max={:.3} still_open={held_at_end} errors={}",
        closed.len(),
        percentile(&closed, 50.0),
        percentile(&closed, 99.0),
        closed.last().copied().unwrap_or(0.0),
        if errors.is_empty() { "-".into() } else { errors.join(",") },
    );
}

/// A holder child process and the `key=value` fields of its report lines.
struct Holder {
    child: std::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<HashMap<String, String>>,
}

impl Holder {
    fn start(target: SocketAddr, source: Ipv4Addr, count: usize, hold: Duration) -> Self {
        let exe = std::env::current_exe().expect("this benchmark's path");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec \"$0\"")
            .arg(exe)
            .env(
                HOLDER,
                format!("{target} {source} {count} {}", hold.as_millis()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a holder");
        let stdout = child.stdout.take().expect("holder stdout");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let fields = line
                    .split_whitespace()
                    .filter_map(|f| f.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                if tx.send(fields).is_err() {
                    break;
                }
            }
        });
        Holder { child, lines }
    }

    /// The next report line (empty once the holder has ended).
    async fn next(&mut self) -> HashMap<String, String> {
        self.lines.recv().await.unwrap_or_default()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A holder's two report lines: `connected ...` and `done ...`.
type Report = (HashMap<String, String>, HashMap<String, String>);

fn field(fields: &HashMap<String, String>, key: &str) -> f64 {
    fields.get(key).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// Probe results: successes and latencies (ms).
#[derive(Default)]
struct Probes {
    ok: usize,
    tried: usize,
    latencies: Vec<f64>,
    failure: Option<String>,
    /// Seconds since the phase began of the first and last failures.
    failed_between: Option<(f64, f64)>,
}

impl Probes {
    fn record(&mut self, phase: Instant, started: Instant, result: Result<(), String>) {
        self.tried += 1;
        match result {
            Ok(()) => {
                self.ok += 1;
                self.latencies.push(started.elapsed().as_secs_f64() * 1e3);
            }
            Err(e) => {
                self.failure.get_or_insert(e);
                let at = started.duration_since(phase).as_secs_f64();
                let (first, _) = self.failed_between.unwrap_or((at, at));
                self.failed_between = Some((first, at));
            }
        }
    }

    fn summary(&self) -> String {
        let latencies = sorted(self.latencies.clone());
        format!(
            "{}/{} ok, p50 {:.1} ms max {:.1} ms{}",
            self.ok,
            self.tried,
            percentile(&latencies, 50.0),
            latencies.last().copied().unwrap_or(0.0),
            match (&self.failure, self.failed_between) {
                (Some(e), Some((first, last))) =>
                    format!(" (failures from {first:.1} s to {last:.1} s, the first: {e})"),
                _ => String::new(),
            }
        )
    }
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

pub(crate) async fn run() {
    let per_listener = size("IDLE_CONNS", 20_000);
    let per_holder = size("PER_HOLDER", 10_000);
    let hold = Duration::from_secs(size("HOLD_SECS", 20) as u64);
    let http_port = free_port();
    let admin_port = free_port();
    let launched = launch(
        SandboxConfig::default(),
        &[
            ("GATEWAY_HTTP_LISTEN", format!("127.0.0.1:{http_port}")),
            ("GATEWAY_ADMIN_LISTEN", format!("127.0.0.1:{admin_port}")),
        ],
    )
    .await;
    super::wait_serving(&launched.channel).await;
    let pid = launched.pid;
    let grpc: SocketAddr = launched
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("gateway address");
    let http = SocketAddr::from(([127, 0, 0, 1], http_port));
    let admin = format!("http://127.0.0.1:{admin_port}");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let fd_limit = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("?")
        .to_owned();
    println!(
        "case 2 idle connections: gateway caps 10000 connections per listener (3 listeners), handshake timeout 10 s; its open-file limit {fd_limit}; {} fds open at rest",
        open_files(pid)
    );
    let fresh = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(PROBE_TIMEOUT)
        .build()
        .expect("HTTP client");

    let mut source = 10u8;
    for (label, targets) in [
        ("callback listener", vec![http]),
        ("gRPC listener", vec![grpc]),
        ("both listeners", vec![http, grpc]),
    ] {
        let mut holders = Vec::new();
        for target in &targets {
            let mut left = per_listener;
            while left > 0 {
                let count = left.min(per_holder);
                holders.push(Holder::start(
                    *target,
                    Ipv4Addr::new(127, 0, 0, source),
                    count,
                    hold,
                ));
                source += 1;
                left -= count;
            }
        }
        let started = Instant::now();
        let (mut healthz, mut new_grpc) = (Probes::default(), Probes::default());
        let (mut max_fds, mut max_rss) = (0usize, 0u64);
        // Gateway fds just before the hold ends: any connection still open on the
        // holders' side then is one the gateway does not hold (past its handshake
        // timeout every connection it accepted is closed).
        let mut fds_at_end = 0;
        // Probe from the first connect until every holder has reported its end.
        let reports = {
            let probing = async {
                loop {
                    max_fds = max_fds.max(open_files(pid));
                    max_rss = max_rss.max(rss(pid));
                    let at = Instant::now();
                    let result = async {
                        let response = fresh
                            .get(format!("{admin}/healthz"))
                            .send()
                            .await
                            .map_err(|e| format!("{e}"))?;
                        if response.status().is_success() {
                            Ok(())
                        } else {
                            Err(format!("HTTP {}", response.status()))
                        }
                    }
                    .await;
                    healthz.record(started, at, result);
                    let at = Instant::now();
                    let result = tokio::time::timeout(PROBE_TIMEOUT, async {
                        let channel = Channel::from_shared(launched.endpoint.clone())
                            .expect("endpoint")
                            .connect()
                            .await
                            .map_err(|e| format!("connect: {e}"))?;
                        HealthClient::new(channel)
                            .check(HealthCheckRequest::default())
                            .await
                            .map(|_| ())
                            .map_err(|s| format!("{:?}", s.code()))
                    })
                    .await
                    .unwrap_or_else(|_| Err("timeout".into()));
                    new_grpc.record(started, at, result);
                    tokio::time::sleep(PROBE_EVERY).await;
                }
            };
            let reporting = async {
                let mut connected = Vec::new();
                for holder in &mut holders {
                    connected.push(holder.next().await);
                }
                tokio::time::sleep(hold.saturating_sub(Duration::from_secs(1))).await;
                fds_at_end = open_files(pid);
                let mut reports = Vec::new();
                for (holder, connected) in holders.iter_mut().zip(connected) {
                    reports.push((connected, holder.next().await));
                }
                reports
            };
            tokio::select! {
                () = probing => unreachable!("probing never ends"),
                reports = reporting => reports,
            }
        };
        let elapsed = started.elapsed().as_secs_f64();
        let sum = |pick: fn(&Report) -> f64| reports.iter().map(pick).sum::<f64>();
        let max = |pick: fn(&Report) -> f64| reports.iter().map(pick).fold(0.0, f64::max);
        let opened = sum(|r| field(&r.0, "opened"));
        let failed = sum(|r| field(&r.0, "failed"));
        let closed = sum(|r| field(&r.1, "closed"));
        let at_once = sum(|r| field(&r.1, "at_once"));
        let still_open = sum(|r| field(&r.1, "still_open"));
        let errors: Vec<String> = reports
            .iter()
            .filter_map(|r| r.1.get("errors").filter(|e| *e != "-").cloned())
            .collect();
        println!(
            "case 2 {label}: {} holders opened {opened:.0} of {} (failed {failed:.0}{}) in {:.1} s max; gateway closed {closed:.0} ({at_once:.0} within 1 s, the rest by {:.1} s, p99 {:.1} s), {still_open:.0} still open at the end of the {:.0} s hold, when the gateway had {fds_at_end} fds open; admin /healthz {}; new gRPC conn + Health/Check {}; gateway fds max {max_fds}, RSS max {:.1} MiB; {elapsed:.1} s",
            holders.len(),
            per_listener * targets.len(),
            if errors.is_empty() { String::new() } else { format!(": {}", errors.join(" ")) },
            max(|r| field(&r.0, "secs")),
            max(|r| field(&r.1, "max")),
            max(|r| field(&r.1, "p99")),
            hold.as_secs_f64(),
            healthz.summary(),
            new_grpc.summary(),
            max_rss as f64 / 1048576.0,
        );
        drop(holders);
        // Let the gateway see the holders' connections go before the next phase.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let metrics = reqwest::get(format!("{admin}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    let hits: Vec<String> = metrics
        .lines()
        .filter(|l| l.starts_with("gateway_limit_hits_total{"))
        .map(|l| {
            l.trim_start_matches("gateway_limit_hits_total")
                .replace("limit=", "")
                .replace("scope=", "")
                .replace('"', "")
        })
        .collect();
    println!(
        "case 2 /metrics gateway_limit_hits_total: {}; gateway VmHWM {:.1} MiB, {} fds open after",
        hits.join("; "),
        status_mib(pid, "VmHWM:"),
        open_files(pid)
    );
}
