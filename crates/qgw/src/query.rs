//! Turns `--source`/`--format`/`--query-file` into the query a request carries.
//!
//! `--format` builds a typed `TranscodingQuery` so the gateway validates it field by
//! field; `--query-file` is sent as `query_json` untouched, so any Qencode attribute
//! works without qgw knowing it.

use crate::{cli::QueryArgs, fail::Failure};
use qencode_gateway_proto::pb;

/// The two ways a query travels, matching the `query_kind` oneofs of the requests.
pub enum Query {
    /// A typed query.
    Typed(pb::TranscodingQuery),
    /// Qencode JSON text.
    Json(String),
}

impl Query {
    /// The oneof of `TranscodeRequest`.
    pub fn for_transcode(self) -> pb::transcode_request::QueryKind {
        use pb::transcode_request::QueryKind;
        match self {
            Self::Typed(query) => QueryKind::Query(query),
            Self::Json(json) => QueryKind::QueryJson(json),
        }
    }

    /// The oneof of `StartEncodeRequest`.
    pub fn for_start(self) -> pb::start_encode_request::QueryKind {
        use pb::start_encode_request::QueryKind;
        match self {
            Self::Typed(query) => QueryKind::Query(query),
            Self::Json(json) => QueryKind::QueryJson(json),
        }
    }
}

/// Builds the query; a missing source is left for the gateway to name in its
/// `BadRequest`, so the caller sees the same answer as any other client.
pub fn build(source: Option<String>, args: &QueryArgs) -> Result<Query, Failure> {
    if let Some(path) = &args.query_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::local(format!("reading {}: {e}", path.display())))?;
        // Checked here so a typo is a local failure (exit 1) naming the file, not the
        // gateway's INVALID_ARGUMENT; the text is still sent as written.
        serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
            Failure::local(format!("--query-file {} is not JSON: {e}", path.display()))
        })?;
        return Ok(Query::Json(text));
    }
    if args.formats.is_empty() {
        return Err(Failure::local(
            "give at least one --format or a --query-file",
        ));
    }
    Ok(Query::Typed(pb::TranscodingQuery {
        source,
        format: args.formats.clone(),
        ..Default::default()
    }))
}

/// Parses `OUTPUT:WxH` (or `OUTPUT`) into a `Format`.
///
/// The size is checked here because the gateway passes it on unchecked, so `mp4:abc`
/// started a task; as a clap value parser, a bad size is a usage error (exit 2)
/// naming `--format` and the value, before anything is sent.
pub fn parse_format(text: &str) -> Result<pb::Format, String> {
    let (output, size) = match text.split_once(':') {
        Some((output, size)) => (output, Some(size)),
        None => (text, None),
    };
    if output.is_empty() {
        return Err(format!("{text:?}: the output (e.g. mp4) is missing"));
    }
    if let Some(size) = size {
        check_size(size)?;
    }
    Ok(pb::Format {
        output: Some(output.to_owned()),
        size: size.map(str::to_owned),
        ..Default::default()
    })
}

/// Accepts Qencode's `size`: `WIDTHxHEIGHT` in pixels, both positive integers (a width
/// or height alone is a different parameter, not a size).
fn check_size(size: &str) -> Result<(), String> {
    let pixels = |side: &str| {
        side.bytes().all(|b| b.is_ascii_digit()) && side.parse::<u32>().is_ok_and(|n| n > 0)
    };
    match size.split_once('x') {
        Some((width, height)) if pixels(width) && pixels(height) => Ok(()),
        _ => Err(format!(
            "size {size:?} is not WxH in pixels (positive integers, e.g. 640x360)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let format = parse_format("mp4:640x360").expect("valid");
        assert_eq!(format.output.as_deref(), Some("mp4"));
        assert_eq!(format.size.as_deref(), Some("640x360"));
        let format = parse_format("hls").expect("valid");
        assert_eq!(format.size, None);
        assert!(parse_format(":640x360").is_err());
    }

    #[test]
    fn sizes_are_width_x_height() {
        let format = parse_format("webm:1920x1080").expect("valid");
        assert_eq!(format.size.as_deref(), Some("1920x1080"));
        for bad in [
            "mp4:abc",
            "mp4:",
            "mp4:640",
            "mp4:640x",
            "mp4:x360",
            "mp4:0x360",
            "mp4:640x0",
            "mp4:-640x360",
            "mp4:+640x360",
            "mp4:640X360",
            "mp4:640x360x2",
            "mp4: 640x360",
        ] {
            let error = parse_format(bad).expect_err(bad);
            assert!(error.contains("WxH"), "{bad}: {error}");
        }
    }
}
