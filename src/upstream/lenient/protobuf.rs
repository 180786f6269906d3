//! Upstream JSON as `google.protobuf.Struct`/`Value`, with its nesting capped.
//!
//! Each JSON level costs two or three protobuf messages (a `Value` holding a `Struct`,
//! plus the `Struct.fields` map entry, or a `ListValue`), and decoders refuse messages
//! nested too deeply: prost and Python's protobuf stop at 100. A `meta` nested a few
//! dozen levels deep would encode fine here and then be undecodable by every client, so
//! levels past [`MAX_JSON_DEPTH`] are kept as their compact JSON text in a string value.

use super::typed::read_as_default;
use prost_types::value::Kind;
use serde::{de, Deserialize};
use serde_json::{Map, Value};

/// JSON levels kept as protobuf structure; a container deeper than this becomes a string.
///
/// An object level is three nested messages (map entry, `Value`, `Struct`), a list level
/// two. Measured with prost (`uncapped_decode_limit` below): a `GetStatusResponse`
/// whose `meta` nests 33 objects no longer decodes. 20 levels are at most 60 messages,
/// which leaves room under the limit of 100 for the messages around the `Struct` and for
/// clients that wrap the response in messages of their own.
pub const MAX_JSON_DEPTH: usize = 20;

/// Converts a JSON object to a `google.protobuf.Struct`; the object is level 1.
pub fn to_struct(map: Map<String, Value>) -> prost_types::Struct {
    struct_at(map, 1)
}

/// Converts any JSON value to a `google.protobuf.Value`; a container at the top is level 1.
pub fn to_value(value: Value) -> prost_types::Value {
    value_at(value, 1)
}

/// `map`, an object at nesting level `level`.
fn struct_at(map: Map<String, Value>, level: usize) -> prost_types::Struct {
    prost_types::Struct {
        fields: map
            .into_iter()
            .map(|(k, v)| (k, value_at(v, level + 1)))
            .collect(),
    }
}

