//! When a failed attempt is sent again, and how long to wait first.
//!
//! Every call is one of two kinds:
//!
//! - [`Repeatable`]: sending it twice has the effect of sending it once.
//!   Reads; `PUT` members, `PATCH` organizations and keys (absolute values);
//!   revoke and activate (a no-op on a revoked or active key); remove member
//!   (a repeat finishes an interrupted removal); creates and rolls, because
//!   they always carry an `Idempotency-Key`; verify without a `cost`; leak
//!   reports. Retried on 429, 5xx, timeouts and connection errors.
//! - [`Once`]: a repeat would act twice. Creating organizations and
//!   workspaces (no idempotency token), `POST /v1/usage` (counters are
//!   added to), verify with a `cost` (credits are spent). Retried only when
//!   the request certainly had no effect: 429 (throttled before it was
//!   handled) and failures to connect. A timeout, a dropped connection or a
//!   5xx is returned to the caller, who alone knows whether to repeat.
//!
//! [`Repeatable`]: Retry::Repeatable
//! [`Once`]: Retry::Once

use std::time::Duration;

use http::StatusCode;
use rand::Rng;

/// Whether a call may be repeated after an attempt whose outcome is
/// unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A repeat has no further effect.
    Repeatable,
    /// A repeat would act again.
    Once,
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An error status.
    Status(StatusCode),
    /// No connection could be made: the request was never sent.
    Connect,
    /// No complete answer in time.
    Timeout,
    /// The connection failed while sending or receiving.
    Transport,
}

impl Failure {
    /// Whether this failure leaves the request's effect unknown.
    pub(crate) fn outcome_unknown(self) -> bool {
        match self {
            Failure::Status(status) => status.is_server_error(),
            Failure::Connect => false,
            Failure::Timeout | Failure::Transport => true,
        }
    }

    /// Whether it is worth sending again, for a call of kind `retry`.
    pub(crate) fn retryable(self, retry: Retry) -> bool {
        match self {
            Failure::Status(StatusCode::TOO_MANY_REQUESTS) | Failure::Connect => true,
            Failure::Status(status) => status.is_server_error() && retry == Retry::Repeatable,
            Failure::Timeout | Failure::Transport => retry == Retry::Repeatable,
        }
    }

    /// A short label for logs.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Failure::Status(StatusCode::TOO_MANY_REQUESTS) => "throttled",
            Failure::Status(_) => "server error",
            Failure::Connect => "connect failed",
            Failure::Timeout => "timeout",
            Failure::Transport => "connection lost",
        }
    }
}

/// How many attempts a call gets and how long to wait between them:
/// exponential backoff with full jitter, honouring a `Retry-After` up to
/// the maximum delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts; waits drawn from 0–100 ms, 0–200 ms, 0–400 ms (at most
    /// 5 s each).
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// At most `max_attempts` attempts per call (at least 1), with the
    /// default backoff.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            ..Self::default()
        }
    }

    /// One attempt per call: nothing is retried.
    pub fn no_retries() -> Self {
        Self::new(1)
    }

    /// The wait before the second attempt is drawn from `0..=initial`; it
    /// doubles per attempt up to `max`.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Attempts per call.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_backoff);
        }
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::StatusCode;

    use super::{Failure, Retry, RetryPolicy};

    #[test]
    fn once_calls_retry_only_what_certainly_had_no_effect() {
        let throttled = Failure::Status(StatusCode::TOO_MANY_REQUESTS);
        let unavailable = Failure::Status(StatusCode::SERVICE_UNAVAILABLE);
        for failure in [throttled, Failure::Connect] {
            assert!(failure.retryable(Retry::Once));
            assert!(!failure.outcome_unknown());
        }
        for failure in [unavailable, Failure::Timeout, Failure::Transport] {
            assert!(!failure.retryable(Retry::Once));
            assert!(failure.retryable(Retry::Repeatable));
            assert!(failure.outcome_unknown());
        }
        for status in [
            StatusCode::BAD_REQUEST,
            StatusCode::NOT_FOUND,
            StatusCode::CONFLICT,
        ] {
            assert!(!Failure::Status(status).retryable(Retry::Repeatable));
        }
    }

    #[test]
    fn delays_grow_are_capped_and_honour_retry_after() {
        let policy = RetryPolicy::new(10)
            .with_backoff(Duration::from_millis(100), Duration::from_millis(250));
        for attempt in 1..10 {
            assert!(policy.delay(attempt, None) <= Duration::from_millis(250));
        }
        assert!(policy.delay(1, None) <= Duration::from_millis(100));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(60))),
            Duration::from_millis(250)
        );
        assert_eq!(RetryPolicy::new(0).max_attempts(), 1);
    }
}
