//! Stream params in create and update bodies: which keys are known, how leniently
//! their values are accepted (the document's own examples disagree on types:
//! `framerate` 0 or "30", `dvr.enabled` 1 or false, `format` a string or a list,
//! `destination` an object or a list) and how they merge into the stream.
//!
//! Accepted values are stored exactly as sent, so tests can see what the client
//! put on the wire; clearly wrong values are HTTP 400, unknown keys are ignored.

use serde_json::{json, Map, Value};

/// Top-level keys a body may set. `name` renames the stream rather than being a
/// param. `playback_domain` is the gateway's name for the document's unnamed
/// "fully qualified domain name for the live stream playback".
const KNOWN: [&str; 9] = [
    "name",
    "input_format",
    "output_format",
    "framerate",
    "callback_url",
    "stream_timeout",
    "playback_domain",
    "mode",
    "dvr",
];

/// Ingest formats the document lists.
const INPUT_FORMATS: [&str; 3] = ["rtmp", "webrtc", "srt"];
/// Highest frame rate the document says is supported.
const MAX_FRAMERATE: f64 = 30.0;
/// Longest DVR file the document allows, in seconds.
const MAX_FILE_DURATION: f64 = 21_600.0;
const STREAM_SOURCES: [&str; 3] = ["original", "transcoded", "auto"];
const RESOLUTIONS: [&str; 9] = [
    "highest", "lowest", "240p", "480p", "720p", "1080p", "1440p", "4k", "all",
];
const DVR_FORMATS: [&str; 3] = ["mp4", "ts", "hls"];
const STORAGE_PREFIXES: [&str; 6] = [
    "s3://",
    "b2://",
    "azblob://",
    "ftp://",
    "ftps://",
    "sftp://",
];
/// Longest stream name accepted.
const MAX_NAME_CHARS: usize = 255;

/// The params of a new stream, as the document's most complete example shows them.
pub(crate) fn defaults() -> Map<String, Value> {
    let params = json!({
        "input_format": "rtmp",
        "output_format": "hls",
        "framerate": 0,
        "mode": "auto",
        "callback_url": null,
        "stream_timeout": 120,
        "dvr": {
            "enabled": false,
            "destination": null,
            "stream_source": "auto",
            "format": "mp4",
            "max_file_duration": 14400,
        },
    });
    match params {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A validated create/update body.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Changes {
    /// New stream name.
    pub(crate) name: Option<String>,
    /// Top-level params to replace (all but `dvr`).
    pub(crate) params: Map<String, Value>,
    /// `dvr` keys to replace, merged into the current `dvr` object.
    pub(crate) dvr: Option<Map<String, Value>>,
}

impl Changes {
    /// Whether the body named no known key (an update needs at least one).
    pub(crate) fn is_empty(&self) -> bool {
        self.name.is_none() && self.params.is_empty() && self.dvr.is_none()
    }

    /// Applies the changes to a stream's name and params.
    pub(crate) fn apply(self, name: &mut String, params: &mut Map<String, Value>) {
        if let Some(new_name) = self.name {
            *name = new_name;
        }
        params.extend(self.params);
        if let Some(changes) = self.dvr {
            let dvr = params
                .entry("dvr")
                .or_insert_with(|| Value::Object(Map::new()));
            match dvr {
                Value::Object(dvr) => dvr.extend(changes),
                other => *other = Value::Object(changes),
            }
        }
    }
}

/// Parses a request body as JSON whatever its content type (the document's own
/// curl examples send JSON without `Content-Type: application/json`). An empty
/// body is `None`.
pub(crate) fn parse_body(body: &[u8]) -> Result<Option<Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|_| "request body is not valid JSON".to_string())
}

/// Validates a create/update body.
pub(crate) fn validate(body: &Value) -> Result<Changes, String> {
    let Value::Object(body) = body else {
        return Err("request body must be a JSON object".into());
    };
    let mut changes = Changes::default();
    for key in KNOWN {
        let Some(value) = body.get(key) else {
            continue;
        };
        match key {
            "name" => changes.name = Some(name(value)?),
            "dvr" => changes.dvr = Some(dvr(value)?),
            _ => {
                changes.params.insert(key.to_string(), param(key, value)?);
            }
        }
    }
    Ok(changes)
}

