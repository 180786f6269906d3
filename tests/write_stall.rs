//! A client that never reads (issue 12): it opens many watch streams with the largest
//! HTTP/2 windows there are, so flow control never pushes back, and then stops reading
//! its socket. The per-watch stall limit cannot see it (hyper keeps moving heartbeats
//! into h2's send buffers), and the keepalive only after its interval and timeout; the
//! write-stall timeout closes the connection once its send buffer has been full for
//! GATEWAY_WRITE_STALL_TIMEOUT. Shown here: the connection is closed (the client sees the
//! end when it reads again), its watchers are freed, the limit hit is counted, a
//! well-behaved client on another connection keeps getting messages throughout, and a
//! graceful shutdown is not held for the grace period by such a connection.

mod common;

use bytes::Bytes;
use common::{raw_h2::open_watches, *};
use qencode_gateway::pb;
use qencode_sandbox::SandboxConfig;
use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpSocket, TcpStream},
    task::JoinHandle,
    time::Instant,
};

/// Watch streams the hostile client opens.
const STREAMS: usize = 100;
/// Bound of every wait (never reached when the gateway behaves).
const PATIENCE: Duration = Duration::from_secs(20);
/// The largest HTTP/2 window (RFC 9113 §6.9.1).
const HUGE_WINDOW: u32 = (1 << 31) - 1;

/// A socket whose reads can be shut off: the h2 client keeps writing (it has nothing to
/// write once its requests are out) but takes nothing from the kernel, like a client
/// whose reading thread is stuck.
struct Valve {
    tcp: TcpStream,
    gate: Gate,
}

/// The shared switch of a [`Valve`].
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<GateState>>);

#[derive(Default)]
struct GateState {
    shut: bool,
    /// The reader parked while shut, woken when the gate opens.
    parked: Option<Waker>,
}

impl Gate {
    fn set(&self, shut: bool) {
        let mut state = self.0.lock().unwrap();
        state.shut = shut;
        if let Some(waker) = state.parked.take() {
            waker.wake();
        }
    }
}

