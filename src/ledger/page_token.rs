//! ListTasks' page tokens (AIP-158): where the previous page ended, and a digest of
//! the filters it was listed with, as opaque URL-safe base64.
//!
//! Keyset pagination (created_at, task_token) rather than an offset: a page never
//! repeats or skips a task when tasks are added while a client pages.

use crate::support::error::Error;
use base64::Engine;

/// Where a page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// The last task's creation time (Unix ms).
    pub created_at: i64,
    /// The last task's token.
    pub task_token: String,
    /// [`super::tasks::TaskFilter::digest`] of the filters it was listed with.
    pub filter: String,
}

impl PageToken {
    /// The opaque form handed to the caller.
    pub fn encode(&self) -> String {
        let text = format!("v1|{}|{}|{}", self.created_at, self.task_token, self.filter);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    /// Reads a token a caller sent back; INVALID_ARGUMENT naming `page_token` when it is
    /// not one, or was listed with other filters than `filter`.
    pub fn decode(text: &str, filter: &str) -> Result<Self, Error> {
        let bad = || Error::invalid_field("page_token", "is not a page token ListTasks returned");
        if text.len() > 512 {
            return Err(bad());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.split('|');
        let (Some("v1"), Some(at), Some(token), Some(digest), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let created_at = at.parse().map_err(|_| bad())?;
        if digest != filter {
            return Err(Error::invalid_field(
                "page_token",
                "was returned for other filters; pass the same filters with a page token",
            ));
        }
        Ok(PageToken {
            created_at,
            task_token: token.to_owned(),
            filter: digest.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let token = PageToken {
            created_at: 1_700_000_000_123,
            task_token: "a".repeat(32),
            filter: "0011aabb".into(),
        };
        assert_eq!(
            PageToken::decode(&token.encode(), "0011aabb").unwrap(),
            token
        );
        let other = PageToken::decode(&token.encode(), "ffff").unwrap_err();
        assert_eq!(other.violations[0].field, "page_token");
        for junk in ["", "!!!", "djF8eA", &"A".repeat(600)] {
            assert!(PageToken::decode(junk, "0011aabb").is_err(), "{junk}");
        }
    }
}
