//! Logging and tracing set-up.
//!
//! - Logs: human-readable lines by default, JSON (with `trace_id` and `span_id`) with
//!   `GATEWAY_LOG_FORMAT=json`; filtered by `RUST_LOG` (default `info`).
//! - Traces: an OpenTelemetry tracer is always installed, so the caller's W3C
//!   `traceparent` becomes the parent of the RPC span and every upstream request carries
//!   a `traceparent` of the same trace. Spans are exported over OTLP/gRPC only when an
//!   endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`); the standard `OTEL_*`
//!   variables (service name, resource attributes, sampler) are honoured by the SDK.
//!
//! Semantic conventions followed: OpenTelemetry RPC and HTTP client conventions v1.26.

use opentelemetry::{
    global,
    propagation::{Extractor, Injector},
    trace::TracerProvider as _,
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};
use std::fmt;
use tracing::{Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    fmt::{format::Writer, FmtContext, FormatEvent, FormatFields},
    layer::SubscriberExt,
    registry::LookupSpan,
    util::SubscriberInitExt,
    EnvFilter, Layer,
};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with trace and span ids.
    Json,
}

/// Flushes exported spans when the process ends.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl TelemetryGuard {
    /// Exports what is buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "flushing traces failed");
        }
    }

    /// Exports what is buffered now.
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
    }
}

/// Installs the global subscriber and tracer. `otlp_endpoint` enables export. Writes
/// logs to `writer` (stdout in the binary; tests capture them).
pub fn init_with<W>(format: LogFormat, otlp_endpoint: Option<&str>, writer: W) -> TelemetryGuard
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    global::set_text_map_propagator(TraceContextPropagator::new());
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("qencode-gateway");
    }
    let mut provider = SdkTracerProvider::builder().with_resource(resource.build());
    let mut export_error = None;
    if let Some(endpoint) = otlp_endpoint.filter(|e| !e.is_empty()) {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
        {
            Ok(exporter) => provider = provider.with_batch_exporter(exporter),
            Err(e) => export_error = Some(e.to_string()),
        }
    }
    let provider = provider.build();
    global::set_tracer_provider(provider.clone());
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("qencode-gateway"));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let fmt_layer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(ansi)
            .with_writer(writer)
            .log_internal_errors(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(JsonWithTrace)
            .with_writer(writer)
            // Its default reports a failed write with `eprintln!`, which panics when the
            // log pipe is closed: the task logging (a request's) would die with it.
            .log_internal_errors(false)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(fmt_layer)
        .try_init();
    if let Some(error) = export_error {
        tracing::error!(
            error,
            "cannot export traces over OTLP; continuing without export"
        );
    } else if let Some(endpoint) = otlp_endpoint.filter(|e| !e.is_empty()) {
        tracing::info!(endpoint, "exporting traces over OTLP/gRPC");
    }
    TelemetryGuard { provider }
}

/// Installs logging and tracing for the binary: logs to stdout, export as configured by
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub fn init(format: LogFormat) -> TelemetryGuard {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .ok();
    init_with(format, endpoint.as_deref(), std::io::stdout)
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut Vec<(http::HeaderName, String)>);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let Ok(name) = http::HeaderName::from_bytes(key.as_bytes()) {
            self.0.push((name, value));
        }
    }
}

/// Makes the caller's `traceparent`/`tracestate` (gRPC metadata) the parent of `span`.
pub fn set_remote_parent(span: &Span, headers: &http::HeaderMap) {
    if headers.contains_key("traceparent") {
        let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
        let _ = span.set_parent(parent);
    }
}

/// The `traceparent`/`tracestate` headers of the current span, for an outgoing request.
pub fn outgoing_headers() -> Vec<(http::HeaderName, String)> {
    let mut headers = Vec::new();
    let context = Span::current().context();
    global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut HeaderInjector(&mut headers))
    });
    headers
}

/// JSON log lines with the OpenTelemetry trace and span ids of the event's span (the
/// ids an exported trace shows, so a line leads to its trace and back).
struct JsonWithTrace;

impl<S, N> FormatEvent<S, N> for JsonWithTrace
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut fields = serde_json::Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let mut line = serde_json::Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".into(), event.metadata().level().as_str().into());
        if let Some(message) = fields.remove("message") {
            line.insert("message".into(), message);
        }
        line.insert("target".into(), event.metadata().target().into());
        // The event's own span: the one it names with `parent:` (the audit line, written
        // when a response ends, outside any entered span), else the current one.
        if let Some(span) = ctx.event_scope().and_then(|mut scope| scope.next()) {
            line.insert("span".into(), span.name().into());
            let context = tracing::dispatcher::get_default(|dispatch| {
                tracing_opentelemetry::get_otel_context(&span.id(), dispatch)
            });
            if let Some(context) = context {
                let span_context = opentelemetry::trace::TraceContextExt::span(&context)
                    .span_context()
                    .clone();
                if span_context.is_valid() {
                    line.insert(
                        "trace_id".into(),
                        span_context.trace_id().to_string().into(),
                    );
                    line.insert("span_id".into(), span_context.span_id().to_string().into());
                }
            }
        }
        if !fields.is_empty() {
            line.insert("fields".into(), serde_json::Value::Object(fields));
        }
        writeln!(writer, "{}", serde_json::Value::Object(line))
    }
}

struct JsonVisitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}
