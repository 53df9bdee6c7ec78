//! Abuse limits: per-source rates on the data plane, per-principal rates on
//! management, a ceiling on header bytes and a deadline for every request.
//!
//! - **Per source** (the peer address; IPv6 by /64, since one host is
//!   handed a whole /64): verify and whoami share one budget, leak reports
//!   have their own, much smaller one. A leak report disables a key, so a
//!   flood of them is the cheapest way to hurt a tenant; each accepted one
//!   is audited in the same write that disables the key.
//! - **Per principal** on management routes, checked once the signature has
//!   named the caller (see [`crate::extract::Signed`]): one runaway CI job
//!   cannot starve its colleagues, whatever addresses it calls from.
//! - Exceeding a limit answers 429 `RATE_LIMITED` with `Retry-After`, and
//!   changes nothing.
//!
//! The limits are per process: one `keyplane serve`, or one Lambda
//! container. Behind API Gateway, the stage's throttling is the fleet-wide
//! limit; these bound what a single source can make one container do.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use keyplane_core::principal::Principal;
use tower::{Layer, Service};

use crate::error::ApiError;

/// The address a request came from, for hosts that know it other than
/// through axum's `ConnectInfo` (the Lambda function takes it from the API
/// Gateway request context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// A rate: `count` requests per `period`, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    count: NonZeroU32,
    period: Period,
    burst: NonZeroU32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    fn duration(self) -> Duration {
        match self {
            Period::Second => Duration::from_secs(1),
            Period::Minute => Duration::from_secs(60),
            Period::Hour => Duration::from_secs(3600),
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Period::Second => "s",
            Period::Minute => "min",
            Period::Hour => "h",
        }
    }
}

impl Rate {
    /// `count` per second, bursts of `burst`.
    pub const fn per_second(count: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            count,
            period: Period::Second,
            burst,
        }
    }

    /// `count` per minute, bursts of `burst`.
    pub const fn per_minute(count: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            count,
            period: Period::Minute,
            burst,
        }
    }

    fn quota(self) -> Quota {
        // `count` is at least 1, so the interval is at most the period and
        // never zero for the counts `FromStr` accepts.
        let interval = self.period.duration() / self.count.get();
        Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(self.count))
            .allow_burst(self.burst)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.period.unit())?;
        if self.burst != self.count {
            write!(f, ":{}", self.burst)?;
        }
        Ok(())
    }
}

/// Why a rate setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a rate: write COUNT/s, COUNT/min or COUNT/h, optionally :BURST (e.g. 100/s:200), or off")]
pub struct BadRate(String);

/// The largest count or burst accepted: a billion a second is already no
/// limit at all.
const MAX_COUNT: u32 = 1_000_000_000;

/// Parses `COUNT/UNIT[:BURST]`. The burst defaults to the count.
impl FromStr for Rate {
    type Err = BadRate;

    fn from_str(text: &str) -> Result<Self, BadRate> {
        let bad = || BadRate(text.chars().take(40).collect());
        let (rate, burst) = match text.trim().split_once(':') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (text.trim(), None),
        };
        let (count, unit) = rate.split_once('/').ok_or_else(bad)?;
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_COUNT)
                .and_then(NonZeroU32::new)
                .ok_or_else(bad)
        };
        let count = number(count)?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            _ => return Err(bad()),
        };
        let burst = burst.map(number).transpose()?.unwrap_or(count);
        Ok(Self {
            count,
            period,
            burst,
        })
    }
}

/// Parses a rate, or `off` for none (what a CLI flag or an environment
/// variable holds).
pub fn parse_rate(text: &str) -> Result<Option<Rate>, BadRate> {
    if text.trim().eq_ignore_ascii_case("off") {
        Ok(None)
    } else {
        text.parse().map(Some)
    }
}

/// The limits a Router enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Verify and whoami, per source.
    pub data_plane: Option<Rate>,
    /// Leak reports, per source.
    pub leak_reports: Option<Rate>,
    /// Management routes, per signed principal.
    pub management: Option<Rate>,
    /// The most bytes of request line and headers accepted.
    pub max_header_bytes: usize,
    /// How long a request may take, body upload included.
    pub request_timeout: Duration,
}

