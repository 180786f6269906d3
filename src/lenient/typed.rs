//! The lenient readers of [`super`] as serde field types, for reading upstream JSON
//! straight into typed structs without building a `serde_json::Value` tree first.
//!
//! Each type accepts every JSON shape and yields exactly what its `Value` twin yields
//! for the same JSON ([`Number`] is [`super::f64_of`], [`Flag`] is [`super::bool_of`],
//! [`Text`] is [`super::string_of`]); a shape it cannot read becomes `None`, skipped
//! without allocating, so no field can fail a whole answer. The property tests of
//! `upstream::status_answer` hold the typed and the `Value` paths equal on arbitrary JSON.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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

/// Skips a container this field cannot use, without building it.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// The `Visitor` methods every reader answers alike: null and containers are `None`.
macro_rules! unreadable_shapes {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            skip_map(map)?;
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            skip_seq(seq)?;
            Ok(Default::default())
        }
    };
}

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
            unreadable_shapes!();
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
            unreadable_shapes!();
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
            unreadable_shapes!();
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
