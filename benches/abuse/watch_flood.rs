//! Case 6: watch streams opened with HEADERS alone (raw `h2`), their request message
//! never sent (issue 23, item A): the gateway's RSS before, at the peak, and after the
//! client leaves; what the streams and the probes behind them end with.
//!
//! `ABUSE_BENCH_FLOOD_CONNECTIONS` (40) x `ABUSE_BENCH_FLOOD_STREAMS` (500 WatchStatus
//! per connection, under the gateway's 1,000 concurrent streams per connection) held
//! streams, plus health `Watch` streams opened the same way, one past the
//! per-connection cap on each connection. The gateway runs with its defaults
//! (`GATEWAY_MAX_WATCHERS` 20,000, `GATEWAY_DEFAULT_DEADLINE` 30 s), plus the
//! `NAME=value` pairs of `ABUSE_BENCH_FLOOD_ENV` (comma-separated, e.g.
//! `MIMALLOC_PURGE_DELAY=0` to see what the allocator keeps). `ABUSE_BENCH_FLOOD_REPEAT`
//! (1) floods in a row against the same gateway.

use super::status_mib;
use super::streams::{grpc_status, headers_only, raw_connection};
use super::support::{launch, rss};
use super::{size, sorted, wait_serving};
use qencode_sandbox::SandboxConfig;
use std::{collections::BTreeMap, net::SocketAddr, time::Duration};
use tokio::time::Instant;

const WATCH_STATUS: &str = "/qencode.gateway.v1.Transcoding/WatchStatus";
const HEALTH_WATCH: &str = "/grpc.health.v1.Health/Watch";
/// Health `Watch` streams per connection the gateway allows
/// (`OPEN_STREAMS_PER_CONNECTION`); one more is opened to see it refused.
const HEALTH_PER_CONNECTION: usize = 8;
/// How long RSS is followed after the client left.
const SETTLE: Duration = Duration::from_secs(5);

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

/// "n CODE, m CODE" of `codes`.
fn list(codes: &BTreeMap<String, usize>) -> String {
    codes
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) async fn run() {
    let connections = size("FLOOD_CONNECTIONS", 40);
    let streams = size("FLOOD_STREAMS", 500);
    let extra = std::env::var("ABUSE_BENCH_FLOOD_ENV").unwrap_or_default();
    let extra: Vec<(&str, String)> = extra
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim(), value.trim().to_owned()))
        .collect();
    let launched = launch(
        SandboxConfig {
            phase_duration: Duration::ZERO,
            ..SandboxConfig::default()
        },
        &extra,
    )
    .await;
    wait_serving(&launched.channel).await;
    let addr: SocketAddr = launched
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("gateway address");
    let before = rss(launched.pid);
    // Several floods in a row tell a leak (RSS grows with each) from memory the
    // allocator keeps for reuse (RSS stays at the first flood's level).
    let repeats = size("FLOOD_REPEAT", 1);
    for flood in 1..=repeats {
        let opened = Instant::now();
        let mut held = Vec::with_capacity(connections * (streams + HEALTH_PER_CONNECTION + 1));
        let mut probes = Vec::with_capacity(connections);
        let mut clients = Vec::with_capacity(connections);
        for _ in 0..connections {
            let mut client = raw_connection(addr).await;
            for _ in 0..streams {
                held.push((
                    "watch",
                    headers_only(&mut client, addr, WATCH_STATUS, None).await,
                ));
            }
            for _ in 0..=HEALTH_PER_CONNECTION {
                held.push((
                    "health",
                    headers_only(&mut client, addr, HEALTH_WATCH, None).await,
                ));
            }
            // A probe behind them on the same connection: once it is answered the gateway
            // has dispatched every stream sent before it.
            probes.push(headers_only(&mut client, addr, WATCH_STATUS, Some("200m")).await);
            clients.push(client);
        }
        let ends: Vec<_> = held
            .into_iter()
            .map(|(kind, (response, body))| {
                tokio::spawn(async move {
                    let code = grpc_status(response).await;
                    (kind, code, opened.elapsed().as_secs_f64(), body)
                })
            })
            .collect();
        let mut probe_codes: BTreeMap<String, usize> = BTreeMap::new();
        for (probe, body) in probes {
            *probe_codes.entry(grpc_status(probe).await).or_insert(0) += 1;
            drop(body);
        }
        let all_open = opened.elapsed().as_secs_f64();
        let peak = rss(launched.pid);

        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        let mut watch_ends = Vec::new();
        let mut bodies = Vec::new();
        for end in ends {
            let (kind, code, at, body) = end.await.expect("held stream task");
            *codes.entry(format!("{kind} {code}")).or_insert(0) += 1;
            if kind == "watch" {
                watch_ends.push(at);
            }
            bodies.push(body);
        }
        let watch_ends = sorted(watch_ends);
        let ended = rss(launched.pid);
        // The client leaves: its streams' handles and connections go.
        drop(bodies);
        drop(clients);
        let left = Instant::now();
        tokio::time::sleep(SETTLE).await;
        let after = rss(launched.pid);
        println!(
        "case 6 header-only watch streams{}, flood {flood} of {repeats}: {connections} conns x ({streams} WatchStatus + {} health Watch); all sent and dispatched in {all_open:.1} s; probes behind them: {}; streams ended: {} (watches after {:.1}-{:.1} s); gateway RSS {:.1} MiB before, {:.1} MiB with all open (VmHWM {:.1} MiB), {:.1} MiB once they ended, {:.1} MiB {:.0} s after the client left",
        if extra.is_empty() { String::new() } else { format!(" ({extra:?})") },
        HEALTH_PER_CONNECTION + 1,
        list(&probe_codes),
        list(&codes),
        watch_ends.first().copied().unwrap_or(0.0),
        watch_ends.last().copied().unwrap_or(0.0),
        mib(before),
        mib(peak),
        status_mib(launched.pid, "VmHWM:"),
        mib(ended),
        mib(after),
        left.elapsed().as_secs_f64(),
    );
    }
}
