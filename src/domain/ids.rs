//! The one check for ids the gateway puts into upstream paths and forms (task tokens,
//! live stream ids, playback and target ids). A leaf module, so every domain can use it.

use crate::support::error::Violations;

/// Longest id accepted.
pub const MAX_ID_LEN: usize = 128;

/// An id must be one safe path segment, so no caller can steer the gateway to another
/// upstream path: letters, digits, '-' and '_' only (this rules out '/', '.', '..', '?',
/// '#', '%', whitespace and control characters), 1 to 128 characters. `field` names it
/// in the error.
pub fn check(field: &str, value: &str, v: &mut Violations) {
    if value.is_empty() {
        v.add(field, "must not be empty");
    } else if value.len() > MAX_ID_LEN {
        v.add(field, format!("must be at most {MAX_ID_LEN} characters"));
    } else if !value
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        v.add(field, "may contain only letters, digits, '-' and '_'");
    }
}
