//! Watch fan-out benchmark: 10,000 concurrent watchers over 1,000 tasks on one gateway.
//!
//! Run: `cargo bench --bench watchers` (add `-- --watchers N --tasks M` to resize,
//! `--rounds R` to repeat).
//!
//! Two client shapes, each round one of each on a fresh gateway, interleaved: tonic
//! (hyper's HTTP/2 client, as the project's own tools) and grpcio (`grpcio.rs`: real gRPC
//! C-core clients from Python, whose connection settings, headers, pings and window
//! updates differ; run when a Python with grpcio is found, else skipped with a note).
//!
//! The sandbox runs in this process; the gateway is the real release binary in its own
//! process, so its memory (VmRSS) and CPU time (utime + stime) are read from /proc for it
//! alone. Reports upstream status requests per poll interval, gateway memory per open
//! watcher (when the last stream got its first message, and the highest reading while
//! they were open), and gateway CPU time per update delivered to a watcher.

#[path = "watchers/grpcio.rs"]
mod grpcio;
mod support;

use support::{cpu, launch, rss};

use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::time::Instant;
use tonic::transport::Channel;

const STREAMS_PER_CONNECTION: usize = 100;

struct Args {
    watchers: usize,
    tasks: usize,
    interval: Duration,
    batch: usize,
    phase: Duration,
    rounds: usize,
}