fn name(value: &Value) -> Result<String, String> {
    match value.as_str().map(str::trim) {
        Some(name) if !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS => {
            Ok(name.to_string())
        }
        _ => Err(format!(
            "name must be a non-empty string of at most {MAX_NAME_CHARS} characters"
        )),
    }
}

/// Checks one top-level param other than `name` and `dvr`.
fn param(key: &str, value: &Value) -> Result<Value, String> {
    let ok = match key {
        "input_format" => one_of(value, &INPUT_FORMATS),
        "output_format" | "mode" | "playback_domain" => non_empty_str(value),
        "framerate" => number(value).is_some_and(|n| (0.0..=MAX_FRAMERATE).contains(&n)),
        "callback_url" => value.is_null() || value.as_str().is_some_and(is_http_url),
        "stream_timeout" => integer(value).is_some_and(|n| n >= 0.0),
        _ => true,
    };
    if ok {
        Ok(value.clone())
    } else {
        Err(match key {
            "input_format" => "input_format must be one of rtmp, webrtc, srt".into(),
            "framerate" => format!("framerate must be a number from 0 to {MAX_FRAMERATE}"),
            "callback_url" => "callback_url must be an http(s) URL or null".into(),
            "stream_timeout" => "stream_timeout must be a non-negative integer".into(),
            _ => format!("{key} must be a non-empty string"),
        })
    }
}

