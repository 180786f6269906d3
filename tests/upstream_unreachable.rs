//! An upstream the gateway cannot reach: the caller learns what failed and where,
//! through a real gRPC call, and nothing in the answer names a key or a path.

mod common;

use common::*;
use qencode_gateway::pb;

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_names_the_cause_and_the_host() {
    let port = closed_port();
    let env = start_with(fast_sandbox(), |config| {
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        config.api_url = Some(url.clone());
        config.live_api_url = Some(url);
    })
    .await;
    let status = env
        .transcoding()
        .await
        .create_task(pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    let details = assert_reason(&status, tonic::Code::Unavailable, "UPSTREAM_UNREACHABLE");
    let info = details.error_info().unwrap();
    assert_eq!(
        info.metadata.get("cause").map(String::as_str),
        Some("refused")
    );
    assert_eq!(
        info.metadata.get("host"),
        Some(&format!("127.0.0.1:{port}"))
    );
    assert!(
        status.message().contains(&format!(
            "at 127.0.0.1:{port} (access_token): connection refused"
        )),
        "{}",
        status.message()
    );
    assert!(!status.message().contains(API_KEY), "{}", status.message());

    // The Live API's token request carries the key in its path: still only the host.
    let status = env
        .live()
        .await
        .list_streams(pb::ListStreamsRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("connection refused"),
        "{}",
        status.message()
    );
    assert!(!status.message().contains(API_KEY), "{}", status.message());
    assert!(!status.message().contains("/v1/"), "{}", status.message());
    env.stop().await;
}
