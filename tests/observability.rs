//! Traces, metrics and logs, end to end: an in-process OTLP receiver (a tonic server of
//! the OTLP trace service) collects what the gateway exports; `/metrics` is scraped; and
//! every log line (TRACE, JSON), exported span and metric is scanned for secrets.

mod common;

use common::*;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        trace_service_server::{TraceService, TraceServiceServer},
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    },
    common::v1::any_value::Value as AnyValue,
    trace::v1::{span::SpanKind, Span},
};
use qencode_gateway::{
    pb::{self, start_encode_request::QueryKind},
    support::{
        secret::Secret,
        telemetry::{self, LogFormat},
    },
};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(AnyValue::StringValue(s)) => Some(s.clone()),
            Some(AnyValue::IntValue(i)) => Some(i.to_string()),
            _ => None,
        })
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const API_KEY_SECRET: &str = "sk-SECRET-observe-1234";
const DEST_SECRET: &str = "dest-SECRET-observe-5678";
const STREAM_KEY_SECRET: &str = "simulcast-SECRET-observe-9";

/// What one traced run of the gateway left behind: the traced call's upstream request,
/// its exported spans, a scrape of `/metrics`, `/readyz`, and every log line and span.
struct Observed {
    /// The `traceparent` the sandbox received with the traced CreateTask.
    upstream_traceparent: Option<String>,
    /// The traced call's RPC span.
    server: Span,
    /// Its upstream request's span.
    client_span: Span,
    /// `/metrics` after the calls.
    metrics: String,
    /// `/readyz`'s status code.
    readyz: reqwest::StatusCode,
    /// Every log line (JSON, TRACE), after the gateway stopped.
    logs: String,
    /// Every exported span, formatted.
    spans: String,
    /// The task token and stream id of the run (never label values).
    task: String,
    stream_id: String,
    /// The stream key the upstream gave the stream.
    stream_key: String,
}

/// The run, done once for this test binary: telemetry (the global subscriber and the
/// OTLP exporter) can be installed only once per process, so the tests below read what
/// this one run left. It runs on its own thread and runtime, which outlive any one test;
/// a failure of the run fails every test with its message.
fn observed() -> &'static Observed {
    static OBSERVED: std::sync::OnceLock<Result<Observed, String>> = std::sync::OnceLock::new();
    OBSERVED
        .get_or_init(|| {
            std::thread::spawn(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(run())
            })
            .join()
            .map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default()
            })
        })
        .as_ref()
        .unwrap_or_else(|e| panic!("the traced run failed: {e}"))
}

