//! Caller identity for management routes.
