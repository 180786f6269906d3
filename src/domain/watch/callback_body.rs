//! How the callback endpoints read a request: the URL's signature first, the body
//! only then, within a size and a time bound.
//!
//! The callback port faces the internet. Reading the body before checking anything let
//! 10,000 connections that send a byte every 5 s fill the listener's connection cap
//! and reset every real callback for as long as they liked. So the signed URL now names
//! its subject (`/callbacks/task/<token>/<signature>`) and is checked before a byte of
//! the body is read; a request that fails is answered at once and its connection
//! closed ([`refuse`]). A signed request's body must arrive whole within
//! [`BodyBounds::within`] (Qencode posts a few KiB at once), else 408 and the
//! connection is closed.

use axum::{
    body::{Body, Bytes},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::time::Duration;

/// Bounds of a callback body.
#[derive(Debug, Clone, Copy)]
pub struct BodyBounds {
    /// Largest body (`GATEWAY_HTTP_MAX_BODY_SIZE`); larger is 413.
    pub max_bytes: usize,
    /// Time the whole body gets once the headers are read (the gateway gives it
    /// `GATEWAY_HTTP_HEADER_READ_TIMEOUT`, the time headers get); later is 408.
    pub within: Duration,
}

/// An answer that also closes the connection, so a refused client holds no connection
/// slot and its unread body is never awaited.
pub fn refuse(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONNECTION, "close")], text).into_response()
}

/// The 401 of a callback whose URL is not signed for what it names; counted and
/// logged once per interval (anyone can post here: never a line per request).
pub fn forged(what: &'static str) -> Response {
    static FORGED: crate::support::limit_hits::Throttle =
        crate::support::limit_hits::Throttle::new();
    crate::support::limit_hits::bite(&FORGED, "callback_signature", "http", what);
    refuse(StatusCode::UNAUTHORIZED, "unknown callback\n")
}

/// The whole body within `bounds`, or the answer that refuses it.
pub async fn read(body: Body, bounds: BodyBounds) -> Result<Bytes, Response> {
    let collected = tokio::time::timeout(
        bounds.within,
        Limited::new(body, bounds.max_bytes).collect(),
    )
    .await;
    match collected {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body over GATEWAY_HTTP_MAX_BODY_SIZE\n",
        )),
        Ok(Err(_)) => Err(refuse(StatusCode::BAD_REQUEST, "unreadable body\n")),
        Err(_) => {
            static SLOW: crate::support::limit_hits::Throttle =
                crate::support::limit_hits::Throttle::new();
            crate::support::limit_hits::bite(
                &SLOW,
                "GATEWAY_HTTP_HEADER_READ_TIMEOUT",
                "http",
                "closed a callback whose body did not arrive in time",
            );
            Err(refuse(
                StatusCode::REQUEST_TIMEOUT,
                "body not received in time\n",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> BodyBounds {
        BodyBounds {
            max_bytes: 8,
            within: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn a_body_within_its_bounds_reads_whole() {
        let read = read(Body::from("task=1"), bounds()).await.unwrap();
        assert_eq!(&read[..], b"task=1");
    }

    #[tokio::test]
    async fn an_oversize_body_is_413() {
        let refused = read(Body::from("0123456789"), bounds()).await.unwrap_err();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refused.headers()[header::CONNECTION], "close");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_ends_is_408_at_the_bound() {
        use futures::StreamExt;
        // One byte, then nothing for ever.
        let trickle =
            futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from_static(b"t")) })
                .chain(futures::stream::pending());
        let started = tokio::time::Instant::now();
        let refused = read(Body::from_stream(trickle), bounds())
            .await
            .unwrap_err();
        assert_eq!(refused.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }
}
