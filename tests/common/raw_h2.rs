//! What the raw HTTP/2 clients of the hostile-traffic tests share (the `h2` crate, so a
//! test can do what tonic never does: tiny or huge windows, never reading).

use bytes::Bytes;
use prost::Message;
use std::{net::SocketAddr, time::Duration};

/// The WatchStatus method's path.
pub const WATCH_STATUS: &str = "/qencode.gateway.v1.Transcoding/WatchStatus";

/// A length-prefixed gRPC message frame.
pub fn grpc_frame(message: &[u8]) -> Bytes {
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    Bytes::from(frame)
}

/// Opens `n` WatchStatus streams of `task_token` over `h2` (a connection to `addr`) and
/// waits, each within `patience`, for their 200 response heads; the bodies are left
/// unread. Returns the connection handle for more requests.
pub async fn open_watches(
    mut h2: h2::client::SendRequest<Bytes>,
    addr: SocketAddr,
    task_token: &str,
    n: usize,
    patience: Duration,
) -> (
    h2::client::SendRequest<Bytes>,
    Vec<http::Response<h2::RecvStream>>,
) {
    let request = qencode_gateway::pb::WatchStatusRequest {
        task_token: task_token.to_owned(),
    }
    .encode_to_vec();
    let mut pending = Vec::with_capacity(n);
    for _ in 0..n {
        let http = http::Request::post(format!("http://{addr}{WATCH_STATUS}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .expect("request");
        h2 = h2.ready().await.expect("h2 ready");
        let (response, mut body) = h2.send_request(http, false).expect("send headers");
        body.send_data(grpc_frame(&request), true)
            .expect("send request");
        pending.push(response);
    }
    let mut responses = Vec::with_capacity(n);
    for response in pending {
        let response = tokio::time::timeout(patience, response)
            .await
            .expect("response headers in time")
            .expect("response");
        assert_eq!(response.status(), 200);
        responses.push(response);
    }
    (h2, responses)
}

/// An HTTP/2 connection to `addr`, driven in the background.
pub async fn connect(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Sends the HEADERS of a gRPC call to `path` and keeps the request body open (the
/// message never comes unless the caller sends it).
pub async fn headers_only(
    client: &mut h2::client::SendRequest<Bytes>,
    addr: SocketAddr,
    path: &str,
    timeout: Option<&str>,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let mut request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(timeout) = timeout {
        request = request.header("grpc-timeout", timeout);
    }
    let request = request.body(()).expect("request");
    *client = client.clone().ready().await.expect("h2 ready");
    client.send_request(request, false).expect("send headers")
}

/// The gRPC status code and message a response ends with (its headers when
/// trailers-only, else its trailers), waiting at most `patience`.
pub async fn grpc_end(response: h2::client::ResponseFuture, patience: Duration) -> (i32, String) {
    tokio::time::timeout(patience, async {
        let response = response.await.expect("response");
        let end = |headers: &http::HeaderMap| {
            let code = headers
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())?;
            let message = headers
                .get("grpc-message")
                .and_then(|v| v.to_str().ok())
                .map(percent_decode)
                .unwrap_or_default();
            Some((code, message))
        };
        if let Some(end) = end(response.headers()) {
            return end;
        }
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let _ = chunk.expect("body");
        }
        let trailers = body.trailers().await.expect("trailers").expect("trailers");
        end(&trailers).expect("grpc-status in trailers")
    })
    .await
    .expect("the stream ended in time")
}

/// gRPC's percent-encoded `grpc-message`, decoded (enough for assertions).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Calls the unary method `path` with `message` over a fresh raw HTTP/2 connection to
/// `addr`, sending `grpc_timeout` (the wire form, e.g. `1S`) when given. The client runs
/// no timer of its own, so the status returned is the one the server sent: read from the
/// headers of a trailers-only answer, or from the trailers. Bounded by `patience`.
pub async fn unary_status(
    addr: SocketAddr,
    path: &str,
    message: &[u8],
    grpc_timeout: Option<&str>,
    patience: Duration,
) -> tonic::Status {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (h2, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(timeout) = grpc_timeout {
        request = request.header("grpc-timeout", timeout);
    }
    let mut h2 = h2.ready().await.expect("h2 ready");
    let (response, mut body) = h2
        .send_request(request.body(()).expect("request"), false)
        .expect("send headers");
    body.send_data(grpc_frame(message), true)
        .expect("send request");
    let answer = async {
        let response = response.await.expect("response");
        if let Some(status) = tonic::Status::from_header_map(response.headers()) {
            return status;
        }
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let _ = chunk.expect("body");
        }
        let trailers = body.trailers().await.expect("trailers").expect("trailers");
        tonic::Status::from_header_map(&trailers).expect("grpc-status in trailers")
    };
    tokio::time::timeout(patience, answer)
        .await
        .expect("the server answered in time")
}
