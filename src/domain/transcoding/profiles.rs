//! Starts from saved profiles (Qencode's `/v1/start_encode`): the local checks and the
//! form sent upstream. Kept apart from the query checks because this call has no query:
//! its fields go upstream as form fields, the source as `uri`, lists as JSON.

use crate::domain::transcoding::query_check;
use crate::{
    pb, proto_json,
    support::error::{Error, Violations},
};
use serde_json::Value;

/// Longest profile id accepted (Qencode's are 13 characters).
pub const MAX_PROFILE_ID_LEN: usize = 64;

/// Checks a profile start and returns the upstream form, or `INVALID_ARGUMENT` naming
/// every problem.
pub fn form(
    request: &pb::StartEncodeProfilesRequest,
) -> Result<Vec<(&'static str, String)>, Error> {
    let mut v = Violations::default();
    let v = &mut v;
    crate::domain::ids::check("task_token", &request.task_token, v);
    profiles(&request.profiles, v);
    let input = input(request, v);
    query_check::payload(request.payload.as_deref(), v);
    if request
        .output_path_variables
        .keys()
        .any(|k| k.trim().is_empty())
    {
        v.add("output_path_variables", "variable names must not be empty");
    }
    if let Some(method) = &request.transfer_method {
        if method.trim().is_empty() {
            v.add("transfer_method", "must not be empty when set");
        }
    }
    seconds("start_time", request.start_time, v);
    seconds("duration", request.duration, v);
    std::mem::take(v).into_result()?;
    let mut form = vec![
        ("task_token", request.task_token.clone()),
        ("profiles", request.profiles.join(",")),
    ];
    form.extend(input);
    if let Some(method) = &request.transfer_method {
        form.push(("transfer_method", method.clone()));
    }
    if let Some(payload) = &request.payload {
        form.push(("payload", payload.clone()));
    }
    if !request.output_path_variables.is_empty() {
        let variables: serde_json::Map<String, Value> = request
            .output_path_variables
            .iter()
            .map(|(k, val)| (k.clone(), Value::String(val.clone())))
            .collect();
        form.push((
            "output_path_variables",
            Value::Object(variables).to_string(),
        ));
    }
    if let Some(start_time) = request.start_time {
        form.push(("start_time", start_time.to_string()));
    }
    if let Some(duration) = request.duration {
        form.push(("duration", duration.to_string()));
    }
    Ok(form)
}

/// At least one id; each letters and digits only.
fn profiles(ids: &[String], v: &mut Violations) {
    if ids.is_empty() {
        v.add("profiles", "must name at least one profile");
    }
    for (i, id) in ids.iter().enumerate() {
        let field = format!("profiles[{i}]");
        if id.is_empty() {
            v.add(field, "must not be empty");
        } else if id.len() > MAX_PROFILE_ID_LEN {
            v.add(
                field,
                format!("must be at most {MAX_PROFILE_ID_LEN} characters"),
            );
        } else if !id.bytes().all(|c| c.is_ascii_alphanumeric()) {
            v.add(field, "may contain only letters and digits");
        }
    }
}

/// Exactly one of source and stitch, as the form field Qencode reads (`uri`/`stitch`).
fn input(
    request: &pb::StartEncodeProfilesRequest,
    v: &mut Violations,
) -> Option<(&'static str, String)> {
    let source = request.source.as_deref().filter(|s| !s.trim().is_empty());
    match (source, request.stitch.is_empty()) {
        (None, true) => {
            v.add(
                "source",
                "set exactly one of source or stitch (neither is set)",
            );
            None
        }
        (Some(_), false) => {
            v.add(
                "stitch",
                "set exactly one of source or stitch (both are set)",
            );
            None
        }
        (Some(source), true) => {
            query_check::source_url("source", source, v);
            Some(("uri", source.to_owned()))
        }
        (None, false) => {
            let mut items = Vec::with_capacity(request.stitch.len());
            for (i, item) in request.stitch.iter().enumerate() {
                let field = format!("stitch[{i}]");
                match proto_json::to_json(item, "qencode.gateway.v1.StitchItem", &field) {
                    Ok(json) => {
                        let url = match &json {
                            Value::String(url) => Some(url.as_str()),
                            Value::Object(clip) => clip.get("url").and_then(Value::as_str),
                            _ => None,
                        };
                        match url.filter(|u| !u.trim().is_empty()) {
                            Some(url) => query_check::source_url(&format!("{field}.url"), url, v),
                            None => v.add(field, "needs a URL"),
                        }
                        items.push(json);
                    }
                    Err(error) => {
                        v.add_json_error(error);
                    }
                }
            }
            Some(("stitch", Value::Array(items).to_string()))
        }
    }
}

