//! Watch fan-out benchmark: 10,000 concurrent watchers over 1,000 tasks on one gateway.
//!
//! Run: `cargo bench --bench watchers` (add `-- --watchers N --tasks M` to resize).
//!
//! The sandbox runs in this process; the gateway is the real release binary in its own
//! process, so its memory (VmRSS) and CPU time (utime + stime) are read from /proc for it
//! alone. Reports upstream status requests per poll interval, gateway memory per open
//! watcher, and gateway CPU time per update delivered to a watcher.

mod support;

use support::{cpu, launch, rss};

use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::time::Instant;

const STREAMS_PER_CONNECTION: usize = 100;

struct Args {
    watchers: usize,
    tasks: usize,
    interval: Duration,
    batch: usize,
    phase: Duration,
}

fn args() -> Args {
    let mut args = Args {
        watchers: 10_000,
        tasks: 1_000,
        interval: Duration::from_secs(1),
        batch: 100,
        phase: Duration::from_secs(4),
    };
    let raw: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i + 1 < raw.len() {
        let value = raw[i + 1].parse::<usize>().ok();
        match (raw[i].as_str(), value) {
            ("--watchers", Some(v)) => args.watchers = v,
            ("--tasks", Some(v)) => args.tasks = v,
            ("--batch", Some(v)) => args.batch = v,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    args
}

#[tokio::main]
async fn main() {
    let args = args();
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

    let connections = args.watchers.div_ceil(STREAMS_PER_CONNECTION);
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        channels.push(support::connect(&endpoint).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss(pid);
    let cpu_before = cpu(pid);
    let requests_before = sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus);

    let snapshots = Arc::new(AtomicUsize::new(0));
    let updates = Arc::new(AtomicUsize::new(0));
    let completed = Arc::new(AtomicUsize::new(0));
    // Watches that ended before their first message (e.g. the first poll failed): the
    // wait for all snapshots must not hang on them.
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut watchers = Vec::with_capacity(args.watchers);
    for i in 0..args.watchers {
        let channel = channels[i / STREAMS_PER_CONNECTION].clone();
        let token = tokens[i % tokens.len()].clone();
        let (snapshots, updates, completed, failed) = (
            snapshots.clone(),
            updates.clone(),
            completed.clone(),
            failed.clone(),
        );
        watchers.push(tokio::spawn(async move {
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
    while snapshots.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < args.watchers {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_open = started.elapsed();
    let failed_first = failed.load(Ordering::Relaxed);
    if failed_first > 0 {
        println!("{failed_first} watches ended before their first message");
    }
    let rss_open = rss(pid);
    for watcher in watchers {
        let _ = watcher.await;
    }
    let elapsed = started.elapsed();
    let cpu_used = cpu(pid) - cpu_before;
    let requests =
        sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus) - requests_before;
    let intervals = elapsed.as_secs_f64() / args.interval.as_secs_f64();
    let delivered = updates.load(Ordering::Relaxed);

    println!(
        "watchers: {} over {} tasks ({} connections), poll interval {:?}, batch {}",
        args.watchers, args.tasks, connections, args.interval, args.batch
    );
    println!(
        "all {} snapshots delivered in {:.2?}; all streams ended after {:.2?}, {} saw completed",
        args.watchers,
        all_open,
        elapsed,
        completed.load(Ordering::Relaxed)
    );
    println!(
        "upstream status requests: {requests} in {intervals:.1} intervals = {:.2} per interval (floor ceil(tasks/batch) = {})",
        requests as f64 / intervals,
        args.tasks.div_ceil(args.batch)
    );
    println!(
        "gateway RSS: {:.1} MiB before, {:.1} MiB with all watchers open = {:.2} KiB per open watcher",
        rss_before as f64 / 1048576.0,
        rss_open as f64 / 1048576.0,
        (rss_open.saturating_sub(rss_before)) as f64 / 1024.0 / args.watchers as f64
    );
    println!(
        "gateway CPU: {cpu_used:.2} s for {delivered} updates delivered = {:.1} us per update",
        cpu_used * 1e6 / delivered.max(1) as f64
    );
    drop(launched);
}
