//! Load generation and its reports: pacing, the engine, the one record type between stages,
//! statistics and the text/JSON/HTML reports. The stages only share [`record::LoadRecord`]:
//! the engine emits them, [`stats::Metrics`] adds them up, reports read the finished numbers.

pub mod collect;
pub mod engine;
pub mod handler;
#[cfg(feature = "cli")]
pub mod job;
pub mod pacing;
#[cfg(feature = "cli")]
mod progress;
pub mod record;
pub mod report;
pub mod senders;
pub mod stats;
pub mod worker;
