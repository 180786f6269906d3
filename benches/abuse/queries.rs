//! Case 4: StartEncode with queries whose size or violation count grows without bound.
//!
//! `ABUSE_BENCH_STITCH` (5000000) non-URL stitch entries in a ~10 MB `query_json`;
//! `ABUSE_BENCH_FORMATS` (600000) formats in a `query_json`; the same two again with
//! `GATEWAY_MAX_QUERY_JSON_SIZE=16MiB`, so the parser and the violation cap are reached
//! instead of the size check; and typed queries with `ABUSE_BENCH_TYPED_STITCH`
//! (2000000) non-URL stitch items (~10 MB protobuf) and the 600k formats. Each variant
//! runs on a fresh gateway, so its peak RSS (VmHWM) is that variant's alone.

use super::support::launch;
use super::{size, status_mib, wait_serving};
use qencode_gateway::pb::{
    self, start_encode_request::QueryKind, stitch_item, transcoding_client::TranscodingClient,
};
use qencode_sandbox::{Endpoint, SandboxConfig};
use std::time::Duration;

/// Largest message the bench's client sends or accepts.
const CLIENT_MAX: usize = 64 << 20;

fn stitch_json(entries: usize) -> String {
    let mut json = String::with_capacity(entries * 2 + 64);
    json.push_str(r#"{"query":{"format":[{"output":"mp4"}],"stitch":["#);
    for i in 0..entries {
        if i > 0 {
            json.push(',');
        }
        json.push('0');
    }
    json.push_str("]}}");
    json
}

fn formats_json(formats: usize) -> String {
    let mut json = String::with_capacity(formats * 18 + 64);
    json.push_str(r#"{"query":{"source":"https://example.com/in.mp4","format":["#);
    for i in 0..formats {
        if i > 0 {
            json.push(',');
        }
        json.push_str(r#"{"output":"mp4"}"#);
    }
    json.push_str("]}}");
    json
}

fn stitch_typed(items: usize) -> pb::TranscodingQuery {
    pb::TranscodingQuery {
        stitch: (0..items)
            .map(|_| pb::StitchItem {
                item: Some(stitch_item::Item::Url("x".into())),
            })
            .collect(),
        format: vec![mp4()],
        ..Default::default()
    }
}

fn formats_typed(formats: usize) -> pb::TranscodingQuery {
    pb::TranscodingQuery {
        source: Some("https://example.com/in.mp4".into()),
        format: (0..formats).map(|_| mp4()).collect(),
        ..Default::default()
    }
}

fn mp4() -> pb::Format {
    pb::Format {
        output: Some("mp4".into()),
        ..Default::default()
    }
}

/// One variant on a fresh gateway: the answer, the details' size, RSS and upstream
/// requests, as one line.
async fn variant(label: &str, env: &[(&str, String)], query: QueryKind) {
    let sent = match &query {
        QueryKind::QueryJson(json) => json.len(),
        QueryKind::Query(query) => prost::Message::encoded_len(query),
    };
    let launched = launch(SandboxConfig::default(), env).await;
    wait_serving(&launched.channel).await;
    let (sandbox, pid) = (&launched.sandbox, launched.pid);
    let mut client = TranscodingClient::new(launched.channel.clone())
        .max_encoding_message_size(CLIENT_MAX)
        .max_decoding_message_size(CLIENT_MAX);
    let task_token = client
        .create_task(pb::CreateTaskRequest::default())
        .await
        .expect("create task")
        .into_inner()
        .task_token;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hwm_before = status_mib(pid, "VmHWM:");
    let upstream_before = (
        sandbox.count(Endpoint::StartEncode),
        sandbox.count(Endpoint::Any),
    );
    let started = tokio::time::Instant::now();
    let mut request = tonic::Request::new(pb::StartEncodeRequest {
        task_token,
        query_kind: Some(query),
        payload: None,
        ..Default::default()
    });
    request.set_timeout(Duration::from_secs(60));
    let answer = client.start_encode(request).await;
    let took = started.elapsed();
    let (code, details, message) = match &answer {
        Ok(_) => ("OK".to_owned(), 0, String::new()),
        Err(status) => (
            format!("{:?}", status.code()),
            status.details().len(),
            status.message().chars().take(90).collect(),
        ),
    };
    let violations = answer.as_ref().err().map_or(0, |status| {
        tonic_types::StatusExt::get_error_details(status)
            .bad_request()
            .map_or(0, |b| b.field_violations.len())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "case 4 {label} ({:.1} MB sent): {code} in {:.0} ms, details {details} B ({violations} violations), {message:?}; gateway VmHWM {hwm_before:.1} -> {:.1} MiB, VmRSS after {:.1} MiB; upstream start_encode2 requests {}, all requests {}",
        sent as f64 / 1e6,
        took.as_secs_f64() * 1e3,
        status_mib(pid, "VmHWM:"),
        status_mib(pid, "VmRSS:"),
        sandbox.count(Endpoint::StartEncode) - upstream_before.0,
        sandbox.count(Endpoint::Any) - upstream_before.1,
    );
}

pub(crate) async fn run() {
    // What one repeated element costs once decoded, whatever its size on the wire.
    println!(
        "case 4 decoded sizes: pb::Format {} B, pb::StitchItem {} B (each 5-7 B on the wire when nearly empty)",
        std::mem::size_of::<pb::Format>(),
        std::mem::size_of::<pb::StitchItem>()
    );
    let stitch = size("STITCH", 5_000_000);
    let formats = size("FORMATS", 600_000);
    let typed_stitch = size("TYPED_STITCH", 2_000_000);
    let raised = [("GATEWAY_MAX_QUERY_JSON_SIZE", "16MiB".to_owned())];
    let stitch_label = format!("query_json {stitch} stitch entries");
    let formats_label = format!("query_json {formats} formats");
    variant(
        &stitch_label,
        &[],
        QueryKind::QueryJson(stitch_json(stitch)),
    )
    .await;
    variant(
        &formats_label,
        &[],
        QueryKind::QueryJson(formats_json(formats)),
    )
    .await;
    variant(
        &format!("{stitch_label}, size cap raised to 16MiB"),
        &raised,
        QueryKind::QueryJson(stitch_json(stitch)),
    )
    .await;
    variant(
        &format!("{formats_label}, size cap raised to 16MiB"),
        &raised,
        QueryKind::QueryJson(formats_json(formats)),
    )
    .await;
    variant(
        &format!("typed query {typed_stitch} non-URL stitch items"),
        &[],
        QueryKind::Query(stitch_typed(typed_stitch)),
    )
    .await;
    variant(
        &format!("typed query {formats} formats"),
        &[],
        QueryKind::Query(formats_typed(formats)),
    )
    .await;
}
