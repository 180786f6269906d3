//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;

fn jwt(payload: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.sig", b64("{\"alg\":\"HS256\"}"), b64(payload))
}

#[test]
fn lifetime_from_exp() {
    let now = UNIX_EPOCH + Duration::from_secs(1_628_158_263);
    assert_eq!(
        jwt_lifetime(&jwt("{\"exp\": 1628244663}"), now),
        Some(Duration::from_secs(86_400))
    );
    assert_eq!(
        jwt_lifetime(&jwt("{\"exp\": \"1628158363\"}"), now),
        Some(Duration::from_secs(100))
    );
    assert_eq!(jwt_lifetime(&jwt("{\"exp\": 1}"), now), None, "expired");
    assert_eq!(jwt_lifetime(&jwt("{}"), now), None);
    assert_eq!(jwt_lifetime("not-a-jwt", now), None);
    assert_eq!(jwt_lifetime("a.!!!.c", now), None);
    // The document's own example token has a corrupted payload; it must not panic.
    let documented = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyjpYXQiOjE2MjgxNTgyNJMsInN1YiI6MTMwLCJleHAiOjE2MjgyNDQ2NjN9.SxS3zLx2CZbZ9ylTpd25kj9el6_4TqqTWUA9RT2iJ9I";
    let _ = jwt_lifetime(documented, now);
}

#[test]
fn ids_stay_single_segments() {
    let http = HttpClient::new(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
    let client = LiveClient::new(http, Url::parse("https://api-live.qencode.com").unwrap());
    let url = client.endpoint(&["live-streams", "../access_token/x", "start"]);
    assert_eq!(
        url.as_str(),
        "https://api-live.qencode.com/v1/live-streams/..%2Faccess_token%2Fx/start"
    );
}

fn answer(status: u16, message: &str) -> JsonResponse {
    JsonResponse {
        status: StatusCode::from_u16(status).unwrap(),
        retry_after: None,
        body: serde_json::json!({ "message": message }),
        text: bytes::Bytes::new(),
        headers: header::HeaderMap::new(),
    }
}

#[test]
fn statuses_blame_the_right_party() {
    let mapped = |op: &LiveOp, status: u16, message: &str| map_status(op, &answer(status, message));
    let stopped = mapped(
        &DELETE_STREAM,
        400,
        "live stream must be stopped before deleting",
    );
    assert_eq!(stopped.kind, ErrorKind::FailedPrecondition);
    assert_eq!(stopped.reason, "QENCODE_LIVE_STREAM_NOT_STOPPED");
    let other = mapped(&DELETE_STREAM, 400, "malformed request");
    assert_eq!(other.reason, "QENCODE_LIVE_BAD_REQUEST");
    assert!(other.violations.is_empty(), "DELETE sends no params");
    let conflict = mapped(&START_STREAM, 409, "already live");
    assert_eq!(conflict.kind, ErrorKind::FailedPrecondition);
    assert_eq!(conflict.reason, "QENCODE_LIVE_CONFLICT");
    let refused = mapped(&GET_STREAM, 401, "expired");
    assert_eq!(refused.kind, ErrorKind::FailedPrecondition);
    assert_eq!(refused.reason, "UPSTREAM_TOKEN_REJECTED");
    for op in [&ADD_PLAYBACK_ID, &ADD_SIMULCAST_TARGET, &START_STREAM] {
        let bad = mapped(op, 400, "no");
        assert_eq!(bad.kind, ErrorKind::InvalidArgument);
        assert!(bad.violations.is_empty(), "{} has no params", op.op.name);
    }
    for op in [&CREATE_STREAM, &UPDATE_STREAM] {
        let bad = mapped(op, 400, "no");
        assert_eq!(bad.violations[0].field, "params", "{}", op.op.name);
    }
}

#[test]
fn upstream_messages_in_any_shape() {
    assert_eq!(
        upstream_message(&serde_json::json!({"message": "m"})).as_deref(),
        Some("m")
    );
    assert_eq!(
        upstream_message(&serde_json::json!({"error": "e"})).as_deref(),
        Some("e")
    );
    assert_eq!(
        upstream_message(&serde_json::json!({"error": {"message": "n"}})).as_deref(),
        Some("n")
    );
    assert_eq!(
        upstream_message(&serde_json::json!({"detail": "d"})).as_deref(),
        Some("d")
    );
    assert_eq!(upstream_message(&serde_json::json!(null)), None);
}