/// `value`, which is at nesting level `level` if it is a container.
///
/// The recursion stops at [`MAX_JSON_DEPTH`]; the JSON text of a deeper container is
/// written by serde_json, whose parser never builds values deeper than 128 levels.
fn value_at(value: Value, level: usize) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s),
        deep @ (Value::Array(_) | Value::Object(_)) if level > MAX_JSON_DEPTH => {
            Kind::StringValue(deep.to_string())
        }
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(|v| value_at(v, level + 1)).collect(),
        }),
        Value::Object(map) => Kind::StructValue(struct_at(map, level)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A JSON object read straight into a `google.protobuf.Struct` (no `Value` tree in
/// between), with the same result as [`to_struct`] of the same JSON: the same levels
/// kept, deeper containers as their compact JSON text. `None` for anything that is not
/// an object (the caller handles an object written inside a string).
#[derive(Default)]
pub struct DirectStruct(pub Option<prost_types::Struct>);

/// Reads the value at nesting level `level` (as [`value_at`] counts levels).
struct ValueSeed(usize);

impl<'de> de::DeserializeSeed<'de> for ValueSeed {
    type Value = prost_types::Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0 > MAX_JSON_DEPTH {
            // Too deep for structure: whatever it is, as `value_at` writes it.
            return Value::deserialize(d).map(|v| value_at(v, self.0));
        }
        d.deserialize_any(ValueVisitor(self.0))
    }
}

struct ValueVisitor(usize);

fn value(kind: Kind) -> prost_types::Value {
    prost_types::Value { kind: Some(kind) }
}

impl<'de> de::Visitor<'de> for ValueVisitor {
    type Value = prost_types::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(value(Kind::NullValue(0)))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(value(Kind::NullValue(0)))
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(value(Kind::BoolValue(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(value(Kind::NumberValue(v as f64)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(value(Kind::NumberValue(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(value(Kind::NumberValue(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(value(Kind::StringValue(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(value(Kind::StringValue(v)))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueSeed(self.0 + 1))? {
            values.push(v);
        }
        Ok(value(Kind::ListValue(prost_types::ListValue { values })))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        fields(map, self.0).map(|s| value(Kind::StructValue(s)))
    }
}

/// The fields of an object at level `level`; a key given twice keeps its last value,
/// as in a `serde_json::Map`.
fn fields<'de, A: de::MapAccess<'de>>(
    mut map: A,
    level: usize,
) -> Result<prost_types::Struct, A::Error> {
    let mut fields = std::collections::BTreeMap::new();
    while let Some(key) = map.next_key::<String>()? {
        let v = map.next_value_seed(ValueSeed(level + 1))?;
        fields.insert(key, v);
    }
    Ok(prost_types::Struct { fields })
}

impl<'de> Deserialize<'de> for DirectStruct {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = DirectStruct;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<DirectStruct, A::Error> {
                fields(map, 1).map(|s| DirectStruct(Some(s)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DirectStruct, E> {
                Ok(DirectStruct(match serde_json::from_str::<Value>(v) {
                    Ok(Value::Object(map)) => Some(to_struct(map)),
                    _ => None,
                }))
            }
            read_as_default!(null, scalars, seq);
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{GetStatusResponse, OutputStatus, TaskStatus};
    use proptest::prelude::*;
    use prost::Message;
    use serde_json::json;

    /// `{"a": {"a": … 1 …}}` with `levels` objects.
    fn nested_objects(levels: usize) -> Map<String, Value> {
        let mut value = json!(1);
        for _ in 1..levels {
            value = json!({ "a": value });
        }
        Map::from_iter([("a".to_owned(), value)])
    }

    /// Container levels of `value`: 0 for a scalar or a string.
    fn levels(value: &prost_types::Value) -> usize {
        match &value.kind {
            Some(Kind::StructValue(s)) => 1 + s.fields.values().map(levels).max().unwrap_or(0),
            Some(Kind::ListValue(l)) => 1 + l.values.iter().map(levels).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Container levels of a JSON value, before any cap.
    fn json_levels(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(json_levels).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(json_levels).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Back to JSON, as a client would read it.
    fn to_json(value: &prost_types::Value) -> Value {
        match &value.kind {
            None | Some(Kind::NullValue(_)) => Value::Null,
            Some(Kind::BoolValue(b)) => json!(b),
            Some(Kind::NumberValue(n)) => json!(n),
            Some(Kind::StringValue(s)) => json!(s),
            Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(to_json).collect()),
            Some(Kind::StructValue(s)) => Value::Object(
                s.fields
                    .iter()
                    .map(|(k, v)| (k.clone(), to_json(v)))
                    .collect(),
            ),
        }
    }

    /// The deepest response the gateway sends a `Struct` in, as bytes on the wire.
    fn status_response(meta: prost_types::Struct) -> Vec<u8> {
        let status = TaskStatus {
            videos: vec![OutputStatus {
                meta: Some(meta),
                ..Default::default()
            }],
            ..Default::default()
        };
        GetStatusResponse {
            statuses: [("token".to_owned(), status)].into(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Reading an object straight into a `Struct` gives what [`to_struct`] of its
        /// `Value` gives, at any depth (the cap included).
        #[test]
        fn direct_structs_equal_converted_ones(
            value in crate::upstream::lenient::lenient_properties::json_value(),
            depth in 0usize..(MAX_JSON_DEPTH + 6),
        ) {
            let mut object = json!({"v": value});
            for level in 0..depth {
                object = if level % 2 == 0 {
                    json!({"k": object, "n": level})
                } else {
                    json!({"l": [object, "x"]})
                };
            }
            let text = object.to_string();
            let parsed: Value = serde_json::from_str(&text).unwrap();
            let direct: DirectStruct = serde_json::from_str(&text).unwrap();
            let Value::Object(map) = parsed else { unreachable!() };
            prop_assert_eq!(direct.0, Some(to_struct(map)));
        }
    }

    #[test]
    fn shallow_values_keep_their_structure() {
        let value = json!({"width": 854.5, "tags": ["a", {"b": null}], "ok": true});
        assert_eq!(to_json(&to_value(value.clone())), value);
    }

    #[test]
    fn levels_past_the_cap_become_their_json_text() {
        let meta = to_struct(nested_objects(MAX_JSON_DEPTH + 3));
        let value = prost_types::Value {
            kind: Some(Kind::StructValue(meta)),
        };
        assert_eq!(levels(&value), MAX_JSON_DEPTH);
        let mut innermost = &value;
        while let Some(Kind::StructValue(s)) = &innermost.kind {
            innermost = &s.fields["a"];
        }
        assert_eq!(
            innermost.kind,
            Some(Kind::StringValue(r#"{"a":{"a":{"a":1}}}"#.into()))
        );
    }

    #[test]
    fn every_depth_decodes_with_prost() {
        // Objects are the costliest level (map entry, Value, Struct); 200 is past anything
        // serde_json would even parse.
        for depth in [1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 60, 200] {
            let wire = status_response(to_struct(nested_objects(depth)));
            assert!(
                GetStatusResponse::decode(wire.as_slice()).is_ok(),
                "{depth}"
            );
        }
    }

    /// JSON values up to `depth` levels of containers deep, with a few wide levels.
    fn deep_value(depth: u32) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(f64::from(n))),
            "[a-z{}\\[\\]\"]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(depth, 4 * depth, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..3).prop_map(Value::Array),
                prop::collection::vec(("[a-c]", inner), 1..3)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    /// A chain of `0..100` objects and arrays around a leaf: deep, but narrow.
    fn chain() -> impl Strategy<Value = Value> {
        prop::collection::vec(any::<bool>(), 0..100).prop_map(|kinds| {
            kinds.into_iter().fold(json!("leaf"), |inner, object| {
                if object {
                    json!({ "k": inner })
                } else {
                    json!([inner, true])
                }
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever the depth of the JSON, the protobuf value stays within the cap and
        /// the response decodes; JSON within the cap converts unchanged.
        #[test]
        fn the_depth_cap_holds(value in prop_oneof![deep_value(2 * MAX_JSON_DEPTH as u32), chain()]) {
            let converted = to_value(value.clone());
            prop_assert!(levels(&converted) <= MAX_JSON_DEPTH);
            if json_levels(&value) <= MAX_JSON_DEPTH {
                prop_assert_eq!(to_json(&converted), value.clone());
            }
            let wrapped = Map::from_iter([("v".to_owned(), value)]);
            let wire = status_response(to_struct(wrapped));
            prop_assert!(GetStatusResponse::decode(wire.as_slice()).is_ok());
        }
    }
}
