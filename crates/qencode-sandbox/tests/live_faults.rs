//! Fault injection on Live Streaming API endpoints over real HTTP: the
//! `HttpStatus` kind, `Busy` as 429, and the generic kinds.

mod common;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::time::Instant;

use common::{header, spawn_default, KEY};
use qencode_sandbox::{Endpoint, Fault, FaultKind};

fn http_status(status: u16, message: &str, retry_after_secs: Option<u64>) -> FaultKind {
    FaultKind::HttpStatus {
        status,
        message: message.into(),
        retry_after_secs,
    }
}

#[tokio::test]
async fn http_status_faults_answer_json_messages() {
    let sb = spawn_default().await;
    let token = sb.live_token().await;
    let cases = [
        (403, "forbidden for this project", None),
        (409, "conflict", None),
        (429, "slow down", Some(9)),
        (503, "maintenance", Some(30)),
        (500, "boom", None),
    ];
    for (status, message, retry_after) in cases {
        sb.handle.inject(Fault::once(
            Endpoint::LiveList,
            http_status(status, message, retry_after),
        ));
        let response = sb
            .request(Method::GET, "/v1/live-streams")
            .bearer_auth(&token)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), status);
        let expected = retry_after.map(|s| s.to_string()).unwrap_or_default();
        assert_eq!(header(&response, "retry-after"), expected);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body, json!({"message": message}));
    }
    let (status, _) = sb
        .live(Method::GET, "/v1/live-streams", Some(&token), None)
        .await;
    assert_eq!(status, 200, "faults are used up");
}

#[tokio::test]
async fn busy_on_a_live_endpoint_is_429_with_retry_after() {
    let sb = spawn_default().await;
    let token = sb.live_token().await;
    sb.handle.inject(Fault::once(
        Endpoint::LiveCreate,
        FaultKind::Busy {
            retry_after_secs: 4,
        },
    ));
    let response = sb
        .request(Method::POST, "/v1/live-streams")
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&response, "retry-after"), "4");
    let body: Value = response.json().await.expect("json");
    assert!(body["message"].is_string(), "{body}");
    sb.live_create(&token, None).await;
}

#[tokio::test]
async fn html_and_malformed_json_hit_live_endpoints() {
    let sb = spawn_default().await;
    sb.handle.inject(Fault::once(
        Endpoint::LiveAccessToken,
        FaultKind::Html { status: 502 },
    ));
    let response = sb
        .request(Method::POST, &format!("/v1/access_token/{KEY}"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(header(&response, "content-type").starts_with("text/html"));

    let token = sb.live_token().await;
    let stream = sb.live_create(&token, None).await;
    let id = stream["id"].as_str().unwrap_or_default().to_string();
    sb.handle
        .inject(Fault::once(Endpoint::LiveGet, FaultKind::MalformedJson));
    let response = sb
        .request(Method::GET, &format!("/v1/live-streams/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(sb.live_get(&token, &id).await["id"], id.as_str());
}

#[tokio::test(start_paused = true)]
async fn delay_fault_delays_a_live_call() {
    let sb = spawn_default().await;
    let token = sb.live_token().await;
    let id = sb.live_create(&token, None).await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    sb.handle.inject(Fault::once(
        Endpoint::LiveStart,
        FaultKind::Delay(Duration::from_secs(20)),
    ));
    let before = Instant::now();
    let (status, body) = sb
        .live(
            Method::POST,
            &format!("/v1/live-streams/{id}/start"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(before.elapsed() >= Duration::from_secs(20));
}

#[tokio::test]
async fn live_faults_are_targeted_and_recorded() {
    let sb = spawn_default().await;
    let token = sb.live_token().await;
    let stream = sb.live_create(&token, None).await;
    let id = stream["id"].as_str().unwrap_or_default().to_string();
    let forbidden = http_status(403, "nope", None);
    sb.handle
        .inject(Fault::once(Endpoint::LiveStop, forbidden.clone()));
    // Other live endpoints are not hit by a LiveStop fault.
    sb.live_get(&token, &id).await;
    let (status, _) = sb
        .live(
            Method::POST,
            &format!("/v1/live-streams/{id}/stop"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    sb.handle
        .inject(Fault::once(Endpoint::Any, http_status(500, "any", None)));
    let (status, _) = sb
        .live(
            Method::DELETE,
            &format!("/v1/live-streams/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let requests = sb.handle.requests();
    let stop = requests
        .iter()
        .find(|r| r.endpoint == Endpoint::LiveStop)
        .expect("stop recorded");
    assert_eq!(stop.fault, Some(forbidden));
    let delete = requests
        .iter()
        .find(|r| r.endpoint == Endpoint::LiveDelete)
        .expect("delete recorded");
    assert!(delete.fault.is_some());
    // The faulted delete did not happen.
    assert!(!sb.handle.live_stream(&id).expect("snapshot").deleted);
}
