//! Prometheus metrics, rendered as text at `GET /metrics` on the admin listener.
//!
//! Through the Prometheus project's `prometheus-client`: typed label sets whose values
//! come from closed sets (service and method names known to the server, gRPC codes,
//! operations, error reasons), so no label can ever carry a task token, stream id or
//! key. On the hot path nothing allocates and no global lock is taken: an RPC's
//! counter and histogram are resolved once per (method, code) by [`RpcMetrics`] and
//! then only touched atomically. Base units (`_seconds`), counters end in `_total`.
//! Help texts are written without a final period: `Registry::register` appends one.

use prometheus_client::{
    encoding::{prometheus_text, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use std::{borrow::Cow, sync::OnceLock, time::Duration};

/// Histogram bucket bounds in seconds.
const BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Labels of the RPC families (OpenTelemetry's RPC attribute names, dots as underscores).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    rpc_system: &'static str,
    rpc_service: &'static str,
    rpc_method: &'static str,
    rpc_grpc_status_code: &'static str,
}

/// Labels of the upstream families; `outcome` is `ok`, `qencode_error_<n>`,
/// `http_<status>` or a failure reason, all from closed sets.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    api: &'static str,
    operation: &'static str,
    outcome: Cow<'static, str>,
}

/// Labels of the limit family: the setting's name and where it bit.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
    scope: &'static str,
}

/// Labels of the connection gauge: which listener.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: &'static str,
}

/// Labels of the upload counters: how an upload ended (`stored` or the error reason's
/// kind: `refused`, `failed`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UploadLabels {
    outcome: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The process-wide families.
struct Metrics {
    registry: Registry,
    rpc_requests: Family<RpcLabels, Counter>,
    rpc_duration: HistogramFamily<RpcLabels>,
    upstream_requests: Family<UpstreamLabels, Counter>,
    upstream_duration: HistogramFamily<UpstreamLabels>,
    limit_hits: Family<LimitLabels, Counter>,
    connections: Family<ListenerLabels, Gauge>,
    uploads: Family<UploadLabels, Counter>,
    upload_bytes: Counter,
    upload_resumes: Counter,
    upload_duration: Histogram,
}

fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::default();
        let rpc_requests = Family::<RpcLabels, Counter>::default();
        let rpc_duration: HistogramFamily<RpcLabels> = Family::new_with_constructor(histogram);
        let upstream_requests = Family::<UpstreamLabels, Counter>::default();
        let upstream_duration: HistogramFamily<UpstreamLabels> =
            Family::new_with_constructor(histogram);
        // Counters are registered without `_total`: the encoder appends it.
        registry.register(
            "rpc_server_requests",
            "gRPC calls served, by service, method and status code",
            rpc_requests.clone(),
        );
        registry.register(
            "rpc_server_duration_seconds",
            "Duration of gRPC calls served (streams: until they end)",
            rpc_duration.clone(),
        );
        registry.register(
            "qencode_upstream_requests",
            "Requests sent to Qencode, by API, operation and outcome",
            upstream_requests.clone(),
        );
        registry.register(
            "qencode_upstream_request_duration_seconds",
            "Duration of requests sent to Qencode",
            upstream_duration.clone(),
        );
        let limit_hits = Family::<LimitLabels, Counter>::default();
        registry.register(
            "gateway_limit_hits",
            "Times a gateway limit refused or closed something, by limit and scope",
            limit_hits.clone(),
        );
        let connections = Family::<ListenerLabels, Gauge>::default();
        registry.register(
            "gateway_connections_open",
            "Open connections, by listener",
            connections.clone(),
        );
        let uploads = Family::<UploadLabels, Counter>::default();
        registry.register(
            "gateway_uploads",
            "UploadFile calls that reached the storage, by outcome",
            uploads.clone(),
        );
        let upload_bytes = Counter::default();
        registry.register(
            "gateway_upload_bytes",
            "Bytes stored by uploads",
            upload_bytes.clone(),
        );
        let upload_resumes = Counter::default();
        registry.register(
            "gateway_upload_retries",
            "Failed upload attempts that were resumed or retried",
            upload_resumes.clone(),
        );
        let upload_duration = histogram();
        registry.register(
            "gateway_upload_duration_seconds",
            "Duration of uploads, from creation to their end",
            upload_duration.clone(),
        );
        Metrics {
            registry,
            limit_hits,
            connections,
            uploads,
            upload_bytes,
            upload_resumes,
            upload_duration,
            rpc_requests,
            rpc_duration,
            upstream_requests,
            upstream_duration,
        }
    })
}