/// Checks a `dvr` object; unknown keys in it are dropped.
fn dvr(value: &Value) -> Result<Map<String, Value>, String> {
    let Value::Object(dvr) = value else {
        return Err("dvr must be an object".into());
    };
    let mut out = Map::new();
    for (key, value) in dvr {
        let ok = match key.as_str() {
            "enabled" => is_flag(value),
            "destination" => {
                destination(value)?;
                true
            }
            "stream_source" => one_of(value, &STREAM_SOURCES),
            "resolution" => one_of(value, &RESOLUTIONS),
            "format" => dvr_format(value),
            "max_file_duration" => {
                integer(value).is_some_and(|n| (1.0..=MAX_FILE_DURATION).contains(&n))
            }
            _ => continue,
        };
        if !ok {
            return Err(match key.as_str() {
                "enabled" => "dvr.enabled must be 0, 1, true or false".into(),
                "stream_source" => "dvr.stream_source must be original, transcoded or auto".into(),
                "resolution" => format!("dvr.resolution must be one of {}", RESOLUTIONS.join(", ")),
                "format" => "dvr.format must be mp4, ts, hls or a non-empty list of them".into(),
                _ => format!(
                    "dvr.max_file_duration must be an integer from 1 to {MAX_FILE_DURATION}"
                ),
            });
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

/// Checks `dvr.destination`: null, one destination object or a non-empty list
/// of them, each with a `url` under a documented storage prefix.
fn destination(value: &Value) -> Result<(), String> {
    let list = match value {
        Value::Null => return Ok(()),
        Value::Object(_) => std::slice::from_ref(value),
        Value::Array(list) if !list.is_empty() => list.as_slice(),
        _ => {
            return Err("dvr.destination must be null, an object or a non-empty list".into());
        }
    };
    for item in list {
        let url = item.get("url").and_then(Value::as_str).unwrap_or_default();
        if !STORAGE_PREFIXES.iter().any(|p| url.starts_with(p)) {
            return Err(format!(
                "dvr.destination.url must start with one of {}",
                STORAGE_PREFIXES.join(", ")
            ));
        }
    }
    Ok(())
}

fn dvr_format(value: &Value) -> bool {
    match value {
        Value::Array(list) => !list.is_empty() && list.iter().all(|f| one_of(f, &DVR_FORMATS)),
        single => one_of(single, &DVR_FORMATS),
    }
}

/// 0, 1, true or false, also as strings (clients disagree, as do the examples).
fn is_flag(value: &Value) -> bool {
    match value {
        Value::Bool(_) => true,
        Value::String(s) => matches!(s.as_str(), "0" | "1" | "true" | "false"),
        other => number(other).is_some_and(|n| n == 0.0 || n == 1.0),
    }
}

fn one_of(value: &Value, allowed: &[&str]) -> bool {
    value.as_str().is_some_and(|s| allowed.contains(&s))
}

fn non_empty_str(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.trim().is_empty())
}

/// A JSON number or a string holding one (finite only).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// Like [`number`], but only whole numbers.
fn integer(value: &Value) -> Option<f64> {
    number(value).filter(|n| n.fract() == 0.0)
}

fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: Value) -> Changes {
        validate(&body).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    fn err(body: Value) -> String {
        match validate(&body) {
            Ok(changes) => panic!("{body} accepted as {changes:?}"),
            Err(message) => message,
        }
    }

    #[test]
    fn documented_variants_are_accepted_and_kept_as_sent() {
        let changes = ok(json!({
            "name": "cam 1", "input_format": "webrtc", "output_format": "cmaf",
            "framerate": "29.97", "callback_url": "https://example.com/cb",
            "stream_timeout": "300", "mode": "auto", "unknown": [1],
            "dvr": {"enabled": 1, "format": ["mp4", "hls"], "extra": true,
                    "destination": [{"url": "s3://bucket/dvr", "key": "k", "secret": "s"}],
                    "max_file_duration": 3600, "stream_source": "original",
                    "resolution": "720p"}
        }));
        assert_eq!(changes.name.as_deref(), Some("cam 1"));
        assert_eq!(changes.params["framerate"], "29.97");
        assert_eq!(changes.params["stream_timeout"], "300");
        assert!(!changes.params.contains_key("unknown"));
        let dvr = changes.dvr.unwrap_or_default();
        assert_eq!(dvr["format"], json!(["mp4", "hls"]));
        assert!(!dvr.contains_key("extra"));

        for dvr in [
            json!({"enabled": false, "destination": null}),
            json!({"enabled": "1", "format": "ts"}),
            json!({"enabled": true, "destination": {"url": "ftp://host/dir"}}),
        ] {
            ok(json!({ "dvr": dvr }));
        }
        ok(json!({"framerate": 0, "callback_url": null}));
    }

    #[test]
    fn clearly_wrong_values_are_rejected() {
        for body in [
            json!({"name": ""}),
            json!({"name": 5}),
            json!({"input_format": "hls"}),
            json!({"output_format": ""}),
            json!({"framerate": 60}),
            json!({"framerate": "fast"}),
            json!({"framerate": -1}),
            json!({"callback_url": "ftp://example.com"}),
            json!({"stream_timeout": 1.5}),
            json!({"dvr": 1}),
            json!({"dvr": {"enabled": 2}}),
            json!({"dvr": {"format": []}}),
            json!({"dvr": {"format": "avi"}}),
            json!({"dvr": {"destination": "s3://x"}}),
            json!({"dvr": {"destination": {"url": "http://x"}}}),
            json!({"dvr": {"max_file_duration": 21601}}),
            json!({"dvr": {"stream_source": "best"}}),
            json!({"dvr": {"resolution": "8k"}}),
            json!([]),
        ] {
            assert!(!err(body.clone()).is_empty(), "{body}");
        }
    }

    #[test]
    fn bodies_without_known_keys_are_empty() {
        assert!(ok(json!({})).is_empty());
        assert!(ok(json!({"foo": 1})).is_empty());
        assert!(!ok(json!({"dvr": {}})).is_empty());
    }

    #[test]
    fn changes_merge_into_params_and_dvr() {
        let mut name = "old".to_string();
        let mut params = defaults();
        ok(json!({"name": "new", "framerate": 25, "dvr": {"enabled": 1}}))
            .apply(&mut name, &mut params);
        assert_eq!(name, "new");
        assert_eq!(params["framerate"], 25);
        assert_eq!(params["dvr"]["enabled"], 1);
        assert_eq!(params["dvr"]["max_file_duration"], 14400);
        assert_eq!(params["input_format"], "rtmp");
    }

    #[test]
    fn bodies_parse_as_json_or_nothing() {
        assert_eq!(parse_body(b""), Ok(None));
        assert_eq!(parse_body(b" \n"), Ok(None));
        assert_eq!(parse_body(b"{\"a\":1}"), Ok(Some(json!({"a": 1}))));
        assert!(parse_body(b"name=x").is_err());
        assert!(parse_body(&[0xff, 0xfe]).is_err());
    }
}
