//! Fleet-mode benchmark: one redis-server, one sandbox and 3 gateway replicas in this
//! process, watchers spread over the replicas.
//!
//! Run: `cargo bench --bench fleet` (resize with `FLEET_BENCH_WATCHERS`, the total over
//! all replicas, default 10,000, and `FLEET_BENCH_TASKS`, default 1,000).
//!
//! Phase 1 (poll interval 1 s, batch 100): upstream status requests per interval vs the
//! single-replica ideal ceil(tasks/batch), Redis commands per second, and memory per
//! watcher (VmRSS of this whole process: sandbox, replicas and clients). Phase 2 (poll
//! interval 1 h): latency from a signed task callback posted to replica A until watchers
//! on B and C see the new state, p50/p99 over `FLEET_BENCH_CALLBACKS` (default 50).

mod support;

/// `redis_server` checks through it that `redis-server` is installed.
#[path = "../tests/common/prerequisites.rs"]
mod prerequisites;
// The tests' bounded wait, which their Redis helpers use.
#[allow(dead_code)]
#[path = "../tests/common/eventually.rs"]
mod eventually_wait;
pub use eventually_wait::eventually;
// The tests' Redis helpers; the bench uses a few of them.
#[allow(dead_code, unused_imports)]
#[path = "../tests/common/redis.rs"]
mod redis_server;

use futures::StreamExt;
use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use qencode_sandbox::{Endpoint, Sandbox, SandboxConfig, SandboxHandle};
use redis_server::{replica, RedisServer, Replica};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use support::API_KEY;
use tokio::time::Instant;
use tonic::transport::Channel;

const STREAMS_PER_CONNECTION: usize = 100;
const REPLICAS: usize = 3;
const BATCH: u16 = 100;
const INTERVAL: Duration = Duration::from_secs(1);

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_self() -> u64 {
    support::rss(std::process::id())
}

async fn sandbox(phase: Duration) -> SandboxHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    Sandbox::start(
        listener,
        SandboxConfig {
            api_keys: vec![API_KEY.into()],
            live_api_keys: vec![API_KEY.into()],
            phase_duration: phase,
            ..SandboxConfig::default()
        },
    )
    .await
    .expect("sandbox")
}

async fn transcode(channel: Channel, i: usize) -> String {
    support::transcode_mp4(channel, format!("https://example.com/{i}.mp4")).await
}

