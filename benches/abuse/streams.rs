//! Case 1: streams that send a unary call's HEADERS and never its message (raw `h2`, as
//! in tests/hostile.rs), held open while another client makes unary calls.
//!
//! `ABUSE_BENCH_STREAM_CONNECTIONS` (2) x `ABUSE_BENCH_STREAMS` (600 per connection)
//! held streams; `ABUSE_BENCH_UNARY_CALLS` (200) CreateTask calls, once before the
//! streams (baseline) and once while they are held, each time spread evenly over
//! `ABUSE_BENCH_UNARY_SPREAD_SECS` (20, under the 30 s default deadline that ends the
//! held streams).

use super::support::{launch, rss};
use super::{percentile, size, sorted, wait_serving};
use bytes::Bytes;
use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use qencode_sandbox::SandboxConfig;
use std::{collections::BTreeMap, net::SocketAddr, time::Duration};
use tokio::{net::TcpStream, time::Instant};
use tonic::transport::Channel;

const CREATE_TASK: &str = "/qencode.gateway.v1.Transcoding/CreateTask";
/// Bound of each unary call made beside the held streams.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound of the wait for a held stream to end (the default deadline is 30 s).
const END_PATIENCE: Duration = Duration::from_secs(120);

pub(crate) async fn raw_connection(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Sends the HEADERS of a `path` call without END_STREAM and keeps the body open.
pub(crate) async fn headers_only(
    client: &mut h2::client::SendRequest<Bytes>,
    addr: SocketAddr,
    path: &str,
    timeout: Option<&str>,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let mut request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(timeout) = timeout {
        request = request.header("grpc-timeout", timeout);
    }
    let request = request.body(()).expect("request");
    *client = client.clone().ready().await.expect("h2 ready");
    client.send_request(request, false).expect("send headers")
}

/// The gRPC status a response ends with (headers or trailers), or why there is none.
pub(crate) async fn grpc_status(response: h2::client::ResponseFuture) -> String {
    let response = match tokio::time::timeout(END_PATIENCE, response).await {
        Err(_) => return "no end".into(),
        Ok(Err(e)) => return format!("h2 error ({})", e.reason().map_or(0, u32::from)),
        Ok(Ok(response)) => response,
    };
    let code = |headers: &http::HeaderMap| {
        headers
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i32>().ok())
            .map(|c| format!("{:?}", tonic::Code::from_i32(c)))
    };
    if let Some(code) = code(response.headers()) {
        return code;
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        if chunk.is_err() {
            return "reset".into();
        }
    }
    match body.trailers().await {
        Ok(Some(trailers)) => code(&trailers).unwrap_or_else(|| "no grpc-status".into()),
        _ => "no trailers".into(),
    }
}

/// `calls` CreateTask calls one after another, one every `pace`: how many succeeded,
/// latencies in ms, and the codes of the failures.
async fn unary_calls(
    channel: Channel,
    calls: usize,
    pace: Duration,
) -> (usize, Vec<f64>, BTreeMap<String, usize>) {
    let mut client = TranscodingClient::new(channel);
    let (mut ok, mut latencies, mut failures) = (0, Vec::new(), BTreeMap::new());
    let mut tick = tokio::time::interval(pace.max(Duration::from_micros(1)));
    for _ in 0..calls {
        tick.tick().await;
        let mut request = tonic::Request::new(pb::CreateTaskRequest::default());
        request.set_timeout(CALL_TIMEOUT);
        let started = Instant::now();
        match client.create_task(request).await {
            Ok(_) => {
                ok += 1;
                latencies.push(started.elapsed().as_secs_f64() * 1e3);
            }
            Err(status) => *failures.entry(format!("{:?}", status.code())).or_insert(0) += 1,
        }
    }
    (ok, sorted(latencies), failures)
}

pub(crate) async fn run() {
    let connections = size("STREAM_CONNECTIONS", 2);
    let streams = size("STREAMS", 600);
    let calls = size("UNARY_CALLS", 200);
    let spread = Duration::from_secs(size("UNARY_SPREAD_SECS", 20) as u64);
    let launched = launch(
        SandboxConfig {
            phase_duration: Duration::ZERO,
            ..SandboxConfig::default()
        },
        &[],
    )
    .await;
    wait_serving(&launched.channel).await;
    let addr: SocketAddr = launched
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("gateway address");
    let (base_ok, base, _) =
        unary_calls(launched.channel.clone(), calls, spread / calls as u32).await;

    let mut held = Vec::with_capacity(connections * streams);
    for _ in 0..connections {
        let mut client = raw_connection(addr).await;
        for _ in 0..streams {
            held.push(headers_only(&mut client, addr, CREATE_TASK, None).await);
        }
        // A probe behind them on the same connection: once it is answered the gateway
        // has dispatched every held stream sent before it.
        let (probe, body) = headers_only(&mut client, addr, CREATE_TASK, Some("200m")).await;
        let _ = grpc_status(probe).await;
        drop(body);
    }
    let opened = Instant::now();
    let ends: Vec<_> = held
        .into_iter()
        .map(|(response, body)| {
            tokio::spawn(async move {
                let code = grpc_status(response).await;
                drop(body);
                (code, opened.elapsed().as_secs_f64())
            })
        })
        .collect();

    let channel = crate::support::connect(&launched.endpoint).await;
    let (ok, held_latencies, failures) = unary_calls(channel, calls, spread / calls as u32).await;
    let calls_done = opened.elapsed().as_secs_f64();
    let rss_held = rss(launched.pid);

    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut end_times = Vec::new();
    for end in ends {
        let (code, at) = end.await.expect("held stream task");
        *codes.entry(code).or_insert(0) += 1;
        end_times.push(at);
    }
    let end_times = sorted(end_times);
    let list = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "case 1 headers-only streams: {connections} conns x {streams} held (max_concurrent_calls 1024); {calls} CreateTask while held (over {calls_done:.1} s): {ok}/{calls} ok{} p50 {:.2} ms p99 {:.2} ms (before the streams, paced alike: {base_ok}/{calls} ok, p50 {:.2} ms p99 {:.2} ms); held streams ended: {} after {:.1}-{:.1} s; gateway RSS {:.1} MiB while held",
        if failures.is_empty() { String::new() } else { format!(" (failed: {})", list(&failures)) },
        percentile(&held_latencies, 50.0),
        percentile(&held_latencies, 99.0),
        percentile(&base, 50.0),
        percentile(&base, 99.0),
        list(&codes),
        end_times.first().copied().unwrap_or(0.0),
        end_times.last().copied().unwrap_or(0.0),
        rss_held as f64 / 1048576.0,
    );
}
