//! Case 3: CPU time of `lenient::parse_json` (strict parse, then the repair pass) on
//! about a megabyte of each adversarial shape of src/lenient/adversarial.rs, in this
//! process on a thread with a tokio worker's stack. `ABUSE_BENCH_REPAIR_BYTES`
//! (1000000) sets the input size; the issue's `'\` series (200k, 400k, 800k
//! characters) is measured too, to show the growth is linear, in CPU and wall time.
//!
//! Also here, as a measurement rather than a check: the depth at which prost stops
//! decoding a GetStatus answer whose output `meta` (a `Struct`) nests objects with no
//! cap, which is why the gateway caps the JSON it converts at `MAX_JSON_DEPTH`.
//!
//! Thread CPU time comes from /proc/thread-self/schedstat (nanoseconds on a CPU), as the
//! mean of 10 runs after a warm-up one.
//!
//! Through the gateway it is not run: the sandbox's faults (crates/qencode-sandbox/
//! src/fault.rs) have no way to serve a chosen body, only a fixed truncated one.

use super::size;
use prost::Message;
use prost_types::value::Kind;
use qencode_gateway::{
    pb::{GetStatusResponse, OutputStatus, TaskStatus},
    upstream::lenient::{parse_json, MAX_JSON_DEPTH, MAX_REPAIR_BYTES, SLOW_PATTERNS as PATTERNS},
};

/// A tokio worker's default stack; the gateway parses upstream bodies on such threads.
const WORKER_STACK: usize = 2 * 1024 * 1024;

/// CPU nanoseconds this thread has run.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Mean CPU ms of one `parse_json(text)` over [`RUNS`] runs after a warm-up one, and
/// whether it parsed. (The clock ticks in a few ms on some kernels, hence the mean.)
fn cost(text: &str) -> (f64, bool) {
    let (cpu, _wall, parsed) = cost_and_wall(text);
    (cpu, parsed)
}

/// [`cost`] with the mean wall-clock ms of the same runs.
fn cost_and_wall(text: &str) -> (f64, f64, bool) {
    let parsed = parse_json(text).is_ok();
    let before = thread_cpu_ns();
    let started = tokio::time::Instant::now();
    for _ in 0..RUNS {
        std::hint::black_box(parse_json(std::hint::black_box(text)).is_ok());
    }
    (
        (thread_cpu_ns() - before) as f64 / 1e6 / RUNS as f64,
        started.elapsed().as_secs_f64() * 1e3 / f64::from(RUNS),
        parsed,
    )
}

/// A GetStatus answer whose one output's `meta` is `meta`, as bytes on the wire (the
/// deepest place the gateway sends a `Struct`).
fn status_response(meta: prost_types::Struct) -> Vec<u8> {
    let status = TaskStatus {
        videos: vec![OutputStatus {
            meta: Some(meta),
            ..Default::default()
        }],
        ..Default::default()
    };
    GetStatusResponse {
        statuses: [("token".to_owned(), status)].into(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// The fewest object levels of an uncapped `meta` that prost refuses to decode.
fn uncapped_decode_limit() -> Option<usize> {
    fn uncapped(levels: usize) -> prost_types::Struct {
        let mut meta = prost_types::Struct::default();
        for _ in 0..levels {
            let inner = prost_types::Value {
                kind: Some(Kind::StructValue(meta)),
            };
            meta = prost_types::Struct {
                fields: [("a".to_owned(), inner)].into(),
            };
        }
        meta
    }
    (1..100).find(|&d| GetStatusResponse::decode(status_response(uncapped(d)).as_slice()).is_err())
}

/// Timed runs per input.
const RUNS: u32 = 10;

pub(crate) fn run() {
    let bytes = size("REPAIR_BYTES", 1_000_000).min(MAX_REPAIR_BYTES);
    let lines = std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let mut inputs: Vec<(String, String)> = PATTERNS
                .iter()
                .map(|p| (format!("{p:?}"), p.repeat(bytes / p.len())))
                .collect();
            inputs.push((
                "'\\ x100k + 700k blanks".into(),
                format!("{}'{}x", "'\\".repeat(100_000), " ".repeat(700_000)),
            ));
            inputs.push((
                "{'a': x100k None }".into(),
                format!("{}None{}", "{'a':".repeat(100_000), "}".repeat(100_000)),
            ));
            inputs.push(("\"meta\": \"{ x100k".into(), "\"meta\": \"{".repeat(100_000)));
            let mut worst = (0.0f64, String::new());
            let mut each = Vec::new();
            for (name, text) in &inputs {
                let (ms, parsed) = cost(text);
                if ms > worst.0 {
                    worst = (ms, name.clone());
                }
                each.push(format!(
                    "{name} {:.0} kB {ms:.1} ms{}",
                    text.len() as f64 / 1e3,
                    if parsed { " (parsed)" } else { "" }
                ));
            }
            let series: Vec<String> = [200_000usize, 400_000, 800_000, 1_000_000]
                .iter()
                .map(|chars| {
                    let (cpu, wall, _) = cost_and_wall(&"'\\".repeat(chars / 2));
                    format!("{}k {cpu:.1} ms (wall {wall:.1} ms)", chars / 1000)
                })
                .collect();
            vec![
                format!(
                    "case 3 repair: {} inputs of ~{:.0} kB, worst {:.1} ms CPU ({}); issue's '\\ series by characters: {}",
                    inputs.len(),
                    bytes as f64 / 1e3,
                    worst.0,
                    worst.1,
                    series.join(", ")
                ),
                format!("case 3 repair, each: {}", each.join("; ")),
                format!(
                    "case 3 decode: an uncapped meta of {} object levels fails to decode; the gateway caps converted JSON at {MAX_JSON_DEPTH} levels",
                    uncapped_decode_limit().map_or("no (up to 99)".into(), |d| d.to_string())
                ),
                "case 3 through the gateway: skipped (the sandbox cannot serve a chosen status body: its faults have no body kind)".into(),
            ]
        })
        .expect("spawn the repair thread")
        .join()
        .expect("the repair must not panic or overflow");
    for line in lines {
        println!("{line}");
    }
}
