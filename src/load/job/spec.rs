//! A load run as `xinvoke load` describes it, checked before it starts: where it goes
//! ([`Place`]), how each request is sent ([`Via`]), its load model, phases, stop rules and
//! outputs. Plain data the CLI builds from its flags.

use crate::adapters::config::{Given, Settings};
use crate::adapters::signed::InvokePath;
use crate::domain::arn::FunctionArn;
use crate::domain::invocation::InvocationType;
use crate::load::engine::{Model, Payloads, PhasePlan, StopRules};
use crate::load::handler::InvokerHandler;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The scenario of the built-in job.
pub(crate) const VPC_LIMITS_SCENARIO: &str = include_str!("../../../scenarios/vpc-limits.toml");
/// The built-in job's load: a ramp per phase.
pub(crate) const DEFAULT_RAMP: &str = "6:180:6s";
/// The built-in job's payload: each invoke holds its execution environment for 200 ms and one
/// connection into the target's VPC (what a Hyperplane ENI's capacity counts).
pub(crate) const DEFAULT_PAYLOAD: &str = r#"{"sleep_ms":200,"connections":1}"#;
/// Account 1's invoker function in the local endpoint, for `--via invoker` and `--via
/// lambda-workers`.
pub(crate) const LOCAL_INVOKER_ARN: &str = "arn:aws:lambda:us-east-1:111111111111:function:xinvoke-invoker";

/// How each request reaches the target.
#[derive(Clone)]
pub enum Via {
    /// This process invokes the target.
    Direct,
    /// The invoker Lambda's handler runs in this process, one direct event a request.
    Handler(Arc<dyn InvokerHandler>),
    /// Each request invokes the invoker function in account 1, which invokes the target: two
    /// hops, both reported.
    Invoker {
        /// The invoker in account 1 (AWS); locally, account 1's `xinvoke-invoker` runs `handler`.
        invoker: Option<FunctionArn>,
        handler: Arc<dyn InvokerHandler>,
        /// Against AWS: read the invoker's metrics back from CloudWatch after the run.
        read_metrics: Option<ReadMetrics>,
    },
    /// An xinvoke gateway (or any HTTP front) at this URL takes each request as a POST.
    Gateway(http::Uri),
    /// Invocations of the invoker Lambda each run a share of every phase (its `load` event),
    /// in slices of at most `slice` each.
    LambdaWorkers {
        workers: u32,
        slice: Duration,
        /// The invoker in account 1 (AWS); locally, account 1's `xinvoke-invoker` runs `handler`.
        invoker: Option<FunctionArn>,
        handler: Arc<dyn InvokerHandler>,
    },
}

impl Via {
    /// The name the report gives it.
    pub fn name(&self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::Handler(_) => "handler",
            Via::Invoker { .. } => "invoker",
            Via::Gateway(_) => "gateway",
            Via::LambdaWorkers { .. } => "lambda-workers",
        }
    }

    /// The invoker handler the local endpoint's `xinvoke-invoker` runs, for the modes that
    /// invoke the invoker function.
    pub(super) fn local_invoker(&self) -> Option<&Arc<dyn InvokerHandler>> {
        match self {
            Via::Invoker { handler, .. } | Via::LambdaWorkers { handler, .. } => Some(handler),
            _ => None,
        }
    }
}

/// `--read-metrics`: where the invoker's metrics are, and how long to wait for them.
#[derive(Debug, Clone)]
pub struct ReadMetrics {
    pub wait: Duration,
    pub namespace: String,
    pub service: String,
}

/// Where the run goes.
pub enum Place {
    /// The local endpoint in-process, with a scenario file or the built-in job's, and either
    /// an explicit target (the flags) or the scenario's functions.
    Local {
        scenario: Option<PathBuf>,
        target: Option<Box<Given>>,
    },
    /// AWS: checked settings (boxed: the larger variant by far), and the target names cycled
    /// through.
    Aws {
        settings: Box<Settings>,
        names: Vec<Option<String>>,
    },
}

/// Everything a run needs, checked before it starts.
pub struct Job {
    pub place: Place,
    pub via: Via,
    pub path: InvokePath,
    pub model: Model,
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
    pub grace: Duration,
    pub stop: StopRules,
    pub payloads: Payloads,
    pub invocation_type: Option<InvocationType>,
    /// Each phase's name and whether it retries, in order.
    pub phases: Vec<(String, bool)>,
    pub max_in_flight: usize,
    /// No retry of one invoke starts after this long.
    pub deadline: Duration,
    /// Against the local endpoint, the real retry waits (default there: shortened 10x).
    pub real_waits: bool,
    /// The NDJSON recording to write.
    pub record: Option<PathBuf>,
    /// Draw the live progress line.
    pub progress: bool,
}

impl Job {
    /// The plan of the phase named `name`.
    pub(super) fn plan(&self, name: &str, retries: bool) -> PhasePlan {
        PhasePlan {
            name: name.to_string(),
            retries,
            model: self.model.clone(),
            duration: self.duration,
            requests: self.requests,
            stop: self.stop,
            grace: self.grace,
            max_in_flight: self.max_in_flight,
        }
    }

    /// How long a phase sends: `--duration`, else when the model's schedule ends by itself.
    pub(super) fn phase_length(&self) -> Option<Duration> {
        self.duration.or(match &self.model {
            Model::Open(p) => p.end(),
            Model::Closed { .. } => None,
        })
    }
}
