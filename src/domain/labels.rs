//! Callers' labels on tasks: kept in the ledger only, bounded in count and size so a
//! caller cannot grow the ledger (or a list filter) without limit.

use crate::support::error::Violations;
use std::collections::{BTreeMap, HashMap};

/// Most labels on one task (or in one list filter).
pub const MAX_LABELS: usize = 32;
/// Longest label name.
pub const MAX_NAME_LEN: usize = 63;
/// Longest label value.
pub const MAX_VALUE_LEN: usize = 256;

/// Checks `labels` (field `field`), recording violations; returns them sorted.
pub fn check(
    field: &str,
    labels: &HashMap<String, String>,
    v: &mut Violations,
) -> BTreeMap<String, String> {
    if labels.len() > MAX_LABELS {
        v.add(field, format!("at most {MAX_LABELS} labels"));
        return BTreeMap::new();
    }
    let mut sorted = BTreeMap::new();
    for (name, value) in labels {
        let valid_name = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-/".contains(c));
        if !valid_name {
            v.add(
                format!("{field}[{}]", printable(name)),
                format!("a label name is 1-{MAX_NAME_LEN} characters of a-z, 0-9, _ . - /"),
            );
            continue;
        }
        if value.chars().count() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
            v.add(
                format!("{field}[{name}]"),
                format!(
                    "a label value is at most {MAX_VALUE_LEN} characters, no control characters"
                ),
            );
            continue;
        }
        sorted.insert(name.clone(), value.clone());
    }
    sorted
}

/// A name as a field path can show it: at most 64 characters, control characters as `?`.
fn printable(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violations(labels: &[(&str, &str)]) -> Vec<String> {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut v = Violations::default();
        check("labels", &labels, &mut v);
        match v.into_result() {
            Ok(()) => vec![],
            Err(e) => e.violations.iter().map(|v| v.field.clone()).collect(),
        }
    }

    #[test]
    fn bounds_and_forms() {
        assert!(violations(&[("team", "encoder"), ("app.kubernetes.io/name", "x")]).is_empty());
        assert_eq!(violations(&[("Team", "x")]), vec!["labels[Team]"]);
        assert_eq!(violations(&[("", "x")]), vec!["labels[]"]);
        let long = "v".repeat(257);
        assert_eq!(violations(&[("team", &long)]), vec!["labels[team]"]);
        let many: Vec<(String, String)> = (0..33).map(|i| (format!("k{i}"), "v".into())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(violations(&many), vec!["labels"]);
    }
}
