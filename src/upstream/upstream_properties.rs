//! Property tests of what reads upstream answers and what guards the gateway's own
//! requests: status and stream parsers, error-code mapping, retry delays, the
//! trusted-host rule and `query_json` validation. Each runs a bounded number of cases
//! so the suite stays fast in debug; a failing case proptest finds is kept as a named
//! regression test next to the parser.
//!
//! Inputs are built from the shapes the API reference's examples use (numbers as
//! strings, `"None"`, JSON inside strings, 0/1/false) mixed with arbitrary values.

use super::{
    codes::{body_retry_after, error_code, map_code, TokenUse},
    live_stream::{parse_params, parse_stream},
    retry::retry_after,
    task_status::parse_task_status,
    trusted::TrustedHosts,
};
use crate::{
    domain::transcoding::query_check::{query, QueryInput},
    support::error::{Violations, MAX_VIOLATION_BYTES},
    upstream::lenient::lenient_properties::json_value,
};
use proptest::prelude::*;
use prost::Message;
use serde_json::{json, Map, Value};
use std::time::Duration;
use url::Url;

/// Field values in the shapes the reference's examples show for the same field.
fn lenient_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("None")),
        Just(json!(null)),
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(false)),
        Just(json!("1")),
        Just(json!("12.5")),
        Just(json!("{\"width\": 854}")),
        Just(json!("[1, 2]")),
        Just(json!("completed")),
        Just(json!("ENCODING")),
        any::<f64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<String>().prop_map(Value::String),
    ]
}

/// A task status object with the documented keys, each holding any lenient shape.
fn task_status_like() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "status",
        "percent",
        "error",
        "error_description",
        "status_url",
        "videos",
        "audios",
        "images",
        "warnings",
        "source_size",
        "duration",
        "incremental_tag",
    ];
    let field = prop_oneof![3 => lenient_scalar(), 1 => json_value()];
    let output = prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "status", "percent", "tag", "url", "meta", "storage", "size", "error",
                ][..],
            ),
            prop_oneof![lenient_scalar(), json_value()],
        ),
        0..6,
    )
    .prop_map(|fields| Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    (
        prop::collection::vec((prop::sample::select(KEYS), field), 0..10),
        prop::collection::vec(output, 0..3),
    )
        .prop_map(|(fields, outputs)| {
            let mut object: Map<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            object.insert("videos".into(), Value::Array(outputs));
            Value::Object(object)
        })
}

/// JSON nested `depth` levels deep through objects and arrays.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("leaf"), |inner, level| {
        if level % 2 == 0 {
            json!({ "k": inner })
        } else {
            json!([inner])
        }
    })
}

