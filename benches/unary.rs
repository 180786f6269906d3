//! Unary benchmark: what the gateway adds to a call compared with calling the REST API
//! directly, at concurrency 1 (latency) and at concurrency 64 (throughput, CPU).
//!
//! Run: `cargo bench --bench unary`. Sizes come from the environment:
//! `UNARY_BENCH_ROUNDS` (5), `UNARY_BENCH_CALLS` (2000 timed calls per kind and round at
//! concurrency 1), `UNARY_BENCH_LOAD_CALLS` (10000 calls per kind and round at
//! concurrency 64) and `UNARY_BENCH_CREATE_CALLS` (100000 CreateTask calls for the
//! memory reading).
//! `UNARY_BENCH_ONLY` runs only the named kinds (e.g. `GetStatus`), to profile one alone;
//! `UNARY_BENCH_CALLGRIND=1` counts the gateway's instructions per call under callgrind
//! instead (repeatable on a busy machine; see `unary/instructions.rs`).
//!
//! Five kinds of call are compared, interleaved round by round (A B C D E, A B C D E, ...)
//! so that drift of a shared machine spreads over all of them alike:
//!
//! - A, `rest master status`: the POST to the task's master status endpoint that the
//!   gateway itself makes for GetStatus, sent by a keep-alive HTTP/1.1 client;
//! - B, `rest create_task`: `/v1/create_task` with a session token, the same way;
//! - C, D, E: `GetStatus`, `CreateTask` and `grpc.health.v1.Health/Check` through the
//!   gateway (E never goes upstream, so it is the floor of the gRPC path alone).
//!
//! At c=1 a gateway call crosses between the two processes (so the two cores) four
//! times (client → gateway → sandbox → gateway → client; Health twice), while a direct
//! call never leaves this process's one thread. Each crossing wakes an idle core, so the
//! "added" latency includes those wake-ups, not only the gateway's CPU time, which is
//! why the gateway's CPU per call is reported beside it.
//!
//! The sandbox runs in this process; the gateway is the release binary in its own process
//! so its CPU time (utime + stime) and VmRSS are read from /proc for it alone. With two or
//! more cores and `taskset` on PATH, this process (client and sandbox) is pinned to core 0
//! by `taskset -a -p` before its runtime starts, and the gateway is started through
//! `taskset -c 1`, so the two sides do not steal each other's core. Each process then
//! sees one core, so each tokio runtime has one worker thread.
//!
//! The sandbox's tasks finish at once (zero phase duration), so every status answer is
//! the same completed task with its outputs, not a changing payload.

#[path = "unary/calls.rs"]
mod calls;
#[path = "unary/instructions.rs"]
mod instructions;
mod support;

use calls::{latencies, load, median, percentile, post, Caller, Load, Target};

use support::{launch_wrapped, rss, taskset};

use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::{process::Command, sync::Arc, time::Duration};
use tokio::time::Instant;

/// Calls in flight at once in the throughput phases.
const CONCURRENCY: usize = 64;
/// HTTP/2 connections those calls share (16 streams on each).
const CONNECTIONS: usize = 4;
/// Untimed calls before each timed latency run.
const WARMUP: usize = 200;
/// CreateTask calls after which the first memory reading is taken.
const FIRST_RSS_AT: usize = 1_000;

/// The kinds of call, in the order they run within a round.
const KINDS: [Kind; 5] = [
    Kind::RestStatus,
    Kind::RestCreate,
    Kind::GetStatus,
    Kind::CreateTask,
    Kind::Health,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    RestStatus,
    RestCreate,
    GetStatus,
    CreateTask,
    Health,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::RestStatus => "rest master status",
            Kind::RestCreate => "rest create_task",
            Kind::GetStatus => "GetStatus",
            Kind::CreateTask => "CreateTask",
            Kind::Health => "Health/Check",
        }
    }

    /// The direct REST call a gateway call stands for, to subtract.
    fn direct(self) -> Option<Kind> {
        match self {
            Kind::GetStatus => Some(Kind::RestStatus),
            Kind::CreateTask => Some(Kind::RestCreate),
            _ => None,
        }
    }

    fn through_gateway(self) -> bool {
        matches!(self, Kind::GetStatus | Kind::CreateTask | Kind::Health)
    }

    fn index(self) -> usize {
        KINDS
            .iter()
            .position(|k| *k == self)
            .expect("every kind is in KINDS")
    }
}