fn args() -> Args {
    let mut args = Args {
        watchers: 10_000,
        tasks: 1_000,
        interval: Duration::from_secs(1),
        batch: 100,
        phase: Duration::from_secs(4),
        rounds: 1,
    };
    let raw: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i + 1 < raw.len() {
        let value = raw[i + 1].parse::<usize>().ok();
        match (raw[i].as_str(), value) {
            ("--watchers", Some(v)) => args.watchers = v,
            ("--tasks", Some(v)) => args.tasks = v,
            ("--batch", Some(v)) => args.batch = v,
            ("--rounds", Some(v)) => args.rounds = v.max(1),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    args
}

/// A client shape the watchers are opened with.
#[derive(Clone)]
enum Shape {
    /// tonic's client (hyper's HTTP/2), in this process.
    Tonic,
    /// grpcio from Python, run with this interpreter.
    Grpcio(String),
}

impl Shape {
    fn name(&self) -> &'static str {
        match self {
            Shape::Tonic => "tonic",
            Shape::Grpcio(_) => "grpcio",
        }
    }
}

/// What a client saw of its watches.
#[derive(Default)]
struct Watched {
    /// Watches that ended before their first message (e.g. the first poll failed).
    failed_first: usize,
    /// Messages received on all streams.
    updates: usize,
    /// Streams that saw the task completed.
    completed: usize,
}

#[tokio::main]
async fn main() {
    let args = args();
    let mut shapes = vec![Shape::Tonic];
    match grpcio::python() {
        Some(python) => shapes.push(Shape::Grpcio(python)),
        None => println!(
            "grpcio client skipped: no Python with grpcio and the client package's dependencies (set BENCH_PYTHON to one, e.g. a venv with `pip install clients/python`)"
        ),
    }
    let mut per_watcher: Vec<(&'static str, Vec<Memory>)> =
        shapes.iter().map(|s| (s.name(), Vec::new())).collect();
    for _ in 0..args.rounds {
        for (i, shape) in shapes.iter().enumerate() {
            per_watcher[i].1.push(round(&args, shape).await);
        }
    }
    println!("gateway KiB per open watcher, by client shape (rounds interleaved):");
    for (name, figures) in per_watcher {
        let runs = |f: fn(&Memory) -> f64| -> String {
            let runs: Vec<String> = figures.iter().map(|m| format!("{:.2}", f(m))).collect();
            runs.join(", ")
        };
        println!(
            "  {name}: {} when all are open; {} at the peak",
            runs(|m| m.at_open),
            runs(|m| m.at_peak)
        );
    }
}

/// Gateway memory per watcher in one round, KiB.
struct Memory {
    /// When the last stream got its first message.
    at_open: f64,
    /// The highest reading while the streams were open (RSS sampled every 100 ms): the
    /// buffers of later, larger messages come on top of the first ones.
    at_peak: f64,
}

/// One run on a fresh gateway with `shape`'s clients.
async fn round(args: &Args, shape: &Shape) -> Memory {
    let launched = launch(
        SandboxConfig {
            phase_duration: args.phase,
            ..SandboxConfig::default()
        },
        &[
            (
                "GATEWAY_POLL_INTERVAL",
                format!("{}ms", args.interval.as_millis()),
            ),
            ("GATEWAY_STATUS_BATCH_SIZE", args.batch.to_string()),
            ("GATEWAY_MAX_WATCHERS", (args.watchers * 2).to_string()),
        ],
    )
    .await;
    let (sandbox, pid, endpoint, first) = (
        &launched.sandbox,
        launched.pid,
        launched.endpoint.clone(),
        launched.channel.clone(),
    );

    // Tasks, created through the gateway.
    let mut tokens = Vec::with_capacity(args.tasks);
    for i in 0..args.tasks {
        tokens.push(
            support::transcode_mp4(first.clone(), format!("https://example.com/{i}.mp4")).await,
        );
    }

    // Every connection is made before the baseline reading, so the figure is what the
    // streams cost.
    let connections = args.watchers.div_ceil(STREAMS_PER_CONNECTION);
    let client = match shape {
        Shape::Tonic => {
            let mut channels = Vec::with_capacity(connections);
            for _ in 0..connections {
                channels.push(support::connect(&endpoint).await);
            }
            Client::Tonic(channels)
        }
        Shape::Grpcio(python) => Client::Grpcio(
            grpcio::Client::connect(
                python,
                &endpoint,
                &tokens,
                args.watchers,
                STREAMS_PER_CONNECTION,
            )
            .await,
        ),
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss(pid);
    let cpu_before = cpu(pid);
    let requests_before = sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus);

    let started = Instant::now();
    let (opened, open) = std::sync::mpsc::channel();
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let on_open = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        move || {
            let _ = opened.send((started.elapsed(), rss(pid)));
            std::thread::spawn(move || {
                while sampling.load(Ordering::Relaxed) {
                    peak.fetch_max(rss(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
    };
    let watched = match client {
        Client::Tonic(channels) => watch_tonic(&channels, &tokens, args.watchers, on_open).await,
        Client::Grpcio(client) => client.watch(on_open).await,
    };
    sampling.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let (all_open, rss_open) = open.recv().expect("the watches opened");
    let rss_peak = peak.load(Ordering::Relaxed).max(rss_open);
    let cpu_used = cpu(pid) - cpu_before;
    let requests =
        sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus) - requests_before;
    let intervals = elapsed.as_secs_f64() / args.interval.as_secs_f64();
    let kib_per_watcher =
        |rss: u64| rss.saturating_sub(rss_before) as f64 / 1024.0 / args.watchers as f64;
    let memory = Memory {
        at_open: kib_per_watcher(rss_open),
        at_peak: kib_per_watcher(rss_peak),
    };

    println!(
        "[{}] watchers: {} over {} tasks ({} connections), poll interval {:?}, batch {}",
        shape.name(),
        args.watchers,
        args.tasks,
        connections,
        args.interval,
        args.batch
    );
    if watched.failed_first > 0 {
        println!(
            "{} watches ended before their first message",
            watched.failed_first
        );
    }
    println!(
        "all {} snapshots delivered in {:.2?}; all streams ended after {:.2?}, {} saw completed",
        args.watchers, all_open, elapsed, watched.completed
    );
    println!(
        "upstream status requests: {requests} in {intervals:.1} intervals = {:.2} per interval (floor ceil(tasks/batch) = {})",
        requests as f64 / intervals,
        args.tasks.div_ceil(args.batch)
    );
    println!(
        "gateway RSS: {:.1} MiB before, {:.1} MiB with all watchers open = {:.2} KiB per open watcher; peak {:.1} MiB = {:.2} KiB",
        rss_before as f64 / 1048576.0,
        rss_open as f64 / 1048576.0,
        memory.at_open,
        rss_peak as f64 / 1048576.0,
        memory.at_peak,
    );
    println!(
        "gateway CPU: {cpu_used:.2} s for {} updates delivered = {:.1} us per update",
        watched.updates,
        cpu_used * 1e6 / watched.updates.max(1) as f64
    );
    drop(launched);
    memory
}

/// A shape's clients, connected, no stream open yet.
enum Client {
    Tonic(Vec<Channel>),
    Grpcio(grpcio::Client),
}

/// Opens `watchers` streams over `channels` (`STREAMS_PER_CONNECTION` each) with tonic;
/// `on_open` runs once every stream has its first message or has ended without one.
async fn watch_tonic(
    channels: &[Channel],
    tokens: &[String],
    watchers: usize,
    on_open: impl FnOnce(),
) -> Watched {
    let snapshots = Arc::new(AtomicUsize::new(0));
    let updates = Arc::new(AtomicUsize::new(0));
    let completed = Arc::new(AtomicUsize::new(0));
    // Watches that ended before their first message (e.g. the first poll failed): the
    // wait for all snapshots must not hang on them.
    let failed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(watchers);
    for i in 0..watchers {
        let channel = channels[i / STREAMS_PER_CONNECTION].clone();
        let token = tokens[i % tokens.len()].clone();
        let (snapshots, updates, completed, failed) = (
            snapshots.clone(),
            updates.clone(),
            completed.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut client = TranscodingClient::new(channel);
            let Ok(response) = client
                .watch_status(pb::WatchStatusRequest { task_token: token })
                .await
            else {
                failed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let mut stream = response.into_inner();
            let mut first = true;
            while let Ok(Some(message)) = stream.message().await {
                if first {
                    snapshots.fetch_add(1, Ordering::Relaxed);
                    first = false;
                }
                updates.fetch_add(1, Ordering::Relaxed);
                if message
                    .status
                    .is_some_and(|s| s.state() == pb::TaskState::Completed)
                {
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            }
            if first {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while snapshots.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < watchers {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    on_open();
    for task in tasks {
        let _ = task.await;
    }
    Watched {
        failed_first: failed.load(Ordering::Relaxed),
        updates: updates.load(Ordering::Relaxed),
        completed: completed.load(Ordering::Relaxed),
    }
}
