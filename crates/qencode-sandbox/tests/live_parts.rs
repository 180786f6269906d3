//! Live Streaming API over real HTTP, a stream's parts and edges: playback ids,
//! simulcast targets, deletion, the request log and odd paths.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use common::live::{is_timestamp, is_uuid, stream_path, with_stream};
use common::{spawn_default, str_of, KEY};
use qencode_sandbox::Endpoint;

#[tokio::test]
async fn playback_ids_are_added_and_removed() {
    let (sb, token, stream) = with_stream().await;
    let path = format!("{}/playback-ids", stream_path(&stream["id"]));
    for body in [
        None,
        Some(json!({})),
        Some(json!({"policy": "private"})),
        Some(json!({"policy": 1})),
    ] {
        let (status, answer) = sb
            .live(Method::POST, &path, Some(&token), body.as_ref())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {answer}");
    }
    let (status, body) = sb
        .live(
            Method::POST,
            &path,
            Some(&token),
            Some(&json!({"policy": "authenticated"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ids = body["stream"]["playback_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ids.len(), 2);
    let added = &ids[1];
    assert_eq!(added["policy"], "authenticated");
    let added_id = str_of(&added["id"]);
    assert!(
        (10..=12).contains(&added_id.len()) && added_id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{added_id}"
    );
    assert_eq!(
        added["playback_url"],
        format!("https://play-{added_id}.qencode.com/qhls/qlive/playlist.m3u8")
    );

    let (status, body) = sb
        .live(
            Method::DELETE,
            &format!("{path}/{added_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stream"]["playback_ids"], stream["playback_ids"]);
    let (status, body) = sb
        .live(
            Method::DELETE,
            &format!("{path}/{added_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["message"].is_string());
    let first = str_of(&stream["playback_ids"][0]["id"]);
    let (status, body) = sb
        .live(
            Method::DELETE,
            &format!("{path}/{first}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["stream"]["playback_ids"], json!([]));
}

#[tokio::test]
async fn simulcast_targets_are_added_and_removed() {
    let (sb, token, stream) = with_stream().await;
    let path = format!("{}/simulcast-targets", stream_path(&stream["id"]));
    for body in [
        None,
        Some(json!({"url": "https://a.rtmp.youtube.com/live2", "stream_key": "k"})),
        Some(json!({"url": "rtmp://a.rtmp.youtube.com/live2"})),
        Some(json!({"url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": ""})),
        Some(json!({"stream_key": "k"})),
    ] {
        let (status, answer) = sb
            .live(Method::POST, &path, Some(&token), body.as_ref())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {answer}");
    }
    let target = json!({"url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": "1234-5678-abcd"});
    let (status, body) = sb
        .live(Method::POST, &path, Some(&token), Some(&target))
        .await;
    assert_eq!(status, 200, "{body}");
    let added = body["stream"]["simulcast_targets"][0].clone();
    assert!(is_uuid(&added["id"]), "{added}");
    assert_eq!(added["url"], target["url"]);
    assert_eq!(added["stream_key"], target["stream_key"]);
    let snapshot = sb
        .handle
        .live_stream(&str_of(&stream["id"]))
        .expect("snapshot");
    assert_eq!(snapshot.simulcast_targets[0].stream_key, "1234-5678-abcd");

    let remove = format!("{path}/{}", str_of(&added["id"]));
    let (status, body) = sb.live(Method::DELETE, &remove, Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stream"]["simulcast_targets"], json!([]));
    let (status, _) = sb.live(Method::DELETE, &remove, Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleted_streams_are_gone_and_unlisted() {
    let sb = spawn_default().await;
    let token = sb.live_token().await;
    let first = sb
        .live_create(&token, Some(&json!({"name": "first"})))
        .await;
    let second = sb
        .live_create(&token, Some(&json!({"name": "second"})))
        .await;
    let third = sb
        .live_create(&token, Some(&json!({"name": "third"})))
        .await;
    let path = stream_path(&second["id"]);
    let (status, body) = sb.live(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"]["name"], "deleted");
    assert!(is_timestamp(&body["status"]["timestamp"]), "{body}");

    let (status, body) = sb
        .live(Method::GET, "/v1/live-streams", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    let ids: Vec<Value> = body["streams"]
        .as_array()
        .map(|s| s.iter().map(|s| s["id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(ids, [first["id"].clone(), third["id"].clone()]);

    let name = json!({"name": "x"});
    let policy = json!({"policy": "public"});
    let playback = str_of(&second["playback_ids"][0]["id"]);
    for (method, suffix, body) in [
        (Method::GET, String::new(), None),
        (Method::PUT, String::new(), Some(&name)),
        (Method::DELETE, String::new(), None),
        (Method::POST, "/start".to_string(), None),
        (Method::POST, "/stop".to_string(), None),
        (Method::POST, "/playback-ids".to_string(), Some(&policy)),
        (Method::DELETE, format!("/playback-ids/{playback}"), None),
    ] {
        let (status, answer) = sb
            .live(
                method.clone(),
                &format!("{path}{suffix}"),
                Some(&token),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {suffix}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let snapshot = sb.handle.live_stream(&str_of(&second["id"])).expect("kept");
    assert!(snapshot.deleted);
    assert_eq!(snapshot.status, "deleted");
}

#[tokio::test]
async fn live_requests_are_classified_and_keys_redacted() {
    let (sb, token, stream) = with_stream().await;
    let path = stream_path(&stream["id"]);
    sb.live(Method::GET, &path, Some(&token), None).await;
    sb.live(Method::GET, "/v1/live-streams", Some(&token), None)
        .await;
    sb.live(Method::POST, &format!("{path}/start"), Some(&token), None)
        .await;
    assert_eq!(sb.handle.count(Endpoint::LiveAccessToken), 1);
    assert_eq!(sb.handle.count(Endpoint::LiveCreate), 1);
    assert_eq!(sb.handle.count(Endpoint::LiveGet), 1);
    assert_eq!(sb.handle.count(Endpoint::LiveList), 1);
    assert_eq!(sb.handle.count(Endpoint::LiveStart), 1);
    let requests = sb.handle.requests();
    assert_eq!(requests[0].path, "/v1/access_token/REDACTED");
    assert!(
        requests.iter().all(|r| !r.path.contains(KEY)),
        "{requests:?}"
    );
}

#[tokio::test]
async fn odd_paths_and_methods_never_break_the_server() {
    let (sb, token, stream) = with_stream().await;
    let id = str_of(&stream["id"]);
    let long = "a".repeat(5000);
    let paths = [
        "/v1/live-streams/".to_string(),
        "/v1/live-streams//start".to_string(),
        "/v1/live-streams/%FF%FE".to_string(),
        "/v1/live-streams/%00".to_string(),
        "/v1/live-streams/..%2F..%2Fetc".to_string(),
        format!("/v1/live-streams/{id}%2Fstart"),
        format!("/v1/live-streams/{id}/unknown"),
        format!("/v1/live-streams/{id}/playback-ids/%FF"),
        format!("/v1/live-streams/{id}/simulcast-targets/a/b"),
        format!("/v1/live-streams/{long}"),
        "/v1/live-streams/%E2%98%83/stop".to_string(),
        "/v1/access_token/".to_string(),
        "/v1/access_token/a/b".to_string(),
    ];
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ];
    for path in &paths {
        for method in &methods {
            for bearer in [None, Some(token.as_str())] {
                let (status, _) = sb.live(method.clone(), path, bearer, None).await;
                assert!(
                    [400, 401, 404, 405].contains(&status.as_u16()),
                    "{method} {path}: {status}"
                );
            }
        }
    }
    let (status, body) = sb
        .live(Method::PATCH, "/v1/live-streams", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["message"].is_string(), "{body}");
    let (status, body) = sb
        .live(
            Method::GET,
            &format!("/v1/live-streams/{id}/nope"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string(), "{body}");
    // Still serving, and the stream untouched.
    assert_eq!(sb.live_get(&token, &id).await["status"]["name"], "created");
}
