//! A `/v1/status` answer read straight into `pb::TaskStatus`, without a `Value` tree.
//!
//! GetStatus and the watch poller read one of these per call. Building the whole answer
//! as a `serde_json::Value` first, then converting it (what [`super::task_status`]
//! does), cost about a third of the gateway's instructions per GetStatus: every key and
//! string allocated twice and the tree dropped after. This reader visits the JSON once
//! and keeps only what the protobuf message holds.
//!
//! It is lenient in the same way, field by field ([`crate::upstream::lenient::typed`]): numbers as
//! strings, `"None"`, `0`/`1`, objects inside strings, and any shape it cannot use read
//! as missing. What it yields equals [`super::task_status::parse_task_status`] of the
//! same JSON; the property tests in `properties` hold the two equal on arbitrary JSON.
//! Only the strict JSON syntax is required here: a body that is not JSON takes the
//! repair path as before (via a `Value`, which this type also reads).

use super::task_status::task_state;
use crate::{
    pb::{OutputStatus, TaskState, TaskStatus, TaskWarning},
    upstream::lenient::{
        typed::{read_as_default, Flag, Number, Text},
        DirectStruct,
    },
};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::{collections::BTreeMap, fmt};

/// What GetStatus needs of a status answer.
#[derive(Debug, Default, PartialEq)]
pub struct StatusAnswer {
    /// The top level is a JSON object.
    pub is_object: bool,
    /// The answer has an `error` field (an error the API explains).
    pub names_error: bool,
    /// `error`, read as [`super::codes::error_code`] reads it: `None` for 0 or missing.
    pub code: Option<i64>,
    /// `statuses` when it is an object: each token's status, `None` where the answer
    /// has `null` (an unknown token) or anything that is not a status object.
    pub statuses: Option<BTreeMap<String, Option<TaskStatus>>>,
}

/// One task's status, or `None` when the value is not an object (nor a string holding
/// one), as [`super::task_status::parse_task_status`] decides.
#[derive(Default)]
pub struct MaybeStatus(pub Option<TaskStatus>);

#[derive(Default)]
struct MaybeOutput(Option<OutputStatus>);
#[derive(Default)]
struct MaybeWarning(Option<TaskWarning>);
/// A JSON array's elements that reader `R` could read; empty for anything that is not
/// an array.
struct Many<R: Readable>(Vec<R::Item>);
#[derive(Default)]
struct Statuses(Option<BTreeMap<String, Option<TaskStatus>>>);

/// Field names, compared without allocating (escaped keys still match).
#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Error,
    Statuses,
    Status,
    Percent,
    ErrorDescription,
    StatusUrl,
    Videos,
    Audios,
    Images,
    Warnings,
    SourceSize,
    Duration,
    IncrementalTag,
    Tag,
    UserTag,
    Profile,
    Url,
    OutputFormat,
    Bitrate,
    Size,
    Storage,
    Meta,
    Message,
    Details,
    #[serde(other)]
    Other,
}

/// For readers that also take an object written inside a string, as
/// [`crate::upstream::lenient::object_of`] does: the string is parsed strictly and, when it is an
/// object, read like one.
macro_rules! object_in_string {
    ($reader:ty) => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match serde_json::from_str::<Value>(v) {
                Ok(object @ Value::Object(_)) => {
                    <$reader>::deserialize(object).map_err(|e| E::custom(e))
                }
                _ => Ok(Default::default()),
            }
        }
    };
}

