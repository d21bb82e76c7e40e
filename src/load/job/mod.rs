//! A load run as `xinvoke load` describes it ([`Job`]): where it goes (the local endpoint
//! in-process, or AWS), how each request is sent (this process invokes the target, or the
//! invoker Lambda's handler does, or invoker Lambdas run shares of it), its phases, and the
//! statistics that come back ([`Outcome`]). The CLI parses the flags into a job and prints the
//! outcome; everything in between is here.

use crate::adapters::clients;
use crate::adapters::config::ConfigError;
use crate::adapters::config::{Context, Given, Settings, Timeouts};
use crate::adapters::signed::InvokePath;
use crate::core::arn::FunctionArn;
use crate::core::invocation::InvocationType;
use crate::core::retry::RetryPolicy;
use crate::invoke::service::Service;
use crate::load::collect::{Collector, RecordingError};
use crate::load::engine::{run_phase, Gauges, Model, Payloads, PhasePlan, Stop, StopRules, StopSignal};
use crate::load::record::{EndReason, LoadRecord, RunInfo};
use crate::load::senders::{DirectSender, HandlerSender, InvokerSender};
use crate::load::stats::Report;
use crate::local::{builtin, LocalError, LocalServer, ScenarioError};
use serde_json::Value;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

mod gateway;
mod local;
mod workers;

use local::{local_base, start, LocalGauges, LocalInvoker};
use workers::{worker_phase, workers, Workers};

/// The scenario of the built-in job.
pub(crate) const VPC_LIMITS_SCENARIO: &str = include_str!("../../../scenarios/vpc-limits.toml");
/// The built-in job's load: a ramp per phase.
pub(crate) const DEFAULT_RAMP: &str = "6:180:6s";
/// The built-in job's payload: each invoke holds its execution environment for 200 ms and one
/// connection into the target's VPC (what a Hyperplane ENI's capacity counts).
pub(crate) const DEFAULT_PAYLOAD: &str = r#"{"sleep_ms":200,"connections":1}"#;
/// Account 1's invoker function in the local endpoint, for `--via lambda-workers`.
pub(crate) const LOCAL_INVOKER_ARN: &str = "arn:aws:lambda:us-east-1:111111111111:function:xinvoke-invoker";

/// The invoker Lambda's handler as the job calls it in this process: an event in, its
/// answer, or its error as `(errorType, errorMessage)`. The `lambdas` part provides it (the
/// load part does not depend on it): `xinvoke::lambdas::invoker::handler`.
pub trait InvokerHandler: Send + Sync + 'static {
    fn handle(&self, event: Value) -> HandlerFuture<'_>;

    /// The EMF documents the invoker wrote since last asked (its metrics, as CloudWatch would
    /// read them from its log).
    fn metrics(&self) -> Vec<Value> {
        Vec::new()
    }
}

/// The invoker's answer to one event, or its error (`errorType`, `errorMessage`).
pub(crate) type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, HandlerError>> + Send + 'a>>;

/// An invoker's error answer, as Lambda reports a function error.
#[derive(Debug, Clone)]
pub struct HandlerError {
    pub error_type: String,
    pub error_message: String,
}

/// Makes the invoker's handler around a service.
pub(crate) type HandlerFactory = Arc<dyn Fn(Arc<Service>) -> Arc<dyn InvokerHandler> + Send + Sync>;

