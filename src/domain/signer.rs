//! [`CallbackSigner`]: the HMAC that makes a callback URL its own proof.
//!
//! Qencode signs nothing, so the gateway signs the URL it hands to Qencode: only Qencode,
//! which received `<base>/callbacks/task/<task_token>/<HMAC-SHA256(secret, task_token)>`,
//! can post a matching (token, signature) pair. The URL names what it signs, so the
//! callback endpoint checks it before reading a byte of the body. A leaf module: the Transcoding domain signs, the
//! watchers' callback endpoint verifies.

use crate::support::secret::Secret;
use ring::hmac;
use url::Url;

/// Signs and checks per-task callback URLs.
pub struct CallbackSigner {
    base: Url,
    key: hmac::Key,
}

impl CallbackSigner {
    /// A signer for callback URLs under `base` (the public URL of the HTTP listener).
    pub fn new(base: Url, secret: &Secret) -> Self {
        CallbackSigner {
            base,
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes()),
        }
    }

    /// A signer with a random secret (callbacks then verify only on this process).
    pub fn with_random_secret(base: Url) -> Self {
        let bytes: [u8; 32] = rand::random();
        CallbackSigner {
            base,
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        }
    }

    /// The callback URL for `task_token`.
    pub fn url_for(&self, task_token: &str) -> String {
        let signature = hex::encode(hmac::sign(&self.key, task_token.as_bytes()).as_ref());
        self.url("task", task_token, &signature)
    }

    /// `<base>/callbacks/<kind>/<subject>/<signature>`, the subject percent-encoded as a
    /// path segment (task tokens and stream ids need none; an odd id stays one segment).
    fn url(&self, kind: &str, subject: &str, signature: &str) -> String {
        let mut url = self.base.clone();
        let pushed = url
            .path_segments_mut()
            .map(|mut segments| {
                segments
                    .pop_if_empty()
                    .extend(["callbacks", kind, subject, signature]);
            })
            .is_ok();
        if pushed {
            return url.into();
        }
        // A base that cannot have a path (not http or https: the config refuses those).
        format!(
            "{}/callbacks/{kind}/{subject}/{signature}",
            self.base.as_str().trim_end_matches('/')
        )
    }

    /// The callback URL for live stream `stream_id`. Signed over `stream:<id>`, so a
    /// task's signature never passes for a stream whose id equals its token.
    pub fn stream_url_for(&self, stream_id: &str) -> String {
        let message = format!("stream:{stream_id}");
        let signature = hex::encode(hmac::sign(&self.key, message.as_bytes()).as_ref());
        self.url("stream", stream_id, &signature)
    }

    /// True when `signature` is this gateway's signature of live stream `stream_id`.
    pub fn verify_stream(&self, stream_id: &str, signature: &str) -> bool {
        let message = format!("stream:{stream_id}");
        match hex::decode(signature) {
            Ok(bytes) => hmac::verify(&self.key, message.as_bytes(), &bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// True when `signature` is this gateway's signature of `task_token` (constant time).
    pub fn verify(&self, task_token: &str, signature: &str) -> bool {
        match hex::decode(signature) {
            Ok(bytes) => hmac::verify(&self.key, task_token.as_bytes(), &bytes).is_ok(),
            Err(_) => false,
        }
    }
}
