//! Why a load run could not start or go on ([`JobError`]), and why one Lambda worker's share
//! is missing from a report ([`WorkerFailure`]).

use crate::adapters::config::{ConfigError, TargetError};
use crate::domain::class::Class;
use crate::load::collect::RecordingError;
use crate::local::{builtin, LocalError, ScenarioError};

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(
        "the scenario has no account {}: --via lambda-workers adds the invoker function there",
        builtin::SOURCE_ACCOUNT
    )]
    NoSourceAccount,
    #[error("--via invoker and --via lambda-workers need --invoker ARN (or XINVOKE_INVOKER_ARN): the invoker Lambda in account 1")]
    NoInvoker,
    #[error("starting the local invoker: {0}")]
    LocalInvoker(std::io::Error),
    #[error("resetting the local endpoint between phases: {0}")]
    Reset(#[from] crate::local::client::ControlError),
    #[error("no worker answered: {}", .0.as_ref().map(ToString::to_string).unwrap_or_default())]
    NoWorker(Option<WorkerFailure>),
    #[error("the invoker's timeout is {timeout_s} s: a worker's slice needs at least {needed_s} s (1 s of load, the grace and 5 s of margin); raise the invoker function's Timeout or lower --grace")]
    WorkerTimeout { timeout_s: u32, needed_s: u64 },
}

/// Why a Lambda worker's slice brought no statistics back (`--via lambda-workers`): the rest
/// of its share is missing from the report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkerFailure {
    /// The invoke of the invoker was refused before any attempt.
    #[error("worker {worker}: {source}")]
    Refused {
        /// The worker (0-based).
        worker: u32,
        /// Why.
        source: TargetError,
    },
    /// The invoker answered, but not ok.
    #[error("worker {worker}: the invoker answered {class} ({detail})")]
    Failed {
        /// The worker (0-based).
        worker: u32,
        /// The outcome's class.
        class: Class,
        /// Its message or hint.
        detail: String,
    },
    /// The invoker answered something that is not a worker's answer.
    #[error("worker {worker}: not a load answer: {answer}")]
    NotALoadAnswer {
        /// The worker (0-based).
        worker: u32,
        /// The answer's first 300 characters.
        answer: String,
    },
    /// A second Ctrl-C abandoned the slices still running.
    #[error("{slices} slice(s) abandoned at the second Ctrl-C: their requests ran but are not counted")]
    Abandoned {
        /// How many.
        slices: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_failure_names_the_worker_and_what_failed() {
        let failures = [
            (
                WorkerFailure::Refused {
                    worker: 2,
                    source: TargetError::Unknown {
                        name: "orders".into(),
                        known: "billing".into(),
                    },
                },
                "worker 2: unknown target \"orders\"",
            ),
            (
                WorkerFailure::Failed {
                    worker: 1,
                    class: Class::Throttled,
                    detail: "Rate exceeded".into(),
                },
                "worker 1: the invoker answered throttled (Rate exceeded)",
            ),
            (
                WorkerFailure::NotALoadAnswer {
                    worker: 0,
                    answer: "{}".into(),
                },
                "worker 0: not a load answer: {}",
            ),
            (
                WorkerFailure::Abandoned { slices: 3 },
                "3 slice(s) abandoned at the second Ctrl-C: their requests ran but are not counted",
            ),
        ];
        for (failure, starts) in failures {
            assert!(failure.to_string().starts_with(starts), "{failure}");
        }
        let none = JobError::NoWorker(None).to_string();
        assert_eq!(none, "no worker answered: ");
        let first = JobError::NoWorker(Some(WorkerFailure::Abandoned { slices: 1 })).to_string();
        assert!(first.starts_with("no worker answered: 1 slice(s) abandoned"), "{first}");
    }
}
