//! Lenient readers for Qencode's JSON.
//!
//! Qencode's own examples send numbers as strings (`"duration": "10.077"`), missing
//! values as `"None"` or `null`, booleans as `0`/`1`/`false`, and objects as JSON inside
//! a string (`"meta": "{\"width\": 854}"`). These helpers accept every shape seen and
//! return `None` for anything unreadable instead of failing the whole response.

#[cfg(test)]
mod adversarial;
#[cfg(test)]
pub(crate) mod lenient_properties;
mod protobuf;
mod repair;
pub mod typed;

pub use protobuf::{to_struct, to_value, DirectStruct, MAX_JSON_DEPTH};
pub use repair::{parse_json, MAX_REPAIR_BYTES, SLOW_PATTERNS};

use serde_json::{Map, Value};
use std::borrow::Cow;

/// A number from a JSON number or a numeric string; `None` for null, "None", "" or junk.
pub fn f64_of(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<f64>().ok().filter(|f| f.is_finite())
        }
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// A boolean from `true`/`false`, `0`/`1` (numbers or strings), "true"/"false"/"yes"/"no".
pub fn bool_of(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => flag_text(s),
        _ => None,
    }
}

/// [`bool_of`] of a string (compared without allocating: it runs for every output of
/// every status answer).
fn flag_text(s: &str) -> Option<bool> {
    let s = s.trim();
    let is = |word: &str| s.eq_ignore_ascii_case(word);
    if ["1", "true", "yes"].into_iter().any(is) {
        Some(true)
    } else if ["0", "false", "no", "", "none", "null"].into_iter().any(is) {
        Some(false)
    } else {
        s.parse::<f64>().ok().map(|f| f != 0.0)
    }
}

/// False for the strings Qencode uses for "no value".
fn text(s: &str) -> bool {
    !(s.is_empty() || s == "None" || s == "null")
}

/// A string from a JSON string or number; `None` for null, "None" and "".
pub fn string_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => text(s).then(|| s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An object from a JSON object or from a string holding a JSON object.
pub fn object_of(value: Option<&Value>) -> Option<Cow<'_, Map<String, Value>>> {
    // Borrowed when the value is already an object: status answers are read on every
    // call, and a deep copy of each object was a hot spot.
    match value? {
        Value::Object(map) => Some(Cow::Borrowed(map)),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Some(Cow::Owned(map)),
            _ => None,
        },
        _ => None,
    }
}

/// The elements of a JSON array; empty for anything else.
pub fn array_of(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_in_every_shape() {
        assert_eq!(f64_of(Some(&json!(596.521))), Some(596.521));
        assert_eq!(f64_of(Some(&json!("0.371511"))), Some(0.371511));
        assert_eq!(f64_of(Some(&json!(" 16.6585 "))), Some(16.6585));
        assert_eq!(f64_of(Some(&json!("None"))), None);
        assert_eq!(f64_of(Some(&json!(null))), None);
        assert_eq!(f64_of(Some(&json!("NaN"))), None);
        assert_eq!(f64_of(Some(&json!({"a": 1}))), None);
        assert_eq!(f64_of(None), None);
    }

    #[test]
    fn booleans_in_every_shape() {
        for yes in [json!(1), json!(true), json!("1"), json!("True")] {
            assert_eq!(bool_of(Some(&yes)), Some(true), "{yes}");
        }
        for no in [
            json!(0),
            json!(false),
            json!("0"),
            json!("false"),
            json!("None"),
        ] {
            assert_eq!(bool_of(Some(&no)), Some(false), "{no}");
        }
        assert_eq!(bool_of(Some(&json!([1]))), None);
    }

    #[test]
    fn objects_inside_strings() {
        let meta = json!("{\"width\": 854, \"resolution\": 480, \"height\": 480}");
        let map = object_of(Some(&meta)).expect("object from string");
        assert_eq!(map.get("width"), Some(&json!(854)));
        assert!(object_of(Some(&json!("not json"))).is_none());
        assert!(object_of(Some(&json!("[1,2]"))).is_none());
    }

    #[test]
    fn strings_skip_none_markers() {
        assert_eq!(string_of(Some(&json!("None"))), None);
        assert_eq!(string_of(Some(&json!(""))), None);
        assert_eq!(string_of(Some(&json!(480))), Some("480".into()));
    }
}
