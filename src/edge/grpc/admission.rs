//! Admission of a call that counts against a concurrency limit: the slot is taken only
//! once the request has arrived, and waiting for it is bounded by the call's deadline.
//!
//! Taking the slot when the headers arrive let one client hold every unary slot with
//! streams that send HEADERS and never the message (2 connections x 600 such streams
//! made every unary call RESOURCE_EXHAUSTED for as long as the client liked: tonic
//! applies no deadline while it waits for the request body). So the layer first reads
//! the request here:
//! - unary: the whole body, bounded by `GATEWAY_MAX_MESSAGE_SIZE` plus the 5-byte gRPC
//!   frame header (tonic waits for the end of the stream anyway; the frames are kept as
//!   they came, not copied);
//! - client streams (UploadFile): up to the first data frame, then the rest streams on;
//! - server streams ([`arrive`] alone, no slot here: their watcher or open-stream slot
//!   was taken from their HEADERS): the one request message like a unary call, or the
//!   first frame of a stream both ways (reflection).
//!
//! Past `min(grpc-timeout, GATEWAY_DEFAULT_DEADLINE)` without the request the call ends
//! with DEADLINE_EXCEEDED; an oversize unary request is RESOURCE_EXHAUSTED (gRPC's code
//! for a message over the receive limit). Then the slot is tried, and refused at once
//! when none is free, as before.

use crate::support::reasons;
use crate::support::{
    error::{Error, ErrorKind, GATEWAY_DOMAIN},
    limit_hits::{bite, Throttle},
};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::{
    collections::VecDeque,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tonic::{body::Body, Status};

/// How much of the request to read before taking a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The whole body (unary calls).
    Whole,
    /// The first data frame (client streams).
    FirstFrame,
}

/// How long to wait for how much of a request before the call goes on.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// How much to read first.
    pub wait: Wait,
    /// Longest wait for it.
    pub within: Duration,
    /// Most bytes read (whole bodies only).
    pub max_bytes: usize,
    /// What the call counts as, for the limit-hit counter's scope.
    pub what: &'static str,
}

/// One limited call's admission rules.
pub struct Admission {
    /// The slots of the limit the call counts against.
    pub permits: Arc<Semaphore>,
    /// The limit's setting, named in the refusal.
    pub setting: &'static str,
    /// What must arrive before a slot is tried.
    pub arrival: Arrival,
}

/// Reads the request as `admission` says, then takes a slot: the request to pass on
/// (its body replays what was read) and the slot, or the refusal to answer with.
pub async fn admit(
    request: http::Request<Body>,
    admission: Admission,
) -> Result<(http::Request<Body>, OwnedSemaphorePermit), Error> {
    let request = arrive(request, admission.arrival).await?;
    match admission.permits.try_acquire_owned() {
        Ok(permit) => Ok((request, permit)),
        Err(_) => Err(Error::new(
            ErrorKind::ResourceExhausted,
            GATEWAY_DOMAIN,
            reasons::TOO_MANY_CONCURRENT_CALLS,
            format!(
                "the gateway is at its limit of concurrent {} ({}); retry with backoff",
                admission.arrival.what, admission.setting
            ),
        )
        .with_metadata("limit", admission.setting)),
    }
}

/// Reads the request as `arrival` says: the request to pass on (its body replays what
/// was read), or DEADLINE_EXCEEDED when it did not come in time, RESOURCE_EXHAUSTED
/// when a whole body is over `max_bytes`. Server streams wait here too: tonic applies
/// no deadline to a stream's request message, so without this a stream opened with
/// HEADERS alone stayed open for good.
pub async fn arrive(
    request: http::Request<Body>,
    arrival: Arrival,
) -> Result<http::Request<Body>, Error> {
    let (parts, body) = request.into_parts();
    let read =
        tokio::time::timeout(arrival.within, read(body, arrival.wait, arrival.max_bytes)).await;
    match read {
        Err(_) => {
            static THROTTLE: Throttle = Throttle::new();
            bite(
                &THROTTLE,
                "GATEWAY_DEFAULT_DEADLINE",
                arrival.what,
                "a call's request message did not arrive within its deadline",
            );
            Err(Error::deadline_exceeded(format!(
                "the request message did not arrive within {:?} (the call's grpc-timeout or GATEWAY_DEFAULT_DEADLINE)",
                arrival.within
            ))
            .with_metadata("limit", "GATEWAY_DEFAULT_DEADLINE"))
        }
        Ok(Err(TooLarge)) => {
            static THROTTLE: Throttle = Throttle::new();
            bite(
                &THROTTLE,
                "GATEWAY_MAX_MESSAGE_SIZE",
                arrival.what,
                "a request over the message size limit was refused",
            );
            let max = arrival.max_bytes.saturating_sub(FRAME_HEADER);
            Err(Error::new(
                ErrorKind::ResourceExhausted,
                GATEWAY_DOMAIN,
                reasons::MESSAGE_TOO_LARGE,
                format!("the request is over the limit of {max} bytes (GATEWAY_MAX_MESSAGE_SIZE)"),
            )
            .with_metadata("limit", "GATEWAY_MAX_MESSAGE_SIZE"))
        }
        Ok(Ok(replay)) => Ok(http::Request::from_parts(parts, Body::new(replay))),
    }
}

/// The gRPC length-prefixed message header: a compression flag and a 4-byte length.
pub const FRAME_HEADER: usize = 5;

/// The request was longer than allowed.
struct TooLarge;

async fn read(mut body: Body, wait: Wait, max_bytes: usize) -> Result<Replay, TooLarge> {
    let mut frames = VecDeque::new();
    let mut size = 0usize;
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            None => return Ok(Replay::read(frames, None, None)),
            // Replayed as it came: tonic reports a broken request its own way.
            Some(Err(error)) => return Ok(Replay::read(frames, None, Some(error))),
            Some(Ok(frame)) => {
                let data = frame.data_ref().map(Bytes::len);
                frames.push_back(frame);
                if let Some(len) = data {
                    size = size.saturating_add(len);
                    if wait == Wait::FirstFrame {
                        return Ok(Replay::read(frames, Some(body), None));
                    }
                    if size > max_bytes {
                        return Err(TooLarge);
                    }
                }
            }
        }
    }
}

/// A request body that gives back the frames read during admission, then the rest.
struct Replay {
    frames: VecDeque<Frame<Bytes>>,
    rest: Option<Body>,
    error: Option<Status>,
}

impl Replay {
    fn read(frames: VecDeque<Frame<Bytes>>, rest: Option<Body>, error: Option<Status>) -> Self {
        Replay {
            frames,
            rest,
            error,
        }
    }
}

impl HttpBody for Replay {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(error) = self.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
            && self.error.is_none()
            && self.rest.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let read: u64 = self
            .frames
            .iter()
            .filter_map(|f| f.data_ref().map(|d| d.len() as u64))
            .sum();
        match (&self.rest, &self.error) {
            (None, None) => SizeHint::with_exact(read),
            _ => {
                let mut hint = SizeHint::new();
                hint.set_lower(read);
                hint
            }
        }
    }
}

/// A `grpc-timeout` value for the time left until `deadline` (at least 1 ms).
pub fn timeout_header(deadline: Instant) -> http::HeaderValue {
    let left = deadline.saturating_duration_since(Instant::now());
    let millis = left.as_millis().clamp(1, 99_999_999);
    http::HeaderValue::from_str(&format!("{millis}m"))
        .unwrap_or(http::HeaderValue::from_static("1m"))
}
