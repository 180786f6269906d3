//! The resume token: the caller's handle on an upload at the storage, so an upload cut
//! off (by the storage, the network, or the gateway itself dying) continues through any
//! gateway process instead of starting over.
//!
//! It names the upload's place, `<upload_url>/<task_token>/<file_uuid>`, by its two
//! parts the caller does not already send: the upload endpoint and the file id. The
//! task token stays out (the caller sends it in the metadata anyway, and it is the one
//! value that lets its holder start the task). Nothing is signed: a token is only a
//! place, so whatever comes back is checked like any upload URL, by the trusted-host
//! rule, the endpoint path and a plain file id. That needs no key shared between
//! replicas or kept across restarts, where a signature with the per-process random key
//! would stop verifying after exactly the restart this is for.

use super::plain_id;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use url::Url;

/// Marks the encoding, so a later format can be told apart.
const PREFIX: &str = "u1.";
/// Longest token read back (a URL of a few hundred bytes plus a file id).
const MAX_LEN: usize = 2048;

/// An upload's place at the storage, without the task token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeToken {
    /// The upload endpoint (`upload_url`, without the task token). Unchecked until
    /// [`crate::upstream::TrustedHosts`] passes it.
    pub upload_url: String,
    /// The storage's id of the upload (the location's last segment).
    pub file_uuid: String,
}

impl ResumeToken {
    /// The token of the upload at `location`, created under `upload_url` for
    /// `task_token`; `None` when the storage put it elsewhere than
    /// `<upload_url>/<task_token>/<file_uuid>`, which a token could not name.
    pub fn for_location(upload_url: &Url, task_token: &str, location: &Url) -> Option<Self> {
        let mut expected = super::task_endpoint(upload_url.clone(), task_token);
        let file_uuid = location.path_segments()?.next_back()?.to_owned();
        if !plain_id(&file_uuid) {
            return None;
        }
        expected.path_segments_mut().ok()?.push(&file_uuid);
        (expected == *location).then(|| ResumeToken {
            upload_url: upload_url.as_str().trim_end_matches('/').to_owned(),
            file_uuid,
        })
    }

    /// The opaque text handed to the caller.
    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}{}.{}",
            URL_SAFE_NO_PAD.encode(&self.upload_url),
            self.file_uuid
        )
    }

    /// Reads a token back; `None` for anything this gateway did not write.
    pub fn decode(text: &str) -> Option<Self> {
        if text.len() > MAX_LEN {
            return None;
        }
        let (url, file_uuid) = text.strip_prefix(PREFIX)?.split_once('.')?;
        let upload_url = String::from_utf8(URL_SAFE_NO_PAD.decode(url).ok()?).ok()?;
        plain_id(file_uuid).then(|| ResumeToken {
            upload_url,
            file_uuid: file_uuid.to_owned(),
        })
    }

    /// The upload's location under a (checked) task endpoint.
    pub fn location(&self, endpoint: &Url) -> Url {
        let mut location = endpoint.clone();
        if let Ok(mut segments) = location.path_segments_mut() {
            segments.pop_if_empty().push(&self.file_uuid);
        }
        location
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_token_round_trips_and_leaves_the_task_token_out() {
        let base = url("https://storage.qencode.com/v1/upload_file");
        let location = url("https://storage.qencode.com/v1/upload_file/tok123/abc-1");
        let token = ResumeToken::for_location(&base, "tok123", &location).unwrap();
        let text = token.encode();
        assert!(!text.contains("tok123"), "{text}");
        assert_eq!(ResumeToken::decode(&text), Some(token.clone()));
        let endpoint = super::super::task_endpoint(base, "tok123");
        assert_eq!(token.location(&endpoint), location);
    }

    #[test]
    fn locations_elsewhere_get_no_token() {
        let base = url("https://storage.qencode.com/v1/upload_file");
        for other in [
            "https://storage.qencode.com/v1/upload_file/tok123/a/b",
            "https://other.qencode.com/v1/upload_file/tok123/abc",
            "https://storage.qencode.com/v1/upload_file/tok999/abc",
            "https://storage.qencode.com/v1/upload_file/tok123/abc?x=1",
            "https://storage.qencode.com/v1/upload_file/tok123/a%20b",
        ] {
            assert_eq!(
                ResumeToken::for_location(&base, "tok123", &url(other)),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn foreign_text_is_not_a_token() {
        for bad in [
            "",
            "u1.",
            "u1.aGk",
            "u2.aGk.abc",
            "u1.!!.abc",
            "u1.aGk.a/b",
            "u1.aGk.a.b",
        ] {
            assert_eq!(ResumeToken::decode(bad), None, "{bad}");
        }
        assert_eq!(ResumeToken::decode(&"u1.".repeat(1000)), None);
    }
}
