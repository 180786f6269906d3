//! The tower layer in front of every gRPC service.
//!
//! In one place, because they all need the same facts about a call (its method, when it
//! started, how it ended):
//! - a `rpc` span per call with OpenTelemetry's RPC attributes, parented on the caller's
//!   W3C `traceparent`;
//! - `rpc_server_*` metrics by service, method and gRPC status code, read from the
//!   response headers (trailers-only errors) or trailers, when the body ends;
//! - a gateway-wide limit on concurrent unary calls: past it a call is refused at once
//!   with RESOURCE_EXHAUSTED instead of queueing (watch streams have their own limit). A
//!   call takes its slot only once its request has arrived ([`super::admission`]), so
//!   streams that never send their message cannot hold the slots;
//! - a default deadline (`grpc-timeout`) for unary calls that bring none, so no call can
//!   hold upstream resources forever; it also bounds the wait for the request message;
//! - who may call what ([`crate::access::check`]): identity, policy and per-caller limits,
//!   in one step before the request is read, so a refused call costs no upstream
//!   request, no slot and no body read;
//! - an `audit` line for every call that changes something upstream;
//! - at shutdown, server streams that do not end by themselves (health `Watch`,
//!   reflection) are closed with UNAVAILABLE shortly after the signal, so a client that
//!   watches health cannot hold the drain open until the grace period runs out.

use crate::{
    access::check::{Access, Admitted, CallContext, Refused},
    edge::grpc::{
        admission::{self, Admission, Wait, FRAME_HEADER},
        status,
    },
    support::{metrics, shutdown::Shutdown, telemetry},
};
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{sync::Semaphore, time::Instant};
use tonic::{body::Body, Code};
use tower::{Layer, Service};
use tracing::Instrument;

mod cut;
mod methods;

use cut::{CutWaiter, StreamCut};
use methods::{Kind, Method, Methods};

/// How long a server stream gets to end by itself after the shutdown signal (the
/// gateway's watch streams end at once, with their own error details).
const STREAM_CUT_DELAY: Duration = Duration::from_millis(250);

/// Layer settings.
#[derive(Debug, Clone, Copy)]
pub struct LayerSettings {
    /// Most unary calls in flight at once.
    pub max_concurrent_calls: usize,
    /// Deadline given to unary calls that bring none.
    pub default_deadline: Duration,
    /// Most uploads (client streams) in flight at once; each holds about one upload
    /// chunk of memory.
    pub max_concurrent_uploads: usize,
    /// Largest gRPC message (`GATEWAY_MAX_MESSAGE_SIZE`): bounds a unary request read
    /// before it takes a slot.
    pub max_message_size: usize,
}

/// The layer; cheap to clone.
#[derive(Clone)]
pub struct GatewayLayer {
    methods: Arc<Methods>,
    permits: Arc<Semaphore>,
    upload_permits: Arc<Semaphore>,
    default_deadline: Duration,
    max_message_size: usize,
    cut: StreamCut,
    access: Arc<Access>,
}

impl GatewayLayer {
    /// A layer with `settings`; server streams still open shortly after `shutdown`
    /// begins are closed.
    pub fn new(settings: LayerSettings, shutdown: Shutdown) -> Self {
        GatewayLayer {
            methods: Arc::new(Methods::from_descriptors()),
            permits: Arc::new(Semaphore::new(settings.max_concurrent_calls)),
            upload_permits: Arc::new(Semaphore::new(settings.max_concurrent_uploads)),
            default_deadline: settings.default_deadline,
            max_message_size: settings.max_message_size,
            cut: StreamCut::new(shutdown, STREAM_CUT_DELAY),
            access: Arc::new(Access::open()),
        }
    }

    /// The same layer checking calls against `access`.
    pub fn with_access(mut self, access: Arc<Access>) -> Self {
        self.access = access;
        self
    }
}

