//! Exactly-once under crashes: 50 Transcode calls, each with its own request id, retried
//! by their clients until OK while the gateway binary is SIGKILLed and restarted at
//! random moments. Every start_encode2 that reaches the sandbox is counted: exactly 50,
//! one per request id, on SQLite and on PostgreSQL.
//!
//! Calls start 60 ms apart over 3 s while kills land every 100-400 ms, and the sandbox
//! answers after a random delay before and after handling each request, so kills land
//! at every step: before a create, between a create and its record, while a
//! start is on the wire, after Qencode started a task but before the gateway heard.

mod common;

use common::{fast_sandbox, mp4_query, postgres, tls::temp_dir, API_KEY};
use qencode_gateway::pb::{self, transcoding_client::TranscodingClient};
use qencode_sandbox::{Endpoint, Sandbox};
use rand::Rng;
use std::{
    collections::HashSet,
    process::{Child, Command, Stdio},
    time::Duration,
};
use tokio::net::TcpListener;
use tonic::transport::Endpoint as GrpcEndpoint;

/// Calls in flight.
const CALLS: usize = 50;
/// How many times the gateway is killed while they run.
const KILLS: usize = 14;
/// Time between one call's start and the next: calls keep starting while kills land.
const STAGGER: Duration = Duration::from_millis(60);

/// The gateway binary on a fixed port, killed with SIGKILL on demand.
struct Binary {
    child: Child,
    port: u16,
    sandbox_url: String,
    database_url: String,
}

impl Binary {
    fn spawn(port: u16, sandbox_url: &str, database_url: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"))
            .env_clear()
            .env("QENCODE_API_KEY", API_KEY)
            .env("QENCODE_API_URL", sandbox_url)
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEWAY_HTTP_LISTEN", "127.0.0.1:0")
            .env("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0")
            .env("GATEWAY_DATABASE_URL", database_url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the gateway binary");
        Binary {
            child,
            port,
            sandbox_url: sandbox_url.to_owned(),
            database_url: database_url.to_owned(),
        }
    }

    /// SIGKILL, then a new process on the same port and ledger.
    fn crash_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Binary::spawn(self.port, &self.sandbox_url, &self.database_url);
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sandbox behind a layer that waits 0-150 ms before and after each request.
async fn slow_sandbox() -> (Sandbox, String) {
    let sandbox = Sandbox::new(fast_sandbox());
    let router = sandbox.router().layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let pause = || Duration::from_millis(rand::rng().random_range(0..150));
            tokio::time::sleep(pause()).await;
            let response = next.run(request).await;
            tokio::time::sleep(pause()).await;
            response
        },
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (sandbox, url)
}

async fn exactly_one_start_per_request_id_through_crashes(database_url: String) {
    let (sandbox, sandbox_url) = slow_sandbox().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut binary = Binary::spawn(port, &sandbox_url, &database_url);
    let channel = GrpcEndpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_timeout(Duration::from_millis(500))
        .connect_lazy();
    let calls = (0..CALLS).map(|i| {
        let mut client = TranscodingClient::new(channel.clone());
        tokio::spawn(async move {
            tokio::time::sleep(STAGGER * u32::try_from(i).unwrap()).await;
            let mut attempts = 0;
            loop {
                attempts += 1;
                let mut request = tonic::Request::new(pb::TranscodeRequest {
                    query_kind: Some(pb::transcode_request::QueryKind::Query(mp4_query(
                        &format!("https://example.com/crash-{i}.mp4"),
                    ))),
                    request_id: format!("crash-{i}"),
                    ..Default::default()
                });
                request.set_timeout(Duration::from_secs(3));
                match client.transcode(request).await {
                    Ok(response) => return (response.into_inner().task_token, attempts),
                    Err(status) => {
                        assert!(
                            !matches!(status.code(), tonic::Code::InvalidArgument),
                            "a retry was refused: {status:?}"
                        );
                        tokio::time::sleep(Duration::from_millis(30)).await;
                    }
                }
            }
        })
    });
    let calls: Vec<_> = calls.collect();
    for _ in 0..KILLS {
        let wait = rand::rng().random_range(100..400);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        binary.crash_and_restart();
    }
    let mut tokens = HashSet::new();
    let mut retried = 0;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(90);
    for call in calls {
        let Ok(ended) = tokio::time::timeout_at(give_up, call).await else {
            panic!(
                "calls still failing after 90 s; {} start_encode2 reached the sandbox for {CALLS} request ids",
                sandbox.count(Endpoint::StartEncode)
            );
        };
        let (token, attempts) = ended.expect("call task");
        retried += usize::from(attempts > 1);
        tokens.insert(token);
    }
    assert_eq!(tokens.len(), CALLS, "one task per request id");
    assert_eq!(
        sandbox.count(Endpoint::StartEncode),
        CALLS,
        "exactly one start_encode2 per request id ({retried} calls were retried)"
    );
    for token in &tokens {
        assert!(sandbox.task(token).is_some(), "{token} is a sandbox task");
    }
    // The kills happened while calls were in flight: many needed a retry.
    assert!(
        retried >= KILLS,
        "only {retried} calls were interrupted; the test proved little"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_exactly_one_start_per_request_id_through_crashes() {
    let path = temp_dir().join("crash.db");
    exactly_one_start_per_request_id_through_crashes(format!("sqlite://{}", path.display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_exactly_one_start_per_request_id_through_crashes() {
    exactly_one_start_per_request_id_through_crashes(postgres::database().await).await;
}
