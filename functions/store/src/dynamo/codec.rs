//! Attribute values in and out.
//!
//! Scalars that are queried, conditioned on or counted (`version`,
//! `key_count`, `credits_remaining`, `ttl`, …) are native DynamoDB numbers
//! and strings; everything else of a record travels as one JSON string in
//! [`DOC`](super::schema::DOC), so fields added to a record later need no
//! schema change (serde skips unknown fields and defaults `Option`s).

use std::collections::HashMap;
use std::fmt::Display;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use keyplane_core::store::StoreError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::errors::corrupt;
use super::schema::DOC;

/// One item, as the SDK hands it over.
pub(super) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(super) fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A time attribute: RFC 3339, as in the JSON documents.
pub(super) fn time(value: DateTime<Utc>) -> AttributeValue {
    s(value.to_rfc3339())
}

/// The [`DOC`] attribute holding `record` as JSON.
pub(super) fn doc<T: Serialize>(record: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(record)
        .map(AttributeValue::S)
        .map_err(|err| StoreError::Unavailable(format!("cannot encode a record: {err}")))
}

/// Decodes the [`DOC`] attribute of `item`. The error names where decoding
/// failed, never what was read.
pub(super) fn from_doc<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let text = string(item, DOC)?.ok_or_else(|| corrupt(format!("no `{DOC}` attribute")))?;
    serde_json::from_str(text).map_err(|err| {
        corrupt(format!(
            "`{DOC}` does not decode: {:?} error at line {} column {}",
            err.classify(),
            err.line(),
            err.column()
        ))
    })
}

/// The string attribute `name`, if present.
pub(super) fn string<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(text)) => Ok(Some(text)),
        Some(_) => Err(corrupt(format!("`{name}` is not a string"))),
    }
}

/// The number attribute `name` as a `u64`, if present. Counters that grew
/// past `u64::MAX` (DynamoDB numbers have 38 digits) read as `u64::MAX`,
/// as the embedded store's saturating counters would; negative numbers
/// read as zero.
pub(super) fn unsigned(item: &Item, name: &str) -> Result<Option<u64>, StoreError> {
    let Some(text) = number(item, name)? else {
        return Ok(None);
    };
    if let Ok(value) = text.parse::<u64>() {
        return Ok(Some(value));
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(corrupt(format!("`{name}` is not an integer")));
    }
    Ok(Some(if text.starts_with('-') { 0 } else { u64::MAX }))
}

/// The number attribute `name` as a `u32`, saturating like [`unsigned`].
pub(super) fn unsigned32(item: &Item, name: &str) -> Result<Option<u32>, StoreError> {
    Ok(unsigned(item, name)?.map(|value| u32::try_from(value).unwrap_or(u32::MAX)))
}

/// The time attribute `name`, if present.
pub(super) fn time_of(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    string(item, name)?
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| corrupt(format!("`{name}` is not an RFC 3339 time")))
        })
        .transpose()
}

fn number<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(text)) => Ok(Some(text)),
        Some(_) => Err(corrupt(format!("`{name}` is not a number"))),
    }
}

/// Builds the `ExpressionAttributeNames` / `ExpressionAttributeValues` of
/// one request. Every attribute name goes through a `#placeholder`, as
/// several of ours (`name`, `status`, `ttl`) are reserved words.
#[derive(Debug, Default)]
pub(super) struct Expr {
    pub(super) names: HashMap<String, String>,
    pub(super) values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// `#attribute`, registered.
    pub(super) fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    /// `:label`, bound to `value`.
    pub(super) fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// The names, or `None` when there are none (DynamoDB refuses an empty map).
    pub(super) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The values, or `None` when there are none.
    pub(super) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, value: AttributeValue) -> Item {
        HashMap::from([(name.to_owned(), value)])
    }

    #[test]
    fn numbers_saturate_and_junk_is_corrupt() {
        assert_eq!(unsigned(&item("c", n(7)), "c"), Ok(Some(7)));
        assert_eq!(
            unsigned(&item("c", n("99999999999999999999999")), "c"),
            Ok(Some(u64::MAX))
        );
        assert_eq!(unsigned(&item("c", n(-3)), "c"), Ok(Some(0)));
        assert_eq!(unsigned32(&item("c", n(u64::MAX)), "c"), Ok(Some(u32::MAX)));
        assert_eq!(unsigned(&item("c", n("")), "c").ok(), None);
        assert_eq!(unsigned(&item("c", n("1.5")), "c").ok(), None);
        assert_eq!(unsigned(&item("c", s("7")), "c").ok(), None);
        assert_eq!(unsigned(&Item::new(), "c"), Ok(None));
    }

    #[test]
    fn corrupt_documents_do_not_echo_their_contents() {
        let err = from_doc::<serde_json::Value>(&item(DOC, s("{\"secret-ish\": ")));
        let text = format!("{err:?}");
        assert!(!text.contains("secret-ish"), "{text}");
    }
}