/// An optional number of seconds: finite and not negative.
fn seconds(field: &str, value: Option<f64>, v: &mut Violations) {
    if let Some(value) = value {
        if !value.is_finite() || value < 0.0 {
            v.add(field, "must be a finite, non-negative number of seconds");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> pb::StartEncodeProfilesRequest {
        pb::StartEncodeProfilesRequest {
            task_token: "471272a512d76c22665db9dcee893409".into(),
            profiles: vec!["5adb0584aa43b".into(), "5adb0584aacca".into()],
            source: Some("https://example.com/in.mp4".into()),
            ..Default::default()
        }
    }

    fn fields(request: &pb::StartEncodeProfilesRequest) -> Vec<String> {
        match form(request) {
            Ok(_) => Vec::new(),
            Err(e) => e.violations.iter().map(|f| f.field.clone()).collect(),
        }
    }

    #[test]
    fn a_good_start_becomes_qencodes_form() {
        let mut good = request();
        good.output_path_variables
            .insert("folder".into(), "out".into());
        good.start_time = Some(10.0);
        good.payload = Some("p".into());
        let form = form(&good).unwrap();
        let get = |key: &str| {
            form.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("profiles"), Some("5adb0584aa43b,5adb0584aacca"));
        assert_eq!(get("uri"), Some("https://example.com/in.mp4"));
        assert_eq!(get("output_path_variables"), Some(r#"{"folder":"out"}"#));
        assert_eq!(get("start_time"), Some("10"));
        assert_eq!(get("payload"), Some("p"));
        assert_eq!(get("stitch"), None);
    }

    #[test]
    fn stitch_items_are_urls_or_clips() {
        let mut stitched = request();
        stitched.source = None;
        stitched.stitch = vec![
            pb::StitchItem {
                item: Some(pb::stitch_item::Item::Url("https://a/1.mp4".into())),
            },
            pb::StitchItem {
                item: Some(pb::stitch_item::Item::Clip(pb::StitchClip {
                    url: Some("s3://b/2.mp4".into()),
                    ..Default::default()
                })),
            },
        ];
        let form = form(&stitched).unwrap();
        let stitch = form.iter().find(|(k, _)| *k == "stitch").unwrap();
        let json: Value = serde_json::from_str(&stitch.1).unwrap();
        assert_eq!(
            json,
            serde_json::json!(["https://a/1.mp4", {"url": "s3://b/2.mp4"}])
        );
        stitched.stitch.push(pb::StitchItem { item: None });
        assert_eq!(fields(&stitched), ["stitch[2]"]);
    }

    #[test]
    fn every_problem_names_its_field() {
        let mut bad = request();
        bad.task_token = String::new();
        bad.profiles = vec!["ok1".into(), String::new(), "a-b".into()];
        bad.source = None;
        bad.start_time = Some(f64::NAN);
        bad.duration = Some(-1.0);
        bad.payload = Some("x".repeat(1001));
        assert_eq!(
            fields(&bad),
            [
                "task_token",
                "profiles[1]",
                "profiles[2]",
                "source",
                "payload",
                "start_time",
                "duration"
            ]
        );
        let mut none = request();
        none.profiles.clear();
        none.stitch = vec![pb::StitchItem {
            item: Some(pb::stitch_item::Item::Url("https://a/1.mp4".into())),
        }];
        assert_eq!(fields(&none), ["profiles", "stitch"]);
    }
}
