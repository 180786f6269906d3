//! Hostile-traffic benchmark: issue 12's cases (and issue 23's watch flood) replayed at
//! the issues' own scale against the release gateway binary, one line of figures per
//! case.
//!
//! Run: `cargo bench --bench abuse`. `ABUSE_BENCH_CASES` (default `1,2,3,4,5,6`) picks the
//! cases; each case's sizes come from its own `ABUSE_BENCH_*` variables (see the
//! modules), with the numbers as defaults:
//!
//! 1. [`streams`]: HEADERS-only unary streams held open while another client calls.
//! 2. [`connections`]: idle TCP connections to the callback and gRPC listeners, held
//!    from child processes (this binary re-executed as a connection holder).
//! 3. [`repair`]: CPU time of the lenient JSON repair on megabyte adversarial inputs.
//! 4. [`queries`]: oversize `query_json` and typed queries sent to StartEncode.
//! 5. [`stalls`]: a stalled upstream status request among many watched tasks.
//! 6. [`watch_flood`]: 20,000 watch streams opened with HEADERS alone; RSS before, at
//!    the peak and after the client leaves.
//!
//! The sandbox runs in this process; the gateway is the release binary in its own
//! process (nothing pinned: the holders of case 2 need both cores), so its memory, CPU
//! and open files are read from /proc for it alone. Nothing here asserts a figure: a
//! case that cannot be run says why and the others go on.

#[path = "abuse/connections.rs"]
mod connections;
#[path = "abuse/queries.rs"]
mod queries;
#[path = "abuse/repair.rs"]
mod repair;
#[path = "abuse/stalls.rs"]
mod stalls;
#[path = "abuse/streams.rs"]
mod streams;
mod support;
#[path = "abuse/watch_flood.rs"]
mod watch_flood;

use std::time::Duration;
use tonic::transport::Channel;

/// A size from `ABUSE_BENCH_<name>`, or `default` when unset or not a positive number.
pub(crate) fn size(name: &str, default: usize) -> usize {
    std::env::var(format!("ABUSE_BENCH_{name}"))
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

/// The `p`th percentile of ascending `sorted` (0 when empty).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sorts `values` ascending and returns them.
pub(crate) fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// A `VmHWM:`-style field of /proc/<pid>/status, in MiB (0 when unreadable).
pub(crate) fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Waits (bounded) until the gateway's health service says SERVING.
pub(crate) async fn wait_serving(channel: &Channel) {
    support::wait_serving(channel, "", Duration::from_secs(20)).await;
}

fn main() {
    // Case 2 re-executes this binary to hold connections from another process.
    if let Some(spec) = connections::holder_spec() {
        connections::hold(spec);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary
    // without it, and 40,000 connections and minutes of runtime are no test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("abuse benchmark: skipped (not run by cargo bench; pass --bench to run it)");
        return;
    }
    let cases = std::env::var("ABUSE_BENCH_CASES").unwrap_or_else(|_| "1,2,3,4,5,6".into());
    let wanted = |case: &str| cases.split(',').any(|c| c.trim() == case);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "abuse benchmark: {} cores, gateway not pinned",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if wanted("1") {
        runtime.block_on(streams::run());
    }
    if wanted("2") {
        runtime.block_on(connections::run());
    }
    if wanted("3") {
        repair::run();
    }
    if wanted("4") {
        runtime.block_on(queries::run());
    }
    if wanted("5") {
        runtime.block_on(stalls::run());
    }
    if wanted("6") {
        runtime.block_on(watch_flood::run());
    }
}
