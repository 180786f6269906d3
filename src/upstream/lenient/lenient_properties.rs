//! Property tests of the lenient parser, bounded so the suite takes seconds in debug.
//!
//! The generated texts are built from the tokens that make almost-JSON hard (quotes,
//! backslashes, brackets, `None`, `...`), where plain random strings would almost never
//! contain a quote followed by an escape followed by a brace.

use super::repair::{self, parse_json, reference, MAX_REPAIR_BYTES};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Fragments that steer `repair` down each of its branches.
const TOKENS: &[&str] = &[
    "\"", "'", "\\", "{", "}", "[", "]", ":", ",", " ", "\n", "None", "True", "False", "...", "..",
    ".", "a", "1", "-2.5", "\"{", "}\"", "\"[", "]\"", "\\'", "\\\"", "é", "null",
];

/// A text of up to `max` tokens.
pub(crate) fn almost_json(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..max).prop_map(|parts| parts.concat())
}

/// Arbitrary bytes read as UTF-8 (invalid sequences become U+FFFD).
fn byte_ish() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..256)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Any JSON value whose numbers survive a text round trip exactly.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i32>().prop_map(|n| Value::from(f64::from(n) / 8.0)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// `pattern` repeated up to about `len` bytes, never past [`MAX_REPAIR_BYTES`].
fn repeated(pattern: &str, len: usize) -> String {
    let mut text = pattern.repeat(len / pattern.len().max(1) + 1);
    let mut end = len.min(MAX_REPAIR_BYTES).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_any_string(text in any::<String>()) {
        let _ = parse_json(&text);
    }

    #[test]
    fn never_panics_on_byte_ish_strings(text in byte_ish()) {
        let _ = parse_json(&text);
    }

    #[test]
    fn never_panics_on_almost_json(text in almost_json(64)) {
        let _ = parse_json(&text);
    }

    /// The linear repair rewrites every input exactly as the first, quadratic one did.
    #[test]
    fn repairs_like_the_reference(text in prop_oneof![almost_json(64), byte_ish()]) {
        prop_assert_eq!(repair::repair(&text), Ok(reference::repair(&text)));
    }

    #[test]
    fn valid_json_round_trips(value in json_value()) {
        for text in [value.to_string(), format!("{value:#}")] {
            prop_assert_eq!(parse_json(&text).ok(), Some(value.clone()));
        }
    }
}

proptest! {
    // Each case repairs up to a megabyte: fewer cases, still seconds in debug.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Repair of any input up to the cap completes, whatever pattern it repeats.
    #[test]
    fn repair_finishes_up_to_the_cap(
        pattern in almost_json(8),
        len in 0..=MAX_REPAIR_BYTES,
    ) {
        let text = repeated(&pattern, len);
        prop_assert!(repair::repair(&text).is_ok());
        let _ = parse_json(&text);
    }
}
