//! Keyplane's HTTP layer: one axum Router for the management and data-plane
//! APIs, served by Lambda, by `keyplane serve` and by tests alike.

pub mod auth;
