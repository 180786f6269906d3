//! Push from Qencode's task callbacks.
//!
//! Qencode signs nothing, so the callback URL itself carries the proof: when
//! `GATEWAY_CALLBACK_URL` is set, StartEncode and Transcode add
//! `callback_url = <base>/callbacks/task/<task_token>/<HMAC-SHA256(secret, task_token)>`
//! to the query (unless the caller set one). Only Qencode, which received that URL, can
//! produce a matching pair; anything else gets 401 before its body is read
//! ([`super::callback_body`]) and changes nothing, and so does a body about another task. A
//! valid callback updates the task's watchers at once; polling stays on as the safety
//! net, and a resent callback changes nothing (equal states wake nobody).
//!
//! URLs of the first form, `/callbacks/task/<signature>` (tasks started by an earlier
//! version), named no task, so they could only be checked after the body: they get 401
//! unread, and those tasks' watchers follow polling.

use super::{
    callback_body::{self, BodyBounds},
    Hub,
};
pub use crate::domain::signer::CallbackSigner;
use crate::{
    pb::TaskStatus,
    upstream::{
        lenient::parse_json,
        task_status::{is_terminal, parse_task_status},
    },
};
use axum::{
    body::Body,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use std::sync::Arc;
use tracing::debug;

/// Route of the callback endpoint on the HTTP listener.
pub const ROUTE: &str = "/callbacks/task/{task_token}/{signature}";
/// The first form of the route, which named no task.
const UNSIGNED_ROUTE: &str = "/callbacks/task/{signature}";

#[derive(Clone)]
struct CallbackState {
    hub: Arc<Hub<TaskStatus>>,
    signer: Arc<CallbackSigner>,
    /// Fleet mode: verified callbacks reach every replica's watchers.
    fleet: Option<Arc<crate::fleet::Fleet>>,
    bounds: BodyBounds,
}

/// The callback endpoint, for the HTTP listener, reading bodies within `bounds`; in
/// fleet mode each verified callback is also shared with the other replicas.
pub fn router(
    hub: Arc<Hub<TaskStatus>>,
    signer: Arc<CallbackSigner>,
    fleet: Option<Arc<crate::fleet::Fleet>>,
    bounds: BodyBounds,
) -> Router {
    Router::new()
        .route(ROUTE, post(receive))
        .route(
            UNSIGNED_ROUTE,
            post(|| async {
                callback_body::forged("rejected a task callback URL that names no task")
            }),
        )
        .with_state(CallbackState {
            hub,
            signer,
            fleet,
            bounds,
        })
}

async fn receive(
    State(state): State<CallbackState>,
    Path((task_token, signature)): Path<(String, String)>,
    body: Body,
) -> Response {
    // The URL first: a request not signed for the task it names is refused unread.
    if !state.signer.verify(&task_token, &signature) {
        return callback_body::forged("rejected a task callback whose signature does not match");
    }
    let body = match callback_body::read(body, state.bounds).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let form = Form::read(&body);
    if form.task_token.as_deref() != Some(task_token.as_str()) {
        // Signed for one task, about another.
        return callback_body::forged("rejected a task callback about another task than its URL's");
    }
    if !form.is_task {
        // Subtask callbacks describe one rendition; the task status comes from polling.
        return (StatusCode::OK, "ignored\n").into_response();
    }
    let Some(status) = form.status else {
        return (StatusCode::BAD_REQUEST, "no readable status\n").into_response();
    };
    let task_token = task_token.as_str();
    let terminal = is_terminal(&status);
    if let Some(fleet) = &state.fleet {
        crate::domain::watch::shared::snapshots::share_callback(fleet, task_token, &status).await;
    }
    let delivered = state.hub.push(task_token, status, terminal);
    debug!(
        task_token,
        event = form.event.as_deref().unwrap_or(""),
        delivered,
        "task callback"
    );
    (StatusCode::OK, "ok\n").into_response()
}

/// What a callback form says, read leniently: any body yields a form, and whatever
/// cannot be read is left out (the receiver then answers 400 or 401).
#[derive(Debug, Default)]
struct Form {
    /// `task_token`, when present and not empty.
    task_token: Option<String>,
    /// False for subtask callbacks (`callback_type` other than `task`).
    is_task: bool,
    /// `status`: the task status object as JSON text.
    status: Option<TaskStatus>,
    /// `event`, for the log.
    event: Option<String>,
}

impl Form {
    fn read(body: &[u8]) -> Form {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        Form {
            task_token: field("task_token")
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            is_task: field("callback_type").is_none_or(|kind| kind == "task"),
            status: field("status")
                .and_then(|s| parse_json(s).ok())
                .as_ref()
                .and_then(parse_task_status),
            event: field("event").map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::secret::Secret;
    use url::Url;

    #[test]
    fn signatures_bind_the_task_and_the_secret() {
        let base = Url::parse("https://gw.example.com/").unwrap();
        let signer = CallbackSigner::new(base.clone(), &Secret::new("s3cret"));
        let url = signer.url_for("abc");
        let signature = url.rsplit('/').next().unwrap();
        assert!(url.starts_with("https://gw.example.com/callbacks/task/abc/"));
        assert!(signer.verify("abc", signature));
        assert!(!signer.verify("abd", signature));
        assert!(!signer.verify("abc", "00"));
        assert!(!signer.verify("abc", "not hex"));
        let other = CallbackSigner::new(base, &Secret::new("other"));
        assert!(!other.verify("abc", signature));
    }

    /// The callback request the API reference shows, byte for byte.
    const DOCUMENTED: &str = include_str!("../../../tests/fixtures/callback_form.txt");

    #[test]
    fn the_documented_callback_form_reads_whole() {
        let form = Form::read(DOCUMENTED.trim().as_bytes());
        assert_eq!(
            form.task_token.as_deref(),
            Some("e2079274fc1c4d12af5cf14affc9ba4e")
        );
        assert!(form.is_task);
        assert_eq!(form.event.as_deref(), Some("saved"));
        let status = form.status.expect("status reads");
        assert_eq!(status.state(), crate::pb::TaskState::Completed);
        assert_eq!(status.videos.len(), 1);
        assert_eq!(status.audios.len(), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Any body reads as a form without panicking.
        #[test]
        fn any_body_reads(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = Form::read(&body);
        }

        /// The documented form with one byte changed, cut or duplicated still reads
        /// without panicking, and its task token is either intact or absent.
        #[test]
        fn a_mangled_documented_form_reads(at in 0usize..4000, byte in proptest::prelude::any::<u8>(), cut in proptest::prelude::any::<bool>()) {
            let mut body = DOCUMENTED.trim().as_bytes().to_vec();
            let at = at % body.len();
            if cut { body.truncate(at) } else { body[at] = byte }
            let form = Form::read(&body);
            if let Some(token) = form.task_token {
                proptest::prop_assert!(!token.is_empty());
            }
        }

        /// Whatever task token and event a form carries come back exactly, so the
        /// signature is checked against the token Qencode sent.
        #[test]
        fn fields_round_trip(token in "\\PC{1,40}", event in "\\PC{0,20}", kind in proptest::option::of("task|subtask")) {
            let mut fields = vec![("task_token", token.clone()), ("event", event.clone())];
            if let Some(kind) = &kind {
                fields.push(("callback_type", kind.clone()));
            }
            let body = serde_urlencoded::to_string(&fields).unwrap();
            let form = Form::read(body.as_bytes());
            proptest::prop_assert_eq!(form.task_token, Some(token));
            proptest::prop_assert_eq!(form.event, Some(event));
            proptest::prop_assert_eq!(form.is_task, kind.as_deref() != Some("subtask"));
        }
    }
}
