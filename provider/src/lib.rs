//! The Keyplane Terraform provider (plugin protocol 6): organization and
//! workspace keys as code. A new key's plaintext goes from the Keyplane API
//! straight into AWS Secrets Manager; Terraform's plan, state and logs only
//! ever see its id, masked hint, secret ARN and version.
//!
//! - [`provider`]: the `provider "keyplane"` block and the connections it
//!   configures.
//! - [`key`]: the `keyplane_organization_key` and `keyplane_workspace_key`
//!   resources: schema, plan (what changes in place, what replaces) and
//!   apply (the two-phase create, refresh, import, destroy).
//! - [`data`]: the `keyplane_key` and `keyplane_workspace` data sources.

mod attr;
mod connection;
pub mod data;
pub mod key;
pub mod provider;

pub use provider::KeyplaneProvider;