/// A status object, or the same object written inside a JSON string (as the reference's
/// examples do for `meta`), or anything else.
fn status_in_any_shape() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => task_status_like(),
        1 => task_status_like().prop_map(|status| Value::String(status.to_string())),
        1 => task_status_like().prop_map(|status| {
            let mut status = status;
            if let Some(Value::Array(videos)) = status.get_mut("videos") {
                for video in videos.iter_mut() {
                    *video = Value::String(video.to_string());
                }
            }
            status
        }),
        1 => json_value(),
        1 => lenient_scalar(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The typed reader of status answers (GetStatus's hot path) yields exactly what the
    /// `Value` path yields for the same answer: the same error code, and for each token
    /// the status `parse_task_status` reads, or none where it reads none.
    #[test]
    fn typed_status_answers_equal_the_value_path(
        statuses in prop::collection::vec(("[a-f0-9]{1,4}", status_in_any_shape()), 0..4),
        error in lenient_scalar(),
        statuses_shape in 0u8..4,
    ) {
        use super::{client::Answer, status_answer::StatusAnswer};
        let map: Map<String, Value> = statuses.into_iter().collect();
        let statuses = match statuses_shape {
            0 => Value::String(Value::Object(map.clone()).to_string()),
            1 => json!([1]),
            _ => Value::Object(map.clone()),
        };
        let text = json!({"error": error, "statuses": statuses}).to_string();
        // The `Value` path as the gateway ran it: parsed from the same text (serde_json's
        // float parsing is not exact, so the generated value itself may differ by an ulp).
        let body = crate::upstream::lenient::parse_json(&text).expect("JSON reads");
        let typed = StatusAnswer::read(&text).expect("JSON reads");
        prop_assert!(typed.is_object && typed.names_error);
        prop_assert_eq!(typed.code, error_code(&body));
        let by_value = body["statuses"].as_object().map(|m| {
            m.iter()
                .map(|(token, status)| (token.clone(), parse_task_status(status)))
                .collect::<std::collections::BTreeMap<_, _>>()
        });
        prop_assert_eq!(typed.statuses, by_value);
    }

    /// Any status answer parses without panicking, and what it yields encodes to
    /// protobuf that decodes again (prost stops at 100 levels of nesting).
    #[test]
    fn task_statuses_parse_and_round_trip_through_protobuf(
        value in prop_oneof![task_status_like(), json_value()],
    ) {
        if let Some(status) = parse_task_status(&value) {
            let bytes = status.encode_to_vec();
            let decoded = crate::pb::TaskStatus::decode(bytes.as_slice());
            prop_assert!(decoded.is_ok(), "{:?}", decoded.err());
            prop_assert_eq!(decoded.unwrap(), status);
        }
    }

    /// A `meta` of any depth still yields a message every client can decode.
    #[test]
    fn deep_meta_stays_decodable(depth in 0usize..200) {
        let value = json!({"status": "completed", "videos": [{"meta": {"deep": nested(depth)}}]});
        let status = parse_task_status(&value).expect("an object parses");
        let bytes = status.encode_to_vec();
        prop_assert!(crate::pb::TaskStatus::decode(bytes.as_slice()).is_ok());
    }

    /// Stream objects and their params in any shape parse without panicking.
    #[test]
    fn streams_and_params_parse(value in prop_oneof![json_value(), task_status_like()]) {
        let _ = parse_stream(&value);
        if let Value::Object(object) = &value {
            let _ = parse_params(object);
        }
    }

    /// `error` as a number or a numeric string is read as that code; 0 is success.
    #[test]
    fn error_codes_read_in_every_shape(code in -1000i64..1000, as_text in any::<bool>()) {
        let body = if as_text { json!({"error": code.to_string()}) } else { json!({"error": code}) };
        prop_assert_eq!(error_code(&body), (code != 0).then_some(code));
    }

    /// Any code and message map to a QENCODE_ reason that names the code, and only a
    /// refused session token asks for a token refresh.
    #[test]
    fn every_code_maps_to_a_named_reason(
        code in any::<i64>(),
        message in proptest::option::of(any::<String>()),
        field in proptest::option::of("[a-z_.]{0,20}"),
        use_index in 0usize..3,
    ) {
        let token_use = [TokenUse::ApiKey, TokenUse::SessionToken, TokenUse::TaskToken][use_index];
        let mapped = map_code(code, message.as_deref(), field.as_deref(), token_use, None);
        prop_assert!(mapped.error.reason.starts_with("QENCODE_"));
        prop_assert_eq!(mapped.error.metadata.get("code"), Some(&code.to_string()));
        if mapped.session_token_rejected {
            prop_assert!(token_use == TokenUse::SessionToken);
        }
    }

    /// A retry delay from a body or a header is never negative and never past an hour,
    /// whatever the upstream wrote.
    #[test]
    fn retry_delays_are_bounded(value in lenient_scalar(), header in any::<String>()) {
        for key in ["retry_after", "retry", "retry_in"] {
            if let Some(delay) = body_retry_after(&json!({ key: value.clone() })) {
                prop_assert!(delay <= Duration::from_secs(3600));
            }
        }
        if let Ok(header_value) = http::HeaderValue::from_str(&header) {
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::RETRY_AFTER, header_value);
            if let Some(delay) = retry_after(&headers) {
                prop_assert!(delay <= Duration::from_secs(3600));
            }
        }
    }

    /// Whatever URL the upstream returns, what the trusted-host rule lets through is
    /// on the API's own origin or https under the trusted domain, with no credentials,
    /// and an upload location lies under the upload endpoint as written.
    #[test]
    fn trusted_urls_stay_where_they_were_allowed(candidate in candidate_url()) {
        let api = Url::parse("http://127.0.0.1:8100/").unwrap();
        let rule = TrustedHosts::new(api.clone(), "qencode.com");
        if let Some(url) = rule.check(&candidate) {
            let host = url.host_str().unwrap_or_default().to_owned();
            let own = url.origin() == api.origin();
            let trusted = url.scheme() == "https"
                && (host == "qencode.com" || host.ends_with(".qencode.com"));
            prop_assert!(own || trusted, "{candidate} -> {url}");
            prop_assert!(url.username().is_empty() && url.password().is_none());
        }
        if let Some(url) = rule.check_endpoint(&candidate, "/v1/status") {
            prop_assert!(url.path().trim_end_matches('/').ends_with("/v1/status"), "{url}");
            prop_assert!(!candidate.contains("/../") && !candidate.contains("/./"));
        }
        let base = Url::parse("https://storage.qencode.com/v1/upload_file").unwrap();
        if let Some(url) = rule.check_under(&candidate, &base) {
            prop_assert!(url.path().starts_with("/v1/upload_file"), "{url}");
            prop_assert_eq!(url.origin(), base.origin());
            // No dot segment in the path as written, encoded or not (a query may hold
            // anything: it is not resolved against the path).
            let path = candidate.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
            prop_assert!(
                !path.split('/').any(|s| matches!(s.replace("%2e", ".").as_str(), "." | "..")),
                "{candidate} -> {url}"
            );
        }
    }

    /// `query_json` validation never panics, refuses any text past the size limit
    /// before parsing it, and reports at most a bounded amount of violations.
    #[test]
    fn query_json_validation_is_total_and_bounded(
        text in prop_oneof![
            crate::upstream::lenient::lenient_properties::almost_json(64),
            json_value().prop_map(|v| v.to_string()),
            stitch_query(),
        ],
        max in 16usize..4096,
    ) {
        let mut v = Violations::default();
        let inner = query(Some(&QueryInput::Raw(text.clone())), max, &mut v);
        if text.len() > max {
            prop_assert!(inner.is_none());
        }
        let error = v.into_result();
        if let Err(error) = error {
            let data = error.into_data();
            let bytes: usize = data
                .violations
                .iter()
                .map(|f| f.field.len() + f.description.len())
                .sum();
            prop_assert!(bytes <= MAX_VIOLATION_BYTES + 512, "{bytes}");
        }
    }
}

