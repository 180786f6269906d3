//! The two sides of every measured call: the direct REST request and the same work
//! through the gateway, at concurrency 1 (latencies) and 64 (throughput, CPU per call).

use super::support::cpu;
use super::{Kind, CONCURRENCY, WARMUP};
use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use serde_json::Value;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use tokio::time::Instant;
use tonic::transport::Channel;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

/// What every caller needs; shared, each caller holds its own clients over it.
pub(crate) struct Target {
    pub(crate) http: reqwest::Client,
    pub(crate) master_status_url: String,
    pub(crate) create_task_url: String,
    pub(crate) session_token: String,
    pub(crate) task_token: String,
    pub(crate) channels: Vec<Channel>,
}

/// One caller: the clients for every kind (the tonic ones want `&mut self`).
pub(crate) struct Caller {
    pub(crate) target: Arc<Target>,
    pub(crate) transcoding: TranscodingClient<Channel>,
    pub(crate) health: HealthClient<Channel>,
}

impl Caller {
    pub(crate) fn new(target: &Arc<Target>, connection: usize) -> Self {
        let channel = target.channels[connection % target.channels.len()].clone();
        Caller {
            target: target.clone(),
            transcoding: TranscodingClient::new(channel.clone()),
            health: HealthClient::new(channel),
        }
    }

    /// One call of `kind`, checked for success (a failed call would make the figures
    /// meaningless, so it stops the benchmark).
    pub(crate) async fn call(&mut self, kind: Kind) {
        let target = &*self.target;
        match kind {
            Kind::RestStatus => {
                let body = post(
                    &target.http,
                    &target.master_status_url,
                    &[("task_tokens", target.task_token.as_str())],
                )
                .await;
                assert!(
                    body["statuses"][target.task_token.as_str()].is_object(),
                    "master status without the task: {body}"
                );
            }
            Kind::RestCreate => {
                let body = post(
                    &target.http,
                    &target.create_task_url,
                    &[("token", target.session_token.as_str())],
                )
                .await;
                assert!(body["task_token"].is_string(), "no task_token: {body}");
            }
            Kind::GetStatus => {
                let report = self
                    .transcoding
                    .get_status(pb::GetStatusRequest {
                        task_tokens: vec![target.task_token.clone()],
                    })
                    .await
                    .expect("GetStatus")
                    .into_inner();
                assert!(report.statuses.contains_key(&target.task_token));
            }
            Kind::CreateTask => {
                let created = self
                    .transcoding
                    .create_task(pb::CreateTaskRequest::default())
                    .await
                    .expect("CreateTask")
                    .into_inner();
                assert!(!created.task_token.is_empty());
            }
            Kind::Health => {
                let status = self
                    .health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .expect("Health/Check")
                    .into_inner()
                    .status();
                assert_eq!(status, ServingStatus::Serving);
            }
        }
    }
}

/// A form POST whose JSON answer has `error: 0`, parsed as a REST client would.
pub(crate) async fn post(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Value {
    let bytes = http
        .post(url)
        .form(form)
        .send()
        .await
        .expect("REST call")
        .error_for_status()
        .expect("REST status")
        .bytes()
        .await
        .expect("REST body");
    let body: Value = serde_json::from_slice(&bytes).expect("REST JSON");
    assert_eq!(body["error"], 0, "REST error: {body}");
    body
}

/// Sorted per-call latencies (ns) of `calls` sequential calls after a warm-up, and the
/// gateway's CPU µs per timed call (at c=1 every call pays its own wake-ups and
/// syscalls, which concurrency amortises; /proc's 10 ms ticks make it coarse).
pub(crate) async fn latencies(
    caller: &mut Caller,
    pid: u32,
    kind: Kind,
    calls: usize,
) -> (Vec<u64>, f64) {
    for _ in 0..WARMUP {
        caller.call(kind).await;
    }
    let mut out = Vec::with_capacity(calls);
    let gateway_before = cpu(pid);
    for _ in 0..calls {
        let started = Instant::now();
        caller.call(kind).await;
        out.push(started.elapsed().as_nanos() as u64);
    }
    let gateway_us = (cpu(pid) - gateway_before) * 1e6 / calls as f64;
    out.sort_unstable();
    (out, gateway_us)
}

/// The `p`th percentile (nearest rank) of sorted `values`.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// A throughput run's readings.
pub(crate) struct Load {
    pub(crate) per_second: f64,
    /// Gateway CPU (utime + stime) per call, µs.
    pub(crate) gateway_us: f64,
    /// Gateway CPU time / wall time: how busy its core was.
    pub(crate) gateway_busy: f64,
    /// The same for this process (client and sandbox).
    pub(crate) bench_busy: f64,
}

/// `calls` calls of `kind` with [`CONCURRENCY`] callers over the shared connections.
pub(crate) async fn load(target: &Arc<Target>, pid: u32, kind: Kind, calls: usize) -> Load {
    let next = Arc::new(AtomicUsize::new(0));
    let (gateway_before, bench_before) = (cpu(pid), cpu(std::process::id()));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|i| {
            let mut caller = Caller::new(target, i);
            let next = next.clone();
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < calls {
                    caller.call(kind).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("caller task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let gateway = cpu(pid) - gateway_before;
    let bench = cpu(std::process::id()) - bench_before;
    Load {
        per_second: calls as f64 / elapsed,
        gateway_us: gateway * 1e6 / calls as f64,
        gateway_busy: gateway / elapsed,
        bench_busy: bench / elapsed,
    }
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}
