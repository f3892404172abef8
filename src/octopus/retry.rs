//! When and how long to wait before repeating a request: capped exponential backoff with jitter.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included, for a busy server (5xx, 429) or a dropped connection.
    pub max_attempts: u32,
    /// Attempts in all when the last one timed out: a server that does not answer within the
    /// request timeout rarely answers the next time, and each try costs a whole timeout.
    pub max_attempts_after_timeout: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            max_attempts_after_timeout: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Whether attempt `attempt` (counting from 1) that failed transiently may be followed by
    /// another; `timed_out` when it got no answer within the request timeout.
    pub fn should_retry(&self, attempt: u32, timed_out: bool) -> bool {
        let limit = if timed_out {
            self.max_attempts.min(self.max_attempts_after_timeout)
        } else {
            self.max_attempts
        };
        attempt < limit
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1). A server's `Retry-After`
    /// wins when it is given, capped like the rest so a hostile value cannot stall us.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        // "Equal jitter": half fixed, half random, so retries from concurrent runs spread out.
        let half = ceiling / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

/// `Retry-After` in seconds (the form Octopus and proxies send); HTTP dates are ignored.
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            max_attempts_after_timeout: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
        };
        for _ in 0..50 {
            let first = policy.delay(1, None);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let late = policy.delay(9, None);
            assert!(late >= Duration::from_millis(400) && late <= Duration::from_millis(800));
        }
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            policy.max_delay
        );
        assert_eq!(parse_retry_after(Some(" 2 ")), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn timeouts_are_tried_fewer_times_than_busy_answers() {
        let policy = RetryPolicy::default();
        let attempts = |timed_out| {
            (1..)
                .take_while(|&n| policy.should_retry(n, timed_out))
                .count()
                + 1
        };
        assert_eq!(attempts(false), 6, "5xx and 429 keep the full policy");
        assert_eq!(
            attempts(true),
            2,
            "a request that timed out is tried at most twice"
        );
        // A policy allowing fewer attempts in all is not raised by the timeout limit.
        let once = RetryPolicy {
            max_attempts: 1,
            ..policy
        };
        assert!(!once.should_retry(1, true));
    }
}
