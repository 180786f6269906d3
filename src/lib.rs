//! qencode-gateway: a gRPC gateway to Qencode's Transcoding and Live Streaming APIs.
//!
//! Internal services call the gateway over gRPC; the gateway holds the API keys, caches
//! and refreshes the upstream access tokens, validates input before any upstream call,
//! and maps every upstream failure to a precise gRPC status with rich error details.
//!
//! # Layout
//! - [`config`]: every setting, from environment variables and flags, validated up front.
//! - [`server`]: the tonic server (health, reflection, services) and graceful shutdown.
//! - [`grpc`]: thin tonic adapters; [`grpc::status`] is the one place a domain
//!   [`error::Error`] becomes a `tonic::Status`.
//! - [`transcoding`]: the Transcoding domain (validation, create/start/status), no tonic.
//! - [`upload`]: direct uploads (UploadFile): chunks regrouped into pieces and sent over
//!   resumable TUS 1.0, one piece in memory per upload.
//! - [`proto_json`]: writes Qencode's JSON from typed messages (queries, stream params) by
//!   walking the proto descriptors, so the proto stays the single source of truth.
//! - [`upstream`]: the reqwest client, Qencode's error codes, lenient response parsing,
//!   and the trusted-host rule for `status_url`.
//! - [`auth`]: the central token manager shared by both APIs.
//! - [`watch`]: server-streaming watchers: shared batched pollers, callbacks, fan-out.
//! - [`upload`]: UploadFile, streaming a caller's bytes to Qencode over resumable TUS.
//! - [`live`]: the LiveStreaming domain (validation, every live-stream endpoint).
//! - [`health`]: health that follows the upstream tokens.
//! - [`telemetry`], [`metrics`]: tracing/OTLP set-up and the Prometheus registry.
//! - [`http`]: the HTTP listener (task callbacks, probes).
//! - [`sandbox`]: the Qencode-compatible sandbox server.
//!
//! The prost-generated messages in [`pb`] double as the data model: they are plain
//! structs with no tonic in them, and mirroring the large query type in a second set of
//! domain structs would only add a place for the two to disagree.

pub mod auth;
pub mod config;
pub mod embedded;
pub mod error;
pub mod gateway;
pub mod grpc;
pub mod health;
pub mod http;
pub mod ids;
pub mod lenient;
pub mod listener;
pub mod live;
pub mod metrics;
pub mod proto_json;
pub mod secret;
pub mod server;
pub mod shutdown;
pub mod signer;
pub mod telemetry;
pub mod transcoding;
pub mod upload;
pub mod upstream;
pub mod watch;

pub use config::Config;
pub use gateway::Gateway;
pub use server::{run, Listeners, RunError};
pub use shutdown::Shutdown;

/// Generated protobuf and gRPC code for `qencode.gateway.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/qencode.gateway.v1.rs"));

    /// The encoded `FileDescriptorSet` of every gateway proto and its imports: served by
    /// reflection and walked by the query serializer.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/qencode_gateway_descriptor.bin"));
}
