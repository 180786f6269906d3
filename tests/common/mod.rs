//! Shared end-to-end harness: the sandbox on 127.0.0.1:0, the real gateway server on
//! 127.0.0.1:0 pointed at it over HTTP, and a generated tonic client.
#![allow(dead_code)]

pub mod eventually;
pub mod logs;
pub mod postgres;
pub mod prerequisites;
pub mod projects;
pub mod raw_h2;
pub mod redis;
pub mod tls;
pub mod upload;

#[allow(unused_imports)]
pub use eventually::{eventually, eventually_every};
use qencode_gateway::{
    pb::{live_streaming_client::LiveStreamingClient, transcoding_client::TranscodingClient},
    run,
    support::{config::Config, secret::Secret},
    Gateway, Listeners,
};
use qencode_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use std::{net::SocketAddr, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::transport::Channel;

/// The API key the test sandbox accepts.
pub const API_KEY: &str = "test-api-key-5f1c2a";

/// A running sandbox + gateway pair.
pub struct Env {
    pub sandbox: SandboxHandle,
    pub addr: SocketAddr,
    pub config: Config,
    pub gateway: Gateway,
    server: Option<JoinHandle<()>>,
}

/// Sandbox with fast phases, gateway with default settings.
pub async fn start() -> Env {
    start_with(fast_sandbox(), |_| {}).await
}

/// A sandbox config whose tasks finish in about a second.
pub fn fast_sandbox() -> SandboxConfig {
    SandboxConfig {
        api_keys: vec![API_KEY.to_owned()],
        live_api_keys: vec![API_KEY.to_owned()],
        phase_duration: Duration::from_millis(150),
        live_phase_duration: Duration::from_millis(100),
        ..SandboxConfig::default()
    }
}

/// Starts a sandbox with `sandbox_config` and a gateway whose config `tweak` adjusts.
pub async fn start_with(sandbox_config: SandboxConfig, tweak: impl FnOnce(&mut Config)) -> Env {
    prerequisites::check();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    let sandbox = Sandbox::start(listener, sandbox_config)
        .await
        .expect("start sandbox");
    let url = url::Url::parse(&sandbox.base_url()).expect("sandbox url");
    let mut config = Config::for_upstream(url, Secret::new(API_KEY));
    let http_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    config.http_listen = http_listener.local_addr().expect("http addr");
    let admin_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    config.admin_listen = admin_listener.local_addr().expect("admin addr");
    tweak(&mut config);
    let gateway = Gateway::from_config(&config).expect("gateway");
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gateway");
    let addr = listener.local_addr().expect("gateway addr");
    let listeners = Listeners {
        grpc: listener,
        http: http_listener,
        admin: admin_listener,
    };
    let server = tokio::spawn(run(gateway.clone(), listeners));
    let server = tokio::spawn(async move {
        server.await.expect("gateway task").expect("gateway run");
    });
    Env {
        sandbox,
        addr,
        config,
        gateway,
        server: Some(server),
    }
}

impl Env {
    /// A channel to the gateway.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect to gateway")
    }

    /// A Transcoding client.
    pub async fn transcoding(&self) -> TranscodingClient<Channel> {
        TranscodingClient::new(self.channel().await)
    }

    /// A LiveStreaming client.
    pub async fn live(&self) -> LiveStreamingClient<Channel> {
        LiveStreamingClient::new(self.channel().await)
    }

    /// Waits until health reports the server and both services SERVING (the health
    /// monitor has fetched both upstream tokens), so request counts taken afterwards
    /// see only what a test causes.
    pub async fn wait_serving(&self) {
        use tonic_health::pb::{
            health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
        };
        let mut health = HealthClient::new(self.channel().await);
        // One bound for all three, each checked once it is the first not yet SERVING.
        let mut pending = vec![
            "",
            "qencode.gateway.v1.Transcoding",
            "qencode.gateway.v1.LiveStreaming",
        ]
        .into_iter()
        .peekable();
        eventually("SERVING", Duration::from_secs(10), async || {
            while let Some(service) = pending.peek() {
                let status = health
                    .check(HealthCheckRequest {
                        service: (*service).into(),
                    })
                    .await
                    .map(|r| r.into_inner().status());
                if !matches!(status, Ok(ServingStatus::Serving)) {
                    return Err(format!("{service:?} is {status:?}"));
                }
                pending.next();
            }
            Ok(())
        })
        .await;
    }

    /// Begins shutdown (health NOT_SERVING, watch streams end) without waiting.
    pub fn begin_stop(&self) {
        self.gateway.shutdown.begin();
    }

    /// The public base URL of the gateway's HTTP listener (Qencode's callbacks only).
    pub fn http_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.config.http_listen)).expect("http url")
    }

    /// The base URL of the gateway's admin listener (/metrics, /healthz, /readyz).
    pub fn admin_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.config.admin_listen)).expect("admin url")
    }

    /// Stops the gateway and the sandbox.
    pub async fn stop(mut self) {
        self.gateway.shutdown.begin();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// A typed `NumberOrString` text value.
pub fn text(s: &str) -> Option<qencode_gateway::pb::NumberOrString> {
    Some(qencode_gateway::pb::NumberOrString {
        value: Some(qencode_gateway::pb::number_or_string::Value::Text(s.into())),
    })
}

/// A typed `NumberOrString` number value.
pub fn number(n: f64) -> Option<qencode_gateway::pb::NumberOrString> {
    Some(qencode_gateway::pb::NumberOrString {
        value: Some(qencode_gateway::pb::number_or_string::Value::Number(n)),
    })
}

/// A minimal valid query: one mp4 output of `source`.
pub fn mp4_query(source: &str) -> qencode_gateway::pb::TranscodingQuery {
    qencode_gateway::pb::TranscodingQuery {
        source: Some(source.into()),
        format: vec![qencode_gateway::pb::Format {
            output: Some("mp4".into()),
            size: Some("320x240".into()),
            tag: Some("small".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Creates and starts a task with [`mp4_query`] through `client`; its token.
pub async fn transcoded_task(
    client: &mut qencode_gateway::pb::transcoding_client::TranscodingClient<
        tonic::transport::Channel,
    >,
) -> String {
    use qencode_gateway::pb;
    client
        .transcode(pb::TranscodeRequest {
            query_kind: Some(pb::transcode_request::QueryKind::Query(mp4_query(
                "https://example.com/in.mp4",
            ))),
            payload: None,
            ..Default::default()
        })
        .await
        .expect("transcode")
        .into_inner()
        .task_token
}

/// Decoded rich error details of a status.
pub fn details(status: &tonic::Status) -> tonic_types::ErrorDetails {
    use tonic_types::StatusExt;
    status.get_error_details()
}

/// Asserts a status carries `ErrorInfo` with `reason` and returns the details.
pub fn assert_reason(
    status: &tonic::Status,
    code: tonic::Code,
    reason: &str,
) -> tonic_types::ErrorDetails {
    assert_eq!(status.code(), code, "{status:?}");
    let details = details(status);
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    details
}

/// The fields named by a status's `BadRequest`.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    details(status)
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// Polls GetStatus until the task is terminal; returns every status seen.
pub async fn follow_task(
    client: &mut qencode_gateway::pb::transcoding_client::TranscodingClient<
        tonic::transport::Channel,
    >,
    token: &str,
) -> Vec<qencode_gateway::pb::TaskStatus> {
    let mut seen = Vec::new();
    eventually("the task finished", Duration::from_secs(20), async || {
        let report = client
            .get_status(qencode_gateway::pb::GetStatusRequest {
                task_tokens: vec![token.to_owned()],
            })
            .await
            .expect("get_status")
            .into_inner();
        let status = report.statuses.get(token).cloned().expect("status present");
        let terminal = matches!(
            status.state(),
            qencode_gateway::pb::TaskState::Completed
                | qencode_gateway::pb::TaskState::Error
                | qencode_gateway::pb::TaskState::Failed
        );
        seen.push(status);
        if terminal {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await;
    seen
}
