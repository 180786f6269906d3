//! Server reflection, v1 and v1alpha (grpcurl and older tools still ask for v1alpha),
//! serving every gateway proto, the health service's, and the `google.rpc` error-detail
//! messages (`Status`, `ErrorInfo`, `BadRequest`, `RetryInfo`, from tonic-types' own
//! descriptor set) so a client with reflection only, such as grpcurl, decodes the
//! details of every error the gateway returns.

use crate::pb;
use tonic_reflection::server::{v1, v1alpha};

/// The two reflection services; `None` (logged) if the descriptors do not load, so a
/// bad descriptor never stops the gateway serving calls.
pub fn services() -> (
    Option<v1::ServerReflectionServer<impl v1::ServerReflection>>,
    Option<v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection>>,
) {
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let v1 = builder()
        .build_v1()
        .map_err(|e| tracing::error!(error = %e, "reflection v1 unavailable"))
        .ok();
    let v1alpha = builder()
        .build_v1alpha()
        .map_err(|e| tracing::error!(error = %e, "reflection v1alpha unavailable"))
        .ok();
    (v1, v1alpha)
}
