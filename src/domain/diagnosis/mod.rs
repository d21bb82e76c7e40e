//! Doctor's judgement: what each probe result of a cross-account invoke's set-up means, as a
//! checklist line with ✓/✗/· and, under each failure, exactly what to attach or run. Pure: the
//! probes' results in (plain data and the core's
//! [`RawOutcome`](crate::domain::classify::RawOutcome)), [`Check`]s out. The probes
//! themselves are `adapters::probes`; `xinvoke doctor` prints the [`Diagnosis`].

mod check;
mod checklist;
mod facts;
mod organization;
mod steps;

pub use check::*;
pub use checklist::*;
pub use facts::*;
pub use organization::*;
pub use steps::*;