impl<S> Layer<S> for GatewayLayer {
    type Service = GatewayService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GatewayService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service the layer wraps around the server's routes.
#[derive(Clone)]
pub struct GatewayService<S> {
    inner: S,
    layer: GatewayLayer,
}

impl<S, ResBody> Service<http::Request<Body>> for GatewayService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ResBody: HttpBody<Data = Bytes> + Unpin + Send + 'static,
    ResBody::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let started = Instant::now();
        let Method {
            service,
            name: method,
            full_name,
            kind,
            audited,
            metrics,
        } = self.layer.methods.get(request.uri().path()).clone();
        let span = tracing::info_span!(
            "rpc",
            otel.name = full_name,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            rpc.grpc.status_code = tracing::field::Empty,
            qencode.project = tracing::field::Empty,
        );
        telemetry::set_remote_parent(&span, request.headers());
        let caller_timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(super::parse_grpc_timeout);
        let default = self.layer.default_deadline;
        // Waiting for the request is bounded by the call's deadline, and never by more
        // than the default one.
        let within = caller_timeout.map_or(default, |t| t.min(default));
        let call_deadline = started + caller_timeout.unwrap_or(default);
        // Identity, policy, limits: one step, before anything is read or reserved.
        let admitted = self.layer.access.check(
            request.uri().path().trim_start_matches('/'),
            kind == Kind::ServerStream,
            request.headers(),
            request
                .extensions()
                .get::<crate::access::identity::PeerInfo>(),
        );
        let (caller, context, watcher_slot) = match admitted {
            Ok(Admitted {
                caller,
                project,
                slot,
            }) => (
                caller.clone(),
                project.map(|p| CallContext::new(caller, p)),
                slot,
            ),
            Err(Refused {
                caller,
                error: refusal,
            }) => {
                let code = status::code(refusal.kind);
                finish(&span, &metrics, code, started);
                if audited {
                    Audit {
                        method: full_name,
                        caller,
                        context: None,
                    }
                    .line(&span, code);
                }
                return Box::pin(async move { Ok(status::to_http(refusal)) });
            }
        };
        let audit_as = audited.then(|| Audit {
            method: full_name,
            caller,
            context: context.clone(),
        });
        let mut request = request;
        if let Some(context) = context {
            span.record("qencode.project", &*context.project.name);
            // The services read the project (and note the id for the audit) from here.
            request.extensions_mut().insert(context);
        }
        let admission = match kind {
            Kind::Unary => Some(Admission {
                permits: self.layer.permits.clone(),
                setting: "GATEWAY_MAX_CONCURRENT_CALLS",
                what: "calls",
                wait: Wait::Whole,
                within,
                max_bytes: self.layer.max_message_size.saturating_add(FRAME_HEADER),
            }),
            Kind::ClientStream => Some(Admission {
                permits: self.layer.upload_permits.clone(),
                setting: "GATEWAY_MAX_CONCURRENT_UPLOADS",
                what: "uploads",
                wait: Wait::FirstFrame,
                within,
                max_bytes: usize::MAX,
            }),
            Kind::ServerStream => None,
        };
        // The clone is ready (tower's contract): take the ready one, leave the clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let call_span = span.clone();
        let cut = (kind == Kind::ServerStream).then(|| self.layer.cut.waiter());
        Box::pin(async move {
            let (mut request, permit) = match admission {
                None => (request, None),
                Some(admission) => match admission::admit(request, admission).await {
                    Ok((request, permit)) => (request, Some(permit)),
                    Err(refusal) => {
                        let code = status::code(refusal.kind);
                        finish(&span, &metrics, code, started);
                        if let Some(a) = &audit_as {
                            a.line(&span, code);
                        }
                        return Ok(status::to_http(refusal));
                    }
                },
            };
            if kind == Kind::Unary {
                // What is left of the deadline once the request has arrived.
                request
                    .headers_mut()
                    .insert("grpc-timeout", admission::timeout_header(call_deadline));
            }
            let response = inner.call(request).instrument(call_span).await?;
            let header_code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .map(Code::from_i32);
            Ok(response.map(|body| {
                Body::new(MeteredBody {
                    inner: body,
                    span,
                    metrics,
                    started,
                    header_code,
                    done: false,
                    cut,
                    closed: false,
                    _permit: permit,
                    _watcher_slot: watcher_slot,
                    audit: audit_as,
                })
            }))
        })
    }
}

/// A mutating call's audit facts, kept until its status is known.
struct Audit {
    method: &'static str,
    /// The caller's policy name whenever the check identified it, refused calls
    /// included.
    caller: Option<std::sync::Arc<str>>,
    /// Project and the id the service noted (none for calls refused by the check).
    context: Option<CallContext>,
}

impl Audit {
    /// One audit line: who called which mutating method, with which project, about
    /// which task or stream, and how it ended. Never a credential: the caller is its
    /// policy name (`-` without a policy or a matching caller), the project its name;
    /// task tokens and stream ids are ids, not secrets (Qencode puts them in URLs).
    /// Written in the call's `span` (a response ends outside it), so the line carries
    /// the call's trace and span ids.
    fn line(&self, span: &tracing::Span, code: Code) {
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

fn finish(span: &tracing::Span, metrics: &metrics::RpcMetrics, code: Code, started: Instant) {
    let name = code_name(code);
    span.record("rpc.grpc.status_code", code as i32);
    if code != Code::Ok {
        span.record("otel.status_code", "ERROR");
    }
    metrics.record(code as usize, name, started.elapsed());
}

/// The response body, watched for the gRPC status that ends it.
struct MeteredBody<B> {
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
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The caller's watcher slot, held while the stream is open.
    _watcher_slot: Option<crate::access::check::WatcherSlot>,
    /// Set for mutating calls: audited when the status is known.
    audit: Option<Audit>,
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
