//! Push from Qencode's task callbacks.
//!
//! Qencode signs nothing, so the callback URL itself carries the proof: when
//! `GATEWAY_CALLBACK_URL` is set, StartEncode and Transcode add
//! `callback_url = <base>/callbacks/task/<HMAC-SHA256(secret, task_token)>` to the query
//! (unless the caller set one). Only Qencode, which received that URL, can produce a
//! matching pair; anything else gets 401 and changes nothing. A valid callback updates
//! the task's watchers at once; polling stays on as the safety net, and a resent
//! callback changes nothing (equal states wake nobody).

use super::Hub;
pub use crate::signer::CallbackSigner;
use crate::{
    lenient::parse_json,
    pb::TaskStatus,
    upstream::task_status::{is_terminal, parse_task_status},
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    routing::post,
    Router,
};
use std::sync::Arc;
use tracing::{debug, warn};

/// Route of the callback endpoint on the HTTP listener.
pub const ROUTE: &str = "/callbacks/task/{signature}";

#[derive(Clone)]
struct CallbackState {
    hub: Arc<Hub<TaskStatus>>,
    signer: Arc<CallbackSigner>,
    /// Fleet mode: verified callbacks reach every replica's watchers.
    fleet: Option<Arc<crate::fleet::Fleet>>,
}

/// The callback endpoint, for the HTTP listener; in fleet mode each verified callback is
/// also shared with the other replicas.
pub fn router(
    hub: Arc<Hub<TaskStatus>>,
    signer: Arc<CallbackSigner>,
    fleet: Option<Arc<crate::fleet::Fleet>>,
) -> Router {
    Router::new()
        .route(ROUTE, post(receive))
        .with_state(CallbackState { hub, signer, fleet })
}

async fn receive(
    State(state): State<CallbackState>,
    Path(signature): Path<String>,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(task_token) = field("task_token").filter(|t| !t.is_empty()) else {
        return (StatusCode::UNAUTHORIZED, "unknown callback\n");
    };
    if !state.signer.verify(task_token, &signature) {
        // Anyone can post here: one line per interval with a count, never a line per
        // forged request (a flood would otherwise flood the log).
        static FORGED: crate::limits::Throttle = crate::limits::Throttle::new();
        crate::metrics::record_limit_hit("callback_signature", "http");
        if let Some(suppressed) = FORGED.allow() {
            warn!(
                suppressed,
                "rejected a task callback whose signature does not match"
            );
        }
        return (StatusCode::UNAUTHORIZED, "unknown callback\n");
    }
    if field("callback_type").is_some_and(|kind| kind != "task") {
        // Subtask callbacks describe one rendition; the task status comes from polling.
        return (StatusCode::OK, "ignored\n");
    }
    let Some(status) = field("status")
        .and_then(|s| parse_json(s).ok())
        .as_ref()
        .and_then(parse_task_status)
    else {
        return (StatusCode::BAD_REQUEST, "no readable status\n");
    };
    let terminal = is_terminal(&status);
    if let Some(fleet) = &state.fleet {
        crate::fleet::callbacks::share_callback(fleet, task_token, &status).await;
    }
    let delivered = state.hub.push(task_token, status, terminal);
    debug!(
        task_token,
        event = field("event").unwrap_or(""),
        delivered,
        "task callback"
    );
    (StatusCode::OK, "ok\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use url::Url;

    #[test]
    fn signatures_bind_the_task_and_the_secret() {
        let base = Url::parse("https://gw.example.com/").unwrap();
        let signer = CallbackSigner::new(base.clone(), &Secret::new("s3cret"));
        let url = signer.url_for("abc");
        let signature = url.rsplit('/').next().unwrap();
        assert!(url.starts_with("https://gw.example.com/callbacks/task/"));
        assert!(signer.verify("abc", signature));
        assert!(!signer.verify("abd", signature));
        assert!(!signer.verify("abc", "00"));
        assert!(!signer.verify("abc", "not hex"));
        let other = CallbackSigner::new(base, &Secret::new("other"));
        assert!(!other.verify("abc", signature));
    }
}
