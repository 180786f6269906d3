//! qencode-gateway: a gRPC gateway to Qencode's Transcoding and Live Streaming APIs.
//!
//! Internal services call the gateway over gRPC; the gateway holds the API keys, caches
//! and refreshes the upstream access tokens, validates input before any upstream call,
//! and maps every upstream failure to a precise gRPC status with rich error details.
//!
//! # Layout
//! The folders follow a call's path; imports point down this list, never back up (CI
//! runs `.ci/module_cycles.py`, which fails on any import circle):
//! - [`edge`]: what faces callers, and the only modules that know tonic: accepted
//!   connections and their limits ([`edge::listener`]), the tower layer and thin
//!   adapters ([`edge::grpc`]; [`edge::grpc::status`] is the one place a domain
//!   [`support::error::Error`] becomes a `tonic::Status`), the HTTP listeners (Qencode's
//!   callbacks, admin), gRPC health, TLS, and [`run`], the one entry point.
//! - [`access`]: who may call what: identity, the policy file and its rate limits,
//!   projects (credentials and token managers per Qencode project), and the one check
//!   the layer runs per call.
//! - [`domain`]: Transcoding, LiveStreaming, uploads over TUS, watchers (hubs, the
//!   shared batched poller, push from callbacks, and [`domain::watch::shared`] across a
//!   fleet), which caller owns which task, the callback URL's HMAC.
//! - [`upstream`]: the HTTP client, both API clients, Qencode's error codes, trusted
//!   hosts, lenient readers of upstream JSON, and the token manager shared by both APIs.
//! - [`ledger`]: the database (SQLite, or Postgres for a fleet) of every task created
//!   through the gateway and of idempotent submissions; below the domain, which
//!   records into it, and above nothing but [`support`].
//! - [`fleet`]: the Redis handle alone (connection, keys, bounded commands, whether
//!   Redis answers); a leaf.
//! - [`support`]: settings, the domain error, telemetry, metrics, the shutdown signal,
//!   secrets, and the in-process sandbox of the no-key mode.
//! - [`gateway`]: [`Gateway`], everything the servers serve, built from the config.
//! - [`pb`] and [`proto_json`]: from the `qencode-gateway-proto` crate (the messages
//!   and clients, shared with `qgw`), plus the servers generated here.
//!
//! The sandbox is its own crate, `qencode-sandbox`; the gateway uses it only in
//! `support::embedded` (the default-on `sandbox` feature) and in tests.
//!
//! The prost-generated messages in [`pb`] double as the data model: they are plain
//! structs with no tonic in them, and mirroring the large query type in a second set of
//! domain structs would only add a place for the two to disagree.

pub mod access;
pub mod domain;
pub mod edge;
pub mod fleet;
pub mod gateway;
pub mod ledger;
pub mod support;
pub mod upstream;

pub use qencode_gateway_proto::proto_json;

pub use edge::server::{run, Listeners, RunError};
pub use gateway::Gateway;
pub use support::{config::Config, shutdown::Shutdown};

/// Generated protobuf and gRPC code for `qencode.gateway.v1`: the messages and clients
/// of the `qencode-gateway-proto` crate, and the servers generated here over them with
/// the gateway's own codec ([`crate::edge::grpc::codec`]).
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
