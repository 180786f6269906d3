//! Where a live stream is in its lifecycle, derived from the time since the last
//! start or stop: starting → waiting → launching → live after a start, stopping →
//! stopped after a stop, one phase duration each.
//!
//! Status timestamps are the wall-clock time of the start or stop plus the phases
//! elapsed since, so they move forward with the status even on a paused test
//! clock. Qencode's `idle` (encoder went away) is never reached: the sandbox's
//! pretend encoder stays connected until the stream is stopped.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// What the client last did to a stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Run {
    /// Never started.
    Created,
    /// Started at `at` (wall clock `wall`); `origin_host` serves this run.
    Started {
        at: Instant,
        wall: DateTime<Utc>,
        origin_host: String,
    },
    /// Stopped at `at` (wall clock `wall`).
    Stopped { at: Instant, wall: DateTime<Utc> },
}

/// A live stream status as Qencode names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LiveStatus {
    Created,
    Starting,
    Waiting,
    Launching,
    Live,
    Stopping,
    Stopped,
}

impl LiveStatus {
    /// The status name Qencode reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Starting => "starting",
            Self::Waiting => "waiting",
            Self::Launching => "launching",
            Self::Live => "live",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }

    /// Whether a transcoder is allocated (between start and stop): the WebRTC and
    /// SRT ingest URLs exist only then.
    pub(crate) fn is_running(self) -> bool {
        matches!(
            self,
            Self::Starting | Self::Waiting | Self::Launching | Self::Live
        )
    }

    /// Whether the document says `origin_host`/`origin_url` are reported
    /// (waiting, launching, live and idle).
    pub(crate) fn has_origin(self) -> bool {
        matches!(self, Self::Waiting | Self::Launching | Self::Live)
    }

    /// Whether the stream may be deleted ("must be stopped before deleting";
    /// a never-started stream counts as stopped).
    pub(crate) fn deletable(self) -> bool {
        matches!(self, Self::Created | Self::Stopped)
    }
}

/// The status of a stream created at `created` whose last action is `run`, at
/// `now`, and when that status began (wall clock).
pub(crate) fn status_at(
    run: &Run,
    created: DateTime<Utc>,
    now: Instant,
    phase: Duration,
) -> (LiveStatus, DateTime<Utc>) {
    const STARTED: [LiveStatus; 4] = [
        LiveStatus::Starting,
        LiveStatus::Waiting,
        LiveStatus::Launching,
        LiveStatus::Live,
    ];
    const STOPPED: [LiveStatus; 2] = [LiveStatus::Stopping, LiveStatus::Stopped];
    let (at, wall, steps, end) = match run {
        Run::Created => return (LiveStatus::Created, created),
        Run::Started { at, wall, .. } => (*at, *wall, &STARTED[..], LiveStatus::Live),
        Run::Stopped { at, wall } => (*at, *wall, &STOPPED[..], LiveStatus::Stopped),
    };
    let index =
        phase_index(now.saturating_duration_since(at), phase).min(steps.len().saturating_sub(1));
    let status = steps.get(index).copied().unwrap_or(end);
    (status, wall_after(wall, phase, index))
}

/// How many whole phases `elapsed` spans; a zero phase means "all of them".
fn phase_index(elapsed: Duration, phase: Duration) -> usize {
    match elapsed.as_nanos().checked_div(phase.as_nanos()) {
        Some(index) => usize::try_from(index).unwrap_or(usize::MAX),
        None => usize::MAX,
    }
}

/// `wall` plus `index` phases, or `wall` itself when that is not representable.
fn wall_after(wall: DateTime<Utc>, phase: Duration, index: usize) -> DateTime<Utc> {
    u32::try_from(index)
        .ok()
        .and_then(|index| phase.checked_mul(index))
        .and_then(|offset| chrono::Duration::from_std(offset).ok())
        .and_then(|offset| wall.checked_add_signed(offset))
        .unwrap_or(wall)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_secs(2);

    fn wall() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn started(at: Instant) -> Run {
        Run::Started {
            at,
            wall: wall(),
            origin_host: "live-x.qencode.com".into(),
        }
    }

    #[test]
    fn a_started_stream_goes_live_one_phase_at_a_time() {
        let t0 = Instant::now();
        let at = |ms| status_at(&started(t0), wall(), t0 + Duration::from_millis(ms), P);
        assert_eq!(at(0), (LiveStatus::Starting, wall()));
        assert_eq!(at(1_999).0, LiveStatus::Starting);
        assert_eq!(
            at(2_000),
            (LiveStatus::Waiting, wall() + chrono::Duration::seconds(2))
        );
        assert_eq!(at(4_000).0, LiveStatus::Launching);
        assert_eq!(
            at(6_000),
            (LiveStatus::Live, wall() + chrono::Duration::seconds(6))
        );
        // The timestamp stays at the change to live.
        assert_eq!(
            at(600_000),
            (LiveStatus::Live, wall() + chrono::Duration::seconds(6))
        );
    }

    #[test]
    fn a_stopped_stream_stops_after_one_phase() {
        let t0 = Instant::now();
        let run = Run::Stopped {
            at: t0,
            wall: wall(),
        };
        let at = |ms| status_at(&run, wall(), t0 + Duration::from_millis(ms), P).0;
        assert_eq!(at(0), LiveStatus::Stopping);
        assert_eq!(at(2_000), LiveStatus::Stopped);
        assert_eq!(at(9_000_000), LiveStatus::Stopped);
    }

    #[test]
    fn created_and_degenerate_phases() {
        let t0 = Instant::now();
        assert_eq!(
            status_at(&Run::Created, wall(), t0, P),
            (LiveStatus::Created, wall())
        );
        assert_eq!(
            status_at(&started(t0), wall(), t0, Duration::ZERO),
            (LiveStatus::Live, wall())
        );
        let huge = status_at(&started(t0), wall(), t0 + P, Duration::MAX);
        assert_eq!(huge, (LiveStatus::Starting, wall()));
        // A clock that reads earlier than the start counts as no time elapsed.
        let later = started(t0 + P);
        assert_eq!(status_at(&later, wall(), t0, P).0, LiveStatus::Starting);
    }

    #[test]
    fn state_predicates() {
        assert!(LiveStatus::Created.deletable() && LiveStatus::Stopped.deletable());
        assert!(!LiveStatus::Live.deletable() && !LiveStatus::Stopping.deletable());
        assert!(!LiveStatus::Starting.has_origin() && LiveStatus::Live.has_origin());
        assert!(LiveStatus::Starting.is_running() && !LiveStatus::Stopping.is_running());
    }
}
