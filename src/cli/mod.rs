//! placeholder
pub mod local;
