//! Last-resort repair of almost-JSON.
//!
//! Real Qencode answers are JSON; this runs only when strict parsing fails. It accepts
//! the shapes Qencode's own documentation shows: Python-style single-quoted strings,
//! `None`/`True`/`False`, objects pasted into a string without escaping
//! (`"meta": "{"width": 854}"`), and `...` placeholders with the trailing commas they
//! leave behind. The output is re-parsed strictly, so a repair can never
//! produce a value that is not JSON.
//!
//! The repair is one forward pass over the input plus the two backward passes of
//! [`closings`], so its cost is linear in the input: it runs on a tokio worker, where a
//! body crafted to be slow would stall every other request on that worker.

mod closings;
#[cfg(test)]
pub(super) mod reference;

use closings::Closings;

/// Bodies larger than this are never repaired: strict parsing is their only chance.
///
/// Repair is linear, but it holds about 12 bytes a character (the characters and two
/// index tables), and the almost-JSON it exists for comes from Qencode's examples and
/// status answers, which are a few kilobytes. A megabyte of text that is not JSON is far
/// more likely a broken body than a documented shape, so the cap bounds the memory and
/// CPU one answer can cost without losing any real case.
pub const MAX_REPAIR_BYTES: usize = 1 << 20;

/// Inputs that made the first repair quadratic, each meant to be repeated to about a
/// megabyte: escaped quotes made every quote's scan run to the end; whitespace after a
/// quote was rescanned by every string ending there; the others cover the remaining
/// branches. Shared by the adversarial tests and `cargo bench --bench abuse`.
#[doc(hidden)]
pub const SLOW_PATTERNS: [&str; 16] = [
    "'\\",
    "\"\\",
    "\\'",
    "'\\'\"",
    "\"{",
    "}\"",
    "' ",
    "\" ",
    "'a'  x",
    "[",
    "}",
    ", ]",
    "...",
    "None",
    "'{\"a\": ",
    "\"meta\": \"{\"w\": 1}\"",
];

/// Why [`repair`] gave up.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TooLarge;

/// Parses `text` as JSON, repairing the documented almost-JSON shapes when needed.
///
/// Nesting deeper than serde_json's recursion limit (128) is an error, on the strict
/// path and after a repair alike, so no body can overflow the stack.
pub fn parse_json(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(strict) => match repair(text) {
            Ok(repaired) => serde_json::from_str(&repaired).map_err(|_| strict),
            Err(TooLarge) => Err(strict),
        },
    }
}

/// Rewrites almost-JSON into JSON; see the module doc for what it handles.
///
/// Fails only for inputs over [`MAX_REPAIR_BYTES`].
pub(super) fn repair(input: &str) -> Result<String, TooLarge> {
    if input.len() > MAX_REPAIR_BYTES {
        return Err(TooLarge);
    }
    let chars: Vec<char> = input.chars().collect();
    let closings = Closings::new(&chars);
    let mut out = String::with_capacity(input.len() + 16);
    // Depth of `{`/`[` nesting outside strings, and the depths at which an unquoted
    // embedded object opened (its closing quote must be dropped when that depth closes).
    let mut depth = 0usize;
    let mut embedded: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                if let Some(end) = closings.end(c, i) {
                    push_json_string(&mut out, &chars[i + 1..end], c);
                    i = end + 1;
                    continue;
                }
                if c == '"' && matches!(chars.get(i + 1), Some('{') | Some('[')) {
                    embedded.push(depth);
                    i += 1;
                    continue;
                }
                out.push(c);
            }
            '{' | '[' => {
                depth += 1;
                out.push(c);
            }
            '.' if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') => {
                i += 3;
                continue;
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                // Each trimmed character leaves `out` for good, so this is amortised
                // constant work per character, never a rescan.
                let kept = out.trim_end().len();
                out.truncate(kept);
                if out.ends_with(',') {
                    out.pop();
                }
                out.push(c);
                if embedded.last() == Some(&depth) && chars.get(i + 1) == Some(&'"') {
                    embedded.pop();
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push_str(match word.as_str() {
                    "None" => "null",
                    "True" => "true",
                    "False" => "false",
                    other => other,
                });
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// Writes `body` (the inside of a string quoted with `quote`) as a JSON string.
fn push_json_string(out: &mut String, body: &[char], quote: char) {
    out.push('"');
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            '\\' if quote == '\'' && body.get(i + 1) == Some(&'\'') => {
                out.push('\'');
                i += 1;
            }
            '\\' => {
                out.push('\\');
                if let Some(next) = body.get(i + 1) {
                    out.push(*next);
                    i += 1;
                }
            }
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
        i += 1;
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_json_is_untouched() {
        let text = r#"{"payload": "{\"a\": 1}", "n": [1, 2.5]}"#;
        assert_eq!(
            parse_json(text).unwrap(),
            json!({"payload": "{\"a\": 1}", "n": [1, 2.5]})
        );
    }

    #[test]
    fn python_style_dicts() {
        let text =
            "{\n'token' : '1357924680',\n'expire' : '2020-12-31 23:59:59', 'x': None, 'y': True\n}";
        assert_eq!(
            parse_json(text).unwrap(),
            json!({"token": "1357924680", "expire": "2020-12-31 23:59:59", "x": null, "y": true})
        );
    }

    #[test]
    fn unescaped_object_inside_a_string() {
        let text = r#"{"meta": "{"width": 854, "resolution": 480}", "duration": "0.37"}"#;
        assert_eq!(
            parse_json(text).unwrap(),
            json!({"meta": {"width": 854, "resolution": 480}, "duration": "0.37"})
        );
    }

    #[test]
    fn elided_placeholders() {
        let text = "{\"streams\": [\n {\"id\": \"a\",\n ...\n },\n {\"id\": \"b\", ...}\n ...\n ]}";
        assert_eq!(
            parse_json(text).unwrap(),
            json!({"streams": [{"id": "a"}, {"id": "b"}]})
        );
        // Dots inside strings are data.
        assert_eq!(parse_json("{'a': 'x...y'}").unwrap(), json!({"a": "x...y"}));
    }

    #[test]
    fn garbage_stays_an_error() {
        assert!(parse_json("<html><body>502 Bad Gateway</body></html>").is_err());
        assert!(parse_json("{\"a\": ").is_err());
        assert!(parse_json("").is_err());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "\"",
            "'",
            "\"{",
            "}}\"",
            "{\"a\":\"{\"}",
            "\\",
            "{'a\\",
            "[\"[\"]",
        ] {
            let _ = parse_json(text);
        }
    }
}
