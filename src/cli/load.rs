//! `xinvoke load`: find where cross-account, VPC-attached invocation breaks, and show it.
//! With no arguments it runs the built-in job: the local endpoint in-process with the
//! `scenarios/vpc-limits.toml` scenario, a ramp without retries and then with them, and a
//! report of where each VPC failure and the throttles appeared.
//!
//! `--via invoker` runs the invoker Lambda's handler (`xinvoke::lambdas::invoker::handle`)
//! in this process with a direct event per request: the invoker's own code path (event
//! decoding, its service, its answer) without deploying it. Invoking a deployed invoker in
//! account 1 is `xinvoke invoke --target <invoker ARN>` territory and not part of this command.

use crate::adapters::clients;
use crate::adapters::config::{Settings, Timeouts};
use crate::adapters::signed::InvokePath;
use crate::cli::target::TargetArgs;
use crate::core::invocation::InvocationType;
use crate::core::record::InvokeRecord;
use crate::core::retry::RetryPolicy;
use crate::invoke::service::Service;
use crate::lambdas::invoker;
use crate::load::collect::Collector;
use crate::load::engine::{run_phase, Gauges, Model, Payloads, PhasePlan, Sender, StopRules};
use crate::load::pacing::{parse_duration, Pacing};
use crate::load::record::{EndReason, LoadRecord, RunInfo};
use crate::load::report;
use crate::load::senders::{refused, DirectSender};
use crate::load::stats::Report;
use crate::local::{builtin, LocalServer, Scenario};
use aws_credential_types::Credentials;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The scenario of the built-in job.
pub const VPC_LIMITS_SCENARIO: &str = include_str!("../../scenarios/vpc-limits.toml");
/// The functions of the built-in job, invoked in turn (their `live` alias).
/// The built-in job's load: a ramp per phase.
pub const DEFAULT_RAMP: &str = "6:180:6s";
/// The built-in job's payload: each invoke holds its execution environment for 200 ms.
pub const DEFAULT_PAYLOAD: &str = r#"{"sleep_ms":200}"#;

