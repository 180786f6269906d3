//! Hostile bodies: a megabyte of the patterns that made the first repair quadratic, and
//! nesting deep enough to overflow a recursive parser.
//!
//! Nothing here asserts a time: each test passes by finishing (and, for depth, by not
//! overflowing the stack of a thread sized like a tokio worker's).

use super::repair::{parse_json, repair, MAX_REPAIR_BYTES};

/// A tokio worker's default stack; the gateway parses upstream bodies on such threads.
const WORKER_STACK: usize = 2 * 1024 * 1024;

/// About a megabyte (1,000,000 bytes, under the cap) of `pattern`.
fn megabyte_of(pattern: &str) -> String {
    pattern.repeat(1_000_000 / pattern.len())
}

/// Runs `f` on a thread with a worker-sized stack and returns its result.
fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(f)
        .expect("spawn a test thread")
        .join()
        .expect("the parser must not panic or overflow")
}

#[test]
fn a_megabyte_of_slow_patterns_is_repaired() {
    for pattern in super::SLOW_PATTERNS {
        let text = megabyte_of(pattern);
        let repaired = repair(&text).expect("under the cap");
        // Linear output too: at most one escape per input character, plus the quotes.
        assert!(repaired.len() <= 2 * text.len() + 2, "{pattern:?}");
        let _ = parse_json(&text);
    }
}

#[test]
fn a_megabyte_of_whitespace_after_escaped_quotes_is_repaired() {
    // Every string in `'\'\'…'` closes at the same quote, followed by a long blank run.
    let text = format!("{}'{}x", "'\\".repeat(100_000), " ".repeat(700_000));
    assert!(repair(&text).is_ok());
}

#[test]
fn over_the_cap_is_not_repaired_but_still_parsed_strictly() {
    let broken = format!("{{'a': '{}'}}", "x".repeat(MAX_REPAIR_BYTES));
    assert!(repair(&broken).is_err());
    assert!(parse_json(&broken).is_err());
    let strict = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_REPAIR_BYTES));
    assert!(parse_json(&strict).is_ok());
    // Right at the cap, repair still runs.
    let at_cap = format!("{{'a': '{}'}}", "x".repeat(MAX_REPAIR_BYTES - 9));
    assert_eq!(at_cap.len(), MAX_REPAIR_BYTES);
    assert!(parse_json(&at_cap).is_ok());
}

#[test]
fn deep_nesting_is_a_clean_error_on_a_worker_stack() {
    let deep = [
        // Strict JSON, too deep for serde_json's limit of 128.
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000)),
        // Almost-JSON that only the repair path sees.
        format!("{}None{}", "{'a':".repeat(100_000), "}".repeat(100_000)),
        "\"meta\": \"{".repeat(100_000),
        "[".repeat(MAX_REPAIR_BYTES + 1),
    ];
    for text in deep {
        assert!(on_worker_stack(move || parse_json(&text).is_err()));
    }
}

#[test]
fn nesting_within_the_limit_still_parses_on_a_worker_stack() {
    let text = format!("{}None{}", "{'a':".repeat(120), "}".repeat(120));
    assert!(on_worker_stack(move || parse_json(&text).is_ok()));
    let text = format!("{}{}", "[".repeat(127), "]".repeat(127));
    assert!(on_worker_stack(move || parse_json(&text).is_ok()));
}
