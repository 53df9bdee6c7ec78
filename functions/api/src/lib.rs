//! Keyplane's wire types: every request and response body of the HTTP API,
//! and the vocabulary they share (ids, principals, the key format, scopes,
//! roles, statuses). The server, the typed client, the CLI, the Terraform
//! provider and the Lambda functions all speak through these types, so they
//! cannot drift apart.
//!
//! With the `openapi` feature the types also describe themselves for the
//! OpenAPI document (`utoipa`); clients leave it off.

pub mod audit;
pub mod error;
pub mod id;
pub mod key;
pub mod key_format;
pub mod keys;
pub mod limits;
pub mod principal;
pub mod problem;
pub mod tenancy;
pub mod usage;
pub mod verify;

pub use error::InvalidInput;
