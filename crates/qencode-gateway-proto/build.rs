//! Compiles the gateway's protos (`proto/` at the workspace root) with protox (pure
//! Rust, so no system `protoc`) into prost messages and tonic clients. The encoded
//! descriptor set is written to OUT_DIR too: the gateway's reflection serves it, and
//! [`proto_json`](src/proto_json.rs) walks it to write Qencode's JSON from typed
//! messages. The gateway generates its servers itself (its own build.rs), over these
//! messages, with its own codec.

use prost::Message;
use std::{env, fs, path::PathBuf};

/// Every gateway proto, relative to the workspace's `proto/` folder.
const PROTOS: &[&str] = &[
    "qencode/gateway/v1/options.proto",
    "qencode/gateway/v1/query.proto",
    "qencode/gateway/v1/task_status.proto",
    "qencode/gateway/v1/watch.proto",
    "qencode/gateway/v1/transcoding.proto",
    "qencode/gateway/v1/live_stream.proto",
    "qencode/gateway/v1/live_streaming.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(PROTOS)?;
    // Encoded from protox's own pool: unlike `prost_types`, it keeps custom options
    // (`json_unwrap`, `json_one_or_many`), and the source info carries the proto
    // comments to reflection clients.
    let encoded = compiler.encode_file_descriptor_set();
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("qencode_gateway_descriptor.bin"), &encoded)?;
    let fds = prost_types::FileDescriptorSet::decode(encoded.as_slice())?;
    // Type names (`prost::Name`) let the gateway's codec find a request's descriptor,
    // to bound its decoded size before decoding.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