/// The kinds to run: all of them, or those named in `UNARY_BENCH_ONLY` (comma-separated
/// names as printed, e.g. `GetStatus,Health/Check`), to profile one kind alone.
fn selected_kinds() -> Vec<Kind> {
    match std::env::var("UNARY_BENCH_ONLY") {
        Ok(names) if !names.trim().is_empty() => {
            let names: Vec<&str> = names.split(',').map(str::trim).collect();
            KINDS
                .into_iter()
                .filter(|k| names.contains(&k.name()))
                .collect()
        }
        _ => KINDS.to_vec(),
    }
}

struct Sizes {
    rounds: usize,
    calls: usize,
    load_calls: usize,
    create_calls: usize,
}

fn sizes() -> Sizes {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0)
            .unwrap_or(default)
    };
    Sizes {
        rounds: var("UNARY_BENCH_ROUNDS", 5),
        calls: var("UNARY_BENCH_CALLS", 2_000),
        load_calls: var("UNARY_BENCH_LOAD_CALLS", 10_000),
        create_calls: var("UNARY_BENCH_CREATE_CALLS", 100_000).max(FIRST_RSS_AT),
    }
}

/// Pins this process (every thread so far; later ones inherit it) to core 0 and picks
/// core 1 for the gateway, when there are two cores and `taskset`. Runs before the
/// runtime exists so its threads are all born pinned. Returns the gateway's pinning and
/// a line saying what was done.
fn pin() -> (Option<(std::path::PathBuf, usize)>, String) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        return (None, format!("not pinned ({cores} core)"));
    }
    let Some(taskset) = taskset() else {
        return (None, format!("not pinned ({cores} cores, no taskset)"));
    };
    let pinned = Command::new(&taskset)
        .args(["-a", "-p", "-c", "0"])
        .arg(std::process::id().to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !pinned {
        return (
            None,
            format!("not pinned ({cores} cores, taskset -p failed)"),
        );
    }
    (
        Some((taskset, 1)),
        format!("{cores} cores: bench (client + sandbox) on core 0, gateway on core 1"),
    )
}

fn main() {
    let (gateway_core, pinning) = pin();
    // After pinning this reports the cores this process may use (1 when pinned).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(gateway_core, pinning));
}

