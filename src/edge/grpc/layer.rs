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
//!   hold upstream resources forever; it also bounds the wait for the request message,
//!   of unary calls and server streams alike;
//! - server streams count against their caps from their HEADERS (`layer/stream_slots.rs`):
//!   watches against `GATEWAY_MAX_WATCHERS`, health `Watch` and reflection against
//!   per-connection and total caps;
//! - who may call what ([`crate::access::check`]): identity, policy and per-caller limits,
//!   in one step before the request is read, so a refused call costs no upstream
//!   request, no slot and no body read;
//! - an `audit` line for every call that changes something upstream;
//! - at shutdown, server streams that do not end by themselves (health `Watch`,
//!   reflection) are closed with UNAVAILABLE shortly after the signal, so a client that
//!   watches health cannot hold the drain open until the grace period runs out.

use crate::{
    access::{
        check::{Access, Admitted, CallContext, Refused},
        identity::PeerInfo,
    },
    domain::watch::WatcherLimit,
    edge::grpc::{
        admission::{self, Admission, Arrival, Wait, FRAME_HEADER},
        status,
    },
    support::{shutdown::Shutdown, telemetry},
};
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body::Body as HttpBody;
use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{sync::Semaphore, time::Instant};
use tonic::{body::Body, Code};
use tower::{Layer, Service};
use tracing::Instrument;

mod cut;
mod metered;
mod methods;
mod stream_slots;

use cut::StreamCut;
pub use metered::code_name;
use metered::{finish, Audit, Held, MeteredBody, Metering};
use methods::{Kind, Method, Methods};
use stream_slots::StreamSlots;
pub use stream_slots::{HeldWatcher, OPEN_STREAMS_PER_CONNECTION};

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
    /// The caps server streams count against from their HEADERS.
    streams: StreamSlots,
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
            streams: StreamSlots::default(),
        }
    }

    /// The same layer counting watches against `watchers` (the hubs' limit) from their
    /// HEADERS, and at most `open_total` health `Watch` and reflection streams.
    pub fn with_stream_caps(mut self, watchers: Arc<WatcherLimit>, open_total: usize) -> Self {
        self.streams = StreamSlots::new(watchers, open_total);
        self
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
            open,
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
        let peer = request.extensions().get::<PeerInfo>();
        let connection = peer.and_then(|p| p.remote);
        // Identity, policy, limits: one step, before anything is read or reserved.
        let admitted = self.layer.access.check(
            request.uri().path().trim_start_matches('/'),
            kind == Kind::ServerStream,
            request.headers(),
            peer,
        );
        let (caller, context, caller_slot) = match admitted {
            Ok(Admitted {
                caller,
                project,
                slot,
                budgets,
            }) => (
                caller.clone(),
                project.map(|p| CallContext::new(caller, p).with_budgets(budgets)),
                slot,
            ),
            Err(Refused {
                caller,
                error: refusal,
            }) => {
                let audit = audited.then_some(Audit {
                    method: full_name,
                    caller,
                    context: None,
                });
                return refuse(&span, &metrics, started, audit.as_ref(), refusal);
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
        let mut held = Held {
            _caller_slot: caller_slot,
            ..Held::default()
        };
        // Then the gateway's own caps on streams, from their HEADERS (`stream_slots`):
        // a watch's slot travels with the request to the watch that keeps it.
        if kind.streams() {
            let taken = if open {
                self.layer
                    .streams
                    .open(connection)
                    .map(|slot| held.open_slot = Some(slot))
            } else {
                self.layer.streams.watcher().map(|slot| {
                    if let Some(slot) = slot {
                        request.extensions_mut().insert(slot);
                    }
                })
            };
            if let Err(refusal) = taken {
                return refuse(&span, &metrics, started, audit_as.as_ref(), refusal);
            }
        }
        let whole = self.layer.max_message_size.saturating_add(FRAME_HEADER);
        let arrival = |wait, max_bytes, what| Arrival {
            wait,
            within,
            max_bytes,
            what,
        };
        // What must arrive, within the call's deadline, before the call goes on; unary
        // calls and uploads then try their concurrency slot.
        let gate = match kind {
            Kind::Unary => Gate::Slot(Admission {
                permits: self.layer.permits.clone(),
                setting: "GATEWAY_MAX_CONCURRENT_CALLS",
                arrival: arrival(Wait::Whole, whole, "calls"),
            }),
            Kind::ClientStream => Gate::Slot(Admission {
                permits: self.layer.upload_permits.clone(),
                setting: "GATEWAY_MAX_CONCURRENT_UPLOADS",
                arrival: arrival(Wait::FirstFrame, usize::MAX, "uploads"),
            }),
            Kind::ServerStream => Gate::Arrive(arrival(Wait::Whole, whole, "streams")),
            Kind::Bidi => Gate::Arrive(arrival(Wait::FirstFrame, usize::MAX, "streams")),
        };
        // The clone is ready (tower's contract): take the ready one, leave the clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let call_span = span.clone();
        let cut = kind.streams().then(|| self.layer.cut.waiter());
        Box::pin(async move {
            let arrived = match gate {
                Gate::Slot(admission) => {
                    admission::admit(request, admission)
                        .await
                        .map(|(request, permit)| {
                            held.permit = Some(permit);
                            request
                        })
                }
                Gate::Arrive(arrival) => admission::arrive(request, arrival).await,
            };
            let mut request = match arrived {
                Ok(request) => request,
                Err(refusal) => {
                    return refuse(&span, &metrics, started, audit_as.as_ref(), refusal).await
                }
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
            let metering = Metering {
                span,
                metrics,
                started,
                cut,
                held,
                audit: audit_as,
            };
            Ok(response.map(|body| Body::new(MeteredBody::new(body, header_code, metering))))
        })
    }
}

/// What a call waits for before it goes on.
enum Gate {
    /// Its request, then a concurrency slot.
    Slot(Admission),
    /// Its request alone (streams hold their slot already).
    Arrive(Arrival),
}

/// Answers a refused call with `refusal`'s status, counted and audited like any end.
fn refuse<E: 'static>(
    span: &tracing::Span,
    metrics: &crate::support::metrics::RpcMetrics,
    started: Instant,
    audit: Option<&Audit>,
    refusal: crate::support::error::Error,
) -> BoxFuture<'static, Result<http::Response<Body>, E>> {
    let code = status::code(refusal.kind);
    finish(span, metrics, code, started);
    if let Some(audit) = audit {
        audit.line(span, code);
    }
    Box::pin(async move { Ok(status::to_http(refusal)) })
}