/// How each request reaches the target.
#[derive(Clone)]
pub enum Via {
    /// This process invokes the target.
    Direct,
    /// The invoker Lambda's handler runs in this process, one direct event a request.
    Handler(HandlerFactory),
    /// Each request invokes the invoker function in account 1, which invokes the target: two
    /// hops, both reported.
    Invoker {
        /// The invoker in account 1 (AWS); locally, account 1's `xinvoke-invoker` runs `handler`.
        invoker: Option<FunctionArn>,
        handler: HandlerFactory,
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
        handler: HandlerFactory,
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
    fn plan(&self, name: &str, retries: bool) -> PhasePlan {
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
}

/// How a run came out.
pub struct Outcome {
    pub report: Report,
    pub end: EndReason,
    /// A line per Lambda worker that failed: its share is missing from the report.
    pub worker_failures: Vec<String>,
}

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
    Target(#[from] crate::adapters::config::TargetError),
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
    #[error("no worker answered: {0}")]
    NoWorker(String),
    #[error("the invoker's timeout is {timeout_s} s: a worker's slice needs at least {needed_s} s (1 s of load, the grace and 5 s of margin); raise the invoker function's Timeout or lower --grace")]
    WorkerTimeout { timeout_s: u32, needed_s: u64 },
}

/// Where the run goes, once started.
enum Started {
    Local {
        server: LocalServer,
        label: String,
        /// Account 1's invoker played in this process (`--via invoker`, `--via lambda-workers`).
        invoker: Option<Box<LocalInvoker>>,
    },
    Aws,
}

/// Run the job until its phases end or `stop` says so.
pub async fn run(job: Job, stop: StopSignal) -> Result<Outcome, JobError> {
    if let Via::Gateway(url) = &job.via {
        return gateway::run(&job, url.clone(), stop).await;
    }
    let (place, settings, names) = start(&job).await?;
    let workers = match &job.via {
        Via::LambdaWorkers {
            workers: count,
            invoker,
            slice,
            ..
        } => Some(workers(&job, *count, invoker, *slice, &place).await?),
        _ => None,
    };
    let mut collector = Collector::new(job.record.as_deref(), job.progress)?;
    collector.take(&LoadRecord::run(run_info(
        &job,
        &place,
        &settings,
        &names,
        workers.as_ref(),
    )?));
    let run_started = std::time::SystemTime::now();
    let shorten = matches!(place, Started::Local { .. }) && !job.real_waits;
    let mut end = EndReason::Completed;
    let mut worker_failures = Vec::new();
    // `--via invoker` locally: each phase's invokes by class, from the invoker's EMF documents.
    let mut invoker_metrics: Vec<Option<std::collections::BTreeMap<String, u64>>> = Vec::new();
    for (i, (name, retries)) in job.phases.iter().enumerate() {
        if *stop.borrow() != Stop::Run {
            break;
        }
        let phase = i as u32;
        let plan = job.plan(name, *retries);
        if let (Started::Local { server, invoker, .. }, true) = (&place, i > 0) {
            crate::local::client::ControlClient::new(server.addr()).reset().await?;
            if let Some(invoker) = invoker {
                invoker.renew(server).await;
            }
        }
        collector.phase_started(name, job.duration.or(plan_end(&job.model)));
        let gauges = match &place {
            Started::Local { server, .. } => Some(LocalGauges(server)),
            Started::Aws => None,
        };
        let gauges = gauges.as_ref().map(|g| g as &dyn Gauges);
        if let Some(w) = &workers {
            let (phase_end, failed) =
                worker_phase(w, &job, &plan, phase, &names, &mut collector, gauges, stop.clone()).await?;
            worker_failures.extend(failed);
            if phase_end.is_early() {
                end = phase_end;
                break;
            }
            continue;
        }
        let base = base_config(&place, settings.timeouts).await;
        let mut settings = settings.clone();
        if shorten {
            settings.retry = RetryPolicy::defaults_shortened(10.0);
        }
        settings.retry.disabled = !retries;
        // At most as many connections as requests can be in flight at once.
        let in_flight = match job.model {
            Model::Closed { concurrency } => concurrency,
            Model::Open(_) => job.max_in_flight,
        };
        let service = Arc::new(Service::with_path_limited(settings, &base, job.path, Some(in_flight.max(1))).await);
        if service.path() != job.path {
            eprintln!(
                "note: the {} path is unavailable here; this phase uses the sdk path",
                job.path.name()
            );
        }
        let mut sink = |r: &LoadRecord| collector.take(r);
        let outcome = match &job.via {
            Via::Invoker { invoker, .. } => {
                let hop1 = hop1_service(&job, invoker, &place, *retries, shorten).await?;
                let sender = Arc::new(InvokerSender::new(hop1, names.clone(), job.deadline, *retries));
                run_phase(phase, &plan, sender, &job.payloads, gauges, stop.clone(), &mut sink).await
            }
            Via::Handler(factory) => {
                let sender = Arc::new(HandlerSender::new(factory(service), names.clone(), *retries));
                run_phase(phase, &plan, sender, &job.payloads, gauges, stop.clone(), &mut sink).await
            }
            _ => {
                let sender = Arc::new(DirectSender::new(
                    service,
                    names.clone(),
                    job.invocation_type,
                    job.deadline,
                ));
                run_phase(phase, &plan, sender, &job.payloads, gauges, stop.clone(), &mut sink).await
            }
        };
        if let (Via::Invoker { .. }, Started::Local { invoker: Some(i), .. }) = (&job.via, &place) {
            invoker_metrics.resize(phase as usize, None);
            invoker_metrics.push(Some(i.invokes_by_class()));
        }
        if outcome.end.is_early() {
            end = outcome.end;
            break;
        }
    }
    let mut report = collector.finish()?.finish();
    for (p, metrics) in report.phases.iter_mut().zip(invoker_metrics) {
        if let Some(hops) = &mut p.hops {
            hops.metrics = metrics;
        }
    }
    if let (
        Via::Invoker {
            invoker: Some(arn),
            read_metrics: Some(read),
            ..
        },
        Started::Aws,
    ) = (&job.via, &place)
    {
        read_back_metrics(&mut report, arn, read, run_started, settings.timeouts).await;
    }
    if let Started::Local { server, invoker, .. } = place {
        if let Some(i) = invoker {
            i.stop();
        }
        server.shutdown().await;
    }
    Ok(Outcome {
        report,
        end,
        worker_failures,
    })
}

/// `--read-metrics`: the invoker's `Invokes` by class over the whole run, from CloudWatch, on
/// the last phase's hops (CloudWatch keeps them per minute, so phases cannot be told apart),
/// once they add up to the requests the invoker answered or `read.wait` has passed. What
/// could not be read becomes a note: the run's report stands.
async fn read_back_metrics(
    report: &mut Report,
    invoker: &FunctionArn,
    read: &ReadMetrics,
    started: std::time::SystemTime,
    timeouts: Timeouts,
) {
    let answered: u64 = report
        .phases
        .iter()
        .filter_map(|p| p.hops.as_ref())
        .map(|h| h.invoker.get("ok").copied().unwrap_or(0))
        .sum();
    let base = clients::base_config(timeouts).await;
    let cloudwatch = match crate::adapters::cloudwatch::CloudWatch::new(&base, &invoker.region) {
        Ok(c) => c,
        Err(e) => {
            return report
                .run
                .notes
                .push(format!("the invoker's metrics were not read: {e}"))
        }
    };
    let give_up = tokio::time::Instant::now() + read.wait;
    let found = loop {
        let read_now = cloudwatch
            .invokes_by_class(&read.namespace, &read.service, started, std::time::SystemTime::now())
            .await;
        match read_now {
            Ok(by_class) if by_class.values().sum::<u64>() >= answered => break Ok(by_class),
            Ok(by_class) if tokio::time::Instant::now() >= give_up => break Ok(by_class),
            Err(e) => break Err(e),
            Ok(by_class) => {
                eprintln!(
                    "waiting for the invoker's metrics in CloudWatch: {} of {answered} invokes so far",
                    by_class.values().sum::<u64>()
                );
                tokio::time::sleep(Duration::from_secs(10).min(read.wait)).await;
            }
        }
    };
    match found {
        Ok(by_class) => {
            let total: u64 = by_class.values().sum();
            report.run.notes.push(format!(
                "the invoker's metrics: {total} Invokes in CloudWatch ({}, service {}) over the whole run, on the last phase's hops; the invoker answered {answered} requests{}",
                read.namespace,
                read.service,
                if total < answered { " (some had not arrived when the wait ended)" } else { "" }
            ));
            if let Some(hops) = report.phases.iter_mut().rev().find_map(|p| p.hops.as_mut()) {
                hops.metrics = Some(by_class);
            }
        }
        Err(e) => report
            .run
            .notes
            .push(format!("the invoker's metrics were not read: {e}")),
    }
}

async fn base_config(place: &Started, timeouts: Timeouts) -> aws_config::SdkConfig {
    match place {
        Started::Local { server, .. } => local_base(server.url(), timeouts).await,
        Started::Aws => clients::base_config(timeouts).await,
    }
}

/// `--via invoker`: the service that invokes the invoker function (account 1's, or the one
/// played in this process), retrying that first hop as the phase says.
async fn hop1_service(
    job: &Job,
    invoker: &Option<FunctionArn>,
    place: &Started,
    retries: bool,
    shorten: bool,
) -> Result<Arc<Service>, JobError> {
    let arn = match place {
        Started::Local { .. } => LOCAL_INVOKER_ARN.parse().expect("the local invoker's ARN is valid"),
        Started::Aws => invoker.clone().ok_or(JobError::NoInvoker)?,
    };
    let mut s = Settings::resolve(
        Given {
            target_arn: Some(arn),
            ..Given::default()
        },
        Context::Cli,
    )?;
    if shorten {
        s.retry = RetryPolicy::defaults_shortened(10.0);
    }
    s.retry.disabled = !retries;
    let base = base_config(place, s.timeouts).await;
    Ok(Arc::new(Service::with_path(s, &base, job.path).await))
}

/// The report's header: what ran where, and the notes a reader needs to read it right.
fn run_info(
    job: &Job,
    place: &Started,
    settings: &Settings,
    names: &[Option<String>],
    workers: Option<&Workers>,
) -> Result<RunInfo, JobError> {
    let target = names
        .iter()
        .map(|n| settings.target(n.as_deref()).map(|t| t.arn.to_string()))
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    let mut notes = Vec::new();
    if let Started::Local { server, label, .. } = place {
        notes.push(format!(
            "local endpoint in-process at {} (scenario {label}); no AWS calls are made",
            server.url()
        ));
        if let Some(models) = server.scenario().vpc_models() {
            notes.push(format!("VPC networking: {models}"));
        }
    }
    if matches!(place, Started::Local { .. }) && !job.real_waits && job.phases.iter().any(|(_, r)| *r) {
        notes.push("retry waits are the default policy's shortened 10x for the local endpoint (--real-waits for the real ones)".into());
    }
    if let Started::Aws = place {
        notes.push("account 2's gauges (concurrency, ENIs) are not sampled on AWS: no API gives them live (CloudWatch's ConcurrentExecutions comes per minute, for the whole account or a function with reserved concurrency); read them there".into());
    }
    if let Some(w) = workers {
        notes.push(w.note.clone());
    }
    if let (Via::Invoker { read_metrics: None, .. }, Started::Aws) = (&job.via, place) {
        notes.push("the invoker's own metrics (EMF: Invokes, Failed, Retries by target and class) are in CloudWatch, namespace xinvoke unless XINVOKE_METRICS_NAMESPACE says otherwise; this run does not read them back (--read-metrics does)".into());
    }
    if let Via::Invoker { .. } = job.via {
        notes.push("two hops: each request invokes the invoker function in account 1 with a direct event, and it invokes the target; `by hop` and the inv: columns say which hop failed, and the first hop's retries are this phase's, the second's the invoker's own".into());
    }
    if !matches!(job.via, Via::LambdaWorkers { .. }) {
        notes.push(format!(
            "invoke path: {} ({})",
            job.path.name(),
            match job.path {
                InvokePath::Signed =>
                    "signed here with SigV4 over a pooled hyper client; the SDK if that cannot be built",
                InvokePath::Sdk => "aws-sdk-lambda",
            }
        ));
    }
    notes.push(format!(
        "payload: {}",
        String::from_utf8_lossy(&job.payloads.get(0))
            .chars()
            .take(120)
            .collect::<String>()
    ));
    Ok(RunInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: crate::core::utc::iso8601(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        ),
        target,
        via: job.via.name().to_string(),
        environment: match place {
            Started::Local { label, .. } => format!("local endpoint (scenario {label})"),
            Started::Aws => "AWS".to_string(),
        },
        notes,
    })
}

/// When a model's schedule ends by itself.
pub(crate) fn plan_end(model: &Model) -> Option<Duration> {
    match model {
        Model::Open(p) => p.end(),
        Model::Closed { .. } => None,
    }
}
