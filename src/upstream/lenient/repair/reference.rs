//! The first, quadratic `repair`, kept verbatim as an oracle: the property tests check
//! that the linear one rewrites every small input exactly as this one did.
//!
//! Test-only; never call it on large inputs (see `closings` for why it is slow).

/// Rewrites almost-JSON into JSON; see the `repair` module doc for what it handles.
pub(in crate::upstream::lenient) fn repair(input: &str) -> String {
    let chars: Vec<char> = input.chars().collect();
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
                if let Some(end) = string_end(&chars, i) {
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
    out
}

/// The index of the quote that closes the string opened at `start`, when the string is a
/// well-formed literal followed by a structural character (so `"{"a": 1}"` is not one).
fn string_end(chars: &[char], start: usize) -> Option<usize> {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => {
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                return match next {
                    None | Some(',') | Some('}') | Some(']') | Some(':') => Some(i),
                    Some(_) => None,
                };
            }
            _ => i += 1,
        }
    }
    None
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