/// Load-test the cross-account invoke path and report where it breaks.
///
/// With no arguments: the built-in local endpoint runs in-process with a scenario whose VPC
/// limits bite (scenarios/vpc-limits.toml); a ramp runs without retries, then with them, and
/// the report shows where ec2_throttled, eni_limit, subnet_ip_limit and throttled appeared.
/// Against AWS: --target ARN [--role-arn ARN --external-id ID], or the XINVOKE_* variables.
///
/// Exit code: 0 when the run completed, 1 when --max-errors / --max-error-rate stopped it,
/// 130 after Ctrl-C (a partial report is printed), 2 for bad input.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// Open loop: invokes per second, sent on schedule whatever the target does
    #[arg(long, value_name = "R", group = "load")]
    pub rate: Option<String>,
    /// Open loop: ramp the rate linearly FROM:TO:DURATION (e.g. 10:200:10s), then hold TO
    #[arg(long, value_name = "FROM:TO:DURATION", group = "load")]
    pub ramp: Option<String>,
    /// Open loop: constant-rate steps RATE:DURATION,... (e.g. "10:5s,50:5s,100:5s"); the run ends after the last
    #[arg(long, value_name = "STEPS", group = "load")]
    pub steps: Option<String>,
    /// Closed loop: keep this many invokes in flight, each sent when one finishes
    #[arg(long, value_name = "C", group = "load")]
    pub concurrency: Option<usize>,
    /// Stop sending after this long (e.g. 30s, 2m); default: the ramp's or the steps' length, else 10s unless --requests bounds the run
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Stop after this many invokes (per phase)
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// direct: this process invokes the target through the core service; invoker: the invoker
    /// Lambda's handler runs in this process and invokes it; lambda-workers: --workers
    /// invocations of the invoker Lambda each run a share of the load (its `load` event)
    #[arg(long, value_name = "HOW", default_value = "direct", value_parser = ["direct", "invoker", "lambda-workers"])]
    pub via: String,
    /// How this process sends each Invoke (--via direct and invoker): fast signs it here
    /// (SigV4) and sends it over a pooled hyper client; sdk goes through aws-sdk-lambda. Both feed the same
    /// classifier; fast makes several times the load per core
    #[arg(long, value_name = "PATH", default_value = "signed", value_parser = ["signed", "sdk", "fast"])]
    pub path: String,
    /// With --via lambda-workers: how many invoker invocations share the load
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub workers: u32,
    /// With --via lambda-workers against AWS: the invoker Lambda's ARN in account 1 [env: XINVOKE_INVOKER_ARN]
    #[arg(long, value_name = "ARN")]
    pub invoker: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Named targets from XINVOKE_TARGETS / XINVOKE_TARGETS_FILE, comma-separated, invoked in turn
    #[arg(long, value_name = "NAMES", conflicts_with = "target")]
    pub name: Option<String>,
    /// Invocation type [env: XINVOKE_INVOCATION_TYPE]
    #[arg(long = "type", value_name = "TYPE", value_parser = ["RequestResponse", "Event", "DryRun"])]
    pub invocation_type: Option<String>,
    /// Run against the built-in local endpoint in-process (the default when no target is configured)
    #[arg(long)]
    pub local: bool,
    /// The local endpoint's scenario (TOML or JSON); default: the built-in vpc-limits scenario
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// One attempt per invoke, whatever happens
    #[arg(long, conflicts_with = "compare")]
    pub no_retry: bool,
    /// Run the load twice: without retries, then with them, and compare
    #[arg(long)]
    pub compare: bool,
    /// Against the local endpoint, use the real retry waits (default there: shortened 10x)
    #[arg(long)]
    pub real_waits: bool,
    /// The payload, a JSON document (default {} against AWS, {"sleep_ms":200} locally)
    #[arg(long, conflicts_with_all = ["payload_file", "payload_ndjson"])]
    pub payload: Option<String>,
    /// Read the payload (JSON) from a file
    #[arg(long, value_name = "FILE", conflicts_with = "payload_ndjson")]
    pub payload_file: Option<PathBuf>,
    /// Payloads, one JSON document a line, used in turn
    #[arg(long, value_name = "FILE")]
    pub payload_ndjson: Option<PathBuf>,
    /// Stop (with a partial report) after this many failed invokes
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,
    /// Stop when the share of failed invokes exceeds this (0.05 or 5%), after 20 have finished
    #[arg(long, value_name = "P")]
    pub max_error_rate: Option<String>,
    /// At stop, how long invokes in flight may still finish before they count as cancelled
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub grace: String,
    /// Open loop: at most this many invokes in flight (later ones wait; their wait is counted)
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_in_flight: usize,
    /// Give up retrying one invoke after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub deadline: f64,
    /// Write the JSON report (schema xinvoke.load.v1) to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the HTML report (one self-contained page) to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write every attempt and invoke as NDJSON to FILE (`xinvoke report FILE` renders it again)
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// No live progress line (it is drawn only when stderr is a terminal anyway)
    #[arg(long)]
    pub quiet: bool,
}

/// Where the run goes.
enum Env {
    Local {
        server: LocalServer,
        scenario: String,
        /// The invoker played in this process (`--via lambda-workers`).
        invoker_task: Option<tokio::task::JoinHandle<()>>,
    },
    Aws,
}

impl LoadArgs {
    fn load_given(&self) -> bool {
        self.rate.is_some() || self.ramp.is_some() || self.steps.is_some() || self.concurrency.is_some()
    }

