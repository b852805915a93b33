//! The heartbeat: one beat per interval, on monotonic deadlines, until the session must end.
//!
//! Beat `n` is due at `start + n × interval`, whatever the previous beats cost, so beats do not drift.
//! A transient failure is retried within its interval with the same sequence number; an interval whose
//! beat never succeeded counts as failed, and more than the offline grace of failed intervals in a row
//! ends the session, as does the server saying the session is unknown, revoked or expired.
//! Time comes from tokio's clock, so tests run this loop on paused time with a scripted [`Beat`].

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::api::retry::Backoff;
use crate::api::{BeatOutcome, LicenseError};

/// Sends one heartbeat attempt.
pub trait Beat {
    /// Sends beat `sequence` with the session's `uptime`, giving up after `timeout`.
    fn beat(&self, sequence: u64, uptime: Duration, timeout: Duration) -> impl Future<Output = BeatOutcome>;
}

/// When beats are due and how much failure is tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Between beats.
    pub interval: Duration,
    /// Failed intervals in a row tolerated.
    pub offline_grace: u32,
    /// Time-out of one attempt.
    pub request_timeout: Duration,
}

/// The session's health after each interval, for the healthcheck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The last beat succeeded.
    Live,
    /// The last `failed` intervals' beats failed; the session goes on within the grace.
    Degraded {
        /// Failed intervals in a row.
        failed: u32,
    },
}

/// Beats until the session must end, and says why. `report` hears the health after every interval.
pub async fn run<B: Beat>(
    beat: &B,
    schedule: Schedule,
    started: Instant,
    mut report: impl FnMut(Health),
) -> LicenseError {
    let interval = schedule.interval;
    let mut failed_in_a_row = 0u32;
    let mut slot = 0u32;
    let mut sequence = 0u64;
    loop {
        // The next slot after the last one; after a suspended host, skip the slots that passed unseen.
        let elapsed_slots =
            u32::try_from(started.elapsed().as_nanos() / interval.as_nanos().max(1)).unwrap_or(u32::MAX);
        slot = (slot + 1).max(elapsed_slots);
        sequence += 1;
        let due = started + interval.saturating_mul(slot);
        tokio::time::sleep_until(due).await;
        let window_end = due + interval;
        match beat_within(beat, sequence, started, window_end, schedule.request_timeout, interval).await {
            Ok(()) => {
                failed_in_a_row = 0;
                tracing::info!(sequence, "heartbeat acknowledged");
                report(Health::Live);
            }
            Err(Stop::Ended { code, message }) => return LicenseError::SessionEnded { code, message },
            Err(Stop::Failed(last)) => {
                failed_in_a_row += 1;
                report(Health::Degraded {
                    failed: failed_in_a_row,
                });
                if failed_in_a_row > schedule.offline_grace {
                    return LicenseError::OfflineGraceExceeded {
                        failed: failed_in_a_row,
                        grace: schedule.offline_grace,
                        last,
                    };
                }
                tracing::warn!(
                    sequence,
                    failed_in_a_row,
                    grace = schedule.offline_grace,
                    "heartbeat interval failed: {last}"
                );
            }
        }
    }
}

enum Stop {
    Ended { code: String, message: String },
    Failed(String),
}

