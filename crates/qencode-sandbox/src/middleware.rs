//! The layer every request passes through: it is logged (faulted ones too),
//! then any queued fault for its endpoint is applied before the handler runs.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::fault::{self, FaultKind};
use super::record::{redact_path, Endpoint};
use super::Sandbox;

/// Response extension a handler sets when it applied a fault itself (TUS
/// `PatchFailAfter`), so the log shows it.
#[derive(Debug, Clone)]
pub(crate) struct AppliedFault(pub(crate) FaultKind);

/// Records the request, then answers with the queued fault or runs the handler.
pub(crate) async fn record_and_fault(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let endpoint = Endpoint::classify(&method, request.uri().path());
    let path = redact_path(request.uri().path());
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (seq, fault) = {
        let mut inner = sandbox.shared.lock();
        // PatchFailAfter is taken by the PATCH handler once the request is known
        // to be valid, so a rejected PATCH does not use it up.
        let fault = match inner.faults.peek(endpoint) {
            Some(FaultKind::PatchFailAfter { .. }) | None => None,
            Some(_) => inner.faults.take(endpoint),
        };
        let seq = inner.record(
            method.clone(),
            path.clone(),
            endpoint,
            fault.clone(),
            traceparent,
        );
        (seq, fault)
    };
    tracing::debug!(%method, %path, ?endpoint, seq, fault = ?fault, "sandbox request");

    if let Some(kind) = &fault {
        if let Some(response) = fault::canned_response(kind, endpoint) {
            return response;
        }
        if let FaultKind::Delay(delay) = kind {
            tokio::time::sleep(*delay).await;
        }
    }
    let response = next.run(request).await;
    if let Some(AppliedFault(kind)) = response.extensions().get::<AppliedFault>() {
        sandbox.shared.lock().mark_fault(seq, kind.clone());
    }
    response
}
