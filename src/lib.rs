//! qencode-gateway: a gRPC gateway to Qencode's Transcoding and Live Streaming APIs.
//!
//! Internal services call the gateway over gRPC; the gateway holds the API keys, caches
//! and refreshes the upstream access tokens, validates input before any upstream call,
//! and maps every upstream failure to a precise gRPC status with rich error details.
//!
//! # Layout
//! Start-up and serving:
//! - [`config`]: every setting, from environment variables and flags, validated up front.
//! - [`secret`]: [`secret::Secret`], a value that never prints (keys, tokens).
//! - [`telemetry`]: tracing and OTLP set-up, W3C trace context in and out.
//! - [`embedded`]: the no-key mode that serves the sandbox in-process.
//! - [`gateway`]: [`Gateway`], everything the servers serve, built from the config.
//! - [`server`]: [`run`], the one entry point: gRPC, callbacks and admin HTTP on given
//!   listeners, drain.
//! - [`shutdown`]: [`Shutdown`], the one signal every part follows.
//! - [`listener`]: accepted connections with TCP_NODELAY and their limits (count,
//!   handshake, idle, write stall).
//! - [`http`]: the two HTTP listeners: Qencode's callbacks, and admin (/metrics, probes).
//! - [`health`]: gRPC health that follows the upstream tokens.
//! - [`metrics`]: the Prometheus registry behind /metrics.
//! - [`process_metrics`]: CPU, memory, file descriptors and threads from `/proc`.
//! - [`limits`]: what happens when a limit bites (counter, rate-limited WARN).
//! - [`fleet`]: fleet mode: replicas sharing tokens, callbacks and polling via Redis.
//! - [`tls`]: TLS and mTLS of the gRPC listener, reloaded when the files change.
//!
//! Who may call (no tonic):
//! - [`identity`]: the caller's certificate SAN, trusted mesh header or bearer digest.
//! - [`policy`]: the policy file, its reload, per-caller token buckets.
//! - [`access`]: the one check (identity, policy, project, limits) the layer runs per
//!   call.
//! - [`projects`]: several Qencode projects on one gateway: a token manager per
//!   project and API, and which project each task and stream belongs to.
//!
//! gRPC edge (the only modules that know tonic):
//! - [`grpc`]: thin adapters, the tower layer, reflection, the codec; [`grpc::status`]
//!   is the one place a domain [`error::Error`] becomes a `tonic::Status`.
//!
//! Domain (no tonic):
//! - [`error`]: the domain error and its small kind set.
//! - [`ids`]: the one check for ids put into upstream paths.
//! - [`transcoding`]: validation, create/start/status.
//! - [`upload`]: UploadFile: chunks regrouped into pieces over resumable TUS 1.0; resume
//!   tokens let a new call, on any gateway process, continue an upload with the rest.
//! - [`live`]: the LiveStreaming domain.
//! - [`watch`]: server-streaming watchers: hubs, shared batched pollers, callbacks.
//! - [`signer`]: the HMAC that makes a callback URL its own proof.
//! - [`proto_json`]: Qencode's JSON from typed messages, by walking proto descriptors.
//!
//! Upstream:
//! - [`upstream`]: the HTTP client, both API clients, Qencode's error codes, trusted hosts.
//! - [`lenient`]: lenient parsing of upstream JSON (and the repair pass).
//! - [`auth`]: the central token manager shared by both APIs.
//! - [`pb`]: the generated protobuf and gRPC code.
//!
//! The sandbox is its own crate, `qencode-sandbox`; the gateway uses it only in
//! [`embedded`] and in tests.
//!
//! The prost-generated messages in [`pb`] double as the data model: they are plain
//! structs with no tonic in them, and mirroring the large query type in a second set of
//! domain structs would only add a place for the two to disagree.

pub mod access;
pub mod auth;
pub mod config;
#[cfg(feature = "sandbox")]
pub mod embedded;
pub mod error;
pub mod fd_limit;
pub mod fleet;
pub mod gateway;
pub mod grpc;
pub mod health;
pub mod http;
pub mod identity;
pub mod ids;
pub mod lenient;
pub mod limits;
pub mod listener;
pub mod live;
pub mod metrics;
pub mod policy;
pub mod process_metrics;
pub mod projects;
pub use qencode_gateway_proto::proto_json;
pub mod secret;
pub mod server;
pub mod shutdown;
pub mod signer;
pub mod telemetry;
pub mod tls;
pub mod token_memory;
pub mod transcoding;
pub mod upload;
pub mod upstream;
pub mod watch;

pub use config::Config;
pub use gateway::Gateway;
pub use server::{run, Listeners, RunError};
pub use shutdown::Shutdown;

/// Generated protobuf and gRPC code for `qencode.gateway.v1`: the messages and clients
/// of the `qencode-gateway-proto` crate, and the servers generated here over them with
/// the gateway's own codec ([`grpc::codec`]).
// Proto comments are written for every language's users; rustdoc reads `<id>` as HTML.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links
)]
pub mod pb {
    pub use qencode_gateway_proto::pb::*;
    include!(concat!(env!("OUT_DIR"), "/qencode.gateway.v1.rs"));
}
