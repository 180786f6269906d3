//! qencode-gateway's protocol, for clients: the generated messages and gRPC clients
//! of `qencode.gateway.v1` ([`pb`]), their descriptors, and [`proto_json`] (Qencode's
//! JSON from typed messages).
//!
//! A client (the `qgw` command line, a Rust service) depends on this crate alone, with
//! none of the server's dependencies (Redis, OpenTelemetry, axum, the sandbox). The
//! gateway builds on the same messages and generates its servers over them.

pub mod proto_json;

/// Generated protobuf messages and gRPC clients for `qencode.gateway.v1`.
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
    include!(concat!(env!("OUT_DIR"), "/qencode.gateway.v1.rs"));

    /// The encoded `FileDescriptorSet` of every gateway proto and its imports: served by
    /// reflection and walked by the query serializer.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/qencode_gateway_descriptor.bin"));
}
