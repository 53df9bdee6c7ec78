//! Per-key, per-model, per-day usage counters.

pub use keyplane_api::usage::UsageRow;
