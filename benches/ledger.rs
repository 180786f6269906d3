//! Ledger benchmark: what recording every submission costs. CreateTask and Transcode at
//! 64 concurrent calls through three gateways, one with the ledger off, one on SQLite
//! (a file in a temp folder), one on PostgreSQL (a server this bench starts, as the
//! tests do, or `QGW_TEST_POSTGRES_URL`), interleaved round by round (off, sqlite,
//! postgres, off, ...) so the drift of a shared machine spreads over all three.
//!
//! Run: `cargo bench --bench ledger`. `LEDGER_BENCH_ROUNDS` (5) rounds of
//! `LEDGER_BENCH_CALLS` (4000) calls per kind and gateway. Each gateway is the release
//! binary in its own process with its own in-process sandbox (tasks finish at once).
//! Nothing is pinned: the client, the sandboxes, Postgres and the gateway share the
//! machine's cores, as a gateway next to its database would.

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;
mod support;

use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use qencode_sandbox::SandboxConfig;
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use support::{connect, launch, Launched};
use tokio::time::Instant;

/// Calls in flight at once.
const CONCURRENCY: usize = 64;
/// HTTP/2 connections they share.
const CONNECTIONS: usize = 4;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    CreateTask,
    Transcode,
}

/// One run's readings: calls per second, the median latency (µs), and the gateway's
/// CPU time per call (µs; user + system, the ledger's SQLite work included).
struct Reading {
    per_second: f64,
    p50_us: f64,
    cpu_us: f64,
}

fn size(name: &str, default: usize) -> usize {
    std::env::var(format!("LEDGER_BENCH_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(
    channels: &[tonic::transport::Channel],
    pid: u32,
    kind: Kind,
    calls: usize,
) -> Reading {
    let cpu_before = support::cpu(pid);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|i| {
            let mut client = TranscodingClient::new(channels[i % channels.len()].clone());
            let next = next.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= calls {
                        return latencies;
                    }
                    let at = Instant::now();
                    let done = match kind {
                        Kind::CreateTask => client
                            .create_task(pb::CreateTaskRequest::default())
                            .await
                            .map(|_| ()),
                        Kind::Transcode => client
                            .transcode(pb::TranscodeRequest {
                                query_kind: Some(pb::transcode_request::QueryKind::QueryJson(
                                    format!(
                                        r#"{{"source": "https://example.com/{n}.mp4", "format": [{{"output": "mp4"}}]}}"#
                                    ),
                                )),
                                ..Default::default()
                            })
                            .await
                            .map(|_| ()),
                    };
                    done.expect("a benchmark call");
                    latencies.push(at.elapsed().as_micros() as u64);
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(calls);
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Reading {
        per_second: calls as f64 / elapsed,
        p50_us: latencies[latencies.len() / 2] as f64,
        cpu_us: (support::cpu(pid) - cpu_before) * 1e6 / calls as f64,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let rounds = size("ROUNDS", 5);
        let calls = size("CALLS", 4000);
        let dir = std::env::temp_dir().join(format!("qgw-ledger-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let sqlite = format!("sqlite://{}", dir.join("ledger.db").display());
        let postgres_url = postgres::database().await;
        let modes = [("off", "off".to_owned()), ("sqlite", sqlite), ("postgres", postgres_url)];
        let sandbox = SandboxConfig {
            phase_duration: Duration::ZERO,
            ..SandboxConfig::default()
        };
        let mut gateways: Vec<(&str, Launched, Vec<tonic::transport::Channel>)> = Vec::new();
        for (name, url) in &modes {
            let launched = launch(
                sandbox.clone(),
                &[("GATEWAY_DATABASE_URL", url.clone())],
            )
            .await;
            support::wait_serving(&launched.channel, "", Duration::from_secs(30)).await;
            let mut channels = Vec::new();
            for _ in 0..CONNECTIONS {
                channels.push(connect(&launched.endpoint).await);
            }
            // Warm-up: tokens, connections, the ledger's first writes.
            run(&channels, launched.pid, Kind::CreateTask, 500).await;
            run(&channels, launched.pid, Kind::Transcode, 200).await;
            gateways.push((name, launched, channels));
        }
        let mut readings: Vec<[Vec<Reading>; 2]> = (0..gateways.len()).map(|_| [Vec::new(), Vec::new()]).collect();
        for round in 0..rounds {
            for (i, (_, launched, channels)) in gateways.iter().enumerate() {
                readings[i][0].push(run(channels, launched.pid, Kind::CreateTask, calls).await);
                readings[i][1].push(run(channels, launched.pid, Kind::Transcode, calls / 2).await);
            }
            eprintln!("round {} of {rounds} done", round + 1);
        }
        println!("ledger benchmark: {CONCURRENCY} concurrent calls on {CONNECTIONS} connections, {rounds} interleaved rounds of {calls} CreateTask and {} Transcode calls per gateway; medians of the rounds", calls / 2);
        println!("| ledger | CreateTask calls/s | CreateTask p50 | gateway CPU per CreateTask | Transcode calls/s | Transcode p50 | gateway CPU per Transcode |");
        println!("|---|---|---|---|---|---|---|");
        let off = median(readings[0][0].iter().map(|r| r.per_second).collect());
        for (i, (name, _, _)) in gateways.iter().enumerate() {
            let per = |k: usize| median(readings[i][k].iter().map(|r| r.per_second).collect());
            let p50 = |k: usize| median(readings[i][k].iter().map(|r| r.p50_us).collect()) / 1000.0;
            let cpu = |k: usize| median(readings[i][k].iter().map(|r| r.cpu_us).collect());
            let create = per(0);
            println!(
                "| {name} | {create:.0} ({:+.1}% vs off) | {:.2} ms | {:.0} µs | {:.0} | {:.2} ms | {:.0} µs |",
                (create / off - 1.0) * 100.0,
                p50(0),
                cpu(0),
                per(1),
                p50(1),
                cpu(1)
            );
        }
        drop(gateways);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
