//! Generates the gateway's gRPC servers. The messages and clients come from the
//! `qencode-gateway-proto` crate (`extern_path`, so prost writes no second copy of any
//! message); only the services are generated here, because they use the gateway's own
//! codec (src/edge/grpc/codec.rs), which a client crate must not depend on. protox is pure
//! Rust, so no system `protoc` is needed.

use prost::Message;

const PROTOS: &[&str] = &[
    "qencode/gateway/v1/transcoding.proto",
    "qencode/gateway/v1/live_streaming.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true);
    compiler.open_files(PROTOS)?;
    let fds =
        prost_types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice())?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .extern_path(".qencode.gateway.v1", "::qencode_gateway_proto::pb")
        // A prost codec with exactly sized encode buffers: see src/edge/grpc/codec.rs.
        .codec_path("crate::edge::grpc::codec::GatewayCodec")
        .compile_fds(fds)?;
    Ok(())
}
