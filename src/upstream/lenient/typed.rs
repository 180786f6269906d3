//! The lenient readers of [`super`] as serde field types, for reading upstream JSON
//! straight into typed structs without building a `serde_json::Value` tree first.
//!
//! Each type accepts every JSON shape and yields exactly what its `Value` twin yields
//! for the same JSON ([`Number`] is [`super::f64_of`], [`Flag`] is [`super::bool_of`],
//! [`Text`] is [`super::string_of`]); a shape it cannot read becomes `None`, skipped
//! without allocating, so no field can fail a whole answer. The property tests of
//! `upstream::status_answer` hold the typed and the `Value` paths equal on arbitrary JSON.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A number from a JSON number, a numeric string or a boolean, as [`super::f64_of`].
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Number(pub Option<f64>);

/// A boolean from every shape [`super::bool_of`] reads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub Option<bool>);

/// A string from a JSON string, number or boolean, as [`super::string_of`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text(pub Option<String>);

/// `Visitor` methods for the JSON shapes a lenient reader cannot use: each reads as the
/// value's `Default` (so "missing"), and containers are skipped without being built.
/// One arm per group of shapes, so each reader lists the groups it does not read:
/// `null` (null, and `Some` of anything else), `scalars` (booleans and numbers), `str`,
/// `seq` and `map`. Every lenient serde reader of the gateway uses it, so "unreadable
/// means missing" is written once.
macro_rules! read_as_default {
    ($($group:ident),+) => { $( $crate::upstream::lenient::typed::read_as_default!(@ $group); )+ };
    (@ null) => {
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    };
    (@ scalars) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@ str) => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@ seq) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
    (@ map) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(Default::default())
        }
    };
}
pub(crate) use read_as_default;

impl<'de> de::Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(Some(v).filter(|f| f.is_finite())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Number, E> {
                Ok(Number(Some(if v { 1.0 } else { 0.0 })))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                Ok(Number(
                    v.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                ))
            }
            read_as_default!(null, seq, map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> de::Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(Some(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Flag, E> {
                Ok(Flag(Some(v != 0.0)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Flag, E> {
                Ok(Flag(Some(v != 0)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Flag, E> {
                Ok(Flag(Some(v != 0)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                Ok(Flag(super::flag_text(v)))
            }
            read_as_default!(null, seq, map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> de::Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(super::text(v).then(|| v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(super::text(&v).then_some(v)))
            }
            // Written as serde_json writes the number, so both paths give the same text.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(serde_json::Number::from_f64(v).map(|n| n.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            read_as_default!(null, seq, map);
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    /// Every reader agrees with its `Value` twin on the shapes Qencode's examples use.
    #[test]
    fn typed_readers_match_the_value_readers() {
        let shapes = [
            json!(596.521),
            json!("0.371511"),
            json!(" 16.6585 "),
            json!("None"),
            json!("null"),
            json!(""),
            json!(null),
            json!("NaN"),
            json!(1),
            json!(0),
            json!(-3),
            json!(u64::MAX),
            json!(true),
            json!(false),
            json!("True"),
            json!("yes"),
            json!("no"),
            json!("2.5"),
            json!("abc"),
            json!(2500.0),
            json!(1e300),
            json!({"a": [1, {"b": 2}]}),
            json!([1, "2", [3]]),
        ];
        for shape in shapes {
            let text = shape.to_string();
            let number: Number = serde_json::from_str(&text).unwrap();
            assert_eq!(number.0, super::super::f64_of(Some(&shape)), "{text}");
            let flag: Flag = serde_json::from_str(&text).unwrap();
            assert_eq!(flag.0, super::super::bool_of(Some(&shape)), "{text}");
            let string: Text = serde_json::from_str(&text).unwrap();
            assert_eq!(string.0, super::super::string_of(Some(&shape)), "{text}");
            // And from a `Value`, as the repair path reads them.
            let string = Text::deserialize(shape.clone()).unwrap();
            assert_eq!(string.0, super::super::string_of(Some(&shape)), "{text}");
        }
    }
}
