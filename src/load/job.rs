//! A load run as `xinvoke load` describes it ([`Job`]): where it goes (the local endpoint
//! in-process, or AWS), how each request is sent (this process invokes the target, or the
//! invoker Lambda's handler does, or invoker Lambdas run shares of it), its phases, and the
//! statistics that come back ([`Outcome`]). The CLI parses the flags into a job and prints the
//! outcome; everything in between is here.

use crate::adapters::clients;
use crate::adapters::config::{AssumeRole, ConfigError};
use crate::adapters::config::{Context, Given, NamedTarget, Settings, Timeouts};
use crate::adapters::signed::InvokePath;
use crate::core::arn::FunctionArn;
use crate::core::invocation::InvocationType;
use crate::core::retry::RetryPolicy;
use crate::invoke::service::{Call, Service};
use crate::load::collect::{Collector, RecordingError};
use crate::load::engine::{run_phase, Gauges, Model, Payloads, PhasePlan, Stop, StopRules, StopSignal};
use crate::load::record::{EndReason, LoadRecord, RunInfo};
use crate::load::senders::{DirectSender, HandlerSender};
use crate::load::stats::Report;
use crate::load::worker::{WorkerAnswer, WorkerJob};
use crate::local::{builtin, scenario, LocalError, LocalServer, Scenario, ScenarioError};
use aws_credential_types::Credentials;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The scenario of the built-in job.
pub const VPC_LIMITS_SCENARIO: &str = include_str!("../../scenarios/vpc-limits.toml");
/// The built-in job's load: a ramp per phase.
pub const DEFAULT_RAMP: &str = "6:180:6s";
/// The built-in job's payload: each invoke holds its execution environment for 200 ms.
pub const DEFAULT_PAYLOAD: &str = r#"{"sleep_ms":200}"#;
/// Account 1's invoker function in the local endpoint, for `--via lambda-workers`.
pub const LOCAL_INVOKER_ARN: &str = "arn:aws:lambda:us-east-1:111111111111:function:xinvoke-invoker";

/// The invoker Lambda's handler as the job calls it in this process: an event in, its
/// answer, or its error as `(errorType, errorMessage)`. The `lambdas` part provides it (the
/// load part does not depend on it): `xinvoke::lambdas::invoker::handler`.
pub trait InvokerHandler: Send + Sync + 'static {
    fn handle(&self, event: Value) -> HandlerFuture<'_>;
}

/// The invoker's answer to one event, or its error (`errorType`, `errorMessage`).
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, HandlerError>> + Send + 'a>>;

/// An invoker's error answer, as Lambda reports a function error.
#[derive(Debug, Clone)]
pub struct HandlerError {
    pub error_type: String,
    pub error_message: String,
}

/// Makes the invoker's handler around a service.
pub type HandlerFactory = Arc<dyn Fn(Arc<Service>) -> Arc<dyn InvokerHandler> + Send + Sync>;

/// How each request reaches the target.
#[derive(Clone)]
pub enum Via {
    /// This process invokes the target.
    Direct,
    /// The invoker Lambda's handler runs in this process, one direct event a request.
    Handler(HandlerFactory),
    /// Invocations of the invoker Lambda each run a share of every phase (its `load` event).
    LambdaWorkers {
        workers: u32,
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
            Via::Handler(_) => "invoker",
            Via::LambdaWorkers { .. } => "lambda-workers",
        }
    }
}

