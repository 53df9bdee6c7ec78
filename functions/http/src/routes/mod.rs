//! Route handlers, one module per family. Handlers parse, call one use
//! case, and map the result.

pub mod audit;
pub mod data_plane;
pub mod keys;
pub mod meta;
pub mod organizations;
pub mod usage;