/// One beat, retried on transient failures until the window closes.
async fn beat_within<B: Beat>(
    beat: &B,
    sequence: u64,
    started: Instant,
    window_end: Instant,
    request_timeout: Duration,
    interval: Duration,
) -> Result<(), Stop> {
    let mut backoff = Backoff::new((interval / 4).min(Duration::from_secs(1)), interval / 2);
    loop {
        let left = window_end.saturating_duration_since(Instant::now());
        let outcome = beat.beat(sequence, started.elapsed(), request_timeout.min(left)).await;
        match outcome {
            BeatOutcome::Ok => return Ok(()),
            BeatOutcome::Ended { code, message } => return Err(Stop::Ended { code, message }),
            BeatOutcome::Failed { detail } => return Err(Stop::Failed(detail)),
            BeatOutcome::Transient { detail, retry_after } => {
                let delay = retry_after.unwrap_or_else(|| backoff.next_delay());
                if Instant::now() + delay >= window_end {
                    return Err(Stop::Failed(detail));
                }
                tracing::warn!(
                    sequence,
                    retry_in_ms = delay.as_millis() as u64,
                    "heartbeat failed: {detail}; retrying"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    /// Answers from a script (then `Ok` forever) and records each attempt's sequence and time.
    struct Scripted {
        answers: RefCell<VecDeque<BeatOutcome>>,
        seen: RefCell<Vec<(u64, Duration)>>,
        started: Instant,
    }

    impl Scripted {
        fn new(answers: Vec<BeatOutcome>) -> Self {
            Self {
                answers: RefCell::new(answers.into()),
                seen: RefCell::default(),
                started: Instant::now(),
            }
        }
    }

    impl Beat for Scripted {
        async fn beat(&self, sequence: u64, _uptime: Duration, _timeout: Duration) -> BeatOutcome {
            self.seen.borrow_mut().push((sequence, self.started.elapsed()));
            self.answers.borrow_mut().pop_front().unwrap_or(BeatOutcome::Ok)
        }
    }

    fn schedule(grace: u32) -> Schedule {
        Schedule {
            interval: Duration::from_secs(1),
            offline_grace: grace,
            request_timeout: Duration::from_millis(500),
        }
    }

    fn transient() -> BeatOutcome {
        BeatOutcome::Transient {
            detail: "HTTP 503".into(),
            retry_after: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn beats_are_due_one_interval_apart_without_drift() {
        let beat = Scripted::new(vec![]);
        let started = Instant::now();
        let _ = tokio::time::timeout(Duration::from_millis(10_500), run(&beat, schedule(3), started, |_| {})).await;
        let seen = beat.seen.borrow();
        assert_eq!(seen.len(), 10);
        for (i, (seq, at)) in seen.iter().enumerate() {
            assert_eq!(*seq, i as u64 + 1);
            assert_eq!(*at, Duration::from_secs(i as u64 + 1), "beat {seq} drifted");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_retried_beat_keeps_its_number_and_the_session() {
        let beat = Scripted::new(vec![transient(), transient()]);
        let mut health = Vec::new();
        let _ = tokio::time::timeout(
            Duration::from_millis(2_500),
            run(&beat, schedule(0), Instant::now(), |h| health.push(h)),
        )
        .await;
        let seen = beat.seen.borrow();
        assert_eq!(seen.iter().filter(|(s, _)| *s == 1).count(), 3, "{seen:?}");
        assert_eq!(seen.last().map(|(s, _)| *s), Some(2));
        assert_eq!(health, vec![Health::Live, Health::Live]);
    }

    #[tokio::test(start_paused = true)]
    async fn revocation_ends_the_session_at_once() {
        let ended = BeatOutcome::Ended {
            code: "SESSION_REVOKED".into(),
            message: "bye".into(),
        };
        let beat = Scripted::new(vec![BeatOutcome::Ok, ended]);
        let error = run(&beat, schedule(3), Instant::now(), |_| {}).await;
        assert!(
            matches!(error, LicenseError::SessionEnded { ref code, .. } if code == "SESSION_REVOKED"),
            "{error:?}"
        );
        assert_eq!(beat.seen.borrow().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_within_the_grace_keep_the_session_and_recovery_resets_the_count() {
        let failed = || BeatOutcome::Failed {
            detail: "bad body".into(),
        };
        let beat = Scripted::new(vec![failed(), failed(), BeatOutcome::Ok, failed(), failed()]);
        let mut health = Vec::new();
        let _ = tokio::time::timeout(
            Duration::from_millis(6_500),
            run(&beat, schedule(2), Instant::now(), |h| health.push(h)),
        )
        .await;
        assert_eq!(
            health,
            vec![
                Health::Degraded { failed: 1 },
                Health::Degraded { failed: 2 },
                Health::Live,
                Health::Degraded { failed: 1 },
                Health::Degraded { failed: 2 },
                Health::Live,
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_past_the_grace_end_the_session() {
        let beat = Scripted::new(std::iter::repeat_with(transient).take(1000).collect());
        let started = Instant::now();
        let error = run(&beat, schedule(2), started, |_| {}).await;
        assert!(
            matches!(
                error,
                LicenseError::OfflineGraceExceeded {
                    failed: 3,
                    grace: 2,
                    ..
                }
            ),
            "{error:?}"
        );
        // Three failed intervals: beats due at 1 s, 2 s and 3 s, the last window closing at 4 s.
        assert!(started.elapsed() <= Duration::from_secs(4), "{:?}", started.elapsed());
        let sequences: Vec<u64> = beat.seen.borrow().iter().map(|(s, _)| *s).collect();
        assert!(
            sequences.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1),
            "{sequences:?}"
        );
    }
}