/// A `query_json` of many stitch entries, valid and invalid.
fn stitch_query() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just(json!("not a url")),
            Just(json!({"url": "https://example.com/a.mp4"})),
            Just(json!({"url": 5})),
            any::<String>().prop_map(Value::String),
        ],
        0..400,
    )
    .prop_map(|stitch| {
        json!({"query": {"stitch": stitch, "format": [{"output": "mp4"}]}}).to_string()
    })
}

/// Path segments that resolve to another path than written (dot segments, plain or
/// percent-encoded, an encoded slash, a backslash) or are empty: the shapes URL checks
/// must not be fooled by. Shared with the upload URL properties.
pub(crate) const RESOLVING_SEGMENTS: [&str; 7] = ["..", ".", "%2e%2e", "%2E", "%2f", "a\\b", ""];

/// URLs assembled from parts that make the trusted-host rule hard: look-alike hosts,
/// credentials, ports, dot segments plain and encoded, backslashes.
fn candidate_url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(&["https", "http", "https", "HTTPS", "ftp"][..]);
    let userinfo = prop::sample::select(&["", "", "", "user@", "user:pw@"][..]);
    let host = prop::sample::select(
        &[
            "127.0.0.1:8100",
            "storage.qencode.com",
            "127.0.0.1:8101",
            "127.0.0.1",
            "localhost:8100",
            "qencode.com",
            "storage.qencode.com",
            "STORAGE.QENCODE.COM",
            "qencode.com.evil.com",
            "evilqencode.com",
            "storage.qencode.com:444",
            "169.254.169.254",
        ][..],
    );
    // In this order, so the seeds kept in the regressions file still make their cases.
    let mut segments = vec!["v1", "status", "upload_file", "access_token"];
    segments.extend(RESOLVING_SEGMENTS);
    segments.extend(["task", "x?y", "#frag"]);
    let segment = prop::sample::select(segments);
    // Most candidates start like a real status or upload URL, so the rest of the
    // path is what decides.
    let prefix = prop::sample::select(&["", "v1/status/", "v1/upload_file/", "v1/"][..]);
    (
        scheme,
        userinfo,
        host,
        prefix,
        prop::collection::vec(segment, 0..5),
    )
        .prop_map(|(scheme, userinfo, host, prefix, segments)| {
            format!("{scheme}://{userinfo}{host}/{prefix}{}", segments.join("/"))
        })
}
