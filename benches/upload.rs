//! Upload memory benchmark: one 500 MiB UploadFile through the real gateway binary.
//!
//! Run: `cargo bench --bench upload` (add `-- --size-mib N --chunk-mib M` to resize).
//!
//! The sandbox runs in this process and keeps the upload in memory (so this process
//! grows by the file size); the gateway is the release binary in its own process, and
//! its VmRSS is sampled from /proc every 100 ms while the file streams through it.
//! Reports the gateway's baseline, peak and peak growth in MiB and in units of its
//! chunk size: the gateway should hold about one chunk per upload, whatever the file
//! size.

mod support;

use support::{launch, rss};

use qencode_gateway::pb::{self, transcoding_client::TranscodingClient, upload_file_request::Part};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::time::Instant;

const MIB: u64 = 1 << 20;
/// Bytes per gRPC message the client sends.
const MESSAGE: usize = 1 << 20;

struct Args {
    size_mib: u64,
    chunk_mib: u64,
}

fn args() -> Args {
    let mut args = Args {
        size_mib: 500,
        chunk_mib: 8,
    };
    let raw: Vec<String> = std::env::args().collect();
    for pair in raw.windows(2) {
        let value = pair[1].parse::<u64>().ok().filter(|v| *v > 0);
        match (pair[0].as_str(), value) {
            ("--size-mib", Some(v)) => args.size_mib = v,
            ("--chunk-mib", Some(v)) => args.chunk_mib = v,
            _ => {}
        }
    }
    args
}

/// Message `index` of the file: a counter pattern, cheap to regenerate for the check.
fn message(index: u64, size: u64) -> Vec<u8> {
    let start = index * MESSAGE as u64;
    let len = (size - start).min(MESSAGE as u64) as usize;
    let mut out = Vec::with_capacity(len + 8);
    let mut word = start / 8;
    while out.len() < len {
        out.extend_from_slice(&word.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
        word += 1;
    }
    out.truncate(len);
    out
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

#[tokio::main]
async fn main() {
    let args = args();
    let size = args.size_mib * MIB;
    let chunk = args.chunk_mib * MIB;
    let launched = launch(
        SandboxConfig {
            max_upload_size: size + MIB,
            ..SandboxConfig::default()
        },
        &[
            (
                "GATEWAY_UPLOAD_CHUNK_SIZE",
                format!("{}MiB", args.chunk_mib),
            ),
            (
                "GATEWAY_MAX_UPLOAD_SIZE",
                format!("{}MiB", args.size_mib + 1),
            ),
        ],
    )
    .await;
    let (sandbox, pid, channel) = (&launched.sandbox, launched.pid, launched.channel.clone());
    let mut client = TranscodingClient::new(channel);
    let task_token = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create_task")
        .into_inner()
        .task_token;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = rss(pid);

    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            let mut samples = 0u64;
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(pid), Ordering::Relaxed);
                samples += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            samples
        })
    };

    let metadata = pb::UploadFileRequest {
        part: Some(Part::Metadata(pb::UploadMetadata {
            task_token,
            file_name: "bench.bin".into(),
            size,
            content_type: Some("application/octet-stream".into()),
            upload_url: None,
            resume_token: None,
            offset: None,
        })),
    };
    let messages = size.div_ceil(MESSAGE as u64);
    let requests =
        futures::stream::iter(std::iter::once(metadata).chain((0..messages).map(move |i| {
            pb::UploadFileRequest {
                part: Some(Part::Chunk(message(i, size))),
            }
        })));
    let started = Instant::now();
    let response = client
        .upload_file(requests)
        .await
        .expect("upload")
        .into_inner();
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let samples = sampler.await.expect("sampler");
    let peak = peak.load(Ordering::Relaxed);
    let after = rss(pid);

    assert_eq!(response.bytes_stored, size);
    let uuid = response.source_uri.trim_start_matches("tus:");
    let stored = sandbox
        .upload_bytes(uuid)
        .expect("the sandbox holds the upload");
    let identical = stored.len() as u64 == size
        && (0..messages).all(|i| {
            let start = (i * MESSAGE as u64) as usize;
            let expected = message(i, size);
            stored[start..start + expected.len()] == expected[..]
        });
    assert!(identical, "the stored bytes differ from the sent ones");

    let growth = peak.saturating_sub(baseline);
    println!(
        "upload: {} MiB in {:.2} s ({:.0} MiB/s), {} PATCHes of {} MiB, byte-identical",
        args.size_mib,
        elapsed.as_secs_f64(),
        args.size_mib as f64 / elapsed.as_secs_f64(),
        sandbox.count(Endpoint::TusPatch),
        args.chunk_mib
    );
    println!(
        "gateway VmRSS ({samples} samples every 100 ms): baseline {:.1} MiB, peak {:.1} MiB, after {:.1} MiB",
        mib(baseline),
        mib(peak),
        mib(after)
    );
    println!(
        "peak growth: {:.1} MiB = {:.2} x the {} MiB chunk size ({:.3}% of the file)",
        mib(growth),
        growth as f64 / chunk as f64,
        args.chunk_mib,
        100.0 * growth as f64 / size as f64
    );
    drop(launched);
}
