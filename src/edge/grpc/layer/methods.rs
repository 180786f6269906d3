//! The methods the layer knows, resolved once at start from the descriptor set: their
//! static label values, how they stream (which decides the limit they count against),
//! and whether they change something upstream (audited).

use crate::support::metrics;
use std::{collections::HashMap, sync::Arc};

/// Methods the server knows, mapped to static label values (unknown paths share one
/// label, so a caller cannot create label values).
#[derive(Debug)]
pub(super) struct Methods {
    known: HashMap<String, Method>,
    unknown: Method,
}

/// What the layer knows of one method, resolved once at start.
#[derive(Debug, Clone)]
pub(super) struct Method {
    pub(super) service: &'static str,
    pub(super) name: &'static str,
    /// `service/name`, the span name (built once, not per call).
    pub(super) full_name: &'static str,
    pub(super) kind: Kind,
    /// Open to every client (health, reflection): its streams count against the
    /// open-stream caps, not the watcher caps.
    pub(super) open: bool,
    /// It changes something upstream, so each call gets an audit line.
    pub(super) audited: bool,
    /// Its counters and histograms, resolved once per status code.
    pub(super) metrics: Arc<metrics::RpcMetrics>,
}

/// How a method streams, which decides the limit it counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// One request, one response: the unary call limit and the default deadline.
    Unary,
    /// A request stream with one response (UploadFile): the upload limit.
    ClientStream,
    /// One request, a response stream (watches, health Watch): a watcher or open-stream
    /// slot from its HEADERS, the default deadline on its request message, and closed
    /// at shutdown if it does not end by itself.
    ServerStream,
    /// Streams both ways (reflection): an open-stream slot, the default deadline on its
    /// first message, and closed at shutdown.
    Bidi,
}

impl Kind {
    /// Its response is a stream, closed at shutdown if it does not end by itself.
    pub(super) fn streams(self) -> bool {
        matches!(self, Kind::ServerStream | Kind::Bidi)
    }
}

impl Methods {
    pub(super) fn from_descriptors() -> Self {
        let mut map = HashMap::new();
        let mut add = |service: &'static str, name: &'static str, kind: Kind| {
            let full_name: &'static str = Box::leak(format!("{service}/{name}").into_boxed_str());
            let method = Method {
                service,
                name,
                full_name,
                kind,
                open: service.starts_with("grpc."),
                audited: AUDITED.contains(&full_name),
                metrics: Arc::new(metrics::RpcMetrics::new(service, name)),
            };
            map.insert(format!("/{full_name}"), method);
        };
        if let Ok(pool) = prost_reflect::DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET) {
            for service in pool.services() {
                let service_name: &'static str =
                    Box::leak(service.full_name().to_owned().into_boxed_str());
                for method in service.methods() {
                    let method_name: &'static str =
                        Box::leak(method.name().to_owned().into_boxed_str());
                    let kind = match (method.is_client_streaming(), method.is_server_streaming()) {
                        (true, true) => Kind::Bidi,
                        (false, true) => Kind::ServerStream,
                        (true, false) => Kind::ClientStream,
                        (false, false) => Kind::Unary,
                    };
                    add(service_name, method_name, kind);
                }
            }
        }
        add("grpc.health.v1.Health", "Check", Kind::Unary);
        add("grpc.health.v1.Health", "Watch", Kind::ServerStream);
        add(
            "grpc.reflection.v1.ServerReflection",
            "ServerReflectionInfo",
            Kind::Bidi,
        );
        add(
            "grpc.reflection.v1alpha.ServerReflection",
            "ServerReflectionInfo",
            Kind::Bidi,
        );
        Methods {
            known: map,
            unknown: Method {
                service: "unknown",
                name: "unknown",
                full_name: "unknown/unknown",
                kind: Kind::Unary,
                open: false,
                audited: false,
                metrics: Arc::new(metrics::RpcMetrics::new("unknown", "unknown")),
            },
        }
    }

    pub(super) fn get(&self, path: &str) -> &Method {
        self.known.get(path).unwrap_or(&self.unknown)
    }
}

/// The methods that change something upstream: each call is audited.
const AUDITED: &[&str] = &[
    "qencode.gateway.v1.Transcoding/CreateTask",
    "qencode.gateway.v1.Transcoding/StartEncode",
    "qencode.gateway.v1.Transcoding/StartEncodeProfiles",
    "qencode.gateway.v1.Transcoding/Transcode",
    "qencode.gateway.v1.Transcoding/UploadFile",
    "qencode.gateway.v1.Transcoding/CreateUpload",
    "qencode.gateway.v1.LiveStreaming/CreateStream",
    "qencode.gateway.v1.LiveStreaming/UpdateStream",
    "qencode.gateway.v1.LiveStreaming/DeleteStream",
    "qencode.gateway.v1.LiveStreaming/StartStream",
    "qencode.gateway.v1.LiveStreaming/StopStream",
    "qencode.gateway.v1.LiveStreaming/AddPlaybackId",
    "qencode.gateway.v1.LiveStreaming/RemovePlaybackId",
    "qencode.gateway.v1.LiveStreaming/AddSimulcastTarget",
    "qencode.gateway.v1.LiveStreaming/RemoveSimulcastTarget",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every method of the gateway's own services that is not a read (Get, List,
    /// Watch) changes something upstream and must leave an audit line: a new RPC
    /// cannot be added and forgotten here.
    #[test]
    fn every_method_that_is_not_a_read_is_audited() {
        let methods = Methods::from_descriptors();
        let mut checked = 0;
        for method in methods.known.values() {
            if !method.service.starts_with("qencode.") {
                continue;
            }
            checked += 1;
            let read = ["Get", "List", "Watch"]
                .iter()
                .any(|prefix| method.name.starts_with(prefix));
            assert_eq!(method.audited, !read, "{}", method.full_name);
        }
        assert!(checked >= 20, "only {checked} methods found");
        for name in AUDITED {
            assert!(
                methods.known.contains_key(&format!("/{name}")),
                "{name} is not a method"
            );
        }
    }
}