impl<'de> Deserialize<'de> for StatusAnswer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StatusAnswer;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StatusAnswer, A::Error> {
                let mut answer = StatusAnswer {
                    is_object: true,
                    ..StatusAnswer::default()
                };
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Error => {
                            answer.names_error = true;
                            let code = map.next_value::<Number>()?.0.map(|f| f as i64);
                            answer.code = code.filter(|c| *c != 0);
                        }
                        Field::Statuses => answer.statuses = map.next_value::<Statuses>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(answer)
            }
            read_as_default!(null, scalars, str, seq);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Statuses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Statuses;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Statuses, A::Error> {
                let mut statuses = BTreeMap::new();
                while let Some((token, status)) = map.next_entry::<String, MaybeStatus>()? {
                    statuses.insert(token, status.0);
                }
                Ok(Statuses(Some(statuses)))
            }
            // Only a real object is a `statuses` object (as the `Value` path decides).
            read_as_default!(null, scalars, str, seq);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for MaybeStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeStatus;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeStatus, A::Error> {
                let (mut status, mut error) = (None, None);
                let mut s = TaskStatus::default();
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Status => status = map.next_value::<Text>()?.0,
                        Field::Error => error = map.next_value::<Flag>()?.0,
                        Field::Percent => s.percent = map.next_value::<Number>()?.0,
                        Field::ErrorDescription => {
                            s.error_description = map.next_value::<Text>()?.0
                        }
                        Field::StatusUrl => {
                            s.status_url = map.next_value::<Text>()?.0.unwrap_or_default()
                        }
                        Field::Videos => s.videos = map.next_value::<Many<MaybeOutput>>()?.0,
                        Field::Audios => s.audios = map.next_value::<Many<MaybeOutput>>()?.0,
                        Field::Images => s.images = map.next_value::<Many<MaybeOutput>>()?.0,
                        Field::Warnings => s.warnings = map.next_value::<Many<MaybeWarning>>()?.0,
                        Field::SourceSize => s.source_size = map.next_value::<Number>()?.0,
                        Field::Duration => s.duration = map.next_value::<Number>()?.0,
                        Field::IncrementalTag => s.incremental_tag = map.next_value::<Text>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                s.status = status.unwrap_or_default();
                s.error = error.unwrap_or(false);
                let mut state = task_state(&s.status);
                if s.error && state == TaskState::Unspecified {
                    state = TaskState::Error;
                }
                s.state = state as i32;
                Ok(MaybeStatus(Some(s)))
            }
            object_in_string!(MaybeStatus);
            read_as_default!(null, scalars, seq);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for MaybeOutput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeOutput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeOutput, A::Error> {
                let (mut status, mut error) = (None, None);
                let mut o = OutputStatus::default();
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Status => status = map.next_value::<Text>()?.0,
                        Field::Error => error = map.next_value::<Flag>()?.0,
                        Field::Percent => o.percent = map.next_value::<Number>()?.0,
                        Field::Tag => o.tag = map.next_value::<Text>()?.0.unwrap_or_default(),
                        Field::UserTag => o.user_tag = map.next_value::<Text>()?.0,
                        Field::Profile => o.profile = map.next_value::<Text>()?.0,
                        Field::Url => o.url = map.next_value::<Text>()?.0,
                        Field::OutputFormat => o.output_format = map.next_value::<Text>()?.0,
                        Field::Bitrate => o.bitrate = map.next_value::<Number>()?.0,
                        Field::Duration => o.duration = map.next_value::<Number>()?.0,
                        Field::Size => o.size = map.next_value::<Number>()?.0,
                        Field::Storage => o.storage = map.next_value::<DirectStruct>()?.0,
                        Field::Meta => o.meta = map.next_value::<DirectStruct>()?.0,
                        Field::ErrorDescription => {
                            o.error_description = map.next_value::<Text>()?.0
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                o.status = status.unwrap_or_default();
                o.state = task_state(&o.status) as i32;
                o.error = error.unwrap_or(false);
                Ok(MaybeOutput(Some(o)))
            }
            object_in_string!(MaybeOutput);
            read_as_default!(null, scalars, seq);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for MaybeWarning {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeWarning;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeWarning, A::Error> {
                let mut w = TaskWarning::default();
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Message => {
                            w.message = map.next_value::<Text>()?.0.unwrap_or_default()
                        }
                        Field::Details => w.details = map.next_value::<Text>()?.0,
                        Field::Tag => w.tag = map.next_value::<Text>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(MaybeWarning(Some(w)))
            }
            // A warning given as a plain string is its message, whatever it says.
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MaybeWarning, E> {
                Ok(MaybeWarning(Some(TaskWarning {
                    message: v.to_owned(),
                    ..TaskWarning::default()
                })))
            }
            read_as_default!(null, scalars, seq);
        }
        d.deserialize_any(V)
    }
}

