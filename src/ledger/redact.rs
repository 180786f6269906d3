//! The submitted query as the ledger keeps it: every secret replaced.
//!
//! Qencode's query carries storage credentials (`destination.key`, `destination.secret`),
//! DRM and AES keys (`key`, `iv`), and URLs that may hold a password or a presigned
//! signature. The ledger is read by callers other than the submitter (ListTasks,
//! GetTask), so none of that is stored: secret-named fields become `"[redacted]"`, and
//! URLs lose their user info and any query parameter that signs or authenticates.

use serde_json::Value;

/// What a removed secret reads as.
pub const REDACTED: &str = "[redacted]";

/// Field names whose values are secrets wherever they appear in a query.
const SECRET_FIELDS: &[&str] = &[
    "key",
    "secret",
    "iv",
    "password",
    "passphrase",
    "pass",
    "api_key",
    "access_key",
    "secret_key",
    "access_token",
    "token",
    "private_key",
    "credentials",
];

/// URL query parameters that authenticate (presigned S3/GCS/Azure URLs, tokens).
const SECRET_PARAMS: &[&str] = &[
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "sig",
    "token",
    "access_token",
    "key",
    "api_key",
    "password",
];

/// `query` with its secrets replaced (a copy; the one sent upstream is untouched).
pub fn redacted(query: &Value) -> Value {
    let mut query = query.clone();
    redact(&mut query);
    query
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, value) in map.iter_mut() {
                if is_secret_field(name) && !value.is_null() {
                    *value = Value::String(REDACTED.into());
                } else {
                    redact(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(text) => {
            if let Some(clean) = clean_url(text) {
                *text = clean;
            }
        }
        _ => {}
    }
}

fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_FIELDS.contains(&name.as_str())
}

/// A URL without user info or authenticating parameters, when `text` is a URL that had
/// any; `None` otherwise (the text stays as it is).
fn clean_url(text: &str) -> Option<String> {
    if !text.contains("://") {
        return None;
    }
    let mut url = url::Url::parse(text).ok()?;
    let mut changed = false;
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
        changed = true;
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str());
                changed |= secret;
                let v = if secret {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        if changed {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    changed.then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn storage_drm_and_url_secrets_are_gone_the_rest_stays() {
        let query = json!({
            "source": "https://user:hunter2@media.example/in.mp4",
            "format": [{
                "output": "advanced_hls",
                "destination": {"url": "s3://us-west.s3.example/b/out", "key": "AKIAKEY", "secret": "SECRET1", "permissions": "public-read"},
                "cenc_drm": {"key": "K1", "key_id": "kid", "iv": "IV1", "la_url": "https://drm.example/la"},
                "stream": [{"size": "1920x1080", "destination": [{"url": "s3://b/x", "key": "KEY2", "secret": "SECRET2"}]}]
            }],
            "stitch": ["https://b.example/a.mp4?X-Amz-Signature=SIG3&X-Amz-Expires=60"],
            "callback_url": "https://hooks.example/q?token=TOKEN4&id=7"
        });
        let text = redacted(&query).to_string();
        for secret in [
            "hunter2", "AKIAKEY", "SECRET1", "K1", "IV1", "KEY2", "SECRET2", "SIG3", "TOKEN4",
        ] {
            assert!(!text.contains(secret), "{secret} kept: {text}");
        }
        for kept in [
            "public-read",
            "1920x1080",
            "X-Amz-Expires=60",
            "id=7",
            "kid",
            "media.example/in.mp4",
            "https://drm.example/la",
        ] {
            assert!(text.contains(kept), "{kept} lost: {text}");
        }
    }

    #[test]
    fn odd_values_never_panic() {
        assert_eq!(redacted(&json!({"KEY": 5})), json!({"KEY": REDACTED}));
        assert_eq!(
            redacted(&json!([1, {"key": null}])),
            json!([1, {"key": null}])
        );
        for text in ["://", "http://[::1", "not a url", ""] {
            assert_eq!(redacted(&json!(text)), json!(text));
        }
    }
}