    fn aws_configured(&self) -> bool {
        self.target.arn.is_some()
            || self.name.is_some()
            || ["XINVOKE_TARGET_ARN", "XINVOKE_TARGETS", "XINVOKE_TARGETS_FILE"]
                .iter()
                .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty()))
    }

    fn model(&self) -> Result<Model, String> {
        let e = |e: crate::load::pacing::PacingError| e.to_string();
        Ok(if let Some(r) = &self.rate {
            Model::Open(Pacing::parse_rate(r).map_err(e)?)
        } else if let Some(r) = &self.ramp {
            Model::Open(Pacing::parse_ramp(r).map_err(e)?)
        } else if let Some(s) = &self.steps {
            Model::Open(Pacing::parse_steps(s).map_err(e)?)
        } else if let Some(c) = self.concurrency {
            if c == 0 || c > 100_000 {
                return Err("--concurrency must be between 1 and 100000".into());
            }
            Model::Closed { concurrency: c }
        } else {
            Model::Open(Pacing::parse_ramp(DEFAULT_RAMP).map_err(e)?)
        })
    }

    fn payloads(&self, local: bool) -> Result<Payloads, String> {
        let check = |from: &str, bytes: &[u8]| {
            serde_json::from_slice::<Value>(bytes).map(|_| ()).map_err(|e| {
                format!("{from}: the payload must be a JSON document ({e}); e.g. --payload '{{\"hello\": \"world\"}}'")
            })
        };
        if let Some(path) = &self.payload_ndjson {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("--payload-ndjson {}: {e}", path.display()))?;
            let mut list = Vec::new();
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                check(
                    &format!("--payload-ndjson {} line {}", path.display(), i + 1),
                    line.as_bytes(),
                )?;
                list.push(line.trim().as_bytes().to_vec());
            }
            if list.is_empty() {
                return Err(format!(
                    "--payload-ndjson {}: no payloads (one JSON document a line)",
                    path.display()
                ));
            }
            return Ok(Payloads::cycle(list));
        }
        let bytes = match (&self.payload_file, &self.payload) {
            (Some(path), _) => std::fs::read(path).map_err(|e| format!("--payload-file {}: {e}", path.display()))?,
            (None, Some(p)) => p.clone().into_bytes(),
            (None, None) if local => DEFAULT_PAYLOAD.as_bytes().to_vec(),
            (None, None) => b"{}".to_vec(),
        };
        check(
            if self.payload_file.is_some() {
                "--payload-file"
            } else {
                "--payload"
            },
            &bytes,
        )?;
        Ok(Payloads::fixed(bytes))
    }

    fn stop_rules(&self) -> Result<StopRules, String> {
        let max_error_rate = match &self.max_error_rate {
            None => None,
            Some(s) => {
                let (num, scale) = match s.trim().strip_suffix('%') {
                    Some(n) => (n, 100.0),
                    None => (s.trim(), 1.0),
                };
                let v: f64 = num
                    .parse()
                    .map_err(|_| format!("--max-error-rate {s:?}: expected a share like 0.05 or 5%"))?;
                let v = v / scale;
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!(
                        "--max-error-rate {s:?} must be between 0 and 1 (or 0% and 100%)"
                    ));
                }
                Some(v)
            }
        };
        Ok(StopRules {
            max_errors: self.max_errors,
            max_error_rate,
            min_sample: 20,
        })
    }
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