async fn run(gateway_core: Option<(std::path::PathBuf, usize)>, pinning: String) {
    let sizes = sizes();
    let callgrind = std::env::var_os("UNARY_BENCH_CALLGRIND").is_some();
    let wrapper = if callgrind {
        instructions::wrapper()
    } else {
        Vec::new()
    };
    let launched = launch_wrapped(
        SandboxConfig {
            phase_duration: Duration::ZERO,
            ..SandboxConfig::default()
        },
        &[],
        gateway_core,
        &wrapper,
    )
    .await;
    let (sandbox, pid) = (&launched.sandbox, launched.pid);

    // The whole server reports SERVING once start-up is done; the live service only
    // once its token came from the sandbox (proof the live URL points there).
    for service in ["", "qencode.gateway.v1.LiveStreaming"] {
        // Under callgrind the gateway runs ~50 times slower.
        let patience = Duration::from_secs(if callgrind { 300 } else { 20 });
        support::wait_serving(&launched.channel, service, patience).await;
    }

    // One started task. The gateway's first GetStatus asks the main endpoint, learns
    // the task's master endpoint from the answer and follows it; from then on each
    // GetStatus is one POST to the master endpoint, which is what call A makes.
    let mut transcoding = TranscodingClient::new(launched.channel.clone());
    let task_token = support::transcode_mp4(
        launched.channel.clone(),
        "https://example.com/bench.mp4".into(),
    )
    .await;
    transcoding
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![task_token.clone()],
        })
        .await
        .expect("first GetStatus");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .pool_idle_timeout(Duration::from_secs(300))
        .build()
        .expect("HTTP client");
    let base = sandbox.base_url();
    let session = post(
        &http,
        &format!("{base}/v1/access_token"),
        &[("api_key", support::API_KEY)],
    )
    .await;
    let session_token = session["token"].as_str().expect("token").to_owned();
    let main_status = post(
        &http,
        &format!("{base}/v1/status"),
        &[("task_tokens", task_token.as_str())],
    )
    .await;
    let master_status_url = main_status["statuses"][task_token.as_str()]["status_url"]
        .as_str()
        .expect("status_url")
        .to_owned();
    assert!(
        master_status_url.contains("/master-"),
        "not a master endpoint: {master_status_url}"
    );

    let mut channels = vec![launched.channel.clone()];
    for _ in 1..CONNECTIONS {
        channels.push(support::connect(&launched.endpoint).await);
    }
    let target = Arc::new(Target {
        http,
        master_status_url: master_status_url.clone(),
        create_task_url: format!("{base}/v1/create_task"),
        session_token,
        task_token,
        channels,
    });
    let mut single = Caller::new(&target, 0);

    // Check that a GetStatus costs exactly one upstream request, to the master endpoint.
    let (main_before, master_before) = (
        sandbox.count(Endpoint::Status),
        sandbox.count(Endpoint::MasterStatus),
    );
    for _ in 0..10 {
        single.call(Kind::GetStatus).await;
    }
    let upstream = (
        sandbox.count(Endpoint::Status) - main_before,
        sandbox.count(Endpoint::MasterStatus) - master_before,
    );
    assert_eq!(
        upstream,
        (0, 10),
        "GetStatus upstream requests (main, master)"
    );

    if callgrind {
        println!("unary benchmark under callgrind: user-space instructions per call");
        for kind in selected_kinds().into_iter().filter(|k| k.through_gateway()) {
            let per_call =
                instructions::per_call(&mut single, pid, kind, sizes.calls.min(2_000)).await;
            println!(
                "{:<14} {:>10.0} instructions per call",
                kind.name(),
                per_call
            );
        }
        drop(launched);
        return;
    }
    println!("unary benchmark: {pinning}");
    println!(
        "{} rounds; per kind and round: {} calls at c=1 after {WARMUP} warm-up, {} calls at c={CONCURRENCY} over {CONNECTIONS} HTTP/2 connections (REST: keep-alive HTTP/1.1 pool)",
        sizes.rounds, sizes.calls, sizes.load_calls
    );
    println!("GetStatus upstream: 1 POST to {master_status_url} per call (checked)");

    // Memory first, so the counts are CreateTask calls since the gateway started.
    let rss_start = rss(pid);
    let started = Instant::now();
    load(&target, pid, Kind::CreateTask, FIRST_RSS_AT).await;
    let rss_first = rss(pid);
    load(
        &target,
        pid,
        Kind::CreateTask,
        sizes.create_calls - FIRST_RSS_AT,
    )
    .await;
    let rss_all = rss(pid);
    let create_elapsed = started.elapsed();

    let mut p50 = vec![Vec::new(); KINDS.len()];
    let mut p99 = vec![Vec::new(); KINDS.len()];
    let mut single_cpu = vec![Vec::new(); KINDS.len()];
    let mut loads: Vec<Vec<Load>> = KINDS.iter().map(|_| Vec::new()).collect();
    let kinds = selected_kinds();
    println!("gateway pid {pid}");
    for round in 1..=sizes.rounds {
        for &kind in &kinds {
            let (sorted, gateway_us) = latencies(&mut single, pid, kind, sizes.calls).await;
            single_cpu[kind.index()].push(gateway_us);
            p50[kind.index()].push(percentile(&sorted, 50.0) / 1e3);
            p99[kind.index()].push(percentile(&sorted, 99.0) / 1e3);
        }
        for &kind in &kinds {
            loads[kind.index()].push(load(&target, pid, kind, sizes.load_calls).await);
        }
        let line: Vec<String> = kinds
            .iter()
            .map(|k| {
                let i = k.index();
                format!(
                    "{} {:.0}/{:.0} us {:.0}/s",
                    k.name(),
                    p50[i][round - 1],
                    p99[i][round - 1],
                    loads[i][round - 1].per_second
                )
            })
            .collect();
        println!("round {round}: {}", line.join("; "));
    }

    let med = |values: &[f64]| median(values.to_vec());
    let of_loads = |kind: Kind, f: fn(&Load) -> f64| {
        median(loads[kind.index()].iter().map(f).collect::<Vec<_>>())
    };
    println!();
    println!(
        "{:<20} {:>9} {:>9} {:>10} {:>10} {:>12} {:>10} {:>12} {:>8} {:>10}",
        "kind (medians)",
        "p50 c=1",
        "p99 c=1",
        "added p50",
        "added p99",
        "gw CPU c=1",
        "req/s c=64",
        "gw CPU c=64",
        "gw busy",
        "bench busy"
    );
    for &kind in &kinds {
        let i = kind.index();
        let added = |series: &[Vec<f64>]| {
            kind.direct().filter(|d| kinds.contains(d)).map_or_else(
                || "-".to_owned(),
                |direct| {
                    let per_round: Vec<f64> = series[i]
                        .iter()
                        .zip(&series[direct.index()])
                        .map(|(via, direct)| via - direct)
                        .collect();
                    format!("{:.0} us", median(per_round))
                },
            )
        };
        let (single_us, gateway_us) = if kind.through_gateway() {
            (
                format!("{:.1} us", med(&single_cpu[i])),
                format!("{:.1} us", of_loads(kind, |l| l.gateway_us)),
            )
        } else {
            ("-".to_owned(), "-".to_owned())
        };
        println!(
            "{:<20} {:>6.0} us {:>6.0} us {:>10} {:>10} {:>12} {:>10.0} {:>12} {:>7.0}% {:>9.0}%",
            kind.name(),
            med(&p50[i]),
            med(&p99[i]),
            added(&p50),
            added(&p99),
            single_us,
            of_loads(kind, |l| l.per_second),
            gateway_us,
            of_loads(kind, |l| l.gateway_busy) * 100.0,
            of_loads(kind, |l| l.bench_busy) * 100.0,
        );
    }
    if !kinds.contains(&Kind::GetStatus) || !kinds.contains(&Kind::Health) {
        drop(launched);
        return;
    }
    let ratio = median(
        loads[Kind::GetStatus.index()]
            .iter()
            .zip(&loads[Kind::Health.index()])
            .map(|(status, health)| status.per_second / health.per_second)
            .collect(),
    );
    println!();
    println!("GetStatus / Health throughput at c={CONCURRENCY}: {ratio:.2}");
    println!(
        "gateway CPU per GetStatus: {:.1} us",
        of_loads(Kind::GetStatus, |l| l.gateway_us)
    );
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    println!(
        "gateway RSS: {:.1} MiB at start, {:.1} MiB after {FIRST_RSS_AT} CreateTask calls, {:.1} MiB after {} (c={CONCURRENCY}, {:.1?}), {:.1} MiB at the end",
        mib(rss_start),
        mib(rss_first),
        mib(rss_all),
        sizes.create_calls,
        create_elapsed,
        mib(rss(pid)),
    );
    drop(launched);
}