const fn nz(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

impl Limits {
    /// Default verify and whoami rate per source. A busy API gateway
    /// verifies from few addresses, so this is generous; it is there to
    /// stop one host from monopolising a server, not to meter use.
    pub const DATA_PLANE: Rate = Rate::per_second(nz(2_000), nz(4_000));
    /// Default leak-report rate per source: a scanner reporting a batch of
    /// finds fits in the burst.
    pub const LEAK_REPORTS: Rate = Rate::per_minute(nz(60), nz(30));
    /// Default management rate per principal.
    pub const MANAGEMENT: Rate = Rate::per_second(nz(20), nz(50));
    /// Default header ceiling. API Gateway refuses more than 10 KiB anyway.
    pub const MAX_HEADER_BYTES: usize = 16 * 1024;
    /// Default request deadline.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

    /// No rate limits (the benchmark's setting); the header ceiling and the
    /// deadline stay.
    pub fn without_rates() -> Self {
        Self {
            data_plane: None,
            leak_reports: None,
            management: None,
            ..Self::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            data_plane: Some(Self::DATA_PLANE),
            leak_reports: Some(Self::LEAK_REPORTS),
            management: Some(Self::MANAGEMENT),
            max_header_bytes: Self::MAX_HEADER_BYTES,
            request_timeout: Self::REQUEST_TIMEOUT,
        }
    }
}

/// Where a request came from, as far as limits care: IPv6 hosts are given
/// a /64 each, so the /64 is the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4(u32),
    V6(u64),
    /// No address known (in-process callers): they share one budget.
    Unknown,
}

impl Source {
    fn of(req: &Request) -> Self {
        let ip = req
            .extensions()
            .get::<ClientIp>()
            .map(|ClientIp(ip)| *ip)
            .or_else(|| {
                req.extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip())
            });
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Source::V4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => Source::V6((u128::from(v6) >> 64) as u64),
            None => Source::Unknown,
        }
    }
}

/// How often a limiter forgets idle keys, in checks: keeps memory bounded by
/// the recently active sources without a background task.
const SWEEP_EVERY: u32 = 4096;

/// One keyed limit.
struct Limiter<K: Hash + Eq + Clone> {
    rate: Rate,
    inner: DefaultKeyedRateLimiter<K>,
    checks: AtomicU32,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(rate: Rate) -> Self {
        Self {
            rate,
            inner: DefaultKeyedRateLimiter::dashmap_with_clock(
                rate.quota(),
                DefaultClock::default(),
            ),
            checks: AtomicU32::new(0),
        }
    }

    fn check(&self, key: &K, what: &str) -> Result<(), ApiError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.inner.retain_recent();
        }
        self.inner.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.inner.clock().now());
            ApiError::rate_limited(wait, format!("too many {what}: the limit is {}", self.rate))
        })
    }
}

impl<K: Hash + Eq + Clone> fmt::Debug for Limiter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

/// The per-principal limit, handed to the management extractor in the
/// request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct PrincipalLimit(Arc<Limiter<Principal>>);

impl PrincipalLimit {
    pub(crate) fn check(&self, principal: &Principal) -> Result<(), ApiError> {
        self.0
            .check(principal, "management requests from this caller")
    }
}

#[derive(Debug)]
struct Shared {
    limits: Limits,
    data_plane: Option<Limiter<Source>>,
    leak_reports: Option<Limiter<Source>>,
    management: Option<PrincipalLimit>,
}

/// Applies [`Limits`] to every routed request (inside
/// [`crate::observe::ObserveLayer`], so refusals are logged and carry a
/// request id).
#[derive(Debug, Clone)]
pub struct GuardLayer {
    shared: Arc<Shared>,
}

