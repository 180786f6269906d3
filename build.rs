//! Compiles the gateway's protos with protox (pure Rust, so no system `protoc` is needed)
//! and generates the tonic/prost code. The encoded descriptor set is written to OUT_DIR
//! too: server reflection serves it, and the query serializer walks it to write
//! Qencode's JSON from typed messages.

use prost::Message;
use std::{env, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "proto/qencode/gateway/v1/options.proto",
    "proto/qencode/gateway/v1/query.proto",
    "proto/qencode/gateway/v1/task_status.proto",
    "proto/qencode/gateway/v1/watch.proto",
    "proto/qencode/gateway/v1/transcoding.proto",
    "proto/qencode/gateway/v1/live_stream.proto",
    "proto/qencode/gateway/v1/live_streaming.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(PROTOS)?;
    // Encoded from protox's own pool: unlike `prost_types`, it keeps custom options
    // (`json_unwrap`, `json_one_or_many`), and the source info carries the proto
    // comments to reflection clients.
    let encoded = compiler.encode_file_descriptor_set();
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("qencode_gateway_descriptor.bin"), &encoded)?;
    let fds = prost_types::FileDescriptorSet::decode(encoded.as_slice())?;
    // Type names (`prost::Name`) let the codec find a request's descriptor, to bound
    // its decoded size before decoding (src/grpc/decoded_size.rs).
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // A prost codec with a small encode buffer: see src/grpc/codec.rs.
        .codec_path("crate::grpc::codec::GatewayCodec")
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
