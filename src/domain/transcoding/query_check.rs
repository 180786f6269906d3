//! Local checks of Transcoding requests, run before any upstream call so a bad request
//! costs the caller one round trip to the gateway, not to Qencode.

use crate::{pb, proto_json, support::error::Violations};
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
        crate::domain::ids::check(&format!("task_tokens[{i}]"), &token, v);
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
            if !crate::support::limit_hits::typed_query_fits(typed, max_query_json, v) {
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
            if !crate::support::limit_hits::query_json_fits(text, max_query_json, v) {
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

/// Every typed format names a documented output, and every `size` (of a format or of
/// one of its streams) is one Qencode reads.
fn outputs(inner: &Map<String, Value>, v: &mut Violations) {
    let Some(Value::Array(formats)) = inner.get("format") else {
        return;
    };
    for (i, format) in formats.iter().enumerate() {
        size(&format!("query.format[{i}].size"), format.get("size"), v);
        if let Some(Value::Array(streams)) = format.get("stream") {
            for (j, stream) in streams.iter().enumerate() {
                let field = format!("query.format[{i}].stream[{j}].size");
                size(&field, stream.get("size"), v);
            }
        }
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

/// Checks a `size`: the reference documents it as `"width"x"height"` in pixels (e.g.
/// `360x240`), so two positive integers joined by a lowercase `x`. Anything else
/// (`abc`, `640`, `640X360`) would reach Qencode and fail the task, or worse, not.
fn size(field: &str, value: Option<&Value>, v: &mut Violations) {
    let Some(Value::String(text)) = value else {
        return;
    };
    let pixels = |side: &str| {
        !side.is_empty()
            && side.bytes().all(|b| b.is_ascii_digit())
            && side.parse::<u32>().is_ok_and(|n| n > 0)
    };
    match text.split_once('x') {
        Some((width, height)) if pixels(width) && pixels(height) => {}
        _ => v.add(
            field,
            format!("'{text}' is not a frame size: expected <width>x<height> in pixels, both positive integers (e.g. 1280x720)"),
        ),
    }
}

#[cfg(test)]
mod query_check_tests;
