//! Local checks of LiveStreaming requests, before any upstream call.

use crate::{
    pb::{number_or_string, StreamParams},
    proto_json,
    support::error::Violations,
};
use serde_json::{Map, Value};

/// Highest frame rate the Live API supports.
const MAX_FRAMERATE: f64 = 30.0;
/// Longest DVR file the Live API allows, in seconds.
const MAX_FILE_DURATION: i32 = 21_600;

/// Checks the params and builds the JSON body: `params` (only set fields) with
/// `extra_json` merged on top. `require_some` refuses an empty body (UpdateStream).
pub fn body(
    params: Option<&StreamParams>,
    extra_json: Option<&str>,
    require_some: bool,
    v: &mut Violations,
) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(params) = params {
        check_params(params, v);
        match proto_json::to_json(params, "qencode.gateway.v1.StreamParams", "params") {
            Ok(Value::Object(map)) => body = map,
            Ok(_) => {}
            Err(error) => {
                v.add_json_error(error);
            }
        }
    }
    if let Some(extra) = extra_json {
        match serde_json::from_str::<Value>(extra) {
            Ok(Value::Object(map)) => body.extend(map),
            Ok(_) => v.add("extra_json", "must be a JSON object"),
            Err(e) => v.add("extra_json", format!("is not valid JSON: {e}")),
        }
    }
    if require_some && body.is_empty() {
        v.add("params", "set at least one stream setting to update");
    }
    body
}

fn check_params(params: &StreamParams, v: &mut Violations) {
    if let Some(framerate) = params.framerate.as_ref().and_then(|f| f.value.as_ref()) {
        let value = match framerate {
            number_or_string::Value::Number(n) => Some(*n),
            number_or_string::Value::Text(t) => t.trim().parse::<f64>().ok(),
        };
        match value {
            Some(fps) if (0.0..=MAX_FRAMERATE).contains(&fps) => {}
            _ => v.add(
                "params.framerate",
                format!("must be a number from 0 (keep the input's) to {MAX_FRAMERATE}"),
            ),
        }
    }
    if let Some(timeout) = params.stream_timeout {
        if timeout <= 0 {
            v.add(
                "params.stream_timeout",
                "must be a positive number of seconds",
            );
        }
    }
    if let Some(url) = params.callback_url.as_deref() {
        if !is_http_url(url) {
            v.add("params.callback_url", "must be an absolute http(s) URL");
        }
    }
    if let Some(dvr) = &params.dvr {
        if let Some(duration) = dvr.max_file_duration {
            if !(1..=MAX_FILE_DURATION).contains(&duration) {
                v.add(
                    "params.dvr.max_file_duration",
                    format!("must be 1 to {MAX_FILE_DURATION} seconds"),
                );
            }
        }
        if let Some(enabled) = dvr.enabled {
            if !(0..=1).contains(&enabled) {
                v.add("params.dvr.enabled", "must be 0 or 1");
            }
        }
    }
}

/// A playback policy Qencode documents.
pub fn policy(policy: &str, v: &mut Violations) {
    if !matches!(policy, "public" | "authenticated") {
        v.add("policy", "must be \"public\" or \"authenticated\"");
    }
}

/// A simulcast target: an rtmp(s) URL with a host, and a key.
pub fn simulcast_target(url: &str, stream_key: &str, v: &mut Violations) {
    match url::Url::parse(url) {
        Ok(parsed)
            if matches!(parsed.scheme(), "rtmp" | "rtmps")
                && parsed.host_str().is_some_and(|h| !h.is_empty()) => {}
        _ => v.add("url", "must be an rtmp:// or rtmps:// URL with a host"),
    }
    if stream_key.trim().is_empty() {
        v.add("stream_key", "must not be empty");
    }
}

fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{Dvr, NumberOrString};

    fn fields(f: impl FnOnce(&mut Violations)) -> Vec<String> {
        let mut v = Violations::default();
        f(&mut v);
        v.into_result()
            .err()
            .map(|e| {
                e.into_data()
                    .violations
                    .into_iter()
                    .map(|v| v.field)
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn hostile_ids() {
        assert!(fields(|v| crate::domain::ids::check(
            "stream_id",
            "12345fcd-7aea-492c-b9eb-b4b0cde0dc7e",
            v
        ))
        .is_empty());
        let long = "a".repeat(300);
        for bad in [
            "../access_token/x",
            "a/b",
            "x?y=1",
            "%2e%2e",
            "",
            long.as_str(),
            "a\nb",
            "..",
            ".",
            "a b",
            "a#b",
            "é",
        ] {
            assert_eq!(
                fields(|v| crate::domain::ids::check("stream_id", bad, v)),
                ["stream_id"],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn params_ranges() {
        let fps = |value: number_or_string::Value| StreamParams {
            framerate: Some(NumberOrString { value: Some(value) }),
            ..Default::default()
        };
        assert!(fields(|v| {
            body(
                Some(&fps(number_or_string::Value::Text("29.97".into()))),
                None,
                true,
                v,
            );
        })
        .is_empty());
        assert_eq!(
            fields(|v| {
                body(
                    Some(&fps(number_or_string::Value::Number(60.0))),
                    None,
                    true,
                    v,
                );
            }),
            ["params.framerate"]
        );
        assert_eq!(
            fields(|v| {
                body(
                    Some(&fps(number_or_string::Value::Text("fast".into()))),
                    None,
                    true,
                    v,
                );
            }),
            ["params.framerate"]
        );
        let dvr = StreamParams {
            dvr: Some(Dvr {
                max_file_duration: Some(21_601),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            fields(|v| {
                body(Some(&dvr), None, true, v);
            }),
            ["params.dvr.max_file_duration"]
        );
        assert_eq!(
            fields(|v| {
                body(None, None, true, v);
            }),
            ["params"]
        );
        assert_eq!(
            fields(|v| {
                body(Some(&StreamParams::default()), None, true, v);
            }),
            ["params"]
        );
        assert!(fields(|v| {
            body(
                None,
                Some(r#"{"allowed_referers": ["*.example.com"]}"#),
                true,
                v,
            );
        })
        .is_empty());
        assert_eq!(
            fields(|v| {
                body(None, Some("[1]"), false, v);
            }),
            ["extra_json"]
        );
    }

    #[test]
    fn policies_and_targets() {
        assert!(fields(|v| policy("authenticated", v)).is_empty());
        assert_eq!(fields(|v| policy("private", v)), ["policy"]);
        assert!(fields(|v| simulcast_target("rtmp://a.rtmp.youtube.com/live2", "k", v)).is_empty());
        assert!(
            fields(|v| simulcast_target("rtmps://live-api-s.facebook.com:443/rtmp/", "k", v))
                .is_empty()
        );
        assert_eq!(
            fields(|v| simulcast_target("https://youtube.com", "k", v)),
            ["url"]
        );
        assert_eq!(
            fields(|v| simulcast_target("rtmp://", "", v)),
            ["url", "stream_key"]
        );
    }
}