/// Number of gRPC status codes (0..=16).
const CODES: usize = 17;

/// The RPC metrics of one method, resolved once per status code on first use.
#[derive(Debug)]
pub struct RpcMetrics {
    service: &'static str,
    method: &'static str,
    by_code: [OnceLock<(Counter, Histogram)>; CODES],
}

impl RpcMetrics {
    /// The metrics of `service`/`method` (nothing is registered until a call ends).
    pub fn new(service: &'static str, method: &'static str) -> Self {
        RpcMetrics {
            service,
            method,
            by_code: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// Records a finished call: `code` is the gRPC code's number, `code_name` its
    /// canonical name (OpenTelemetry `rpc.server.duration`, in seconds).
    pub fn record(&self, code: usize, code_name: &'static str, elapsed: Duration) {
        let Some(slot) = self.by_code.get(code) else {
            return;
        };
        let (count, duration) = slot.get_or_init(|| {
            let labels = RpcLabels {
                rpc_system: "grpc",
                rpc_service: self.service,
                rpc_method: self.method,
                rpc_grpc_status_code: code_name,
            };
            let metrics = global();
            (
                metrics.rpc_requests.get_or_create(&labels).clone(),
                metrics.rpc_duration.get_or_create(&labels).clone(),
            )
        });
        count.inc();
        duration.observe(elapsed.as_secs_f64());
    }
}

/// Records a finished upstream request.
pub fn record_upstream(
    api: &'static str,
    operation: &'static str,
    outcome: Cow<'static, str>,
    elapsed: Duration,
) {
    let labels = UpstreamLabels {
        api,
        operation,
        outcome,
    };
    let metrics = global();
    metrics.upstream_requests.get_or_create(&labels).inc();
    metrics
        .upstream_duration
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
}

/// Records that the limit set by `limit` (a setting's name) bit in `scope`.
pub fn record_limit_hit(limit: &'static str, scope: &'static str) {
    global()
        .limit_hits
        .get_or_create(&LimitLabels { limit, scope })
        .inc();
}

/// One open connection of `listener` (`grpc`, `http`) in `gateway_connections_open`,
/// counted until dropped.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl OpenConnection {
    /// Counts a connection just accepted on `listener`.
    pub fn new(listener: &'static str) -> Self {
        let gauge = global()
            .connections
            .get_or_create(&ListenerLabels { listener })
            .clone();
        gauge.inc();
        OpenConnection(gauge)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Records an upload that ended: `outcome`, bytes stored, attempts retried, duration.
pub fn record_upload(outcome: &'static str, bytes: u64, retries: u64, elapsed: Duration) {
    let metrics = global();
    metrics
        .uploads
        .get_or_create(&UploadLabels { outcome })
        .inc();
    metrics.upload_bytes.inc_by(bytes);
    metrics.upload_resumes.inc_by(retries);
    metrics.upload_duration.observe(elapsed.as_secs_f64());
}

/// Appends the process-wide families in Prometheus text format (0.0.4).
pub fn render(out: &mut String) {
    if let Err(e) = prometheus_text::encode(out, &global().registry) {
        tracing::warn!(error = %e, "cannot encode the metrics");
    }
}

/// Appends `registry` (families read at scrape time) in Prometheus text format.
pub fn render_registry(out: &mut String, registry: &Registry) {
    if let Err(e) = prometheus_text::encode(out, registry) {
        tracing::warn!(error = %e, "cannot encode the metrics");
    }
}

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_metrics_render_with_their_labels() {
        let metrics = RpcMetrics::new("test.v1.Svc", "Do");
        metrics.record(0, "OK", Duration::from_millis(30));
        metrics.record(0, "OK", Duration::from_millis(2));
        metrics.record(99, "NOPE", Duration::ZERO);
        let mut text = String::new();
        render(&mut text);
        let labels = r#"rpc_system="grpc",rpc_service="test.v1.Svc",rpc_method="Do",rpc_grpc_status_code="OK""#;
        assert!(
            text.contains(&format!("rpc_server_requests_total{{{labels}}} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "rpc_server_duration_seconds_bucket{{{labels},le=\"0.025\"}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "rpc_server_duration_seconds_bucket{{{labels},le=\"0.05\"}} 2"
            )),
            "{text}"
        );
        assert!(
            !text.contains("NOPE"),
            "out-of-range codes are not recorded"
        );
    }
}
