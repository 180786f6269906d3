//! Checks an upload's metadata before anything is sent upstream.

use crate::domain::upload::resume_token::ResumeToken;
use crate::{domain::ids::check as task_token, pb::UploadMetadata, support::error::Violations};

/// Longest file name sent as TUS metadata (it travels base64-encoded in a header).
const MAX_FILE_NAME_BYTES: usize = 1024;
/// Longest media type sent as TUS metadata.
const MAX_CONTENT_TYPE_BYTES: usize = 255;

/// Records every problem of `metadata`; `max_size` is the gateway's upload limit.
pub fn metadata(metadata: &UploadMetadata, max_size: u64, v: &mut Violations) {
    task_token("metadata.task_token", &metadata.task_token, v);
    if metadata.size == 0 {
        v.add("metadata.size", "must be at least 1 byte");
    } else if metadata.size > max_size {
        v.add(
            "metadata.size",
            format!(
                "is {} bytes; this gateway accepts at most {max_size}",
                metadata.size
            ),
        );
    }
    text(
        "metadata.file_name",
        &metadata.file_name,
        MAX_FILE_NAME_BYTES,
        v,
    );
    if let Some(content_type) = &metadata.content_type {
        text(
            "metadata.content_type",
            content_type,
            MAX_CONTENT_TYPE_BYTES,
            v,
        );
    }
}

/// The resume token of an upload that continues (`None` for a new one); records a
/// token this gateway cannot read, and an offset without a token.
pub fn resume(metadata: &UploadMetadata, v: &mut Violations) -> Option<ResumeToken> {
    match metadata.resume_token.as_deref() {
        Some(text) => {
            let token = token("metadata.resume_token", text, v);
            if metadata.offset.is_some_and(|offset| offset > metadata.size) {
                v.add("metadata.offset", "must not be past metadata.size");
            }
            token
        }
        None => {
            if metadata.offset.is_some_and(|offset| offset > 0) {
                v.add(
                    "metadata.offset",
                    "needs metadata.resume_token: only a resumed upload starts past 0",
                );
            }
            None
        }
    }
}

/// A resume token, read back; records `field` when it is empty or not one this gateway
/// writes.
pub fn token(field: &str, text: &str, v: &mut Violations) -> Option<ResumeToken> {
    if text.is_empty() {
        v.add(field, "is required");
        return None;
    }
    let token = ResumeToken::decode(text);
    if token.is_none() {
        v.add(
            field,
            "is not a resume token this gateway issued (from CreateUpload, an UploadFile answer or error)",
        );
    }
    token
}

fn text(field: &str, value: &str, max_bytes: usize, v: &mut Violations) {
    if value.len() > max_bytes {
        v.add(field, format!("must be at most {max_bytes} bytes"));
    } else if value.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(m: &UploadMetadata, max: u64) -> Vec<String> {
        let mut v = Violations::default();
        metadata(m, max, &mut v);
        match v.into_result() {
            Ok(()) => vec![],
            Err(e) => e.violations.iter().map(|v| v.field.clone()).collect(),
        }
    }

    #[test]
    fn every_problem_is_named() {
        let good = UploadMetadata {
            task_token: "abc123".into(),
            file_name: "clip.mp4".into(),
            size: 10,
            content_type: Some("video/mp4".into()),
            upload_url: None,
            resume_token: None,
            offset: None,
        };
        assert!(fields(&good, 10).is_empty());
        assert_eq!(fields(&good, 9), ["metadata.size"]);
        let bad = UploadMetadata {
            task_token: String::new(),
            file_name: "a\nb".into(),
            size: 0,
            content_type: Some("x".repeat(300)),
            upload_url: None,
            resume_token: None,
            offset: None,
        };
        assert_eq!(
            fields(&bad, 10),
            [
                "metadata.task_token",
                "metadata.size",
                "metadata.file_name",
                "metadata.content_type"
            ]
        );
    }
}
