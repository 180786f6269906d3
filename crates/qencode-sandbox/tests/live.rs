//! Live Streaming API over real HTTP: tokens and bearer checks, the stream
//! object's shape, params, updates, playback ids, simulcast targets, deletion,
//! the request log and odd paths.

mod common;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use common::live::{claims, is_timestamp, is_uuid, stream_path, with_stream};
use common::{spawn, spawn_default, str_of, KEY};
use qencode_sandbox::SandboxConfig;

#[tokio::test]
async fn access_token_is_a_jwt_whose_exp_tells_its_lifetime() {
    let sb = spawn(SandboxConfig {
        live_token_ttl: Duration::from_secs(3600),
        ..SandboxConfig::default()
    })
    .await;
    let token = sb.live_token().await;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("header")).expect("json");
    assert_eq!(header["typ"], "JWT");
    let claims = claims(&token);
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert_eq!(exp - iat, 3600, "{claims}");
    assert!((iat - Utc::now().timestamp()).abs() <= 60, "{claims}");
    assert!(claims["sub"].is_u64(), "{claims}");
    assert_ne!(token, sb.live_token().await);
}

#[tokio::test]
async fn unknown_live_keys_are_401_and_keys_rotate() {
    let sb = spawn_default().await;
    for path in ["/v1/access_token/not-a-key", "/v1/access_token/%FF%FE"] {
        let (status, body) = sb.live(Method::POST, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body, json!({"message": "invalid api key"}));
    }
    let old = sb.live_token().await;
    sb.handle.set_live_api_keys(vec!["live-2".into()]);
    let path = format!("/v1/access_token/{KEY}");
    let (status, _) = sb.live(Method::POST, &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = sb
        .live(Method::POST, "/v1/access_token/live-2", None, None)
        .await;
    assert_eq!(status, 200, "{body}");
    // Tokens issued under the old key stay valid; the Transcoding keys are apart.
    sb.live_create(&old, None).await;
    let body = sb.call("/v1/access_token", &[("api_key", KEY)]).await;
    assert_eq!(body["error"], 0, "{body}");
}

#[tokio::test]
async fn bearer_token_is_required_and_checked() {
    let (sb, token, stream) = with_stream().await;
    let path = stream_path(&stream["id"]);
    let transcoding_token = sb.token().await;
    let cases: [(Option<&str>, &str); 3] = [
        (None, "missing"),
        (Some("garbage"), "garbage"),
        (Some(&transcoding_token), "transcoding token"),
    ];
    for (bearer, what) in cases {
        for (method, path) in [
            (Method::GET, path.as_str()),
            (Method::POST, "/v1/live-streams"),
        ] {
            let (status, body) = sb.live(method, path, bearer, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} {path}");
            assert!(body["message"].is_string(), "{what}: {body}");
        }
    }
    let response = sb
        .request(Method::GET, &path)
        .basic_auth("user", Some(token.as_str()))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Unknown streams are 401 without a token (auth comes first), 404 with one.
    let (status, _) = sb
        .live(Method::GET, "/v1/live-streams/nope", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = sb
        .live(Method::GET, "/v1/live-streams/nope", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn revoked_live_tokens_are_401() {
    let (sb, token, stream) = with_stream().await;
    let path = stream_path(&stream["id"]);
    sb.handle.revoke_tokens();
    let (status, body) = sb.live(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].is_string(), "{body}");
    let fresh = sb.live_token().await;
    sb.live_get(&fresh, &str_of(&stream["id"])).await;
}

#[tokio::test(start_paused = true)]
async fn expired_live_tokens_are_401() {
    let sb = spawn(SandboxConfig {
        live_token_ttl: Duration::from_secs(60),
        ..SandboxConfig::default()
    })
    .await;
    let token = sb.live_token().await;
    tokio::time::advance(Duration::from_secs(59)).await;
    let (status, _) = sb
        .live(Method::GET, "/v1/live-streams", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    tokio::time::advance(Duration::from_secs(1)).await;
    let (status, _) = sb
        .live(Method::GET, "/v1/live-streams", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_new_stream_looks_like_the_documented_example() {
    let (sb, _, stream) = with_stream().await;
    assert!(is_uuid(&stream["id"]), "{stream}");
    assert!(is_uuid(&stream["stream_key"]), "{stream}");
    let name = str_of(&stream["name"]);
    let suffix = name.strip_prefix("Stream_").expect("generated name");
    assert!(
        suffix.len() == 8
            && suffix
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{name}"
    );
    assert_eq!(stream["status"]["name"], "created");
    assert!(is_timestamp(&stream["status"]["timestamp"]), "{stream}");
    assert!(is_timestamp(&stream["created_at"]), "{stream}");
    assert_eq!(
        stream["server_urls"],
        json!({"rtmp": "rtmp://rtmp-live.qencode.com/qlive",
               "rtmps": "rtmps://rtmp-live.qencode.com/qlive"})
    );
    assert_eq!(stream["quality"], "LIVE SD");
    assert_eq!(stream["simulcast_targets"], json!([]));
    assert!(stream.get("origin_host").is_none() && stream.get("origin_url").is_none());
    let playback = &stream["playback_ids"][0];
    assert_eq!(stream["playback_ids"].as_array().map(Vec::len), Some(1));
    assert_eq!(playback["policy"], "public");
    assert!(is_timestamp(&playback["created"]), "{playback}");
    let playback_id = str_of(&playback["id"]);
    assert_eq!(
        playback["playback_url"],
        format!("https://play-{playback_id}.qencode.com/qhls/qlive/playlist.m3u8")
    );
    assert_eq!(
        stream["params"],
        json!({
            "input_format": "rtmp", "output_format": "hls", "framerate": 0, "mode": "auto",
            "callback_url": null, "stream_timeout": 120,
            "dvr": {"enabled": false, "destination": null, "stream_source": "auto",
                    "format": "mp4", "max_file_duration": 14400}
        })
    );
    let snapshot = sb
        .handle
        .live_stream(&str_of(&stream["id"]))
        .expect("snapshot");
    assert_eq!(snapshot.status, "created");
    assert_eq!(snapshot.last_body, None);
    assert_eq!(snapshot.params, stream["params"]);
    assert_eq!(snapshot.playback_ids[0].id, playback_id);
    assert!(!snapshot.deleted);
    assert!(sb.handle.live_stream("unknown").is_none());
}

#[tokio::test]
async fn create_params_are_stored_as_sent_and_read_back() {
    let sb = spawn_default().await;
    let token = sb.live_token().await;
    let sent = json!({
        "name": "test-stream-name", "input_format": "srt", "output_format": "hls",
        "framerate": "30", "stream_timeout": 300, "callback_url": "https://example.com/cb",
        "playback_domain": "play.example.com", "ignored": {"x": 1},
        "dvr": {"enabled": 1, "format": ["mp4", "hls"], "resolution": "720p",
                "destination": {"url": "s3://us-west.s3.qencode.com/b/dvr", "key": "k",
                                "secret": "s", "permissions": "public-read"}}
    });
    let stream = sb.live_create(&token, Some(&sent)).await;
    assert_eq!(stream["name"], "test-stream-name");
    let params = &stream["params"];
    assert_eq!(params["input_format"], "srt");
    assert_eq!(params["framerate"], "30");
    assert_eq!(params["stream_timeout"], 300);
    assert_eq!(params["playback_domain"], "play.example.com");
    assert!(params.get("ignored").is_none() && params.get("name").is_none());
    assert_eq!(params["dvr"]["enabled"], 1);
    assert_eq!(params["dvr"]["format"], json!(["mp4", "hls"]));
    assert_eq!(params["dvr"]["destination"]["permissions"], "public-read");
    assert_eq!(params["dvr"]["max_file_duration"], 14400);

    let id = str_of(&stream["id"]);
    assert_eq!(sb.live_get(&token, &id).await, stream);
    let snapshot = sb.handle.live_stream(&id).expect("snapshot");
    assert_eq!(snapshot.last_body, Some(sent));
    assert_eq!(&snapshot.params, params);
    assert_eq!(snapshot.name, "test-stream-name");

    // JSON without a JSON content type, as the document's curl examples send it.
    let response = sb
        .request(Method::POST, "/v1/live-streams")
        .bearer_auth(&token)
        .body(r#"{"name": "raw"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["stream"]["name"], "raw");
}

#[tokio::test]
async fn bad_create_bodies_are_400() {
    let sb = spawn_default().await;
    let token = sb.live_token().await;
    for body in [
        json!({"framerate": 120}),
        json!({"input_format": "ftp"}),
        json!({"dvr": {"enabled": "yes"}}),
        json!({"dvr": {"destination": {"url": "https://not-storage"}}}),
        json!(["not", "an", "object"]),
    ] {
        let (status, answer) = sb
            .live(Method::POST, "/v1/live-streams", Some(&token), Some(&body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let response = sb
        .request(Method::POST, "/v1/live-streams")
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, body) = sb
        .live(Method::GET, "/v1/live-streams", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["streams"], json!([]), "rejected creates made streams");
}

#[tokio::test]
async fn update_needs_a_known_param_and_merges() {
    let (sb, token, stream) = with_stream().await;
    let path = stream_path(&stream["id"]);
    for body in [None, Some(json!({})), Some(json!({"unknown": 1}))] {
        let (status, answer) = sb
            .live(Method::PUT, &path, Some(&token), body.as_ref())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(answer["message"], "at least one stream param is required");
    }
    let (status, _) = sb
        .live(
            Method::PUT,
            &path,
            Some(&token),
            Some(&json!({"framerate": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let update = json!({"name": "test-stream-update1", "output_format": "cmaf",
                        "dvr": {"enabled": 1, "destination": {"url": "s3://b/p"}}});
    let (status, body) = sb
        .live(Method::PUT, &path, Some(&token), Some(&update))
        .await;
    assert_eq!(status, 200, "{body}");
    let updated = &body["stream"];
    assert_eq!(updated["name"], "test-stream-update1");
    assert_eq!(updated["params"]["output_format"], "cmaf");
    assert_eq!(updated["params"]["input_format"], "rtmp");
    assert_eq!(updated["params"]["dvr"]["enabled"], 1);
    assert_eq!(updated["params"]["dvr"]["stream_source"], "auto");
    assert_eq!(updated["id"], stream["id"]);
    let snapshot = sb
        .handle
        .live_stream(&str_of(&stream["id"]))
        .expect("snapshot");
    assert_eq!(snapshot.last_body, Some(update));

    let (status, _) = sb
        .live(
            Method::PUT,
            "/v1/live-streams/nope",
            Some(&token),
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