/// Where the run goes.
pub enum Place {
    /// The local endpoint in-process, with a scenario file or the built-in job's, and either
    /// an explicit target (the flags) or the scenario's functions.
    Local {
        scenario: Option<PathBuf>,
        target: Option<Box<Given>>,
    },
    /// AWS: checked settings, and the target names cycled through.
    Aws {
        settings: Settings,
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
    #[error("--via lambda-workers needs --invoker ARN (or XINVOKE_INVOKER_ARN): the invoker Lambda in account 1")]
    NoInvoker,
    #[error("starting the local invoker: {0}")]
    LocalInvoker(std::io::Error),
    #[error("resetting the local endpoint between phases: {0}")]
    Reset(#[from] crate::local::client::ControlError),
    #[error("no worker answered: {0}")]
    NoWorker(String),
}

/// Where the run goes, once started.
enum Started {
    Local {
        server: LocalServer,
        label: String,
        /// The invoker played in this process (`--via lambda-workers`).
        invoker_task: Option<tokio::task::JoinHandle<()>>,
    },
    Aws,
}

/// Run the job until its phases end or `stop` says so.
pub async fn run(job: Job, stop: StopSignal) -> Result<Outcome, JobError> {
    let (place, settings, names) = start(&job).await?;
    let mut collector = Collector::new(job.record.as_deref(), job.progress)?;
    collector.take(&LoadRecord::run(run_info(&job, &place, &settings, &names)?));
    let shorten = matches!(place, Started::Local { .. }) && !job.real_waits;
    let workers = match &job.via {
        Via::LambdaWorkers { workers, invoker, .. } => Some((*workers, worker_invoker(&job, invoker, &place).await?)),
        _ => None,
    };
    let mut end = EndReason::Completed;
    let mut worker_failures = Vec::new();
    for (i, (name, retries)) in job.phases.iter().enumerate() {
        if *stop.borrow() != Stop::Run {
            break;
        }
        let phase = i as u32;
        let plan = PhasePlan {
            name: name.clone(),
            retries: *retries,
            model: job.model.clone(),
            duration: job.duration,
            requests: job.requests,
            stop: job.stop,
            grace: job.grace,
            max_in_flight: job.max_in_flight,
        };
        if let (Started::Local { server, .. }, true) = (&place, i > 0) {
            crate::local::client::ControlClient::new(server.addr()).reset().await?;
        }
        collector.phase_started(name, job.duration.or(plan_end(&job.model)));
        if let Some((count, invoker)) = &workers {
            let (phase_end, failed) = worker_phase(invoker, &job, *count, &plan, phase, &names, &mut collector).await?;
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
        let service = Arc::new(Service::with_path(settings, &base, job.path).await);
        if service.path() != job.path {
            eprintln!(
                "note: the {} path is unavailable here; this phase uses the sdk path",
                job.path.name()
            );
        }
        let gauges = match &place {
            Started::Local { server, .. } => Some(LocalGauges(server)),
            Started::Aws => None,
        };
        let gauges = gauges.as_ref().map(|g| g as &dyn Gauges);
        let mut sink = |r: &LoadRecord| collector.take(r);
        let outcome = match &job.via {
            Via::Handler(factory) => {
                let sender = Arc::new(HandlerSender::new(factory(service), names.clone()));
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
        if outcome.end.is_early() {
            end = outcome.end;
            break;
        }
    }
    let report = collector.finish()?.finish();
    if let Started::Local {
        server, invoker_task, ..
    } = place
    {
        if let Some(t) = invoker_task {
            t.abort();
        }
        server.shutdown().await;
    }
    Ok(Outcome {
        report,
        end,
        worker_failures,
    })
}

/// Start the local endpoint in-process (and, for `--via lambda-workers`, the invoker it
/// forwards to), or take AWS as given: where the run goes, its settings, its target names.
async fn start(job: &Job) -> Result<(Started, Settings, Vec<Option<String>>), JobError> {
    let (scenario_path, target) = match &job.place {
        Place::Aws { settings, names } => return Ok((Started::Aws, settings.clone(), names.clone())),
        Place::Local { scenario, target } => (scenario, target),
    };
    let (mut scenario, label) = match scenario_path {
        Some(p) => (Scenario::from_path(p)?, p.display().to_string()),
        None => (
            Scenario::from_toml_str(VPC_LIMITS_SCENARIO, std::path::Path::new("scenarios/vpc-limits.toml"))?,
            "vpc-limits".to_string(),
        ),
    };
    let mut invoker_listener = None;
    if let Via::LambdaWorkers { .. } = &job.via {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(JobError::LocalInvoker)?;
        let url = format!("http://{}/", listener.local_addr().map_err(JobError::LocalInvoker)?);
        add_local_invoker(&mut scenario, &url)?;
        invoker_listener = Some(listener);
    }
    let server = LocalServer::start(scenario.clone(), ([127, 0, 0, 1], 0).into()).await?;
    let (settings, names) = local_settings(&scenario, target.as_deref().cloned(), job.invocation_type)?;
    let invoker_task = match (invoker_listener, &job.via) {
        (Some(listener), Via::LambdaWorkers { handler, .. }) => {
            let mut worker_settings = settings.clone();
            if !job.real_waits {
                worker_settings.retry = RetryPolicy::defaults_shortened(10.0);
            }
            let base = local_base(server.url(), worker_settings.timeouts).await;
            let service = Arc::new(Service::new(worker_settings, &base).await);
            Some(serve_local_invoker(listener, handler(service)))
        }
        _ => None,
    };
    Ok((
        Started::Local {
            server,
            label,
            invoker_task,
        },
        settings,
        names,
    ))
}

/// The functions a local run spreads its load over when no target is given: account 2's
/// functions with a `live` alias, when account 2 has the `xinvoke-invoke` role to reach them
/// (the built-in job's three; `scenarios/deploy-during-load.toml`'s).
fn scenario_targets(scenario: &Scenario) -> Vec<String> {
    let Some(account) = scenario.accounts.iter().find(|a| a.id == builtin::TARGET_ACCOUNT) else {
        return Vec::new();
    };
    if !account.roles.iter().any(|r| r.name == "xinvoke-invoke") {
        return Vec::new();
    }
    account
        .functions
        .iter()
        .filter(|f| f.aliases.iter().any(|a| a.name == "live"))
        .map(|f| f.name.clone())
        .collect()
}

/// Settings for a local run: the given target (its role's external id defaulting to the
/// built-in one), or the scenario's functions through `xinvoke-invoke`, or the built-in
/// `target:live`.
fn local_settings(
    scenario: &Scenario,
    target: Option<Given>,
    invocation_type: Option<InvocationType>,
) -> Result<(Settings, Vec<Option<String>>), JobError> {
    let builtin_external_id = || builtin::EXTERNAL_ID.parse().expect("the built-in external id is valid");
    let functions = scenario_targets(scenario);
    let (mut given, names) = match target {
        Some(mut given) => {
            if given.role_arn.is_some() && given.external_id.is_none() {
                given.external_id = Some(builtin_external_id());
            }
            (given, vec![None])
        }
        None if !functions.is_empty() => {
            let role = || AssumeRole {
                role_arn: builtin::INVOKE_ROLE_ARN
                    .parse()
                    .expect("the built-in role ARN is valid"),
                external_id: builtin_external_id(),
                session_name: String::new(),
            };
            let targets: BTreeMap<String, NamedTarget> = functions
                .iter()
                .map(|f| {
                    let arn = format!(
                        "arn:aws:lambda:{}:{}:function:{f}:live",
                        builtin::REGION,
                        builtin::TARGET_ACCOUNT
                    );
                    (
                        f.clone(),
                        NamedTarget {
                            arn: arn.parse().expect("a scenario function's ARN is valid"),
                            role: Some(role()),
                            invocation_type: None,
                        },
                    )
                })
                .collect();
            let names = functions.iter().map(|n| Some(n.clone())).collect();
            (
                Given {
                    targets: Some(targets),
                    ..Given::default()
                },
                names,
            )
        }
        None => (
            Given {
                target_arn: Some(builtin::TARGET_ALIAS_ARN.parse().expect("the built-in ARN is valid")),
                ..Given::default()
            },
            vec![None],
        ),
    };
    given.invocation_type = invocation_type.or(given.invocation_type);
    Ok((Settings::resolve(given, Context::Cli)?, names))
}

/// The SDK configuration that reaches the local endpoint as account 1's `xinvoke-source`.
async fn local_base(url: String, timeouts: Timeouts) -> aws_config::SdkConfig {
    let creds = Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        builtin::SOURCE_SECRET_KEY,
        None,
        None,
        "xinvoke-load",
    );
    clients::endpoint_config(timeouts, url, creds, builtin::REGION).await
}

async fn base_config(place: &Started, timeouts: Timeouts) -> aws_config::SdkConfig {
    match place {
        Started::Local { server, .. } => local_base(server.url(), timeouts).await,
        Started::Aws => clients::base_config(timeouts).await,
    }
}

/// The local endpoint's counters, sampled once a second.
struct LocalGauges<'a>(&'a LocalServer);

impl Gauges for LocalGauges<'_> {
    fn sample(&self) -> BTreeMap<String, u64> {
        let s = self.0.stats();
        BTreeMap::from([
            ("enis_in_use".to_string(), s.enis_in_use),
            ("concurrency".to_string(), s.concurrency),
            ("concurrency_peak".to_string(), s.concurrency_peak),
        ])
    }
}

/// Add account 1's `xinvoke-invoker` function to the scenario: the local endpoint forwards
/// its invokes to `upstream` (the invoker played in this process).
fn add_local_invoker(scenario: &mut Scenario, upstream: &str) -> Result<(), JobError> {
    let account = scenario
        .accounts
        .iter_mut()
        .find(|a| a.id == builtin::SOURCE_ACCOUNT)
        .ok_or(JobError::NoSourceAccount)?;
    let mut invoker = scenario::Function::named("xinvoke-invoker");
    invoker.behaviour = scenario::Behaviour::Upstream {
        upstream: upstream.to_string(),
    };
    invoker.timeout_s = 900;
    account.functions.push(invoker);
    scenario.validate(std::path::Path::new("<scenario with the local invoker>"))?;
    Ok(())
}

/// The invoker Lambda played in this process for `--via lambda-workers` locally: the local
/// endpoint forwards each invoke of account 1's `xinvoke-invoker` here, and this answers its
/// `load` event as the deployed invoker would.
fn serve_local_invoker(
    listener: tokio::net::TcpListener,
    handler: Arc<dyn InvokerHandler>,
) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let handler = Arc::clone(&handler);
        async move {
            let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let answer = handler
                .handle(event)
                .await
                .unwrap_or_else(|e| json!({"errorType": e.error_type, "errorMessage": e.error_message}));
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                answer.to_string(),
            )
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

/// The report's header: what ran where, and the notes a reader needs to read it right.
fn run_info(job: &Job, place: &Started, settings: &Settings, names: &[Option<String>]) -> Result<RunInfo, JobError> {
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

/// `--via lambda-workers`: the service that invokes the invoker Lambda (account 1's, or the
/// one played in this process), given an attempt timeout that outlasts a worker's share.
async fn worker_invoker(job: &Job, invoker: &Option<FunctionArn>, place: &Started) -> Result<Arc<Service>, JobError> {
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
    s.retry.disabled = true;
    // A worker answers when its share is done: the whole phase plus its grace and margin.
    let phase_time = job
        .duration
        .or(plan_end(&job.model))
        .unwrap_or(Duration::from_secs(840));
    s.timeouts.attempt = (phase_time + job.grace + Duration::from_secs(60)).min(Duration::from_secs(900));
    let base = base_config(place, s.timeouts).await;
    Ok(Arc::new(Service::new(s, &base).await))
}

/// One phase through the workers: split it into shares, send each to an invoker, merge the
/// statistics they answer: how the phase ended, and a line per worker that failed (its share
/// is missing). Fails when no worker answered.
async fn worker_phase(
    invoker: &Arc<Service>,
    job: &Job,
    workers: u32,
    plan: &PhasePlan,
    phase: u32,
    names: &[Option<String>],
    collector: &mut Collector,
) -> Result<(EndReason, Vec<String>), JobError> {
    let whole = WorkerJob {
        worker: 0,
        phase,
        name: plan.name.clone(),
        retries: plan.retries,
        load: String::new(),
        duration_ms: job.duration.map(|d| d.as_millis() as u64),
        requests: job.requests,
        payloads: job
            .payloads
            .list()
            .iter()
            .map(|p| serde_json::from_slice(p).unwrap_or(Value::Null))
            .collect(),
        targets: names.iter().flatten().cloned().collect(),
        max_errors: job.stop.max_errors,
        max_error_rate: job.stop.max_error_rate,
        grace_ms: job.grace.as_millis() as u64,
        max_in_flight: job.max_in_flight,
        deadline_ms: job.deadline.as_millis() as u64,
    };
    collector.take(&LoadRecord::phase_start(phase, plan.info()));
    let (answers, failed) = fan_out(Arc::clone(invoker), whole.split(&job.model, workers)).await;
    let mut end = EndReason::Completed;
    for a in &answers {
        collector.metrics.merge(&a.metrics);
        if a.end.is_early() {
            end = a.end;
        }
    }
    if answers.is_empty() {
        return Err(JobError::NoWorker(failed.first().cloned().unwrap_or_default()));
    }
    Ok((end, failed))
}

/// Invoke the invoker once per job, concurrently; the answers, and a line per failed worker.
async fn fan_out(invoker: Arc<Service>, jobs: Vec<WorkerJob>) -> (Vec<WorkerAnswer>, Vec<String>) {
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let invoker = Arc::clone(&invoker);
        set.spawn(async move {
            let worker = job.worker;
            let call = Call {
                payload: json!({ "load": job }).to_string().into_bytes(),
                ..Default::default()
            };
            let record = invoker
                .invoke(call, None)
                .await
                .map_err(|e| format!("worker {worker}: {e}"))?;
            if !record.is_ok() {
                return Err(format!(
                    "worker {worker}: the invoker answered {} ({})",
                    record.class(),
                    record
                        .message
                        .clone()
                        .or(record.outcome.hint.clone())
                        .unwrap_or_default()
                ));
            }
            let payload = record.payload.unwrap_or(Value::Null);
            serde_json::from_value::<WorkerAnswer>(payload.clone()).map_err(|_| {
                format!(
                    "worker {worker}: not a load answer: {}",
                    payload.to_string().chars().take(300).collect::<String>()
                )
            })
        });
    }
    let (mut answers, mut failures) = (Vec::new(), Vec::new());
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(a)) => answers.push(a),
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(format!("a worker task failed: {e}")),
        }
    }
    answers.sort_by_key(|a| a.worker);
    (answers, failures)
}

/// When a model's schedule ends by itself.
pub fn plan_end(model: &Model) -> Option<Duration> {
    match model {
        Model::Open(p) => p.end(),
        Model::Closed { .. } => None,
    }
}
