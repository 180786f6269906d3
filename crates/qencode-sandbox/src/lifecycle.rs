//! Where a task is in its lifecycle, derived purely from the time since it
//! started: downloading → queued → encoding → saving → completed, one
//! `phase_duration` each (or downloading → error for a failing source).
//!
//! Deriving state from elapsed time on each request keeps the sandbox free of
//! background work per job and lets a paused tokio clock drive it exactly.

use std::time::Duration;

/// A task's lifecycle position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Phase {
    Downloading,
    Queued,
    /// `fraction` of the encoding phase has passed, in `[0, 1)`.
    Encoding {
        fraction: f64,
    },
    Saving,
    Completed,
    /// The source could not be downloaded.
    Failed,
}

impl Phase {
    /// The status name Qencode reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Downloading => "downloading",
            Self::Queued => "queued",
            Self::Encoding { .. } => "encoding",
            Self::Saving => "saving",
            Self::Completed => "completed",
            Self::Failed => "error",
        }
    }

    /// Whether the source has been downloaded and probed (size and duration known).
    pub(crate) fn source_probed(self) -> bool {
        !matches!(self, Self::Downloading | Self::Failed)
    }
}

/// The phase `elapsed` after start, with each phase lasting `phase`.
pub(crate) fn phase_at(elapsed: Duration, phase: Duration, source_fails: bool) -> Phase {
    let phase_nanos = phase.as_nanos();
    if phase_nanos == 0 {
        return if source_fails {
            Phase::Failed
        } else {
            Phase::Completed
        };
    }
    let elapsed_nanos = elapsed.as_nanos();
    let index = elapsed_nanos / phase_nanos;
    if source_fails {
        return if index == 0 {
            Phase::Downloading
        } else {
            Phase::Failed
        };
    }
    match index {
        0 => Phase::Downloading,
        1 => Phase::Queued,
        2 => Phase::Encoding {
            fraction: (elapsed_nanos % phase_nanos) as f64 / phase_nanos as f64,
        },
        3 => Phase::Saving,
        _ => Phase::Completed,
    }
}

/// How long after start a task reaches its final phase: completed after the
/// four phases, or error once the failing download ends. Task callbacks fire
/// `saved` or `error` at this point.
pub(crate) fn end_after(phase: Duration, source_fails: bool) -> Duration {
    if source_fails {
        phase
    } else {
        phase.saturating_mul(4)
    }
}

/// Per-output encoding percents for `count` outputs when `fraction` of the
/// encoding phase has passed. Outputs run in overlapping, staggered windows so
/// their percents differ (as on a real encoder), yet all start at 0 and all
/// reach 100 exactly when the phase ends.
pub(crate) fn output_percents(fraction: f64, count: usize) -> Vec<f64> {
    let fraction = fraction.clamp(0.0, 1.0);
    let n = count as f64;
    (0..count)
        .map(|i| {
            let i = i as f64;
            let start = i * 0.5 / n;
            let end = 1.0 - (n - 1.0 - i) * 0.5 / n;
            let progress = ((fraction - start) / (end - start)).clamp(0.0, 1.0);
            progress * 100.0
        })
        .collect()
}

/// The overall percent: the mean of the output percents (as in Qencode's
/// example, 3.57 = mean of 0 and 7.14), or the phase fraction with no outputs.
pub(crate) fn overall_percent(fraction: f64, outputs: &[f64]) -> f64 {
    if outputs.is_empty() {
        fraction.clamp(0.0, 1.0) * 100.0
    } else {
        outputs.iter().sum::<f64>() / outputs.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_secs(2);

    fn at(ms: u64) -> Phase {
        phase_at(Duration::from_millis(ms), P, false)
    }

    #[test]
    fn phases_follow_elapsed_time() {
        assert_eq!(at(0), Phase::Downloading);
        assert_eq!(at(1_999), Phase::Downloading);
        assert_eq!(at(2_000), Phase::Queued);
        assert_eq!(at(4_000), Phase::Encoding { fraction: 0.0 });
        assert_eq!(at(5_000), Phase::Encoding { fraction: 0.5 });
        assert_eq!(at(6_000), Phase::Saving);
        assert_eq!(at(8_000), Phase::Completed);
        assert_eq!(at(80_000_000), Phase::Completed);
    }

    #[test]
    fn failing_source_errors_after_download() {
        let fail = |ms| phase_at(Duration::from_millis(ms), P, true);
        assert_eq!(fail(1_999), Phase::Downloading);
        assert_eq!(fail(2_000), Phase::Failed);
        assert_eq!(fail(9_000), Phase::Failed);
    }

    #[test]
    fn the_end_is_the_first_final_phase() {
        let end = end_after(P, false);
        assert_eq!(phase_at(end, P, false), Phase::Completed);
        assert_eq!(
            phase_at(end - Duration::from_nanos(1), P, false),
            Phase::Saving
        );
        let end = end_after(P, true);
        assert_eq!(phase_at(end, P, true), Phase::Failed);
        assert_eq!(end_after(Duration::ZERO, false), Duration::ZERO);
    }

    #[test]
    fn zero_phase_duration_finishes_at_once() {
        assert_eq!(
            phase_at(Duration::ZERO, Duration::ZERO, false),
            Phase::Completed
        );
        assert_eq!(
            phase_at(Duration::ZERO, Duration::ZERO, true),
            Phase::Failed
        );
    }

    #[test]
    fn output_percents_rise_monotonically_from_0_to_100() {
        for count in 1..5 {
            let mut previous = vec![0.0; count];
            assert_eq!(output_percents(0.0, count), previous);
            for step in 1..=100 {
                let now = output_percents(f64::from(step) / 100.0, count);
                for (p, n) in previous.iter().zip(&now) {
                    assert!(n >= p, "count {count} step {step}: {now:?} < {previous:?}");
                }
                previous = now;
            }
            assert_eq!(previous, vec![100.0; count]);
        }
    }

    #[test]
    fn staggered_outputs_differ_midway_and_overall_is_their_mean() {
        let percents = output_percents(0.5, 2);
        assert!(percents[0] > percents[1], "{percents:?}");
        let overall = overall_percent(0.5, &percents);
        assert!((overall - (percents[0] + percents[1]) / 2.0).abs() < 1e-9);
        assert_eq!(overall_percent(0.25, &[]), 25.0);
    }
}
