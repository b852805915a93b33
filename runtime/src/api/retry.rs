//! Capped exponential back-off with jitter, and the loop that retries transient failures to a deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::{Failure, LicenseError, Server};

/// Delays of 250 ms, 500 ms, 1 s, … up to `cap`, each drawn in its upper half so that many containers
/// started together do not retry in step ("equal jitter").
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Backoff {
    /// Starts at `first`, doubling up to `cap`.
    pub fn new(first: Duration, cap: Duration) -> Self {
        Self {
            next: first.min(cap),
            cap,
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let full = self.next;
        self.next = (self.next * 2).min(self.cap);
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(fastrand::u64(0..=jitter_ms))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(250), Duration::from_secs(8))
    }
}

/// Where a retried request goes, for the "unreachable" message.
#[derive(Debug, Clone)]
pub struct Target {
    /// Who.
    pub server: Server,
    /// Where.
    pub url: String,
}

/// Calls `attempt` until it succeeds or fails for good; transient failures are retried after the
/// server's `Retry-After` or the back-off, until `deadline` after `started`. Each attempt is given
/// the time left as its time-out bound.
pub async fn until_deadline<T, F, Fut>(
    target: Target,
    started: Instant,
    deadline: Duration,
    mut attempt: F,
) -> Result<T, LicenseError>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let end = started + deadline;
    let mut backoff = Backoff::default();
    let mut attempts = 0;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        attempts += 1;
        let (server, detail, retry_after) = match attempt(left).await {
            Ok(value) => return Ok(value),
            Err(Failure::Final(error)) => return Err(error),
            Err(Failure::Transient {
                server,
                detail,
                retry_after,
            }) => (server, detail, retry_after),
        };
        let delay = retry_after.unwrap_or_else(|| backoff.next_delay());
        let unreachable = |last: String| LicenseError::Unreachable {
            server,
            url: if server == target.server {
                target.url.clone()
            } else {
                server.to_string()
            },
            attempts,
            elapsed: started.elapsed(),
            deadline,
            last,
        };
        if Instant::now() + delay >= end {
            let last = match retry_after {
                Some(wait) => format!("{detail} (asked to retry after {wait:?}, past the deadline)"),
                None => detail,
            };
            return Err(unreachable(last));
        }
        tracing::warn!(server = %server, attempt = attempts, retry_in_ms = delay.as_millis() as u64, "{detail}; retrying");
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter_in_the_upper_half() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let delays: Vec<_> = (0..5).map(|_| b.next_delay()).collect();
        let bounds = [100, 200, 400, 400, 400];
        for (d, full) in delays.iter().zip(bounds) {
            assert!(
                *d >= Duration::from_millis(full / 2) && *d <= Duration::from_millis(full),
                "{d:?} vs {full}"
            );
        }
    }

    fn target() -> Target {
        Target {
            server: Server::LicenseApi,
            url: "http://127.0.0.1:1".into(),
        }
    }

    fn transient(retry_after: Option<Duration>) -> Failure {
        Failure::Transient {
            server: Server::LicenseApi,
            detail: "HTTP 503".into(),
            retry_after,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let calls = Cell::new(0);
        let started = Instant::now();
        let result = until_deadline(target(), started, Duration::from_secs(60), |_| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(transient(None)) } else { Ok(n) } }
        })
        .await;
        assert_eq!(result, Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured() {
        let started = Instant::now();
        let calls = Cell::new(0);
        let result = until_deadline(target(), started, Duration::from_secs(60), |_| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 1 {
                    Err(transient(Some(Duration::from_secs(7))))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(started.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_ends_retries_as_unreachable() {
        let started = Instant::now();
        let calls = Cell::new(0u32);
        let result: Result<(), _> = until_deadline(target(), started, Duration::from_secs(10), |_| {
            calls.set(calls.get() + 1);
            async { Err(transient(None)) }
        })
        .await;
        assert!(matches!(result, Err(LicenseError::Unreachable { .. })), "{result:?}");
        assert!(started.elapsed() <= Duration::from_secs(10));
        assert!(calls.get() >= 4, "retried {} times", calls.get());
    }

    #[tokio::test(start_paused = true)]
    async fn final_failures_are_never_retried() {
        let calls = Cell::new(0);
        let result: Result<(), _> = until_deadline(target(), Instant::now(), Duration::from_secs(60), |_| {
            calls.set(calls.get() + 1);
            async { Err(Failure::Final(LicenseError::BadRequest { message: "x".into() })) }
        })
        .await;
        assert!(matches!(result, Err(LicenseError::BadRequest { .. })));
        assert_eq!(calls.get(), 1);
    }
}
