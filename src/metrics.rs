//! Prometheus metrics, rendered as text at `GET /metrics` on the HTTP listener.
//!
//! A deliberately small registry (counters and fixed-bucket histograms keyed by label
//! values) instead of a metrics framework: the gateway has a handful of families and
//! every label value comes from a closed set (service and method names known to the
//! server, gRPC codes, operations, error reasons), so no label can ever carry a task
//! token, stream id or key. Base units (`_seconds`), counters end in `_total`.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Mutex, OnceLock},
    time::Duration,
};

/// Histogram bucket bounds in seconds.
const BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// One metric family.
struct Family {
    help: &'static str,
    kind: &'static str,
    counters: BTreeMap<Labels, u64>,
    histograms: BTreeMap<Labels, Histogram>,
}

/// The process-wide registry.
#[derive(Default)]
pub struct Registry {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

impl Registry {
    fn with<R>(
        &self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        f: impl FnOnce(&mut Family) -> R,
    ) -> R {
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            counters: BTreeMap::new(),
            histograms: BTreeMap::new(),
        });
        f(family)
    }

    /// Adds one to a counter.
    pub fn inc(&self, name: &'static str, help: &'static str, labels: Labels) {
        self.with(name, help, "counter", |f| {
            *f.counters.entry(labels).or_default() += 1
        });
    }

    /// Records one observation in a histogram.
    pub fn observe(&self, name: &'static str, help: &'static str, labels: Labels, value: Duration) {
        let seconds = value.as_secs_f64();
        self.with(name, help, "histogram", |f| {
            let h = f.histograms.entry(labels).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        });
    }

    /// The registry in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        for (name, family) in families.iter() {
            let _ = writeln!(
                out,
                "# HELP {name} {}\n# TYPE {name} {}",
                family.help, family.kind
            );
            for (labels, value) in &family.counters {
                let _ = writeln!(out, "{name}{} {value}", label_text(labels, None));
            }
            for (labels, h) in &family.histograms {
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {}",
                        label_text(labels, Some(&bound.to_string())),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    label_text(labels, Some("+Inf")),
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", label_text(labels, None), h.sum);
                let _ = writeln!(out, "{name}_count{} {}", label_text(labels, None), h.count);
            }
        }
    }
}

/// Writes a gauge or counter whose value is read at scrape time.
pub fn render_value(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    samples: &[(Labels, f64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{} {value}", label_text(labels, None));
    }
}

fn label_text(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The process-wide registry.
pub fn global() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// Records a finished RPC (OpenTelemetry `rpc.server.duration`, in seconds).
pub fn record_rpc(
    service: &'static str,
    method: &'static str,
    code: &'static str,
    elapsed: Duration,
) {
    let labels = || {
        vec![
            ("rpc_system", "grpc".to_owned()),
            ("rpc_service", service.to_owned()),
            ("rpc_method", method.to_owned()),
            ("rpc_grpc_status_code", code.to_owned()),
        ]
    };
    global().inc(
        "rpc_server_requests_total",
        "gRPC calls served, by service, method and status code.",
        labels(),
    );
    global().observe(
        "rpc_server_duration_seconds",
        "Duration of gRPC calls served (streams: until they end).",
        labels(),
        elapsed,
    );
}

/// Records a finished upstream request; `outcome` is "ok" or the error reason.
pub fn record_upstream(
    api: &'static str,
    operation: &'static str,
    outcome: &str,
    elapsed: Duration,
) {
    let labels = || {
        vec![
            ("api", api.to_owned()),
            ("operation", operation.to_owned()),
            ("outcome", outcome.to_owned()),
        ]
    };
    global().inc(
        "qencode_upstream_requests_total",
        "Requests sent to Qencode, by API, operation and outcome.",
        labels(),
    );
    global().observe(
        "qencode_upstream_request_duration_seconds",
        "Duration of requests sent to Qencode.",
        labels(),
        elapsed,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let registry = Registry::default();
        let labels = || vec![("op", "a\"b".to_owned())];
        registry.inc("x_total", "Things.", labels());
        registry.inc("x_total", "Things.", labels());
        registry.observe("y_seconds", "Time.", labels(), Duration::from_millis(30));
        let mut text = String::new();
        registry.render(&mut text);
        assert!(
            text.contains("# TYPE x_total counter\nx_total{op=\"a\\\"b\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("y_seconds_bucket{op=\"a\\\"b\",le=\"0.025\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("y_seconds_bucket{op=\"a\\\"b\",le=\"0.05\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("y_seconds_bucket{op=\"a\\\"b\",le=\"+Inf\"} 1"),
            "{text}"
        );
        assert!(text.contains("y_seconds_count{op=\"a\\\"b\"} 1"), "{text}");
    }
}
