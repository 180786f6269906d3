//! Stores pieces at the storage's offset, resuming after failures: a failed PATCH is
//! followed by HEAD to learn how much the storage kept, then the rest of the piece is
//! sent from there. Where HEAD is not supported, the piece is restarted from the offset
//! the last successful PATCH reported (an offset conflict then tells the real one).

use crate::support::reasons;
use crate::{
    support::error::{Error, ErrorKind},
    upstream::{
        tus::{TusClient, TusFailure},
        Deadline,
    },
};
use bytes::Bytes;
use rand::Rng;
use std::time::Duration;
use tracing::{debug, warn};
use url::Url;

/// Retries after consecutive failed attempts (progress resets the count).
const MAX_RETRIES: u32 = 5;
/// First wait before a retry; doubles each time, up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Consecutive failures and the wait before the next attempt.
#[derive(Debug, Default)]
pub struct Retry {
    failures: u32,
}

/// Why retrying stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `MAX_RETRIES` retries failed in a row.
    Exhausted,
    /// The caller's deadline leaves no time for the wait.
    Deadline,
}

impl Retry {
    /// Records a failure and waits (exponential backoff, full jitter) before the next
    /// attempt, unless retrying should stop.
    pub async fn after_failure(&mut self, deadline: Deadline) -> Result<(), Stop> {
        self.failures += 1;
        if self.failures > MAX_RETRIES {
            return Err(Stop::Exhausted);
        }
        let cap = BASE_BACKOFF
            .saturating_mul(1 << (self.failures - 1).min(16))
            .min(MAX_BACKOFF);
        let wait = cap.mul_f64(rand::rng().random_range(0.5..=1.0));
        if deadline.remaining().is_some_and(|left| left <= wait) {
            return Err(Stop::Deadline);
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Progress was made: the next failure starts a fresh series.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in the current series.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

impl Stop {
    /// The error the caller gets when retrying stopped after `last`.
    pub fn into_error(self, last: Error, failures: u32) -> Error {
        let mut error = match self {
            Stop::Exhausted => Error::upstream(
                ErrorKind::Unavailable,
                reasons::UPLOAD_INTERRUPTED,
                format!(
                    "Qencode's storage failed {failures} times in a row (last: {}); resume the upload later from bytes_stored with its resume_token",
                    last.message
                ),
            ),
            Stop::Deadline => Error::deadline_exceeded(format!(
                "the call's deadline left no time to resume the upload (last failure: {})",
                last.message
            )),
        };
        if let Some(status) = last.metadata.get("http_status") {
            error = error.with_metadata("http_status", status);
        }
        error
    }
}

/// One upload at the storage.
pub struct Session<'a> {
    tus: &'a TusClient,
    location: Url,
    /// Bytes the storage confirmed it holds.
    stored: u64,
    /// False once HEAD turned out unsupported: resume from `stored` instead.
    head: bool,
    /// Failed attempts over the whole upload, for the completion log.
    resumes: u32,
}

impl<'a> Session<'a> {
    /// A session for the upload at `location`, which holds `stored` bytes (0 when just
    /// created, what HEAD said when resumed).
    pub fn new(tus: &'a TusClient, location: Url, stored: u64) -> Self {
        Session {
            tus,
            location,
            stored,
            head: true,
            resumes: 0,
        }
    }

    /// Bytes the storage confirmed it holds.
    pub fn stored(&self) -> u64 {
        self.stored
    }

    /// Failed attempts so far.
    pub fn resumes(&self) -> u32 {
        self.resumes
    }

    /// Stores `piece`, which starts at file offset `start`, resuming as needed.
    pub async fn store(
        &mut self,
        start: u64,
        piece: &Bytes,
        deadline: Deadline,
    ) -> Result<(), Error> {
        let end = start + piece.len() as u64;
        let mut retry = Retry::default();
        while self.stored < end {
            let skip = self
                .stored
                .checked_sub(start)
                .ok_or_else(|| lost(self.stored, start))?;
            // `skip` < piece.len() here, so it fits in usize.
            let body = piece.slice(usize::try_from(skip).unwrap_or(piece.len())..);
            let (error, offset) = match self
                .tus
                .patch(&self.location, self.stored, body, deadline)
                .await
            {
                Ok(offset) if offset > self.stored && offset <= end => {
                    debug!(offset, "upload piece stored");
                    self.stored = offset;
                    retry.reset();
                    continue;
                }
                Ok(offset) => (bad_offset(offset, self.stored, end), None),
                Err(TusFailure::Transient { error, offset }) => (error, offset),
                Err(other) => return Err(other.into_error()),
            };
            self.resumes += 1;
            warn!(
                offset = self.stored,
                failures = retry.failures() + 1,
                reason = %error.reason,
                "upload piece failed; resuming"
            );
            self.resync(start, end, error, offset, &mut retry, deadline)
                .await?;
        }
        Ok(())
    }

    /// Waits, then learns the storage's offset: from the failed answer (an offset
    /// conflict carries it), else from HEAD, else keeps the last confirmed one.
    async fn resync(
        &mut self,
        start: u64,
        end: u64,
        mut error: Error,
        offset: Option<u64>,
        retry: &mut Retry,
        deadline: Deadline,
    ) -> Result<(), Error> {
        loop {
            let failures = retry.failures() + 1;
            retry
                .after_failure(deadline)
                .await
                .map_err(|stop| stop.into_error(error.clone(), failures))?;
            let learned = match offset {
                Some(offset) => offset,
                None if !self.head => return Ok(()),
                None => match self.tus.head(&self.location, deadline).await {
                    Ok(head) => head.offset,
                    Err(TusFailure::NoHead) => {
                        warn!(offset = self.stored, "storage does not support HEAD; restarting the piece from the last confirmed offset");
                        self.head = false;
                        return Ok(());
                    }
                    Err(TusFailure::Transient {
                        error: head_error, ..
                    }) => {
                        error = head_error;
                        continue;
                    }
                    Err(TusFailure::Fatal(fatal)) => return Err(fatal),
                },
            };
            if learned < start {
                return Err(lost(learned, start));
            }
            if learned > end {
                return Err(Error::upstream(
                    ErrorKind::Unavailable,
                    reasons::UPLOAD_PROTOCOL,
                    format!("Qencode's storage reports {learned} bytes, more than the {end} sent"),
                ));
            }
            if learned > self.stored {
                retry.reset();
            }
            debug!(offset = learned, "resuming upload");
            self.stored = learned;
            return Ok(());
        }
    }
}

/// A PATCH answer whose offset does not lie within what was sent.
fn bad_offset(offset: u64, from: u64, end: u64) -> Error {
    Error::upstream(
        ErrorKind::Unavailable,
        reasons::UPLOAD_PROTOCOL,
        format!("Qencode's storage reported offset {offset} after a PATCH from {from} to {end}"),
    )
}

/// The storage holds less than the start of the piece in memory: the bytes before it
/// are gone from the gateway, so only a new upload helps.
fn lost(offset: u64, start: u64) -> Error {
    Error::upstream(
        ErrorKind::Aborted,
        reasons::UPLOAD_OFFSET_LOST,
        format!("Qencode's storage reports {offset} bytes, fewer than the {start} it had confirmed; upload the file again"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_are_bounded_and_back_off() {
        let mut retry = Retry::default();
        let started = tokio::time::Instant::now();
        for _ in 0..MAX_RETRIES {
            assert_eq!(retry.after_failure(Deadline::NONE).await, Ok(()));
        }
        assert_eq!(
            retry.after_failure(Deadline::NONE).await,
            Err(Stop::Exhausted)
        );
        // 100 + 200 + 400 + 800 + 1600 ms, each at least halved by jitter.
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(1550) && waited <= Duration::from_millis(3100),
            "{waited:?}"
        );
        retry.reset();
        assert_eq!(retry.after_failure(Deadline::NONE).await, Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_near_deadline_stops_retrying() {
        let mut retry = Retry::default();
        let deadline = Deadline::after(Duration::from_millis(30));
        assert_eq!(retry.after_failure(deadline).await, Err(Stop::Deadline));
    }
}