impl AsyncRead for Valve {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        {
            let mut state = self.gate.0.lock().unwrap();
            if state.shut {
                state.parked = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Valve {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// A gateway whose watchers get a heartbeat every 10 ms (so a stalled connection has a
/// lot to send), whose per-watch stall limit and keepalive cannot act within the test,
/// and whose write-stall timeout is `write_stall`.
async fn gateway(write_stall: Duration) -> Env {
    let sandbox = SandboxConfig {
        // Tasks stay running for the whole test.
        phase_duration: Duration::from_secs(600),
        ..fast_sandbox()
    };
    let env = start_with(sandbox, |c| {
        c.poll_interval = Duration::from_millis(100);
        c.heartbeat_interval = Duration::from_millis(10);
        c.watch_stall_timeout = Duration::from_secs(600);
        c.keepalive_interval = Duration::from_secs(120);
        c.limits.write_stall_timeout = write_stall;
    })
    .await;
    env.wait_serving().await;
    env
}

async fn task(
    client: &mut pb::transcoding_client::TranscodingClient<tonic::transport::Channel>,
) -> String {
    transcoded_task(client).await
}

/// The hostile client, reading shut off once its streams are open.
struct Hostile {
    /// Opens the reads again.
    gate: Gate,
    /// The h2 connection task: ends when the gateway's end of the socket is gone.
    connection: JoinHandle<()>,
    /// Client port of the socket, to find it in `/proc/net/tcp`.
    port: u16,
    /// Kept so the client does not reset its streams itself.
    _responses: Vec<http::Response<h2::RecvStream>>,
    _h2: h2::client::SendRequest<Bytes>,
}

/// Opens [`STREAMS`] watches of `token` over a socket with a small receive buffer and
/// the largest windows, waits until the gateway has answered every one (so they are
/// all open), and then shuts its reads off.
async fn hostile(env: &Env, token: &str) -> Hostile {
    let socket = TcpSocket::new_v4().expect("socket");
    // A small receive buffer: the kernel holds little for a client that never reads.
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let tcp = socket.connect(env.addr).await.expect("connect");
    let port = tcp.local_addr().expect("client address").port();
    let gate = Gate::default();
    let io = Valve {
        tcp,
        gate: gate.clone(),
    };
    let (h2, connection) = h2::client::Builder::new()
        .initial_window_size(HUGE_WINDOW)
        .initial_connection_window_size(HUGE_WINDOW)
        .handshake::<_, Bytes>(io)
        .await
        .expect("h2 handshake");
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let (h2, responses) = open_watches(h2, env.addr, token, STREAMS, PATIENCE).await;
    gate.set(true);
    Hostile {
        gate,
        connection,
        port,
        _responses: responses,
        _h2: h2,
    }
}

/// Bytes the gateway's end of the connection from `client_port` has queued and not got
/// through to the client (its `tx_queue` in `/proc/net/tcp`).
fn unsent(gateway_port: u16, client_port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!(":{gateway_port:04X}");
    let remote = format!(":{client_port:04X}");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 5 || !fields[1].ends_with(&local) || !fields[2].ends_with(&remote) {
            return None;
        }
        let (tx, _rx) = fields[4].split_once(':')?;
        u64::from_str_radix(tx, 16).ok()
    })
}

/// Waits (bounded) until the gateway's send buffer for `hostile` is full: bytes are
/// queued and none have left for a while, although the gateway has heartbeats to send
/// every 10 ms. From then on every write of that connection is pending.
async fn wait_until_stalled(env: &Env, hostile: &Hostile) {
    let mut last = None;
    eventually_every(
        "the gateway's send buffer full",
        PATIENCE,
        Duration::from_millis(200),
        || {
            let now = unsent(env.addr.port(), hostile.port);
            let full = now.is_some_and(|n| n > 0) && now == last;
            last = now;
            full.then_some(()).ok_or(now)
        },
    )
    .await;
}

/// The tests count a process-wide metric: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The value of `gateway_limit_hits_total` for `limit` in `scope` (0 when absent).
fn limit_hits(limit: &str, scope: &str) -> u64 {
    let mut metrics = String::new();
    qencode_gateway::support::metrics::render(&mut metrics);
    let labels = format!("gateway_limit_hits_total{{limit=\"{limit}\",scope=\"{scope}\"}}");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(labels.as_str()))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_reads_is_closed_and_frees_its_watchers() {
    let _serial = SERIAL.lock().await;
    let env = gateway(Duration::from_secs(1)).await;
    let mut client = env.transcoding().await;
    let followed = task(&mut client).await;
    let flooded = task(&mut client).await;

    // The well-behaved watcher, on its own connection, must never go 2 s without a
    // message while the hostile connection stalls and is closed.
    let mut reader = env
        .transcoding()
        .await
        .watch_status(pb::WatchStatusRequest {
            task_token: followed,
        })
        .await
        .expect("watch")
        .into_inner();
    let (stop_reading, mut stop) = tokio::sync::oneshot::channel::<()>();
    let reading = tokio::spawn(async move {
        let mut messages = 0usize;
        loop {
            tokio::select! {
                _ = &mut stop => return messages,
                message = tokio::time::timeout(Duration::from_secs(2), reader.message()) => {
                    message
                        .expect("the well-behaved watcher froze")
                        .expect("watch failed")
                        .expect("watch ended");
                    messages += 1;
                }
            }
        }
    });

    let hits_before = limit_hits("GATEWAY_WRITE_STALL_TIMEOUT", "grpc");
    let watchers = env.gateway.watchers.clone();
    let hostile = hostile(&env, &flooded).await;
    assert_eq!(watchers.limit.open(), STREAMS + 1);
    wait_until_stalled(&env, &hostile).await;
    assert_eq!(
        watchers.limit.open(),
        STREAMS + 1,
        "still open while stalled"
    );

    // Closed by the write stall: its watchers are freed long before the per-watch stall
    // limit (600 s) or the keepalive (120 s + 10 s) could have acted.
    eventually(
        "the never-reading connection's watchers freed",
        PATIENCE,
        || watchers.limit.open() == 1 && !watchers.tasks.is_watched(&flooded),
    )
    .await;
    assert!(
        limit_hits("GATEWAY_WRITE_STALL_TIMEOUT", "grpc") > hits_before,
        "the write stall is counted"
    );

    // When the client reads again it gets what the kernel held, then the end.
    hostile.gate.set(false);
    tokio::time::timeout(PATIENCE, hostile.connection)
        .await
        .expect("the client sees its connection end")
        .expect("connection task");

    // The well-behaved client was served throughout, and still is.
    stop_reading.send(()).expect("reader alive");
    let messages = reading
        .await
        .expect("the well-behaved watcher kept reading");
    assert!(messages > 0, "no message reached the well-behaved watcher");
    client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![flooded],
        })
        .await
        .expect("unary calls still served");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_reads_does_not_hold_the_shutdown() {
    let _serial = SERIAL.lock().await;
    // Long enough to begin the shutdown after the send buffer is seen full and before
    // the write stall closes the connection on its own.
    let env = gateway(Duration::from_secs(3)).await;
    let grace = env.gateway.settings.shutdown_grace;
    let mut client = env.transcoding().await;
    let flooded = task(&mut client).await;
    let watchers = env.gateway.watchers.clone();
    let hostile = hostile(&env, &flooded).await;
    wait_until_stalled(&env, &hostile).await;
    let hits_before = limit_hits("GATEWAY_WRITE_STALL_TIMEOUT", "grpc");
    // Shutdown begins while the connection cannot take the UNAVAILABLE trailers of its
    // watches; without the write stall, they would hold the drain for the whole grace.
    let began = Instant::now();
    tokio::time::timeout(PATIENCE, env.stop())
        .await
        .expect("the gateway stopped");
    let took = began.elapsed();
    assert!(
        took < grace / 2,
        "the drain took {took:?} of a {grace:?} grace"
    );
    assert_eq!(watchers.limit.open(), 0);
    assert!(
        limit_hits("GATEWAY_WRITE_STALL_TIMEOUT", "grpc") > hits_before,
        "the write stall ended the connection, not a drain"
    );
    hostile.connection.abort();
}