/// Starts the OTLP receiver, telemetry and a gateway, makes traced and secret-bearing
/// calls, waits for the spans, scrapes, stops, and collects what was left.
async fn run() -> Observed {
    // The OTLP receiver.
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = format!("http://{}", listener.local_addr().unwrap());
    let collected = receiver.clone();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collected))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    // SAFETY of set_var: before any other thread of this test binary reads the env.
    std::env::set_var("RUST_LOG", "trace");
    let capture = common::logs::Capture::default();
    let writer = capture.clone();
    let telemetry = telemetry::init_with(LogFormat::Json, Some(&otlp), move || writer.clone());

    let sandbox = SandboxConfig {
        api_keys: vec![API_KEY_SECRET.into()],
        live_api_keys: vec![API_KEY_SECRET.into()],
        ..fast_sandbox()
    };
    let env = start_with(sandbox, |c| c.api_key = Some(Secret::new(API_KEY_SECRET))).await;
    env.wait_serving().await;
    let mut client = env.transcoding().await;

    let mut request = tonic::Request::new(pb::CreateTaskRequest::default());
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
            .parse()
            .unwrap(),
    );
    let task = client
        .create_task(request)
        .await
        .unwrap()
        .into_inner()
        .task_token;

    let mut query = mp4_query("https://example.com/in.mp4");
    query.format[0].destination = vec![pb::Destination {
        url: Some("s3://b/o.mp4".into()),
        key: Some("AKIA-observe".into()),
        secret: Some(DEST_SECRET.into()),
        ..Default::default()
    }];
    client
        .start_encode(pb::StartEncodeRequest {
            task_token: task.clone(),
            query_kind: Some(QueryKind::Query(query)),
            payload: None,
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .get_status(pb::GetStatusRequest {
            task_tokens: vec![task.clone()],
        })
        .await
        .unwrap();
    let mut live = env.live().await;
    let stream = live
        .create_stream(pb::CreateStreamRequest::default())
        .await
        .unwrap()
        .into_inner()
        .stream
        .unwrap();
    live.add_simulcast_target(pb::AddSimulcastTargetRequest {
        stream_id: stream.id.clone(),
        url: "rtmp://x.example/live".into(),
        stream_key: STREAM_KEY_SECRET.into(),
    })
    .await
    .unwrap();

    let upstream = env
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.endpoint == Endpoint::CreateTask)
        .expect("create_task reached the sandbox");

    telemetry.flush();
    let trace_id = hex::decode(TRACE_ID).unwrap();
    let (server, client_span) = eventually("spans exported", Duration::from_secs(10), || {
        let spans = receiver.0.lock().unwrap().clone();
        let ours: Vec<&Span> = spans.iter().filter(|s| s.trace_id == trace_id).collect();
        let server = ours
            .iter()
            .find(|s| s.kind == SpanKind::Server as i32)
            .cloned()
            .cloned();
        let client_span = ours
            .iter()
            .find(|s| s.kind == SpanKind::Client as i32)
            .cloned()
            .cloned();
        if let (Some(server), Some(client_span)) = (server, client_span) {
            return Ok((server, client_span));
        }
        telemetry.flush();
        Err(spans)
    })
    .await;

    let metrics = reqwest::get(format!("{}metrics", env.admin_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let readyz = reqwest::get(format!("{}readyz", env.admin_url()))
        .await
        .unwrap()
        .status();
    env.stop().await;
    telemetry.flush();
    let spans = format!("{:?}", receiver.0.lock().unwrap());
    Observed {
        upstream_traceparent: upstream.traceparent,
        server,
        client_span,
        metrics,
        readyz,
        logs: capture.text(),
        spans,
        task,
        stream_id: stream.id,
        stream_key: stream.stream_key,
    }
}

#[test]
fn the_upstream_request_carries_the_callers_trace() {
    let traceparent = &observed().upstream_traceparent;
    assert!(
        traceparent.as_deref().is_some_and(|t| t.contains(TRACE_ID)),
        "{traceparent:?}"
    );
}

#[test]
fn the_rpc_span_continues_the_callers_trace_with_the_rpc_attributes() {
    let server = &observed().server;
    assert_eq!(server.name, "qencode.gateway.v1.Transcoding/CreateTask");
    assert_eq!(attribute(server, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        attribute(server, "rpc.service").as_deref(),
        Some("qencode.gateway.v1.Transcoding")
    );
    assert_eq!(
        attribute(server, "rpc.method").as_deref(),
        Some("CreateTask")
    );
    assert_eq!(
        attribute(server, "rpc.grpc.status_code").as_deref(),
        Some("0")
    );
    assert_eq!(
        server.parent_span_id,
        hex::decode("00f067aa0ba902b7").unwrap(),
        "the caller's span is the parent"
    );
}

#[test]
fn the_upstream_span_is_a_child_of_the_rpc_span() {
    let Observed {
        server,
        client_span,
        ..
    } = observed();
    assert_eq!(client_span.name, "POST /v1/create_task");
    assert_eq!(
        client_span.parent_span_id, server.span_id,
        "the upstream span is a child of the RPC span"
    );
    assert_eq!(
        attribute(client_span, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attribute(client_span, "url.template").as_deref(),
        Some("/v1/create_task")
    );
}

#[test]
fn metrics_count_rpcs_upstream_requests_tokens_watchers_and_connections() {
    let metrics = &observed().metrics;
    assert!(
        metrics.contains(r#"rpc_server_duration_seconds_bucket{rpc_system="grpc",rpc_service="qencode.gateway.v1.Transcoding",rpc_method="CreateTask",rpc_grpc_status_code="OK",le="0.5"}"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"rpc_server_requests_total{rpc_system="grpc",rpc_service="qencode.gateway.v1.Transcoding",rpc_method="GetStatus",rpc_grpc_status_code="OK"}"#));
    assert!(metrics.contains(
        r#"qencode_upstream_requests_total{api="transcoding",operation="create_task",outcome="ok"}"#
    ));
    assert!(metrics.contains(r#"gateway_token_fetches_total{api="transcoding",project="main"}"#));
    assert!(metrics.contains(r#"gateway_token_cache_hits_total{api="live",project="main"}"#));
    assert!(metrics.contains("gateway_watchers_open 0"));
    // Connections open on the gRPC listener (this test's client holds at least one).
    assert!(
        metrics.contains(r#"gateway_connections_open{listener="grpc"} "#),
        "{metrics}"
    );
}

#[test]
fn metrics_include_the_process_families_prometheus_clients_export() {
    let metrics = &observed().metrics;
    for family in [
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_max_fds ",
        "process_threads ",
        "process_start_time_seconds ",
    ] {
        assert!(metrics.contains(family), "{family} missing: {metrics}");
    }
}

#[test]
fn no_task_token_or_stream_id_is_a_label_value() {
    let observed = observed();
    assert!(
        !observed.metrics.contains(&observed.task),
        "a task token is a label value"
    );
    assert!(
        !observed.metrics.contains(&observed.stream_id),
        "a stream id is a label value"
    );
}

#[test]
fn readyz_answers_ok() {
    assert_eq!(observed().readyz, 200);
}

#[test]
fn logs_are_json_lines_carrying_the_trace_id() {
    let logs = &observed().logs;
    assert!(
        logs.lines().any(|l| l.contains(TRACE_ID)),
        "JSON logs carry the trace id"
    );
    let first: serde_json::Value =
        serde_json::from_str(logs.lines().next().unwrap()).expect("JSON log lines");
    assert!(first.get("level").is_some());
    // Every line written inside the traced call carries its trace and span ids: the
    // lines of its RPC span and its upstream request, and its audit line (written when
    // the response ends, outside the entered span).
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let (server_id, client_id) = (
        hex::encode(&observed().server.span_id),
        hex::encode(&observed().client_span.span_id),
    );
    let audit = lines
        .iter()
        .find(|l| {
            l["target"] == "audit"
                && l["fields"]["method"] == "qencode.gateway.v1.Transcoding/CreateTask"
        })
        .expect("an audit line for CreateTask");
    assert_eq!(audit["trace_id"], TRACE_ID, "{audit}");
    assert_eq!(audit["span_id"], server_id.as_str(), "{audit}");
    let traced: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["trace_id"] == TRACE_ID).collect();
    assert!(
        traced.iter().any(|l| l["span_id"] == client_id.as_str()),
        "no line of the upstream request"
    );
    for line in &traced {
        assert!(
            line["span_id"].as_str().is_some_and(|id| id.len() == 16),
            "{line}"
        );
    }
    for line in &lines {
        if line["span"] == "rpc" || line["span"] == "upstream_request" {
            assert!(
                line["trace_id"].is_string() && line["span_id"].is_string(),
                "a line inside a call without trace ids: {line}"
            );
        }
    }
}

#[test]
fn no_secret_reaches_the_logs_spans_or_metrics() {
    let observed = observed();
    for secret in [
        API_KEY_SECRET,
        DEST_SECRET,
        STREAM_KEY_SECRET,
        observed.stream_key.as_str(),
    ] {
        for (what, text) in [
            ("logs", &observed.logs),
            ("spans", &observed.spans),
            ("metrics", &observed.metrics),
        ] {
            if let Some(line) = text.lines().find(|l| l.contains(secret)) {
                panic!("{secret:?} leaked into the {what}: {line}");
            }
        }
    }
}