async fn redis_commands(con: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(con)
        .await
        .expect("INFO stats");
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn status_requests(sandbox: &SandboxHandle) -> usize {
    sandbox.count(Endpoint::Status) + sandbox.count(Endpoint::MasterStatus)
}

#[tokio::main]
async fn main() {
    let watchers = env_size("FLEET_BENCH_WATCHERS", 10_000);
    let tasks = env_size("FLEET_BENCH_TASKS", 1_000);
    let callbacks = env_size("FLEET_BENCH_CALLBACKS", 50);
    let phase = Duration::from_millis(env_size("FLEET_BENCH_PHASE_MS", 4_000) as u64);

    let redis = RedisServer::start().await;
    let mut con = redis::Client::open(redis.url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");

    // Phase 1: polling.
    let sb = sandbox(phase).await;
    let url = sb.base_url();
    let per_replica = watchers.div_ceil(REPLICAS) as u32 * 2;
    let replicas: Vec<Replica> = futures::future::join_all((0..REPLICAS).map(|_| {
        replica(&url, &redis, |c| {
            c.poll_interval = INTERVAL;
            c.status_batch_size = BATCH;
            c.max_watchers = per_replica.max(c.max_watchers);
        })
    }))
    .await;
    let mut firsts = Vec::new();
    for r in &replicas {
        firsts.push(r.channel().await);
    }
    let created = Instant::now();
    let tokens: Vec<String> = futures::stream::iter(0..tasks)
        .map(|i| transcode(firsts[i % REPLICAS].clone(), i))
        .buffered(16)
        .collect()
        .await;
    let creation = created.elapsed();

    let connections = watchers.div_ceil(STREAMS_PER_CONNECTION);
    let mut channels = Vec::with_capacity(connections);
    for c in 0..connections {
        channels.push(replicas[c % REPLICAS].channel().await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_self();
    let requests_before = status_requests(&sb);
    let commands_before = redis_commands(&mut con).await;

    let snapshots = Arc::new(AtomicUsize::new(0));
    let completed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(watchers);
    for i in 0..watchers {
        let channel = channels[i / STREAMS_PER_CONNECTION].clone();
        let token = tokens[i % tokens.len()].clone();
        let (snapshots, completed) = (snapshots.clone(), completed.clone());
        handles.push(tokio::spawn(async move {
            let mut stream = TranscodingClient::new(channel)
                .watch_status(pb::WatchStatusRequest { task_token: token })
                .await
                .expect("watch")
                .into_inner();
            let mut first = true;
            while let Ok(Some(message)) = stream.message().await {
                if first {
                    snapshots.fetch_add(1, Ordering::Relaxed);
                    first = false;
                }
                if message
                    .status
                    .is_some_and(|s| s.state() == pb::TaskState::Completed)
                {
                    completed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }));
    }
    while snapshots.load(Ordering::Relaxed) < watchers {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_open = started.elapsed();
    let rss_open = rss_self();
    for h in handles {
        let _ = h.await;
    }
    let elapsed = started.elapsed();
    let requests = status_requests(&sb) - requests_before;
    let commands = redis_commands(&mut con).await - commands_before;
    let intervals = elapsed.as_secs_f64() / INTERVAL.as_secs_f64();
    let leases: Vec<usize> = replicas
        .iter()
        .map(|r| r.gateway.watchers.fleet().map_or(0, |f| f.leases_held()))
        .collect();

    println!(
        "fleet: {REPLICAS} replicas, {watchers} watchers over {tasks} tasks ({connections} connections), poll interval {INTERVAL:?}, batch {BATCH}, sandbox phase {phase:?}"
    );
    println!("{tasks} tasks created in {creation:.2?}");
    println!(
        "all {watchers} snapshots in {all_open:.2?}; all watchers saw the end after {elapsed:.2?}, {} saw completed; leases at the end {leases:?}",
        completed.load(Ordering::Relaxed)
    );
    println!(
        "upstream status requests: {requests} in {intervals:.1} intervals = {:.2} per interval (single-replica ideal ceil(tasks/batch) = {})",
        requests as f64 / intervals,
        tasks.div_ceil(BATCH as usize)
    );
    println!(
        "redis commands: {commands} in {:.1} s = {:.0} per second",
        elapsed.as_secs_f64(),
        commands as f64 / elapsed.as_secs_f64()
    );
    println!(
        "process RSS (sandbox + {REPLICAS} replicas + clients): {:.1} MiB before, {:.1} MiB with all watchers open = {:.2} KiB per watcher",
        rss_before as f64 / 1048576.0,
        rss_open as f64 / 1048576.0,
        rss_open.saturating_sub(rss_before) as f64 / 1024.0 / watchers as f64
    );
    drop(channels);
    for r in replicas {
        r.stop().await;
    }

    // Phase 2: callback fan-out, polling slowed to 1 h.
    let sb = sandbox(Duration::from_secs(3600)).await;
    let url = sb.base_url();
    let slow = |c: &mut qencode_gateway::Config| c.poll_interval = Duration::from_secs(3600);
    let a = replica(&url, &redis, |c| {
        slow(c);
        c.callback_url = Some(url::Url::parse(&format!("http://{}", c.http_listen)).unwrap());
    })
    .await;
    let b = replica(&url, &redis, slow).await;
    let c = replica(&url, &redis, slow).await;
    let (ca, cb, cc) = (a.channel().await, b.channel().await, c.channel().await);
    let http = reqwest::Client::new();
    let mut latencies = Vec::with_capacity(callbacks);
    for i in 0..callbacks {
        let token = transcode(ca.clone(), i).await;
        let callback_url = sb.task(&token).unwrap().query.unwrap()["query"]["callback_url"]
            .as_str()
            .expect("callback_url added")
            .to_owned();
        let mut streams = Vec::new();
        for channel in [&cb, &cc] {
            let mut stream = TranscodingClient::new(channel.clone())
                .watch_status(pb::WatchStatusRequest {
                    task_token: token.clone(),
                })
                .await
                .expect("watch")
                .into_inner();
            stream.message().await.expect("snapshot").expect("snapshot");
            streams.push(stream);
        }
        let status =
            serde_json::json!({"status": "completed", "percent": 100, "error": 0, "videos": []});
        let form = [
            ("status", status.to_string()),
            ("callback_type", "task".into()),
            ("task_token", token.clone()),
            ("event", "saved".into()),
        ];
        let posted_at = Instant::now();
        let posted = http.post(&callback_url).form(&form).send().await.unwrap();
        assert_eq!(posted.status(), 200, "callback refused");
        let seen = futures::future::join_all(streams.into_iter().map(|mut s| async move {
            loop {
                match tokio::time::timeout(Duration::from_secs(30), s.message()).await {
                    Ok(Ok(Some(m)))
                        if m.status
                            .as_ref()
                            .is_some_and(|s| s.state() == pb::TaskState::Completed) =>
                    {
                        return posted_at.elapsed()
                    }
                    Ok(Ok(Some(_))) => continue,
                    _ => return Duration::MAX,
                }
            }
        }))
        .await;
        latencies.extend(seen);
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    println!(
        "callback fan-out (post to A -> watcher on B / C sees completed), {} samples: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        latencies.len(),
        pick(0.5),
        pick(0.99),
        latencies[latencies.len() - 1]
    );
    for r in [a, b, c] {
        r.stop().await;
    }
}
