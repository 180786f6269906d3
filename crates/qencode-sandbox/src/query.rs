//! Validation of the `query` JSON sent to `/v1/start_encode2`.
//!
//! Only what the sandbox needs to plan outputs is checked strictly (source or
//! stitch, format outputs, destinations, tags); every other attribute is passed
//! through untouched, as Qencode accepts far more than the sandbox models.
//! Error messages name the offending attribute so a failing test says why.

use serde_json::{Map, Value};

use super::outputs::OutputFormat;

/// One input video: the `source`, or one `stitch` item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InputSpec {
    pub(crate) source: SourceRef,
    /// Clip length requested for a stitch item (`duration`), in seconds.
    pub(crate) duration: Option<f64>,
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SourceRef {
    /// A URL the encoder would download.
    Url(String),
    /// A TUS upload, written `tus:<file_uuid>`.
    Upload(String),
}

/// One `format` entry, reduced to what the sandbox reports back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FormatSpec {
    pub(crate) output: OutputFormat,
    pub(crate) tag: Option<String>,
    /// URL of the first destination, if any.
    pub(crate) destination: Option<String>,
    pub(crate) width: Option<u32>,
    pub(crate) height: Option<u32>,
    /// Video bitrate in kbps.
    pub(crate) bitrate: Option<u64>,
    /// Audio bitrate in kbps.
    pub(crate) audio_bitrate: Option<u64>,
    pub(crate) start_time: Option<f64>,
    pub(crate) duration: Option<f64>,
    pub(crate) video_codec: Option<String>,
    pub(crate) audio_codec: Option<String>,
    pub(crate) framerate: Option<String>,
    pub(crate) image_format: Option<String>,
    /// The transcoding profile the output comes from (`/v1/start_encode`).
    pub(crate) profile: Option<String>,
}

/// A validated query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedQuery {
    /// The whole document as sent, kept for tests to inspect.
    pub(crate) document: Value,
    pub(crate) inputs: Vec<InputSpec>,
    pub(crate) formats: Vec<FormatSpec>,
    /// Where task callbacks go (`query.callback_url`).
    pub(crate) callback_url: Option<String>,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueryError {
    /// A required attribute is missing: ERROR_FIELD_REQUIRED naming it.
    Required(String),
    /// Anything else: ERROR_FIELD_REQUIRED naming `query`, with this message
    /// (prefixed `query:`); see [`crate::codes::ApiError::invalid_field`].
    Invalid(String),
}

impl QueryError {
    /// The message, for tests.
    #[cfg(test)]
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Required(field) => format!("query: {field} is required"),
            Self::Invalid(message) => message.clone(),
        }
    }
}

impl From<String> for QueryError {
    fn from(message: String) -> Self {
        Self::Invalid(message)
    }
}

/// Parses and validates the raw `query` form field.
pub(crate) fn parse(raw: &str) -> Result<ParsedQuery, QueryError> {
    let document: Value =
        serde_json::from_str(raw).map_err(|e| format!("query: invalid JSON ({e})"))?;
    let query = document
        .get("query")
        .and_then(Value::as_object)
        .ok_or_else(|| "query: expected a JSON object {\"query\": {...}}".to_string())?;
    let inputs = parse_inputs(query)?;
    let formats = parse_formats(query)?;
    let callback_url = parse_callback_url(query)?;
    Ok(ParsedQuery {
        document,
        inputs,
        formats,
        callback_url,
    })
}

/// `callback_url`, if set: an http(s) URL, since the sandbox POSTs to it.
fn parse_callback_url(query: &Map<String, Value>) -> Result<Option<String>, String> {
    match query.get("callback_url") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(url)) if url.trim().is_empty() => Ok(None),
        Some(Value::String(url)) if is_http_url(url) => Ok(Some(url.clone())),
        Some(_) => Err("query: callback_url must be an http(s) URL".into()),
    }
}

/// Whether `url` is an absolute http or https URL.
pub(crate) fn is_http_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

fn parse_inputs(query: &Map<String, Value>) -> Result<Vec<InputSpec>, QueryError> {
    match (query.get("source"), query.get("stitch")) {
        (Some(_), Some(_)) => Err(QueryError::Invalid(
            "query: source and stitch cannot be used together".into(),
        )),
        // The document: "Either specify the source or the stitch parameter".
        (None, None) => Err(QueryError::Required("source".into())),
        (Some(source), None) => {
            let url = non_empty_str(source)
                .ok_or_else(|| "query: source must be a non-empty string".to_string())?;
            Ok(vec![InputSpec {
                source: source_ref(url),
                duration: None,
            }])
        }
        (None, Some(stitch)) => Ok(parse_stitch(stitch)?),
    }
}

/// A `stitch` list (also what `/v1/start_encode` takes as its `stitch` field).
pub(crate) fn parse_stitch(stitch: &Value) -> Result<Vec<InputSpec>, String> {
    let items = stitch
        .as_array()
        .filter(|items| !items.is_empty())
        .ok_or_else(|| "query: stitch must be a non-empty array".to_string())?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_stitch_item(i, item))
        .collect()
}

fn parse_stitch_item(index: usize, item: &Value) -> Result<InputSpec, String> {
    let invalid = || format!("query: stitch[{index}] must be a URL string or an object with a url");
    if let Some(url) = non_empty_str(item) {
        return Ok(InputSpec {
            source: source_ref(url),
            duration: None,
        });
    }
    let object = item.as_object().ok_or_else(invalid)?;
    let url = object
        .get("url")
        .and_then(non_empty_str)
        .ok_or_else(invalid)?;
    Ok(InputSpec {
        source: source_ref(url),
        duration: object.get("duration").and_then(number),
    })
}

