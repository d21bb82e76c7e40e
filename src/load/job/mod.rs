//! A load run as `xinvoke load` describes it ([`Job`], `spec`): where it goes (the local
//! endpoint in-process, or AWS: `place`, `local`), how each request is sent (one `mode` a
//! `--via`: this process invokes the target, or the invoker Lambda's handler does here, or the
//! invoker function does (`invoker`), or a gateway (`gateway`), or invoker Lambdas run shares
//! of it (`workers`)), its phases (`run`), and the statistics that come back (`Outcome`).
//! The CLI parses the flags into a job and prints the outcome; everything in between is here
//! (built with the `cli` feature: the Lambda functions run a worker's share, `load::worker`).

mod error;
mod gateway;
mod info;
mod invoker;
mod local;
mod mode;
mod place;
mod run;
mod spec;
mod workers;

pub use error::JobError;
pub use run::run;
pub use spec::{Job, Place, ReadMetrics, Via};
pub(crate) use spec::{DEFAULT_PAYLOAD, DEFAULT_RAMP};
