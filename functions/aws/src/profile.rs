//! How long Keyplane waits for AWS, and how often it tries again, per use.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// A retry and timeout policy for AWS calls, chosen by what is waiting for
/// the answer. Not to be confused with an AWS named profile (`AWS_PROFILE`),
/// which the standard environment still selects.
///
/// Every profile sets all three timeouts: without an operation timeout the
/// SDK waits forever on an endpoint that accepts connections and never
/// answers. Every profile uses the SDK's standard retry mode, whose token
/// bucket stops retry storms when a service is really down, and retries
/// only throttling, 5xx answers and transport faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The hot path: Lambda functions and `keyplane serve`, where a request
    /// (and a Lambda invocation billed by the millisecond) waits on every
    /// call. DynamoDB answers in single-digit milliseconds, so a slow call
    /// is a fault: fail closed within about 5 s rather than hold the
    /// request open.
    ///
    /// 3 attempts; backoff from 50 ms (the SDK's default of 1 s would eat
    /// the budget), at most 1 s; connect 1 s, 2 s per attempt, 5 s per call
    /// with its retries.
    Lambda,
    /// A person or a tool waits: the CLI's admin commands, the Terraform
    /// provider, the Secrets Manager rotation steps. Calls are rarer and
    /// slower (Secrets Manager takes longer than DynamoDB), so each attempt
    /// gets more time, but a `terraform apply` should still fail within
    /// seconds and say why rather than hang.
    ///
    /// 3 attempts; backoff from 1 s, at most 20 s (the SDK's defaults; the
    /// operation timeout ends a call first); connect 1 s, 4 s per attempt,
    /// 10 s per call with its retries.
    Interactive,
    /// Tests against a local emulator (moto): a Python server sharing the
    /// machine with parallel test processes, whose slow answers say nothing
    /// about our code. Generous, but still bounded so a dead emulator fails
    /// the test instead of hanging it.
    ///
    /// 3 attempts; backoff from 1 s, at most 20 s; connect 5 s, 30 s per
    /// attempt, 60 s per call with its retries.
    Emulator,
}

impl Profile {
    /// Attempts per call, the first included. Three everywhere: one retry
    /// rides out a dropped connection or a throttled burst, a second one
    /// a brief fault; more would only delay the failure.
    const MAX_ATTEMPTS: u32 = 3;

    /// The SDK's retry settings for this profile.
    pub fn retry_config(self) -> RetryConfig {
        let (initial_backoff, max_backoff) = match self {
            Self::Lambda => (Duration::from_millis(50), Duration::from_secs(1)),
            Self::Interactive | Self::Emulator => (Duration::from_secs(1), Duration::from_secs(20)),
        };
        RetryConfig::standard()
            .with_max_attempts(Self::MAX_ATTEMPTS)
            .with_initial_backoff(initial_backoff)
            .with_max_backoff(max_backoff)
    }

    /// The SDK's timeout settings for this profile: connect, one attempt,
    /// and a whole operation with its retries and backoff.
    pub fn timeout_config(self) -> TimeoutConfig {
        // Opening a TCP connection takes milliseconds on a healthy network:
        // a second means the endpoint is wrong or down, and another attempt
        // is the better use of the time.
        let (connect, attempt, operation) = match self {
            Self::Lambda => (1, 2, 5),
            Self::Interactive => (1, 4, 10),
            Self::Emulator => (5, 30, 60),
        };
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(connect))
            .operation_attempt_timeout(Duration::from_secs(attempt))
            .operation_timeout(Duration::from_secs(operation))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use aws_config::retry::RetryMode;

    use super::*;

    const ALL: [Profile; 3] = [Profile::Lambda, Profile::Interactive, Profile::Emulator];

    #[test]
    fn every_profile_bounds_every_call() {
        for profile in ALL {
            let retries = profile.retry_config();
            assert_eq!(retries.mode(), RetryMode::Standard, "{profile:?}");
            assert!(
                (1..=3).contains(&retries.max_attempts()),
                "{profile:?} makes {} attempts",
                retries.max_attempts()
            );
            assert!(retries.initial_backoff() <= retries.max_backoff());

            let timeouts = profile.timeout_config();
            let connect = timeouts.connect_timeout().expect("a connect timeout");
            let attempt = timeouts
                .operation_attempt_timeout()
                .expect("an attempt timeout");
            let operation = timeouts.operation_timeout().expect("an operation timeout");
            assert!(connect <= attempt, "{profile:?}");
            assert!(attempt <= operation, "{profile:?}");
            assert!(operation <= Duration::from_secs(60), "{profile:?}");
        }
    }

    #[test]
    fn lambda_fails_closed_within_five_seconds() {
        let retries = Profile::Lambda.retry_config();
        assert_eq!(retries.max_attempts(), 3);
        assert_eq!(retries.initial_backoff(), Duration::from_millis(50));
        assert_eq!(retries.max_backoff(), Duration::from_secs(1));
        let timeouts = Profile::Lambda.timeout_config();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn interactive_is_more_patient_than_lambda() {
        let retries = Profile::Interactive.retry_config();
        assert_eq!(retries.max_attempts(), 3);
        assert_eq!(retries.initial_backoff(), Duration::from_secs(1));
        let timeouts = Profile::Interactive.timeout_config();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(4))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(10)));
        let lambda = Profile::Lambda.timeout_config();
        assert!(timeouts.operation_timeout() > lambda.operation_timeout());
    }

    #[test]
    fn emulator_is_generous_but_bounded() {
        let timeouts = Profile::Emulator.timeout_config();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(60)));
    }
}
