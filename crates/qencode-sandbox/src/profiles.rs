//! `/v1/start_encode`: starts a task from transcoding profiles saved in the
//! account instead of a query. The form carries `task_token`, `profiles`
//! (comma-separated ids; Qencode's Python client joins a list with ", "),
//! the source as `uri` or, for stitching, `stitch` (a JSON list, as Qencode's
//! client libraries send several sources), and optionally `transfer_method`,
//! `payload`, `output_path_variables` (a JSON object), `start_time` and
//! `duration` (seconds, applied to every output).
//!
//! The task then runs the same lifecycle as a `start_encode2` task; its outputs
//! report the profile id they come from in `profile`, as in the document's
//! status example.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::base_url::BaseUrl;
use super::codes::{self, ApiError, BAD_PROFILE, PROFILE_NOT_FOUND};
use super::form::FormFields;
use super::outputs::OutputFormat;
use super::query::{self, FormatSpec, InputSpec, ParsedQuery};
use super::start;
use super::Sandbox;

/// The outputs every known profile stands for: width, height, user tag.
const PROFILE_OUTPUTS: [(u32, u32, &str); 2] = [(1280, 720, "720p"), (854, 480, "480p")];
/// Longest profile id accepted as well-formed (Qencode's are 13 characters).
const MAX_PROFILE_ID_LEN: usize = 64;

/// `POST /v1/start_encode`.
pub(crate) async fn start_encode(
    State(sandbox): State<Sandbox>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = FormFields::parse(&headers, &body);
    start::begin(&sandbox, &base, &form, |config| {
        from_form(&form, &config.profiles)
    })
}

/// The task a profile start describes, as a query the planner understands.
fn from_form(form: &FormFields, known: &[String]) -> Result<ParsedQuery, ApiError> {
    let ids = profile_ids(form.first("profiles"), known)?;
    let (inputs, source) = inputs(form)?;
    let start_time = seconds(form, "start_time")?;
    let duration = seconds(form, "duration")?;
    let path_variables = match non_blank(form, "output_path_variables") {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(variables)) => Some(Value::Object(variables)),
            _ => {
                return Err(ApiError::invalid_field(
                    "output_path_variables",
                    "output_path_variables must be a JSON object",
                ))
            }
        },
    };
    let formats = ids
        .iter()
        .flat_map(|id| {
            PROFILE_OUTPUTS
                .iter()
                .map(move |&(width, height, tag)| profile_output(id, width, height, tag))
        })
        .map(|mut format| {
            format.start_time = start_time;
            format.duration = duration;
            format
        })
        .collect();

    let mut document = Map::new();
    document.insert("profiles".into(), ids.clone().into());
    document.insert(source.0.into(), source.1);
    if let Some(method) = non_blank(form, "transfer_method") {
        document.insert("transfer_method".into(), method.into());
    }
    if let Some(variables) = path_variables {
        document.insert("output_path_variables".into(), variables);
    }
    if let Some(start_time) = start_time {
        document.insert("start_time".into(), start_time.into());
    }
    if let Some(duration) = duration {
        document.insert("duration".into(), duration.into());
    }
    Ok(ParsedQuery {
        document: Value::Object(document),
        inputs,
        formats,
        callback_url: None,
    })
}

/// The requested profile ids: 14 when the field is missing, 11 when the list
/// is malformed (an empty item, or characters no id has), 12 naming the first
/// id the sandbox does not know.
fn profile_ids(raw: Option<&str>, known: &[String]) -> Result<Vec<String>, ApiError> {
    let raw = raw
        .filter(|raw| !raw.trim().is_empty())
        .ok_or_else(|| ApiError::field_required("profiles"))?;
    let ids: Vec<String> = raw.split(',').map(|id| id.trim().to_string()).collect();
    if let Some(bad) = ids.iter().find(|id| !well_formed(id)) {
        return Err(ApiError::new(
            BAD_PROFILE,
            format!("{} ('{bad}' in '{raw}')", described(BAD_PROFILE)),
        ));
    }
    if let Some(unknown) = ids.iter().find(|id| !known.contains(id)) {
        return Err(ApiError::new(
            PROFILE_NOT_FOUND,
            format!("{} ('{unknown}')", described(PROFILE_NOT_FOUND)),
        ));
    }
    Ok(ids)
}

fn well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_PROFILE_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn described(code: i64) -> &'static str {
    codes::description(code).unwrap_or_default()
}

/// The inputs from `uri` or `stitch`, and the document entry naming them.
fn inputs(form: &FormFields) -> Result<(Vec<InputSpec>, (&'static str, Value)), ApiError> {
    match (non_blank(form, "uri"), non_blank(form, "stitch")) {
        (Some(_), Some(_)) => Err(ApiError::invalid_field(
            "stitch",
            "uri and stitch cannot be used together",
        )),
        (None, None) => Err(ApiError::field_required("uri")),
        (Some(uri), None) => {
            let input = InputSpec {
                source: query::source_ref(uri),
                duration: None,
            };
            Ok((vec![input], ("uri", uri.into())))
        }
        (None, Some(raw)) => {
            let invalid = |message: &str| ApiError::invalid_field("stitch", message);
            let stitch: Value = serde_json::from_str(raw)
                .map_err(|_| invalid("stitch must be a JSON list of URLs or video objects"))?;
            let inputs = query::parse_stitch(&stitch)
                .map_err(|message| invalid(message.trim_start_matches("query: ")))?;
            Ok((inputs, ("stitch", stitch)))
        }
    }
}

/// An optional number of seconds (clients send `10`, `0.0` or `10.0000`).
fn seconds(form: &FormFields, name: &str) -> Result<Option<f64>, ApiError> {
    match non_blank(form, name) {
        None => Ok(None),
        Some(raw) => match raw.trim().parse::<f64>() {
            Ok(value) if value.is_finite() && value >= 0.0 => Ok(Some(value)),
            _ => Err(ApiError::invalid_field(
                name,
                format!("{name} must be a number of seconds"),
            )),
        },
    }
}

fn non_blank<'a>(form: &'a FormFields, name: &str) -> Option<&'a str> {
    form.first(name).filter(|value| !value.trim().is_empty())
}

fn profile_output(profile: &str, width: u32, height: u32, tag: &str) -> FormatSpec {
    FormatSpec {
        output: OutputFormat::Mp4,
        tag: Some(tag.to_string()),
        destination: None,
        width: Some(width),
        height: Some(height),
        bitrate: None,
        audio_bitrate: None,
        start_time: None,
        duration: None,
        video_codec: None,
        audio_codec: None,
        framerate: None,
        image_format: None,
        profile: Some(profile.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        vec!["5adb0584aa43b".into(), "5adb0584aacca".into()]
    }

    fn code_of(raw: Option<&str>) -> i64 {
        profile_ids(raw, &known()).err().map_or(0, |e| e.code)
    }

    #[test]
    fn ids_are_split_trimmed_and_checked() {
        assert_eq!(
            profile_ids(Some("5adb0584aa43b, 5adb0584aacca"), &known()).ok(),
            Some(known())
        );
        assert_eq!(code_of(None), 14);
        assert_eq!(code_of(Some("  ")), 14);
        assert_eq!(code_of(Some("5adb0584aa43b,")), 11);
        assert_eq!(code_of(Some("5adb0584aa43b,,5adb0584aacca")), 11);
        assert_eq!(code_of(Some("bad id!")), 11);
        assert_eq!(code_of(Some("5adb0584aa43b,000000000000a")), 12);
    }
}
