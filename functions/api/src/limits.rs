//! The numeric limits of the API, part of its contract: the server enforces
//! them and a request outside them is refused in the field's own terms
//! ("grace_seconds must be between 0 and 86400"), never in Rust's ("expected
//! u32").

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};

/// Longest roll grace period, in seconds (one day).
pub const MAX_GRACE_SECONDS: u32 = 86_400;
/// Largest credit limit of a key.
pub const MAX_CREDITS: u64 = 1_000_000_000_000_000;
/// Largest per-organization key quota.
pub const MAX_KEY_QUOTA: u32 = 1_000_000;
/// Largest cost one verify may spend.
pub const MAX_COST: u64 = 1_000_000_000;
/// Largest count (requests, input or output tokens) in one usage report.
pub const MAX_TOKENS_PER_REPORT: u64 = 1_000_000_000;
/// Largest page.
pub const MAX_PAGE: usize = 100;

/// Reads a whole number between `MIN` and `MAX` inclusive.
pub(crate) fn within<'de, D, T, const MIN: u64, const MAX: u64>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let n = d.deserialize_u64(Within::<MIN, MAX>)?;
    T::try_from(n).map_err(|_| de::Error::custom(range_message(MIN, MAX)))
}

/// [`within`] for an optional field (`null` or absent is `None`).
pub(crate) fn within_opt<'de, D, T, const MIN: u64, const MAX: u64>(
    d: D,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    struct Some_<const MIN: u64, const MAX: u64>(u64);
    impl<'de, const MIN: u64, const MAX: u64> serde::Deserialize<'de> for Some_<MIN, MAX> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_u64(Within::<MIN, MAX>).map(Self)
        }
    }
    let _ = PhantomData::<T>;
    match <Option<Some_<MIN, MAX>> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(Some_(n)) => T::try_from(n)
            .map(Some)
            .map_err(|_| de::Error::custom(range_message(MIN, MAX))),
    }
}

/// The stable problem `code` of a number out of range, by field name: the
/// same code whether the JSON layer or the use case catches it.
pub fn range_code(field: &str) -> Option<&'static str> {
    Some(match field {
        "grace_seconds" => "GRACE_OUT_OF_RANGE",
        "credits" => "INVALID_CREDITS",
        "key_quota" => "INVALID_KEY_QUOTA",
        "cost" => "INVALID_COST",
        "requests" | "input_tokens" | "output_tokens" => "USAGE_TOO_LARGE",
        _ => return None,
    })
}

/// The message every range error carries; the HTTP layer shows it after
/// the field's name.
pub fn range_message(min: u64, max: u64) -> String {
    format!("must be between {min} and {max}")
}

struct Within<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> Within<MIN, MAX> {
    fn check<E: de::Error>(n: Option<u64>) -> Result<u64, E> {
        n.filter(|n| (MIN..=MAX).contains(n))
            .ok_or_else(|| E::custom(range_message(MIN, MAX)))
    }
}

impl<const MIN: u64, const MAX: u64> Visitor<'_> for Within<MIN, MAX> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number between {MIN} and {MAX}")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
        Self::check(Some(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<u64, E> {
        Self::check(u64::try_from(n).ok())
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<u64, E> {
        // A fraction or a number beyond u64 is out of range, not a type error.
        // `u64::MAX as f64` is 2^64, one past the largest u64: the bound is
        // strict, or 18446744073709551616 would be read as u64::MAX.
        let whole = n.fract() == 0.0 && n >= 0.0 && n < u64::MAX as f64;
        Self::check(whole.then_some(n as u64))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
        // Query strings arrive as text.
        Self::check(text.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "super::within::<_, u32, 0, 86_400>")]
        grace: u32,
        #[serde(default, deserialize_with = "super::within_opt::<_, usize, 1, 100>")]
        limit: Option<usize>,
        #[serde(
            default,
            deserialize_with = "super::within_opt::<_, u64, 0, { u64::MAX }>"
        )]
        version: Option<u64>,
    }

    fn parse(json: &str) -> Result<Probe, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn out_of_range_numbers_are_refused_in_the_fields_terms() {
        for bad in [
            r#"{"grace":-1}"#,
            r#"{"grace":86401}"#,
            r#"{"grace":1.5}"#,
            r#"{"grace":1e30}"#,
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(
                err.starts_with("must be between 0 and 86400"),
                "{bad}: {err}"
            );
        }
        let err = parse(r#"{"grace":1,"limit":0}"#).expect_err("limit 0");
        assert!(err.starts_with("must be between 1 and 100"), "{err}");
        let ok = parse(r#"{"grace":86400,"limit":null}"#).expect("in range");
        assert_eq!((ok.grace, ok.limit), (86_400, None));
        assert_eq!(parse(r#"{"grace":0}"#).map(|p| p.limit), Ok(None));
    }

    #[test]
    fn whole_floats_count_but_nothing_beyond_u64() {
        let version = |json: &str| parse(json).map(|p| p.version);
        assert_eq!(version(r#"{"grace":0,"version":7.0}"#), Ok(Some(7)));
        assert_eq!(
            version(r#"{"grace":0,"version":18446744073709551615}"#),
            Ok(Some(u64::MAX))
        );
        for beyond in ["18446744073709551616", "1.8446744073709552e19", "1e30"] {
            let json = format!(r#"{{"grace":0,"version":{beyond}}}"#);
            assert!(version(&json).is_err(), "{beyond}");
        }
    }
}