impl GuardLayer {
    /// Enforces `limits`, with fresh budgets.
    pub fn new(limits: Limits) -> Self {
        Self {
            shared: Arc::new(Shared {
                limits,
                data_plane: limits.data_plane.map(Limiter::new),
                leak_reports: limits.leak_reports.map(Limiter::new),
                management: limits
                    .management
                    .map(|rate| PrincipalLimit(Arc::new(Limiter::new(rate)))),
            }),
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// See [`GuardLayer`].
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// What the guard does with a request, by route.
enum Class {
    DataPlane,
    LeakReport,
    Management,
    Meta,
}

fn class(req: &Request) -> Class {
    match req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    {
        Some("/v1/keys/verify" | "/v1/whoami") => Class::DataPlane,
        Some("/v1/keys/report-leak") => Class::LeakReport,
        Some("/healthz" | "/openapi.json") | None => Class::Meta,
        Some(_) => Class::Management,
    }
}

/// Bytes of request line and headers, counted as HTTP/1.1 sends them.
fn header_bytes(req: &Request) -> usize {
    let uri = req.uri();
    let target = uri.path_and_query().map_or(1, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    let line = req.method().as_str().len() + target + 12;
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
        + line
}

impl Shared {
    /// Refuses the request, or lets it through (with what the management
    /// extractor needs).
    fn admit(&self, req: &mut Request) -> Result<(), ApiError> {
        let max = self.limits.max_header_bytes;
        if header_bytes(req) > max {
            return Err(ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "HEADERS_TOO_LARGE",
                format!("the request line and headers are limited to {max} bytes"),
            ));
        }
        match class(req) {
            Class::DataPlane => match &self.data_plane {
                Some(limiter) => limiter.check(&Source::of(req), "key checks from this address"),
                None => Ok(()),
            },
            Class::LeakReport => match &self.leak_reports {
                Some(limiter) => limiter.check(&Source::of(req), "leak reports from this address"),
                None => Ok(()),
            },
            Class::Management => {
                if let Some(limit) = &self.management {
                    req.extensions_mut().insert(limit.clone());
                }
                Ok(())
            }
            Class::Meta => Ok(()),
        }
    }
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        if let Err(refused) = self.shared.admit(&mut req) {
            return Box::pin(std::future::ready(Ok(refused.into_response())));
        }
        let timeout = self.shared.limits.request_timeout;
        let answer = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout(timeout, answer).await {
                Ok(answer) => answer,
                Err(_) => Ok(ApiError::timed_out(timeout).into_response()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print_back() {
        for (text, shown) in [
            ("100/s", "100/s"),
            ("100/s:250", "100/s:250"),
            (" 60/min:30 ", "60/min:30"),
            ("5/h", "5/h"),
            ("7/second:7", "7/s"),
        ] {
            let rate: Rate = text.parse().expect(text);
            assert_eq!(rate.to_string(), shown);
        }
        assert_eq!(parse_rate("OFF"), Ok(None));
    }

    #[test]
    fn nonsense_rates_are_refused() {
        for text in [
            "",
            "100",
            "0/s",
            "-1/s",
            "1/fortnight",
            "1/s:0",
            "1/s:x",
            "4294967296/s",
            "/s",
        ] {
            assert!(text.parse::<Rate>().is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn a_source_is_an_ipv4_address_or_an_ipv6_64() {
        let from = |ip: &str| {
            let mut req = Request::new(axum::body::Body::empty());
            req.extensions_mut()
                .insert(ClientIp(ip.parse().expect("ip")));
            Source::of(&req)
        };
        assert_eq!(from("2001:db8:1:2::1"), from("2001:db8:1:2:ffff::9"));
        assert_ne!(from("2001:db8:1:2::1"), from("2001:db8:1:3::1"));
        assert_eq!(from("::ffff:192.0.2.1"), from("192.0.2.1"));
        assert_ne!(from("192.0.2.1"), from("192.0.2.2"));
        assert_eq!(
            Source::of(&Request::new(axum::body::Body::empty())),
            Source::Unknown
        );
    }

    #[test]
    fn the_wait_is_told_and_a_refusal_spends_nothing() {
        let limiter = Limiter::new(Rate::per_minute(nz(1), nz(2)));
        let key = Source::V4(1);
        assert!(limiter.check(&key, "tries").is_ok());
        assert!(limiter.check(&key, "tries").is_ok());
        let refused = limiter.check(&key, "tries").expect_err("third in a minute");
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert!(
            limiter.check(&Source::V4(2), "tries").is_ok(),
            "another source has its own budget"
        );
    }

    #[tokio::test]
    async fn waiting_as_told_is_enough() {
        let limiter = Limiter::new(Rate::per_second(nz(4), nz(1)));
        let key = Source::V4(1);
        assert!(limiter.check(&key, "tries").is_ok());
        let refused = limiter.check(&key, "tries").expect_err("burst of one");
        let told = refused.retry_after().expect("Retry-After");
        assert_eq!(told, 1, "a quarter second rounds up to one");
        tokio::time::sleep(Duration::from_secs(told)).await;
        assert!(limiter.check(&key, "tries").is_ok());
    }
}
