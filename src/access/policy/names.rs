//! Checks of names and patterns in the policy file, and the digest comparison.

/// Compares two digests in time independent of where they differ. (ring's
/// `constant_time::verify_slices_are_equal` is deprecated, "no promises regarding side
/// channels"; comparing digests rather than tokens already leaks nothing usable, this
/// keeps it so.)
pub(super) fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

pub(super) fn valid_project_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= super::MAX_PROJECT_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.split_once('/') {
        Some((service, method)) => {
            !service.is_empty()
                && !method.is_empty()
                && !method.contains('/')
                && service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                && (method == "*"
                    || method
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        }
        None => false,
    }
}
