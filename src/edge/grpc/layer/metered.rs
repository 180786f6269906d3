//! What the layer keeps of a call until its status is known: the response body watched
//! for the gRPC status that ends it ([`MeteredBody`]: metrics, span, audit line, the
//! shutdown cut of server streams), and the slots the call holds until then.

use super::cut::CutWaiter;
use crate::{
    access::check::{CallContext, WatcherSlot},
    edge::grpc::status,
    support::metrics,
};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};
use tokio::{sync::OwnedSemaphorePermit, time::Instant};
use tonic::Code;

/// A mutating call's audit facts, kept until its status is known.
pub(super) struct Audit {
    pub(super) method: &'static str,
    /// The caller's policy name whenever the check identified it, refused calls
    /// included.
    pub(super) caller: Option<std::sync::Arc<str>>,
    /// Project and the id the service noted (none for calls refused by the check).
    pub(super) context: Option<CallContext>,
}

impl Audit {
    /// One audit line: who called which mutating method, with which project, about
    /// which task or stream, and how it ended. Never a credential: the caller is its
    /// policy name (`-` without a policy or a matching caller), the project its name;
    /// task tokens and stream ids are ids, not secrets (Qencode puts them in URLs).
    /// Written in the call's `span` (a response ends outside it), so the line carries
    /// the call's trace and span ids.
    pub(super) fn line(&self, span: &tracing::Span, code: Code) {
        let context = self.context.as_ref();
        let subject = context.and_then(CallContext::subject);
        tracing::info!(
            target: "audit",
            parent: span,
            caller = self.caller.as_deref().unwrap_or("-"),
            project = context.map_or("-", |c| &*c.project.name),
            method = self.method,
            task_token = subject.filter(|(f, _)| *f == "task_token").map(|(_, v)| v),
            stream_id = subject.filter(|(f, _)| *f == "stream_id").map(|(_, v)| v),
            code = code_name(code),
            "call"
        );
    }
}

pub(super) fn finish(
    span: &tracing::Span,
    metrics: &metrics::RpcMetrics,
    code: Code,
    started: Instant,
) {
    let name = code_name(code);
    span.record("rpc.grpc.status_code", code as i32);
    if code != Code::Ok {
        span.record("otel.status_code", "ERROR");
    }
    metrics.record(code as usize, name, started.elapsed());
}

/// The slots a call holds while it runs, freed when its response body is dropped.
#[derive(Default)]
pub(super) struct Held {
    /// Its unary or upload slot.
    pub(super) permit: Option<OwnedSemaphorePermit>,
    /// The caller's watcher slot (with a policy's `max_watchers`); held, never read.
    pub(super) _caller_slot: Option<WatcherSlot>,
    /// Its health `Watch` or reflection slot.
    pub(super) open_slot: Option<super::stream_slots::OpenSlot>,
}

/// The response body, watched for the gRPC status that ends it.
pub(super) struct MeteredBody<B> {
    inner: B,
    span: tracing::Span,
    metrics: Arc<metrics::RpcMetrics>,
    started: Instant,
    header_code: Option<Code>,
    done: bool,
    /// For server streams: ready shortly after shutdown begins.
    cut: Option<CutWaiter>,
    /// The stream was closed by the gateway at shutdown.
    closed: bool,
    /// Held while the body lives.
    _held: Held,
    /// Set for mutating calls: audited when the status is known.
    audit: Option<Audit>,
}

/// What a [`MeteredBody`] is made of, besides the body.
pub(super) struct Metering {
    pub(super) span: tracing::Span,
    pub(super) metrics: Arc<metrics::RpcMetrics>,
    pub(super) started: Instant,
    pub(super) cut: Option<CutWaiter>,
    pub(super) held: Held,
    pub(super) audit: Option<Audit>,
}

impl<B> MeteredBody<B> {
    /// `inner`, metered as `metering` says; `header_code` is the status of a
    /// trailers-only response.
    pub(super) fn new(inner: B, header_code: Option<Code>, metering: Metering) -> Self {
        MeteredBody {
            inner,
            span: metering.span,
            metrics: metering.metrics,
            started: metering.started,
            header_code,
            done: false,
            cut: metering.cut,
            closed: false,
            _held: metering.held,
            audit: metering.audit,
        }
    }
}

impl<B> MeteredBody<B> {
    fn end(&mut self, code: Code) {
        if !self.done {
            self.done = true;
            finish(&self.span, &self.metrics, code, self.started);
            if let Some(a) = &self.audit {
                a.line(&self.span, code);
            }
        }
    }
}

impl<B> HttpBody for MeteredBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.closed {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if polled.is_pending() && !self.done {
            if let Some(cut) = self.cut.as_mut() {
                if cut.poll(cx).is_ready() {
                    self.closed = true;
                    self.end(Code::Unavailable);
                    return Poll::Ready(Some(Ok(Frame::trailers(status::shutdown_trailers()))));
                }
            }
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailers
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map(Code::from_i32);
                    let code = code.or(self.header_code).unwrap_or(Code::Unknown);
                    self.end(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.end(Code::Internal),
            Poll::Ready(None) => {
                let code = self.header_code.unwrap_or(Code::Ok);
                self.end(code);
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.closed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for MeteredBody<B> {
    fn drop(&mut self) {
        // Dropped before its status was sent: the client went away.
        self.end(self.header_code.unwrap_or(Code::Cancelled));
    }
}

/// The canonical name of a gRPC code, for labels.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
