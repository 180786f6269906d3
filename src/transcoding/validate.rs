//! Local checks of Transcoding requests, run before any upstream call so a bad request
//! costs the caller one round trip to the gateway, not to Qencode.

use crate::{error::Violations, pb, proto_json};
use serde_json::{Map, Value};

/// Most task tokens one GetStatus call may ask about.
pub const MAX_STATUS_TOKENS: usize = 100;
/// Qencode's documented payload limit, in characters.
pub const MAX_PAYLOAD_CHARS: usize = 1000;

/// Output formats the Transcoding API documents.
pub const OUTPUT_FORMATS: &[&str] = &[
    "mp4",
    "webm",
    "advanced_hls",
    "advanced_dash",
    "webm_dash",
    "repack",
    "mp3",
    "hls_audio",
    "flac",
    "gif",
    "thumbnail",
    "thumbnails",
    "metadata",
    "speech_to_text",
];

/// URL schemes accepted for sources: http(s), the file transfer protocols and the
/// storage prefixes the reference lists for destinations (s3, b2, azblob, ftp(s), sftp),
/// plus gs and azure as Qencode's storage tutorials name them, and `tus:<file_uuid>` for
/// direct uploads.
pub const SOURCE_SCHEMES: &[&str] = &[
    "http", "https", "ftp", "ftps", "sftp", "s3", "gs", "b2", "azblob", "azure", "tus",
];

/// Checks one source URL (`field` names it): a URL with a listed scheme and a host, or
/// `tus:<file_uuid>`.
pub fn source_url(field: &str, value: &str, v: &mut Violations) {
    let value = value.trim();
    if let Some(uuid) = value.strip_prefix("tus:") {
        if uuid.trim_matches('/').trim().is_empty() {
            v.add(
                field,
                "a tus: source needs the file id UploadFile returned (tus:<file_uuid>)",
            );
        }
        return;
    }
    match url::Url::parse(value) {
        Ok(url) if !SOURCE_SCHEMES.contains(&url.scheme()) => v.add(
            field,
            format!(
                "scheme '{}' is not a source scheme ({})",
                url.scheme(),
                SOURCE_SCHEMES.join(", ")
            ),
        ),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => {
            v.add(field, "must name a host (or bucket)")
        }
        Ok(_) => {}
        Err(e) => v.add(field, format!("is not a URL ({e})")),
    }
}

/// The query as the caller sent it.
#[derive(Debug, Clone)]
pub enum QueryInput {
    /// The typed message.
    Typed(pb::TranscodingQuery),
    /// Raw JSON, with or without the `{"query": ...}` wrapper.
    Raw(String),
}

/// Checks the optional payload.
pub fn payload(payload: Option<&str>, v: &mut Violations) {
    if let Some(p) = payload {
        let chars = p.chars().count();
        if chars > MAX_PAYLOAD_CHARS {
            v.add(
                "payload",
                format!("is {chars} characters; at most {MAX_PAYLOAD_CHARS} allowed"),
            );
        }
    }
}

/// Checks GetStatus tokens; returns them without duplicates, in request order.
pub fn status_tokens(tokens: Vec<String>, v: &mut Violations) -> Vec<String> {
    if tokens.is_empty() {
        v.add("task_tokens", "must name at least one task");
    }
    if tokens.len() > MAX_STATUS_TOKENS {
        v.add(
            "task_tokens",
            format!(
                "has {} tokens; at most {MAX_STATUS_TOKENS} per call",
                tokens.len()
            ),
        );
        return Vec::new();
    }
    let mut unique: Vec<String> = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.into_iter().enumerate() {
        crate::ids::check(&format!("task_tokens[{i}]"), &token, v);
        if !unique.contains(&token) {
            unique.push(token);
        }
    }
    unique
}

/// Turns the caller's query into the inner query object sent upstream, recording every
/// problem found. The typed form is checked fully; the raw form (the escape hatch for
/// attributes this gateway does not type yet) only for JSON syntax and its shape.
pub fn query(
    input: Option<&QueryInput>,
    max_query_json: usize,
    v: &mut Violations,
) -> Option<Map<String, Value>> {
    match input {
        None => {
            v.add("query", "is required (set query or query_json)");
            None
        }
        Some(QueryInput::Typed(typed)) => {
            if !crate::limits::typed_query_fits(typed, max_query_json, v) {
                return None;
            }
            match proto_json::query_to_json(typed) {
                Ok(Value::Object(inner)) => {
                    shape(&inner, "query", v);
                    outputs(&inner, v);
                    Some(inner)
                }
                Ok(_) => None,
                Err(error) => {
                    v.add_json_error(error);
                    None
                }
            }
        }
        Some(QueryInput::Raw(text)) => {
            if !crate::limits::query_json_fits(text, max_query_json, v) {
                return None;
            }
            let parsed: Value = match serde_json::from_str(text) {
                Ok(value) => value,
                Err(e) => {
                    v.add("query_json", format!("is not valid JSON: {e}"));
                    return None;
                }
            };
            let inner = match parsed {
                Value::Object(mut outer) if outer.len() == 1 && outer.contains_key("query") => {
                    outer.remove("query")
                }
                other => Some(other),
            };
            match inner {
                Some(Value::Object(inner)) => {
                    shape(&inner, "query_json", v);
                    Some(inner)
                }
                _ => {
                    v.add(
                        "query_json",
                        "must be a JSON object (optionally wrapped as {\"query\": {...}})",
                    );
                    None
                }
            }
        }
    }
}