/// Settings for a local run: the given target, or the scenario's functions.
fn local_settings(args: &LoadArgs, scenario: &Scenario) -> Result<(Settings, Vec<Option<String>>), String> {
    let functions = scenario_targets(scenario);
    let mut vars: HashMap<&str, String> = HashMap::new();
    let names;
    if let Some(arn) = &args.target.arn {
        vars.insert("XINVOKE_TARGET_ARN", arn.clone());
        if let Some(role) = &args.target.role_arn {
            vars.insert("XINVOKE_ROLE_ARN", role.clone());
            vars.insert(
                "XINVOKE_EXTERNAL_ID",
                args.target
                    .external_id
                    .clone()
                    .unwrap_or_else(|| builtin::EXTERNAL_ID.to_string()),
            );
        }
        names = vec![None];
    } else if !functions.is_empty() {
        let targets: serde_json::Map<String, Value> = functions
            .iter()
            .map(|f| {
                (
                    f.to_string(),
                    json!({
                        "arn": format!("arn:aws:lambda:{}:{}:function:{f}:live", builtin::REGION, builtin::TARGET_ACCOUNT),
                        "role_arn": builtin::INVOKE_ROLE_ARN,
                        "external_id": builtin::EXTERNAL_ID,
                    }),
                )
            })
            .collect();
        vars.insert("XINVOKE_TARGETS", Value::Object(targets).to_string());
        names = functions.iter().map(|n| Some(n.to_string())).collect();
    } else {
        vars.insert("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN.to_string());
        names = vec![None];
    }
    if let Some(t) = &args.invocation_type {
        vars.insert("XINVOKE_INVOCATION_TYPE", t.clone());
    }
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).map_err(|e| e.to_string())?;
    Ok((settings, names))
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

/// `--via invoker`: the invoker Lambda's handler, in this process, one direct event a request.
struct InvokerSender {
    service: Arc<Service>,
    names: Vec<Option<String>>,
}

impl Sender for InvokerSender {
    async fn invoke(&self, seq: u64, payload: Vec<u8>) -> InvokeRecord {
        let name = self.names[(seq % self.names.len().max(1) as u64) as usize].clone();
        let shown = name.clone().unwrap_or_else(|| "default".into());
        let payload: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        let mut event = json!({ "payload": payload });
        if let Some(n) = name {
            event["target"] = Value::String(n);
        }
        let answer = invoker::handle(&self.service, LambdaEvent::new(event, Context::default())).await;
        let text = match answer {
            Ok(v) => v.to_string(),
            Err(d) => d.error_message,
        };
        serde_json::from_str::<InvokeRecord>(&text).unwrap_or_else(|_| refused(&shown, &text))
    }
}

/// Account 1's invoker function in the local endpoint, for `--via lambda-workers`.
pub const LOCAL_INVOKER_ARN: &str = "arn:aws:lambda:us-east-1:111111111111:function:xinvoke-invoker";

/// The scenario text with account 1's `xinvoke-invoker` function added, whose invokes the
/// local endpoint forwards to `upstream` (the invoker played in this process).
fn with_local_invoker(scenario: &str, upstream: &str) -> Result<String, String> {
    let second = scenario
        .match_indices("\n[[accounts]]")
        .nth(1)
        .map(|(i, _)| i)
        .ok_or("the scenario must define account 1 then account 2 to run --via lambda-workers locally")?;
    let function = format!(
        "\n[[accounts.functions]]\nname = \"xinvoke-invoker\"\nbehaviour = {{ upstream = \"{upstream}\" }}\ntimeout_s = 900\n"
    );
    Ok(format!("{}{}{}", &scenario[..second], function, &scenario[second..]))
}

/// The invoker Lambda played in this process for `--via lambda-workers` locally: the local
/// account 2 forwards each invoke of account 1's `xinvoke-invoker` here, and this answers
/// its `load` event as the deployed invoker would (`xinvoke::load::worker::handle_load_event`).
async fn start_local_invoker(
    listener: tokio::net::TcpListener,
    settings: Settings,
    base: aws_config::SdkConfig,
) -> tokio::task::JoinHandle<()> {
    let service = Arc::new(Service::new(settings, &base).await);
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let service = Arc::clone(&service);
        async move {
            let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let lambda_event = lambda_runtime::LambdaEvent {
                payload: event,
                context: Default::default(),
            };
            let answer = crate::lambdas::invoker::handle(&service, lambda_event)
                .await
                .unwrap_or_else(|d| json!({"errorType": d.error_type, "errorMessage": d.error_message}));
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

/// Invoke the invoker once per job, concurrently; the answers, and a line per failed worker.
async fn fan_out(
    invoker: Arc<Service>,
    jobs: Vec<crate::load::worker::WorkerJob>,
) -> (Vec<crate::load::worker::WorkerAnswer>, Vec<String>) {
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let invoker = Arc::clone(&invoker);
        set.spawn(async move {
            let worker = job.worker;
            let call = crate::invoke::service::Call {
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
            serde_json::from_value::<crate::load::worker::WorkerAnswer>(payload.clone()).map_err(|_| {
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

/// An RFC 3339 UTC timestamp of now.
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    crate::core::utc::iso8601(secs)
}

/// Write the `--json` and `--html` reports.
pub fn write_reports(r: &Report, json_path: Option<&Path>, html_path: Option<&Path>) -> Result<(), String> {
    if let Some(p) = json_path {
        std::fs::write(p, report::json(r) + "\n").map_err(|e| format!("--json {}: {e}", p.display()))?;
        eprintln!("wrote the JSON report to {}", p.display());
    }
    if let Some(p) = html_path {
        std::fs::write(p, report::html::render(r)).map_err(|e| format!("--html {}: {e}", p.display()))?;
        eprintln!("wrote the HTML report to {}", p.display());
    }
    Ok(())
}

/// A `load` command's inputs, all checked before anything starts.
struct Job {
    /// The run goes to the local endpoint in-process.
    local: bool,
    /// `--via lambda-workers`.
    workers: bool,
    model: Model,
    duration: Option<Duration>,
    grace: Duration,
    stop: StopRules,
    payloads: Payloads,
    invocation_type: Option<InvocationType>,
    path: InvokePath,
    /// Each phase's name and whether it retries, in order.
    phases: Vec<(String, bool)>,
}

impl LoadArgs {
    /// Check every input, so that bad input fails before the run rather than after it.
    fn job(&self) -> Result<Job, String> {
        let builtin_job = !self.load_given() && !self.aws_configured() && !self.no_retry;
        let local = self.local || !self.aws_configured();
        let model = self.model()?;
        let duration = match &self.duration {
            Some(d) => Some(parse_duration(d).map_err(|e| format!("--duration: {e}"))?),
            None => match &model {
                Model::Open(p) if p.end().is_some() => None,
                _ if self.requests.is_some() => None,
                Model::Open(Pacing::Ramp { over, .. }) => Some(*over),
                _ => Some(Duration::from_secs(10)),
            },
        };
        let grace = parse_duration(&self.grace).map_err(|e| format!("--grace: {e}"))?;
        if !(self.deadline.is_finite() && self.deadline > 0.0 && self.deadline <= 86_400.0) {
            return Err("--deadline must be a number of seconds from 0 to 86400".into());
        }
        let stop = self.stop_rules()?;
        let payloads = self.payloads(local)?;
        for (flag, path) in [("--json", &self.json), ("--html", &self.html)] {
            if let Some(p) = path {
                std::fs::File::create(p).map_err(|e| format!("{flag} {}: {e}", p.display()))?;
            }
        }
        let workers = self.via == "lambda-workers";
        if workers {
            if self.record.is_some() {
                return Err(
                    "--record is not available with --via lambda-workers: the workers send statistics, not records"
                        .into(),
                );
            }
            if !(1..=1000).contains(&self.workers) {
                return Err("--workers must be between 1 and 1000".into());
            }
            if payloads
                .list()
                .iter()
                .any(|p| serde_json::from_slice::<Value>(p).is_err())
            {
                return Err("--via lambda-workers sends payloads inside a JSON event: they must be JSON".into());
            }
        }
        let invocation_type = self
            .invocation_type
            .as_deref()
            .map(str::parse::<InvocationType>)
            .transpose()
            .map_err(|e| format!("--type: {e}"))?;
        let path: InvokePath = self.path.parse()?;
        let phases = if builtin_job || self.compare {
            vec![("without retries".into(), false), ("with retries".into(), true)]
        } else if self.no_retry {
            vec![("without retries".into(), false)]
        } else {
            vec![("with retries".into(), true)]
        };
        Ok(Job {
            local,
            workers,
            model,
            duration,
            grace,
            stop,
            payloads,
            invocation_type,
            path,
            phases,
        })
    }
}

/// Where the run goes, with its settings and the target names it cycles through.
type Environment = (Env, Settings, Vec<Option<String>>);

/// Start the local endpoint in-process (and, for `--via lambda-workers`, the invoker it
/// forwards to), or take AWS from the flags and variables.
async fn environment(args: &LoadArgs, job: &Job) -> Result<Environment, String> {
    if !job.local {
        return aws_environment(args);
    }
    let (text, label) = match &args.scenario {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| format!("--scenario {}: {e}", p.display()))?,
            p.display().to_string(),
        ),
        None => (VPC_LIMITS_SCENARIO.to_string(), "vpc-limits".to_string()),
    };
    let source = args
        .scenario
        .clone()
        .unwrap_or_else(|| PathBuf::from("scenarios/vpc-limits.toml"));
    let mut invoker_listener = None;
    let scenario = if job.workers {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("starting the local invoker: {e}"))?;
        let url = format!("http://{}/", listener.local_addr().map_err(|e| e.to_string())?);
        invoker_listener = Some(listener);
        Scenario::from_toml_str(&with_local_invoker(&text, &url)?, &source).map_err(|e| e.to_string())?
    } else if args.scenario.is_some() {
        Scenario::from_path(&source).map_err(|e| e.to_string())?
    } else {
        Scenario::from_toml_str(&text, &source).map_err(|e| e.to_string())?
    };
    let server = LocalServer::start(scenario.clone(), "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
        .await
        .map_err(|e| e.to_string())?;
    let (settings, names) = local_settings(args, &scenario)?;
    let invoker_task = match invoker_listener {
        Some(listener) => {
            let mut worker_settings = settings.clone();
            if !args.real_waits {
                worker_settings.retry = RetryPolicy::defaults_shortened(10.0);
            }
            let base = local_base(server.url(), worker_settings.timeouts).await;
            Some(start_local_invoker(listener, worker_settings, base).await)
        }
        None => None,
    };
    let env = Env::Local {
        server,
        scenario: label,
        invoker_task,
    };
    Ok((env, settings, names))
}

/// AWS: the target from `--target`/`--name` and the `XINVOKE_*` variables.
fn aws_environment(args: &LoadArgs) -> Result<Environment, String> {
    let more: Vec<(&'static str, String)> = args
        .invocation_type
        .clone()
        .map(|t| ("XINVOKE_INVOCATION_TYPE", t))
        .into_iter()
        .collect();
    let settings = args.target.settings(&more)?;
    let names = match &args.name {
        Some(list) => list.split(',').map(|n| Some(n.trim().to_string())).collect(),
        None => vec![None],
    };
    for n in names.iter().flatten() {
        settings.target(Some(n)).map_err(|e| e.to_string())?;
    }
    Ok((Env::Aws, settings, names))
}

/// The report's header: what ran where, and the notes a reader needs to read it right.
fn run_info(args: &LoadArgs, job: &Job, (env, settings, names): &Environment) -> Result<RunInfo, String> {
    let target = names
        .iter()
        .map(|n| {
            settings
                .target(n.as_deref())
                .map(|t| t.arn.to_string())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    let mut notes = Vec::new();
    if let Env::Local { server, scenario, .. } = env {
        notes.push(format!(
            "local endpoint in-process at {} (scenario {scenario}); no AWS calls are made",
            server.url()
        ));
        if let Some(models) = server.scenario().vpc_models() {
            notes.push(format!("VPC networking: {models}"));
        }
    }
    if job.local && !args.real_waits && job.phases.iter().any(|(_, r)| *r) {
        notes.push("retry waits are the default policy's shortened 10x for the local endpoint (--real-waits for the real ones)".into());
    }
    if !job.workers {
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
        started_at: now_rfc3339(),
        target,
        via: args.via.clone(),
        environment: match env {
            Env::Local { scenario, .. } => format!("local endpoint (scenario {scenario})"),
            Env::Aws => "AWS".to_string(),
        },
        notes,
    })
}

/// `--via lambda-workers`: the service that invokes the invoker Lambda (account 1's, or the
/// one played in this process), given an attempt timeout that outlasts a worker's share.
async fn worker_invoker(args: &LoadArgs, job: &Job, env: &Env) -> Result<Arc<Service>, String> {
    let arn = match env {
        Env::Local { .. } => LOCAL_INVOKER_ARN.to_string(),
        Env::Aws => args
            .invoker
            .clone()
            .or_else(|| std::env::var("XINVOKE_INVOKER_ARN").ok().filter(|v| !v.is_empty()))
            .ok_or(
                "--via lambda-workers needs --invoker ARN (or XINVOKE_INVOKER_ARN): the invoker Lambda in account 1",
            )?,
    };
    let vars = HashMap::from([("XINVOKE_TARGET_ARN", arn)]);
    let mut s = Settings::from_lookup(|k| vars.get(k).cloned()).map_err(|e| format!("--invoker: {e}"))?;
    s.retry.disabled = true;
    // A worker answers when its share is done: the whole phase plus its grace and margin.
    let phase_time = job
        .duration
        .or(plan_end(&job.model))
        .unwrap_or(Duration::from_secs(840));
    s.timeouts.attempt = (phase_time + job.grace + Duration::from_secs(60)).min(Duration::from_secs(900));
    let base = match env {
        Env::Local { server, .. } => local_base(server.url(), s.timeouts).await,
        Env::Aws => clients::base_config(s.timeouts).await,
    };
    Ok(Arc::new(Service::new(s, &base).await))
}

/// One phase through the workers: split it into shares, send each to an invoker, merge the
/// statistics they answer: how the phase ended, and a line per worker that failed (its share
/// is missing). Fails when no worker answered.
async fn worker_phase(
    invoker: &Arc<Service>,
    args: &LoadArgs,
    job: &Job,
    plan: &PhasePlan,
    phase: u32,
    names: &[Option<String>],
    collector: &mut Collector,
) -> Result<(EndReason, Vec<String>), String> {
    let whole = crate::load::worker::WorkerJob {
        worker: 0,
        phase,
        name: plan.name.clone(),
        retries: plan.retries,
        load: String::new(),
        duration_ms: job.duration.map(|d| d.as_millis() as u64),
        requests: args.requests,
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
        max_in_flight: args.max_in_flight,
        deadline_ms: (args.deadline * 1000.0) as u64,
    };
    collector.take(&LoadRecord::phase(phase, plan.info()));
    let (answers, failed) = fan_out(Arc::clone(invoker), whole.split(&job.model, args.workers)).await;
    let mut end = EndReason::Completed;
    for a in &answers {
        collector.metrics.merge(&a.metrics);
        if a.end.is_early() {
            end = a.end;
        }
    }
    if answers.is_empty() {
        return Err(format!(
            "no worker answered: {}",
            failed.first().cloned().unwrap_or_default()
        ));
    }
    Ok((end, failed))
}

/// Run the command; the exit code says how the run ended.
pub async fn run(args: LoadArgs) -> Result<u8, String> {
    crate::adapters::logging::init_cli();
    let job = args.job()?;
    let environment = environment(&args, &job).await?;
    let info = run_info(&args, &job, &environment)?;
    let (env, settings, names) = environment;

    // Ctrl-C once: stop gracefully; twice: abandon what is in flight.
    let (stop_tx, stop_rx) = watch::channel(0u8);
    let signals = tokio::spawn(async move {
        let mut level = 0u8;
        while tokio::signal::ctrl_c().await.is_ok() {
            level = level.saturating_add(1);
            if stop_tx.send(level).is_err() {
                break;
            }
        }
    });

    let progress = !args.quiet && std::io::stderr().is_terminal();
    let mut collector = Collector::new(args.record.as_deref(), progress).map_err(|e| e.to_string())?;
    collector.take(&LoadRecord::run(info));
    let shorten = job.local && !args.real_waits;
    let mut worst = EndReason::Completed;
    let mut worker_failures = Vec::new();
    let invoker_service = if job.workers {
        Some(worker_invoker(&args, &job, &env).await?)
    } else {
        None
    };
    for (i, (name, retries)) in job.phases.iter().enumerate() {
        if *stop_rx.borrow() >= 1 {
            break;
        }
        let phase = i as u32;
        let plan = PhasePlan {
            name: name.clone(),
            retries: *retries,
            model: job.model.clone(),
            duration: job.duration,
            requests: args.requests,
            stop: job.stop,
            grace: job.grace,
            max_in_flight: args.max_in_flight,
        };
        if let (Env::Local { server, .. }, true) = (&env, i > 0) {
            crate::local::client::ControlClient::new(server.addr())
                .reset()
                .await
                .map_err(|e| format!("resetting the local endpoint: {e}"))?;
        }
        collector.phase_started(name, job.duration.or(plan_end(&job.model)));
        if let Some(invoker) = &invoker_service {
            let (end, failed) = worker_phase(invoker, &args, &job, &plan, phase, &names, &mut collector).await?;
            worker_failures.extend(failed);
            if end.is_early() {
                worst = end;
                break;
            }
            continue;
        }
        let base = match &env {
            Env::Local { server, .. } => local_base(server.url(), settings.timeouts).await,
            Env::Aws => clients::base_config(settings.timeouts).await,
        };
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
        let gauges = match &env {
            Env::Local { server, .. } => Some(LocalGauges(server)),
            Env::Aws => None,
        };
        let gauges_ref = gauges.as_ref().map(|g| g as &dyn Gauges);
        let mut sink = |r: &LoadRecord| collector.take(r);
        let outcome = if args.via == "invoker" {
            let target = Arc::new(InvokerSender {
                service,
                names: names.clone(),
            });
            run_phase(
                phase,
                &plan,
                target,
                &job.payloads,
                gauges_ref,
                stop_rx.clone(),
                &mut sink,
            )
            .await
        } else {
            let deadline = Duration::from_secs_f64(args.deadline);
            let target = Arc::new(DirectSender::new(service, names.clone(), job.invocation_type, deadline));
            run_phase(
                phase,
                &plan,
                target,
                &job.payloads,
                gauges_ref,
                stop_rx.clone(),
                &mut sink,
            )
            .await
        };
        if outcome.end.is_early() {
            worst = outcome.end;
            break;
        }
    }
    signals.abort();
    finish(&args, env, collector, worst, &worker_failures).await
}

/// Print the report, write its files, stop the local endpoint, and say how the run ended.
async fn finish(
    args: &LoadArgs,
    env: Env,
    collector: Collector,
    worst: EndReason,
    worker_failures: &[String],
) -> Result<u8, String> {
    let metrics = collector.finish().map_err(|e| e.to_string())?;
    let r = metrics.finish();
    print!("{}", report::text::render(&r));
    write_reports(&r, args.json.as_deref(), args.html.as_deref())?;
    if let Some(p) = &args.record {
        eprintln!(
            "wrote the recording to {} (xinvoke report {} renders it again)",
            p.display(),
            p.display()
        );
    }
    if let Env::Local {
        server, invoker_task, ..
    } = env
    {
        if let Some(t) = invoker_task {
            t.abort();
        }
        server.shutdown().await;
    }
    for f in worker_failures {
        eprintln!("warning: {f}; its share is missing from the report");
    }
    if !worker_failures.is_empty() && worst == EndReason::Completed {
        return Ok(1);
    }
    Ok(match worst {
        EndReason::Completed => 0,
        EndReason::MaxErrors | EndReason::MaxErrorRate => 1,
        EndReason::Interrupted => 130,
    })
}

fn plan_end(model: &Model) -> Option<Duration> {
    match model {
        Model::Open(p) => p.end(),
        Model::Closed { .. } => None,
    }
}
