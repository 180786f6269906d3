//! Case 5: one upstream status request stalls among the batches of many watched tasks.
//!
//! `ABUSE_BENCH_TASKS` (200) tasks, each watched, polled every
//! `ABUSE_BENCH_INTERVAL_MS` (1000) in batches of `ABUSE_BENCH_BATCH` (50). The sandbox's
//! phases last `ABUSE_BENCH_PHASE_SECS` (30), so every poll of an encoding task sees a
//! new percent, i.e. one update per interval. Once all tasks are encoding, a
//! `ABUSE_BENCH_BASELINE_INTERVALS` (5) window without faults is measured, then the next
//! master status request is made to stall for `ABUSE_BENCH_STALL_SECS` (25) and the
//! following `ABUSE_BENCH_WINDOW_INTERVALS` (15) intervals are measured. The figure is
//! each task's longest gap between updates in the window, in intervals.
//!
//! New watchers are timed too, after the window, to their first event: on an already
//! watched task and on an unwatched one with a single stall queued, then on an unwatched
//! task while every status request stalls (the faults cleared after).

use super::support::launch;
use super::{percentile, size, sorted, wait_serving};
use qencode_gateway::pb::{self, transcoding_client::TranscodingClient, WatchEventKind};
use qencode_sandbox::{Endpoint, Fault, FaultKind, SandboxConfig};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::time::Instant;
use tonic::transport::Channel;

/// Watch streams per HTTP/2 connection.
const PER_CONNECTION: usize = 100;

/// When each task's watcher got a CHANGE (or SNAPSHOT), and how many stale events.
#[derive(Default)]
struct Seen {
    updates: Vec<Instant>,
    stale: usize,
}

async fn transcode(channel: &Channel, i: usize) -> String {
    crate::support::transcode_mp4(channel.clone(), format!("https://example.com/{i}.mp4")).await
}

/// Longest gap (in intervals) between updates within `[from, to]`, counting the window's
/// edges, for each task.
fn gaps(seen: &[Arc<Mutex<Seen>>], from: Instant, to: Instant, interval: Duration) -> Vec<f64> {
    sorted(
        seen.iter()
            .map(|s| {
                let s = s.lock().expect("seen");
                let mut last = from;
                let mut worst = Duration::ZERO;
                for at in s.updates.iter().filter(|at| **at > from && **at <= to) {
                    worst = worst.max(*at - last);
                    last = *at;
                }
                worst = worst.max(to - last);
                worst.as_secs_f64() / interval.as_secs_f64()
            })
            .collect(),
    )
}

fn describe(gaps: &[f64]) -> String {
    format!(
        "p50 {:.2} p90 {:.2} max {:.2}",
        percentile(gaps, 50.0),
        percentile(gaps, 90.0),
        gaps.last().copied().unwrap_or(0.0)
    )
}

/// Time to a new watcher's first event, and what it was.
async fn first_event(channel: Channel, task_token: String) -> String {
    let started = Instant::now();
    let mut client = TranscodingClient::new(channel);
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        let mut stream = client
            .watch_status(pb::WatchStatusRequest { task_token })
            .await?
            .into_inner();
        stream.message().await
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    match outcome {
        Err(_) => format!("nothing in {secs:.1} s"),
        Ok(Err(status)) => format!("{:?} after {secs:.2} s", status.code()),
        Ok(Ok(None)) => format!("stream ended empty after {secs:.2} s"),
        Ok(Ok(Some(m))) => format!(
            "{:?}{} after {secs:.2} s",
            m.kind(),
            if m.stale.is_some() { " (stale)" } else { "" }
        ),
    }
}