/// Exactly one of source/stitch, and a non-empty format list of objects.
fn shape(inner: &Map<String, Value>, prefix: &str, v: &mut Violations) {
    let has_source = matches!(inner.get("source"), Some(Value::String(s)) if !s.trim().is_empty());
    let has_stitch = matches!(inner.get("stitch"), Some(Value::Array(items)) if !items.is_empty());
    match (has_source, has_stitch) {
        (false, false) => v.add(
            format!("{prefix}.source"),
            "set exactly one of source or stitch (neither is set)",
        ),
        (true, true) => v.add(
            format!("{prefix}.stitch"),
            "set exactly one of source or stitch (both are set)",
        ),
        (true, false) => {
            if let Some(Value::String(source)) = inner.get("source") {
                source_url(&format!("{prefix}.source"), source, v);
            }
        }
        _ => {}
    }
    if let Some(Value::Array(items)) = inner.get("stitch") {
        for (i, item) in items.iter().enumerate() {
            let url = match item {
                Value::String(url) => Some(url.as_str()),
                Value::Object(clip) => clip.get("url").and_then(Value::as_str),
                _ => None,
            };
            match url.filter(|u| !u.trim().is_empty()) {
                Some(url) => source_url(&format!("{prefix}.stitch[{i}].url"), url, v),
                None => v.add(format!("{prefix}.stitch[{i}]"), "needs a URL"),
            }
        }
    }
    match inner.get("format") {
        Some(Value::Array(formats)) if !formats.is_empty() => {
            for (i, format) in formats.iter().enumerate() {
                if !format.is_object() {
                    v.add(format!("{prefix}.format[{i}]"), "must be an object");
                }
            }
        }
        _ => v.add(
            format!("{prefix}.format"),
            "must list at least one output format",
        ),
    }
}

