//! A client that opens watch streams and never takes a message (raw HTTP/2 with a
//! 16-byte window it never reopens, which tonic never does): each stream is ended after
//! GATEWAY_WATCH_STALL_TIMEOUT, its watcher slot and hub subscription freed, the limit
//! hit counted; a well-behaved watcher keeps getting messages meanwhile; and the stalled
//! client, once it reads, learns why (RESOURCE_EXHAUSTED, WATCH_CLIENT_STALLED).

mod common;

use bytes::Bytes;
use common::{raw_h2::open_watches, *};
use qencode_gateway::pb::{self, WatchEventKind};
use qencode_sandbox::SandboxConfig;
use std::time::Duration;
use tokio::net::TcpStream;
use tonic::Code;

/// Stalled watch streams opened.
const STALLED: usize = 20;
/// Bound of every wait (never reached when the gateway behaves).
const PATIENCE: Duration = Duration::from_secs(15);

async fn task(
    client: &mut pb::transcoding_client::TranscodingClient<tonic::transport::Channel>,
) -> String {
    transcoded_task(client).await
}

#[tokio::test(start_paused = true)]
async fn watch_streams_whose_client_takes_nothing_end_and_free_their_slots() {
    let sandbox = SandboxConfig {
        // Tasks stay running for the whole test.
        phase_duration: Duration::from_secs(600),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, |c| {
        c.poll_interval = Duration::from_millis(100);
        c.heartbeat_interval = Duration::from_millis(100);
        c.watch_stall_timeout = Duration::from_millis(500);
    })
    .await;
    env.wait_serving().await;
    let mut client = env.transcoding().await;
    let followed = task(&mut client).await;
    let stalled = task(&mut client).await;
    let mut reader = client
        .watch_status(pb::WatchStatusRequest {
            task_token: followed,
        })
        .await
        .unwrap()
        .into_inner();

    // The hostile client: a 16-byte stream window, never reopened (it never reads).
    let tcp = TcpStream::connect(env.addr).await.expect("connect");
    let (h2, connection) = h2::client::Builder::new()
        .initial_window_size(16)
        .handshake::<_, Bytes>(tcp)
        .await
        .expect("h2 handshake");
    // The connection task answers pings, so keepalive never closes this connection:
    // only the stall limit can end its streams.
    let hostile = tokio::spawn(async move {
        let _ = connection.await;
    });
    let (_h2, mut stalled_responses) =
        open_watches(h2, env.addr, &stalled, STALLED, PATIENCE).await;

    // The well-behaved watcher keeps getting messages while the stalled streams are ended.
    let watchers = env.gateway.watchers.clone();
    let reading = tokio::spawn(async move {
        let mut kinds = Vec::new();
        while kinds.len() < 15 {
            let message = tokio::time::timeout(Duration::from_secs(2), reader.message())
                .await
                .expect("the reader froze")
                .expect("watch failed")
                .expect("watch ended");
            kinds.push(message.kind());
        }
        kinds
    });
    eventually("stalled watchers freed", PATIENCE, || {
        watchers.limit.open() == 1 && !watchers.tasks.is_watched(&stalled)
    })
    .await;
    let kinds = reading.await.expect("reader");
    assert_eq!(kinds[0], WatchEventKind::Snapshot);
    assert!(kinds[1..]
        .iter()
        .all(|k| matches!(k, WatchEventKind::Heartbeat | WatchEventKind::Change)));

    let mut metrics = String::new();
    qencode_gateway::support::metrics::render(&mut metrics);
    let hits = metrics
        .lines()
        .find(|l| {
            l.contains("gateway_limit_hits_total") && l.contains("GATEWAY_WATCH_STALL_TIMEOUT")
        })
        .unwrap_or_else(|| panic!("no stall limit hits in\n{metrics}"));
    let count: f64 = hits.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(count as usize, STALLED, "{hits}");

    // A stalled client that reads again gets what was queued, then the reason.
    let mut body = stalled_responses.pop().unwrap().into_body();
    let mut received = 0;
    while let Some(chunk) = tokio::time::timeout(PATIENCE, body.data())
        .await
        .expect("data in time")
    {
        let chunk = chunk.expect("body");
        received += chunk.len();
        let _ = body.flow_control().release_capacity(chunk.len());
        assert!(received < 1 << 20, "the stream never ends");
    }
    let trailers = tokio::time::timeout(PATIENCE, body.trailers())
        .await
        .expect("trailers in time")
        .expect("trailers")
        .expect("trailers present");
    let status = tonic::Status::from_header_map(&trailers).expect("a grpc status");
    assert_reason(&status, Code::ResourceExhausted, "WATCH_CLIENT_STALLED");
    assert!(
        status.message().contains("GATEWAY_WATCH_STALL_TIMEOUT"),
        "{status:?}"
    );
    // The hostile client leaves (its other streams could not take a shutdown trailer,
    // so they would hold the drain until GATEWAY_SHUTDOWN_GRACE).
    hostile.abort();
    env.stop().await;
}