/// A source URI: `tus:<file_uuid>` names an upload, anything else is a URL.
pub(crate) fn source_ref(url: &str) -> SourceRef {
    match url.strip_prefix("tus:") {
        Some(uuid) => SourceRef::Upload(uuid.to_string()),
        None => SourceRef::Url(url.to_string()),
    }
}

fn parse_formats(query: &Map<String, Value>) -> Result<Vec<FormatSpec>, QueryError> {
    let formats = query
        .get("format")
        .ok_or_else(|| QueryError::Required("format".into()))?
        .as_array()
        .filter(|items| !items.is_empty())
        .ok_or_else(|| "query: format must be a non-empty array".to_string())?;
    formats
        .iter()
        .enumerate()
        .map(|(i, format)| parse_format(i, format))
        .collect()
}

fn parse_format(index: usize, format: &Value) -> Result<FormatSpec, QueryError> {
    let at = format!("query: format[{index}]");
    let format = format
        .as_object()
        .ok_or_else(|| format!("{at} must be an object"))?;
    let output = match format.get("output") {
        None | Some(Value::Null) => {
            return Err(QueryError::Required(format!("format[{index}].output")))
        }
        Some(output) => output
            .as_str()
            .ok_or_else(|| format!("{at}.output must be a string"))?,
    };
    let output = OutputFormat::from_name(output)
        .ok_or_else(|| format!("{at}.output '{output}' is not supported"))?;
    let tag = match format.get("tag") {
        None | Some(Value::Null) => None,
        Some(Value::String(tag)) => Some(tag.clone()),
        Some(_) => return Err(format!("{at}.tag must be a string").into()),
    };
    let destination = match format.get("destination") {
        None | Some(Value::Null) => None,
        Some(destination) => Some(destination_url(&at, destination)?),
    };
    // Adaptive formats carry sizes and bitrates on their stream objects.
    let stream = format
        .get("stream")
        .and_then(Value::as_array)
        .and_then(|streams| streams.first())
        .and_then(Value::as_object);
    let attr = |name: &str| {
        format
            .get(name)
            .or_else(|| stream.and_then(|s| s.get(name)))
    };
    let (width, height) = dimensions(&attr);
    Ok(FormatSpec {
        output,
        tag,
        destination,
        width,
        height,
        bitrate: attr("bitrate").and_then(number).and_then(to_u64),
        audio_bitrate: attr("audio_bitrate").and_then(number).and_then(to_u64),
        start_time: format.get("start_time").and_then(number),
        duration: format.get("duration").and_then(number),
        video_codec: attr("video_codec")
            .and_then(non_empty_str)
            .map(str::to_string),
        audio_codec: attr("audio_codec")
            .and_then(non_empty_str)
            .map(str::to_string),
        framerate: attr("framerate").and_then(text),
        image_format: format
            .get("image_format")
            .and_then(non_empty_str)
            .map(str::to_string),
        profile: None,
    })
}

/// The URL of a destination object, or of the first one in a list of them.
fn destination_url(at: &str, destination: &Value) -> Result<String, String> {
    let (first, path) = match destination {
        Value::Array(items) => (items.first(), format!("{at}.destination[0]")),
        object => (Some(object), format!("{at}.destination")),
    };
    if let Value::Array(items) = destination {
        for (i, item) in items.iter().enumerate() {
            check_destination(&format!("{at}.destination[{i}]"), item)?;
        }
    }
    let first = first.ok_or_else(|| format!("{at}.destination must not be an empty array"))?;
    check_destination(&path, first)
}

fn check_destination(path: &str, destination: &Value) -> Result<String, String> {
    let object = destination.as_object().ok_or_else(|| {
        format!("{path} must be an object (or the destination an array of objects)")
    })?;
    let url = object
        .get("url")
        .and_then(non_empty_str)
        .ok_or_else(|| format!("{path}.url is required"))?;
    url::Url::parse(url).map_err(|_| format!("{path}.url '{url}' is not a valid URL"))?;
    Ok(url.to_string())
}

/// Frame size from `size` ("WxH"), `width`/`height`, or `resolution` (the
/// height of a landscape 16:9 frame).
fn dimensions<'a>(attr: &impl Fn(&str) -> Option<&'a Value>) -> (Option<u32>, Option<u32>) {
    if let Some((w, h)) = attr("size")
        .and_then(Value::as_str)
        .and_then(|s| s.split_once('x'))
    {
        if let (Ok(w), Ok(h)) = (w.trim().parse(), h.trim().parse()) {
            return (Some(w), Some(h));
        }
    }
    if let Some(resolution) = attr("resolution").and_then(number).and_then(to_u32) {
        let width = (u64::from(resolution) * 16 / 9 + 1) & !1;
        return (u32::try_from(width).ok(), Some(resolution));
    }
    let width = attr("width").and_then(number).and_then(to_u32);
    let height = attr("height").and_then(number).and_then(to_u32);
    (width, height)
}

fn non_empty_str(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.trim().is_empty())
}

/// A number, or a string holding one: Qencode examples send both ("29.97", 20).
pub(crate) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn to_u64(n: f64) -> Option<u64> {
    (0.0..=f64::from(u32::MAX))
        .contains(&n)
        .then(|| n.round() as u64)
}

fn to_u32(n: f64) -> Option<u32> {
    (1.0..=65_535.0).contains(&n).then(|| n.round() as u32)
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