impl<R: Readable> Default for Many<R> {
    fn default() -> Self {
        Many(Vec::new())
    }
}

/// The elements a `Maybe*` reader could read.
trait Readable: Sized {
    type Item;
    fn item(self) -> Option<Self::Item>;
}
impl Readable for MaybeOutput {
    type Item = OutputStatus;
    fn item(self) -> Option<OutputStatus> {
        self.0
    }
}
impl Readable for MaybeWarning {
    type Item = TaskWarning;
    fn item(self) -> Option<TaskWarning> {
        self.0
    }
}

impl<'de, T: Deserialize<'de> + Readable> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Readable> Visitor<'de> for V<T> {
            type Value = Many<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(element) = seq.next_element::<T>()? {
                    items.extend(element.item());
                }
                Ok(Many(items))
            }
            read_as_default!(null, scalars, str, map);
        }
        d.deserialize_any(V::<T>(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::task_status::parse_task_status;
    use serde_json::json;

    /// What the value path reads from the same body, task by task.
    type ByValue = Option<Vec<(String, Option<TaskStatus>)>>;

    fn both(body: &Value) -> (StatusAnswer, ByValue) {
        let typed: StatusAnswer = serde_json::from_str(&body.to_string()).unwrap();
        let by_value = body.get("statuses").and_then(Value::as_object).map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), parse_task_status(v)))
                .collect::<Vec<_>>()
        });
        (typed, by_value)
    }

    #[test]
    fn the_documents_status_answer_reads_as_the_value_path_reads_it() {
        let body = json!({
            "error": 0,
            "statuses": {
                "a": {
                    "status": "encoding", "percent": "25.5", "error": "0",
                    "error_description": "None", "status_url": "https://api.qencode.com/v1/status",
                    "videos": [{
                        "tag": "video-0-0", "status": "Completed", "percent": 100,
                        "bitrate": "2500", "size": 9.38, "duration": "30.017",
                        "meta": "{\"width\": 854, \"height\": 480}",
                        "storage": {"type": "local", "path": "x/y.mp4"},
                        "url": "https://x/y.mp4", "user_tag": null, "profile": 7
                    }, "junk", 3],
                    "images": "not a list",
                    "warnings": ["disk almost full", {"message": "m", "tag": 1}, 5],
                    "source_size": "16.6585", "duration": null, "incremental_tag": ""
                },
                "b": null,
                "c": "{\"status\": \"queued\"}",
                "d": 17
            }
        });
        let (typed, by_value) = both(&body);
        assert!(typed.is_object && typed.names_error);
        assert_eq!(typed.code, None);
        let typed: Vec<_> = typed.statuses.unwrap().into_iter().collect();
        assert_eq!(Some(typed), by_value);
    }

    #[test]
    fn error_codes_and_shapes_are_read_as_codes_reads_them() {
        for (body, code) in [
            (json!({"error": 8, "message": "busy"}), Some(8)),
            (json!({"error": "5"}), Some(5)),
            (json!({"error": true}), Some(1)),
            (json!({"error": "None"}), None),
            (json!({"error": 0}), None),
        ] {
            let typed: StatusAnswer = serde_json::from_value(body.clone()).unwrap();
            assert_eq!(typed.code, code, "{body}");
            assert_eq!(typed.code, crate::upstream::codes::error_code(&body));
        }
        let array: StatusAnswer = serde_json::from_str("[1,2]").unwrap();
        assert!(!array.is_object && array.statuses.is_none());
        let no_object: StatusAnswer = serde_json::from_str(r#"{"statuses": "{}"}"#).unwrap();
        assert!(no_object.statuses.is_none() && !no_object.names_error);
    }

    #[test]
    fn a_key_given_twice_counts_the_last_time_as_in_a_value() {
        let text = r#"{"statuses": {"a": {"status": "queued", "status": "encoding"}, "a": {"percent": 5}}}"#;
        let typed: StatusAnswer = serde_json::from_str(text).unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            typed.statuses.unwrap()["a"],
            parse_task_status(&value["statuses"]["a"])
        );
    }
}
