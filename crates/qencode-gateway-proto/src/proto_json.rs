//! Writes Qencode's JSON from typed messages (`TranscodingQuery`, `StreamParams`).
//!
//! Instead of hand-written serde code for several hundred attributes, this walks the
//! message with its proto descriptor: the JSON key is the proto field name (or an
//! explicit `json_name`), only set fields are written, and the custom options in
//! `options.proto` cover the places where Qencode's JSON is looser than protobuf
//! (`json_unwrap` for "number or string" and "URL or object" values, `json_one_or_many`
//! for "an object or a list"). Adding an attribute to the proto is all it takes.

use crate::pb;
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, ExtensionDescriptor, FieldDescriptor, MapKey,
    MessageDescriptor, ReflectMessage, Value as Field,
};
use serde_json::{Map, Number, Value};
use std::sync::OnceLock;

/// The descriptors and custom options, loaded once from the embedded descriptor set.
struct Schema {
    pool: DescriptorPool,
    json_unwrap: ExtensionDescriptor,
    json_one_or_many: ExtensionDescriptor,
}

fn schema() -> Result<&'static Schema, Error> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let pool =
                DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())?;
            let find_ext = |name: &str| {
                pool.get_extension_by_name(name)
                    .ok_or(format!("missing {name}"))
            };
            let json_unwrap = find_ext("qencode.gateway.v1.json_unwrap")?;
            let json_one_or_many = find_ext("qencode.gateway.v1.json_one_or_many")?;
            Ok(Schema {
                pool,
                json_unwrap,
                json_one_or_many,
            })
        })
        .as_ref()
        .map_err(|e| internal(format!("unusable: {e}")))
}

fn internal(message: String) -> Error {
    Error::Schema(message)
}

/// Why a message could not be written as Qencode JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A field's value has no JSON form (a non-finite number): the caller's input.
    InvalidField {
        /// The field's path from the root, e.g. `query.format[0].start_time`.
        field: String,
        /// What is wrong with it.
        description: String,
    },
    /// The embedded descriptors do not describe the message: a build defect.
    Schema(String),
}

impl Error {
    fn invalid_field(field: &str, description: &str) -> Self {
        Error::InvalidField {
            field: field.to_owned(),
            description: description.to_owned(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidField { field, description } => write!(f, "{field}: {description}"),
            Error::Schema(message) => write!(f, "embedded proto descriptors: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// The inner query object (without the `{"query": ...}` wrapper).
///
/// Fails only with `INVALID_ARGUMENT` for a non-finite number, naming the field.
pub fn query_to_json(query: &pb::TranscodingQuery) -> Result<Value, Error> {
    to_json(query, "qencode.gateway.v1.TranscodingQuery", "query")
}

/// Any gateway message as Qencode JSON; `root` prefixes field paths in errors.
pub fn to_json<M: Message>(message: &M, full_name: &str, root: &str) -> Result<Value, Error> {
    let schema = schema()?;
    let descriptor: MessageDescriptor = schema
        .pool
        .get_message_by_name(full_name)
        .ok_or_else(|| internal(format!("no descriptor for {full_name}")))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|e| internal(format!("re-decoding {full_name} failed: {e}")))?;
    message_to_json(schema, &dynamic, root)
}

fn message_to_json(schema: &Schema, message: &DynamicMessage, path: &str) -> Result<Value, Error> {
    let descriptor = message.descriptor();
    match descriptor.full_name() {
        "google.protobuf.Struct" | "google.protobuf.Value" | "google.protobuf.ListValue" => {
            return well_known(message, path);
        }
        _ => {}
    }
    if flag(&descriptor.options(), &schema.json_unwrap) {
        return match message.fields().next() {
            Some((field, value)) => field_to_json(schema, &field, value, path),
            None => Ok(Value::Null),
        };
    }
    let mut object = Map::new();
    for (field, value) in message.fields() {
        let key = json_key(&field);
        let child = format!("{path}.{}", field.name());
        object.insert(key, field_to_json(schema, &field, value, &child)?);
    }
    Ok(Value::Object(object))
}

fn field_to_json(
    schema: &Schema,
    field: &FieldDescriptor,
    value: &Field,
    path: &str,
) -> Result<Value, Error> {
    match value {
        Field::List(items) => {
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                values.push(scalar_to_json(schema, item, &format!("{path}[{i}]"))?);
            }
            if values.len() == 1 && flag(&field.options(), &schema.json_one_or_many) {
                return Ok(values.remove(0));
            }
            Ok(Value::Array(values))
        }
        Field::Map(entries) => {
            let mut object = Map::new();
            for (key, item) in entries {
                let key = map_key(key);
                let value = scalar_to_json(schema, item, &format!("{path}[{key}]"))?;
                object.insert(key, value);
            }
            Ok(Value::Object(object))
        }
        other => scalar_to_json(schema, other, path),
    }
}

fn scalar_to_json(schema: &Schema, value: &Field, path: &str) -> Result<Value, Error> {
    Ok(match value {
        Field::Bool(b) => Value::Bool(*b),
        Field::I32(n) => Value::from(*n),
        Field::I64(n) => Value::from(*n),
        Field::U32(n) => Value::from(*n),
        Field::U64(n) => Value::from(*n),
        Field::F32(n) => number(f64::from(*n), path)?,
        Field::F64(n) => number(*n, path)?,
        Field::String(s) => Value::String(s.clone()),
        Field::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Field::EnumNumber(n) => Value::from(*n),
        Field::Message(m) => message_to_json(schema, m, path)?,
        Field::List(_) | Field::Map(_) => {
            return Err(internal(format!(
                "nested collection at {path} is not supported"
            )))
        }
    })
}

/// A JSON number; integral values are written without a fraction so `10` stays `10`.
fn number(n: f64, path: &str) -> Result<Value, Error> {
    if !n.is_finite() {
        return Err(Error::invalid_field(path, "must be a finite number"));
    }
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        return Ok(Value::from(n as i64));
    }
    Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(|| Error::invalid_field(path, "must be a finite number"))
}

/// google.protobuf.Struct/Value/ListValue as their natural JSON.
fn well_known(message: &DynamicMessage, path: &str) -> Result<Value, Error> {
    let value = message.transcode_to::<prost_types::Value>();
    let as_struct = message.transcode_to::<prost_types::Struct>();
    let as_list = message.transcode_to::<prost_types::ListValue>();
    match message.descriptor().full_name() {
        "google.protobuf.Struct" => as_struct
            .map(|s| struct_to_json(&s))
            .map_err(|e| internal(format!("{path}: {e}"))),
        "google.protobuf.ListValue" => as_list
            .map(|l| Value::Array(l.values.iter().map(value_to_json).collect()))
            .map_err(|e| internal(format!("{path}: {e}"))),
        _ => value
            .map(|v| value_to_json(&v))
            .map_err(|e| internal(format!("{path}: {e}"))),
    }
}

fn struct_to_json(s: &prost_types::Struct) -> Value {
    Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect(),
    )
}

fn value_to_json(v: &prost_types::Value) -> Value {
    use prost_types::value::Kind;
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n, "").unwrap_or(Value::Null),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => struct_to_json(s),
    }
}

