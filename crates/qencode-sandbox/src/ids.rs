//! Generation and syntactic validation of the identifiers the sandbox issues.
//!
//! Qencode tokens are 32 hex digits; checking the shape first lets the sandbox
//! tell "malformed" (error 4 / 13) from "unknown" (error 5) the way Qencode does.

/// A fresh random 32-hex-digit identifier (access token, task token, master id).
pub(crate) fn new_hex32() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A fresh TUS file id; the document calls it `file_uuid`, so it is a UUID.
pub(crate) fn new_file_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fresh UUID (live stream id, stream key, simulcast target id, origin host).
pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A generated live stream name, `Stream_` plus 8 uppercase alphanumerics, like
/// Qencode's `Stream_N3B47YML`.
pub(crate) fn new_stream_name() -> String {
    format!(
        "Stream_{}",
        random_chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8)
    )
}

/// A fresh playback id: 12 lowercase alphanumerics, like Qencode's `5yxn1iz6vj4g`.
pub(crate) fn new_playback_id() -> String {
    random_chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 12)
}

/// `len` characters drawn uniformly from `alphabet` (ASCII, non-empty).
fn random_chars(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .filter_map(|_| {
            let index = rand::random_range(0..alphabet.len().max(1));
            alphabet.get(index).map(|&b| char::from(b))
        })
        .collect()
}

/// Whether `token` has the shape of a Qencode token: exactly 32 hex digits.
pub(crate) fn is_hex32(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `key` could be an API key: 1..=128 visible ASCII characters.
/// Anything else is ERROR_BAD_API_KEY rather than ERROR_API_KEY_NOT_FOUND.
pub(crate) fn is_plausible_api_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_pass_validation() {
        let token = new_hex32();
        assert!(is_hex32(&token), "{token}");
        assert_ne!(token, new_hex32());
    }

    #[test]
    fn token_shape_is_checked() {
        assert!(is_hex32("0123456789abcdefABCDEF0123456789"));
        assert!(!is_hex32("0123456789abcdef0123456789abcde"));
        assert!(!is_hex32("0123456789abcdef0123456789abcdeg"));
        assert!(!is_hex32(""));
    }

    #[test]
    fn live_ids_have_their_documented_shapes() {
        let name = new_stream_name();
        let suffix = name.strip_prefix("Stream_").unwrap_or_default();
        assert_eq!(suffix.len(), 8, "{name}");
        assert!(suffix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let playback = new_playback_id();
        assert_eq!(playback.len(), 12, "{playback}");
        assert!(playback
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_ne!(playback, new_playback_id());
        assert_eq!(new_uuid().len(), 36);
    }

    #[test]
    fn api_key_shape_is_checked() {
        assert!(is_plausible_api_key("sandbox-api-key"));
        assert!(!is_plausible_api_key(""));
        assert!(!is_plausible_api_key("has space"));
        assert!(!is_plausible_api_key(&"k".repeat(129)));
    }
}
