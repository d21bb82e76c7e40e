//! Statistics of a load run: [`Metrics::add`] takes records one at a time, [`Metrics::finish`]
//! turns them into a [`Report`] (plain numbers, the JSON report as it is written). HDR
//! histograms in microseconds; nothing here knows of HTTP, the SDK or where records came from.

mod histogram;
mod metrics;
mod phase;
mod report;

pub use metrics::Metrics;
pub use report::*;
