//! Keyplane's domain: the API key format, tenancy and roles, the authorisation
//! policy, the use cases, and the [`KeyStore`](store::KeyStore) seam that storage
//! adapters implement.
//!
//! Nothing here talks to AWS or HTTP, and nothing reads the wall clock: time
//! comes from an injected [`Clock`](clock::Clock).

pub mod audit;
pub use keyplane_api::{id, key_format, principal};
pub mod clock;
pub mod error;
pub mod key;
pub mod permission;
pub mod policy;
pub mod service;
pub mod store;
pub mod tenancy;
pub mod usage;
pub mod validate;

pub use error::{Error, ErrorKind};
pub use service::{Caller, Config, Keyplane};