/// Every typed format names a documented output.
fn outputs(inner: &Map<String, Value>, v: &mut Violations) {
    let Some(Value::Array(formats)) = inner.get("format") else {
        return;
    };
    for (i, format) in formats.iter().enumerate() {
        match format.get("output").and_then(Value::as_str) {
            None | Some("") => v.add(format!("query.format[{i}].output"), "is required"),
            Some(output) if !OUTPUT_FORMATS.contains(&output) => v.add(
                format!("query.format[{i}].output"),
                format!(
                    "'{output}' is not a documented output format ({})",
                    OUTPUT_FORMATS.join(", ")
                ),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default `query_json` limit.
    const MAX: usize = crate::limits::DEFAULT_MAX_QUERY_JSON;
    use crate::error::FieldViolation;

    fn violations(f: impl FnOnce(&mut Violations)) -> Vec<FieldViolation> {
        let mut v = Violations::default();
        f(&mut v);
        v.into_result()
            .err()
            .map(|e| e.into_data().violations)
            .unwrap_or_default()
    }

    fn fields(vs: &[FieldViolation]) -> Vec<&str> {
        vs.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn tokens() {
        assert!(
            violations(|v| crate::ids::check("t", "471272a512d76c22665db9dcee893409", v))
                .is_empty()
        );
        for bad in ["", "a,b", "a b", "../x", &"a".repeat(129)] {
            assert_eq!(
                fields(&violations(|v| crate::ids::check("t", bad, v))),
                ["t"],
                "{bad:?}"
            );
        }
        let many = vec!["a".to_string(); MAX_STATUS_TOKENS + 1];
        assert_eq!(
            fields(&violations(|v| {
                status_tokens(many, v);
            })),
            ["task_tokens"]
        );
        let mut v = Violations::default();
        assert_eq!(
            status_tokens(vec!["a".into(), "b".into(), "a".into()], &mut v),
            ["a", "b"]
        );
    }

    #[test]
    fn payload_limit_counts_characters() {
        assert!(violations(|v| payload(Some(&"é".repeat(1000)), v)).is_empty());
        assert_eq!(
            fields(&violations(|v| payload(Some(&"x".repeat(1001)), v))),
            ["payload"]
        );
    }

    #[test]
    fn raw_queries_with_or_without_wrapper() {
        let mut v = Violations::default();
        let inner = query(
            Some(&QueryInput::Raw(
                r#"{"query": {"source": "https://a/b.mp4", "format": [{"output": "new_fmt"}]}}"#
                    .into(),
            )),
            MAX,
            &mut v,
        );
        assert!(
            inner.is_some() && v.into_result().is_ok(),
            "raw output values pass through"
        );
        let mut v = Violations::default();
        query(
            Some(&QueryInput::Raw(
                r#"{"source": "https://a/b.mp4", "format": []}"#.into(),
            )),
            MAX,
            &mut v,
        );
        assert_eq!(
            fields(&v.into_result().unwrap_err().violations),
            ["query_json.format"]
        );
        assert_eq!(
            fields(&violations(|v| {
                query(Some(&QueryInput::Raw("{nope".into())), MAX, v);
            })),
            ["query_json"]
        );
        assert_eq!(
            fields(&violations(|v| {
                query(Some(&QueryInput::Raw("[]".into())), MAX, v);
            })),
            ["query_json"]
        );
    }

    #[test]
    fn sources_use_a_listed_scheme() {
        for good in [
            "https://example.com/in.mp4",
            "http://example.com/in.mp4",
            "s3://us-west.s3.qencode.com/bucket/in.mp4",
            "ftp://user@ftp.example.com/in.mp4",
            "sftp://host/in.mp4",
            "gs://bucket/in.mp4",
            "b2://bucket/in.mp4",
            "azblob://container/in.mp4",
            "tus:0123456789abcdef",
        ] {
            assert!(
                violations(|v| source_url("query.source", good, v)).is_empty(),
                "{good}"
            );
        }
        for bad in [
            "mp4",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "tus:",
            "https://",
            "s",
        ] {
            assert_eq!(
                fields(&violations(|v| source_url("query.source", bad, v))),
                ["query.source"],
                "{bad}"
            );
        }
        let stitched = pb::TranscodingQuery {
            stitch: vec![
                pb::StitchItem {
                    item: Some(pb::stitch_item::Item::Url("https://a/1.mp4".into())),
                },
                pb::StitchItem {
                    item: Some(pb::stitch_item::Item::Clip(pb::StitchClip {
                        url: Some("file:///x.mp4".into()),
                        ..Default::default()
                    })),
                },
            ],
            format: vec![pb::Format {
                output: Some("mp4".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            fields(&violations(|v| {
                query(Some(&QueryInput::Typed(stitched)), MAX, v);
            })),
            ["query.stitch[1].url"]
        );
    }

    #[test]
    fn a_typed_query_over_the_limit_is_one_violation_before_any_conversion() {
        // 300,000 non-URL stitch items: 1.5 MB encoded, over the default 1 MiB. Past the
        // limit nothing is converted, so there is one violation, not one per item.
        let huge = pb::TranscodingQuery {
            stitch: (0..300_000)
                .map(|_| pb::StitchItem {
                    item: Some(pb::stitch_item::Item::Url("x".into())),
                })
                .collect(),
            ..Default::default()
        };
        let found = violations(|v| {
            assert!(query(Some(&QueryInput::Typed(huge)), MAX, v).is_none());
        });
        assert_eq!(fields(&found), ["query"]);
        assert!(
            found[0].description.contains("GATEWAY_MAX_QUERY_JSON_SIZE")
                && found[0].description.contains(&MAX.to_string()),
            "{}",
            found[0].description
        );
        // Right at the limit the query is converted and checked as usual.
        let small = pb::TranscodingQuery {
            source: Some("https://a/b.mp4".into()),
            format: vec![pb::Format {
                output: Some("mp4".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let len = prost::Message::encoded_len(&small);
        assert!(violations(|v| {
            assert!(query(Some(&QueryInput::Typed(small)), len, v).is_some());
        })
        .is_empty());
    }

    #[test]
    fn typed_query_checks() {
        let format = |output: &str| pb::Format {
            output: Some(output.into()),
            ..Default::default()
        };
        let neither = pb::TranscodingQuery {
            format: vec![format("mp4")],
            ..Default::default()
        };
        assert_eq!(
            fields(&violations(|v| {
                query(Some(&QueryInput::Typed(neither)), MAX, v);
            })),
            ["query.source"]
        );
        let both = pb::TranscodingQuery {
            source: Some("https://a/b.mp4".into()),
            stitch: vec![pb::StitchItem {
                item: Some(pb::stitch_item::Item::Url("https://a/c.mp4".into())),
            }],
            format: vec![format("mp4")],
            ..Default::default()
        };
        assert_eq!(
            fields(&violations(|v| {
                query(Some(&QueryInput::Typed(both)), MAX, v);
            })),
            ["query.stitch"]
        );
        let empty = pb::TranscodingQuery {
            source: Some("https://a/b.mp4".into()),
            ..Default::default()
        };
        assert_eq!(
            fields(&violations(|v| {
                query(Some(&QueryInput::Typed(empty)), MAX, v);
            })),
            ["query.format"]
        );
        let unknown = pb::TranscodingQuery {
            source: Some("https://a/b.mp4".into()),
            format: vec![format("mp4"), format("avi")],
            ..Default::default()
        };
        assert_eq!(
            fields(&violations(|v| {
                query(Some(&QueryInput::Typed(unknown)), MAX, v);
            })),
            ["query.format[1].output"]
        );
        assert_eq!(
            fields(&violations(|v| {
                query(None, MAX, v);
            })),
            ["query"]
        );
    }
}
