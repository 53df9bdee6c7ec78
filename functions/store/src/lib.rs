//! Keyplane's storage adapters.
//!
//! [`EmbeddedStore`] keeps everything in one `redb` file (or in memory) and is
//! the default for `keyplane serve` and for fast tests. [`DynamoStore`]
//! keeps the same items in one DynamoDB table (layout in [`dynamo::schema`])
//! and is what runs on AWS. With the
//! `conformance` feature, [`conformance`] holds the test suite that every
//! [`KeyStore`](keyplane_core::store::KeyStore) adapter must pass, so the
//! embedded store and the DynamoDB store are held to the very same contract.

pub mod dynamo;
#[cfg(feature = "embedded")]
mod embedded;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use dynamo::DynamoStore;
#[cfg(feature = "embedded")]
pub use embedded::{EmbeddedStore, OpenError};