pub(crate) async fn run() {
    let tasks = size("TASKS", 200);
    let interval = Duration::from_millis(size("INTERVAL_MS", 1000) as u64);
    let batch = size("BATCH", 50);
    let phase = Duration::from_secs(size("PHASE_SECS", 30) as u64);
    let stall = Duration::from_secs(size("STALL_SECS", 25) as u64);
    let baseline_intervals = size("BASELINE_INTERVALS", 5) as u32;
    let window_intervals = size("WINDOW_INTERVALS", 15) as u32;
    let launched = launch(
        SandboxConfig {
            phase_duration: phase,
            ..SandboxConfig::default()
        },
        &[
            (
                "GATEWAY_POLL_INTERVAL",
                format!("{}ms", interval.as_millis()),
            ),
            ("GATEWAY_STATUS_BATCH_SIZE", batch.to_string()),
        ],
    )
    .await;
    wait_serving(&launched.channel).await;
    let sandbox = &launched.sandbox;
    let channel = &launched.channel;
    let first_start = Instant::now();
    let mut tokens = Vec::with_capacity(tasks);
    for i in 0..tasks {
        tokens.push(transcode(channel, i).await);
    }
    // Unwatched tasks for the new watchers, started with the others.
    let unwatched = [
        transcode(channel, tasks).await,
        transcode(channel, tasks + 1).await,
    ];
    let last_start = Instant::now();
    let encoding_from = last_start + 2 * phase + interval;
    let encoding_to = first_start + 3 * phase;
    let needed = interval * (baseline_intervals + window_intervals);
    if encoding_from + needed > encoding_to {
        println!(
            "case 5 stalled batch: skipped (the encoding phase, {phase:?}, leaves {:?} for {needed:?} of windows after the {:?} it took to start the tasks; raise ABUSE_BENCH_PHASE_SECS)",
            encoding_to.saturating_duration_since(encoding_from),
            last_start - first_start,
        );
        return;
    }

    let mut channels = Vec::new();
    for _ in 0..tasks.div_ceil(PER_CONNECTION) {
        channels.push(crate::support::connect(&launched.endpoint).await);
    }
    let mut seen = Vec::with_capacity(tasks);
    for (i, token) in tokens.iter().enumerate() {
        let record = Arc::new(Mutex::new(Seen::default()));
        seen.push(record.clone());
        let mut watcher = TranscodingClient::new(channels[i / PER_CONNECTION].clone());
        let token = token.clone();
        tokio::spawn(async move {
            let mut stream = watcher
                .watch_status(pb::WatchStatusRequest { task_token: token })
                .await
                .expect("watch")
                .into_inner();
            while let Ok(Some(message)) = stream.message().await {
                let mut record = record.lock().expect("seen");
                if message.stale.is_some() {
                    record.stale += 1;
                }
                if matches!(
                    message.kind(),
                    WatchEventKind::Change | WatchEventKind::Snapshot
                ) {
                    record.updates.push(Instant::now());
                }
            }
        });
    }

    tokio::time::sleep_until(encoding_from).await;
    let baseline_from = Instant::now();
    tokio::time::sleep(interval * baseline_intervals).await;
    let window_from = Instant::now();
    let delayed_before = delayed(sandbox);
    sandbox.inject(Fault::once(Endpoint::MasterStatus, FaultKind::Delay(stall)));
    tokio::time::sleep(interval * window_intervals).await;
    let window_to = Instant::now();
    let stalled = delayed(sandbox) - delayed_before;
    let baseline = gaps(&seen, baseline_from, window_from, interval);
    let window = gaps(&seen, window_from, window_to, interval);
    let stale: usize = seen.iter().map(|s| s.lock().expect("seen").stale).sum();

    // New watchers, after the window so their stalls stay out of it.
    sandbox.inject(Fault::once(Endpoint::MasterStatus, FaultKind::Delay(stall)));
    let cached = first_event(launched.channel.clone(), tokens[0].clone()).await;
    let fresh = first_event(launched.channel.clone(), unwatched[0].clone()).await;
    // Every status request stalls: the new watcher's own fetch cannot succeed.
    for endpoint in [Endpoint::Status, Endpoint::MasterStatus] {
        sandbox.inject(Fault {
            endpoint,
            kind: FaultKind::Delay(stall),
            times: usize::MAX,
        });
    }
    let outage = first_event(launched.channel.clone(), unwatched[1].clone()).await;
    sandbox.clear_faults();

    // A task whose own batch stalled misses its polls until the retry; the others may
    // only wait for the round (bounded by the per-batch timeout). Tell them apart by
    // that: a longest gap over 2.5 intervals.
    let (own, others): (Vec<f64>, Vec<f64>) = window.iter().partition(|g| **g > 2.5);
    println!(
        "case 5 stalled batch: {tasks} watched tasks, batches of {batch}, interval {interval:?}, stall {stall:?} ({stalled} status request stalled); longest gap between a task's updates, in intervals: without faults {}; with the stall, over {window_intervals} intervals, {} tasks (the stalled batch) {}, the other {} tasks {} (so late by at most {:.2} interval); {stale} stale events",
        describe(&baseline),
        own.len(),
        describe(&own),
        others.len(),
        describe(&others),
        others.last().map_or(0.0, |g| g - 1.0),
    );
    println!(
        "case 5 new watcher, first event (a stall queued): watched task {cached}; unwatched task {fresh}; unwatched task while every status request stalls {outage}"
    );
}

/// Requests the sandbox delayed by a fault so far.
fn delayed(sandbox: &qencode_sandbox::SandboxHandle) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| matches!(r.fault, Some(FaultKind::Delay(_))))
        .count()
}