/// The proto field name, unless the proto sets a `json_name` of its own.
fn json_key(field: &FieldDescriptor) -> String {
    let json_name = field.json_name();
    if json_name != lower_camel(field.name()) {
        json_name.to_owned()
    } else {
        field.name().to_owned()
    }
}

/// protoc's default json_name: snake_case to lowerCamelCase.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn flag(options: &DynamicMessage, extension: &ExtensionDescriptor) -> bool {
    options.has_extension(extension) && options.get_extension(extension).as_bool() == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{number_or_string, stitch_item, NumberOrString, StitchClip, StitchItem};
    use serde_json::json;

    fn text(s: &str) -> Option<NumberOrString> {
        Some(NumberOrString {
            value: Some(number_or_string::Value::Text(s.into())),
        })
    }
    fn num(n: f64) -> Option<NumberOrString> {
        Some(NumberOrString {
            value: Some(number_or_string::Value::Number(n)),
        })
    }

    #[test]
    fn unset_fields_are_omitted_and_zero_values_kept_when_set() {
        let query = pb::TranscodingQuery {
            source: Some("https://x/video.mp4".into()),
            format: vec![pb::Format {
                output: Some("mp4".into()),
                two_pass: Some(0),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            query_to_json(&query).unwrap(),
            json!({"source": "https://x/video.mp4", "format": [{"output": "mp4", "two_pass": 0}]})
        );
    }

    #[test]
    fn number_or_string_round_trips_exactly() {
        let query = pb::TranscodingQuery {
            format: vec![pb::Format {
                framerate: text("29.97"),
                keyframe: text("3s"),
                start_time: num(10.0),
                duration: num(20.5),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            query_to_json(&query).unwrap()["format"][0],
            json!({"framerate": "29.97", "keyframe": "3s", "start_time": 10, "duration": 20.5})
        );
    }

    #[test]
    fn one_or_many_and_unwrapped_items() {
        let dest = |url: &str| pb::Destination {
            url: Some(url.into()),
            ..Default::default()
        };
        let query = pb::TranscodingQuery {
            stitch: vec![
                StitchItem {
                    item: Some(stitch_item::Item::Url("https://a".into())),
                },
                StitchItem {
                    item: Some(stitch_item::Item::Clip(StitchClip {
                        url: Some("https://b".into()),
                        start_time: num(1.5),
                        duration: None,
                    })),
                },
            ],
            format: vec![
                pb::Format {
                    destination: vec![dest("s3://one")],
                    ..Default::default()
                },
                pb::Format {
                    destination: vec![dest("s3://a"), dest("s3://b")],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let json = query_to_json(&query).unwrap();
        assert_eq!(
            json["stitch"],
            json!(["https://a", {"url": "https://b", "start_time": 1.5}])
        );
        assert_eq!(json["format"][0]["destination"], json!({"url": "s3://one"}));
        assert_eq!(
            json["format"][1]["destination"],
            json!([{"url": "s3://a"}, {"url": "s3://b"}])
        );
    }

    #[test]
    fn non_finite_numbers_name_the_field() {
        let query = pb::TranscodingQuery {
            format: vec![pb::Format {
                start_time: num(f64::NAN),
                ..Default::default()
            }],
            ..Default::default()
        };
        let err = query_to_json(&query).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidField { field, .. } if field == "query.format[0].start_time"),
            "{err:?}"
        );
    }
}
