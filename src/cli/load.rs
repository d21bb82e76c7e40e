//! `xinvoke load`: the flags, checked and typed, become a [`Job`]; the job runs
//! ([`crate::load::job::run`]) and its report is printed and written. What a run does is in
//! `load::job`; this module parses and prints.

use crate::adapters::config::{self, keys, Auth, Given};
use crate::adapters::signed::InvokePath;
use crate::adapters::{chain, clients};
use crate::cli::target::TargetArgs;
use crate::cli::{deadline, report, CliError, Output, ValueError};
use crate::domain::arn::FunctionArn;
use crate::domain::invocation::InvocationType;
use crate::load::engine::{stop_signal, Model, Payloads, StopRules};
use crate::load::job::{self, Job, Place, Via, DEFAULT_PAYLOAD, DEFAULT_RAMP};
use crate::load::pacing::{parse_duration, Pacing};
use crate::load::record::EndReason;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// Load-test the cross-account invoke path and report where it breaks.
///
/// With no arguments: the built-in local endpoint runs in-process with a scenario whose VPC
/// limits bite (scenarios/vpc-limits.toml); a ramp runs without retries, then with them, and
/// the report shows where ec2_throttled, eni_limit, subnet_ip_limit and throttled appeared.
/// Against AWS: --target ARN [--role-arn ARN --external-id ID], or the XINVOKE_* variables.
///
/// Exit code: 0 when the run completed, 1 when --max-errors / --max-error-rate stopped it or a
/// Lambda worker failed, 130 after Ctrl-C (a partial report is printed), 2 for bad input.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// Open loop: invokes per second, sent on schedule whatever the target does
    #[arg(long, value_name = "R", group = "load", value_parser = Pacing::parse_rate)]
    pub rate: Option<Pacing>,
    /// Open loop: ramp the rate linearly FROM:TO:DURATION (e.g. 10:200:10s), then hold TO
    #[arg(long, value_name = "FROM:TO:DURATION", group = "load", value_parser = Pacing::parse_ramp)]
    pub ramp: Option<Pacing>,
    /// Open loop: constant-rate steps RATE:DURATION,... (e.g. "10:5s,50:5s,100:5s"); the run ends after the last
    #[arg(long, value_name = "STEPS", group = "load", value_parser = Pacing::parse_steps)]
    pub steps: Option<Pacing>,
    /// Closed loop: keep this many invokes in flight, each sent when one finishes
    #[arg(long, value_name = "C", group = "load", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: Option<u32>,
    /// Stop sending after this long (30s, 2m; a bare number is seconds); default: the ramp's or the steps' length, else 10s unless --requests bounds the run
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many invokes (per phase)
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// direct: this process invokes the target; invoker: each request invokes the invoker
    /// function in account 1, which invokes the target (two hops, both reported); handler: the
    /// invoker's handler runs in this process and invokes the target; lambda-workers: --workers
    /// invocations of the invoker each run slices of the load (its `load` event); gateway: each
    /// request is an HTTP POST to the gateway route URL given after the flags
    #[arg(long, value_name = "HOW", value_enum, default_value_t = ViaArg::Direct)]
    pub via: ViaArg,
    /// How this process sends each Invoke (--via direct and invoker): signed signs it here
    /// (SigV4) and sends it over a pooled hyper client; sdk goes through aws-sdk-lambda. Both
    /// feed the same classifier; signed makes several times the load per core
    #[arg(long, value_name = "PATH", value_enum, default_value_t = PathArg::Signed)]
    pub path: PathArg,
    /// With --via lambda-workers: how many invoker invocations share the load
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub workers: u32,
    /// With --via lambda-workers: each worker runs the load in slices of at most this long (one
    /// invoke of the invoker each, 1s to 30s; a bare number is seconds), shortened to fit the invoker's timeout; Ctrl-C
    /// and the stop rules act between slices
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = slice_length)]
    pub slice: Duration,
    /// With --via invoker or lambda-workers against AWS: the invoker Lambda's ARN in account 1 [env: XINVOKE_INVOKER_ARN]
    #[arg(long, value_name = "ARN")]
    pub invoker: Option<FunctionArn>,
    /// With --via invoker against AWS: after the run, read the invoker's own metrics (its EMF
    /// Invokes by class) back from CloudWatch, waiting up to WAIT for them to arrive (default
    /// 3m; a bare number is seconds); on the local endpoint they are read from the invoker's log anyway
    #[arg(long, value_name = "WAIT", num_args = 0..=1, default_missing_value = "3m", value_parser = parse_duration)]
    pub read_metrics: Option<Duration>,
    /// With --read-metrics: the invoker's metrics namespace (its XINVOKE_METRICS_NAMESPACE)
    #[arg(long, value_name = "NAMESPACE", default_value = "xinvoke")]
    pub metrics_namespace: String,
    /// With --read-metrics: the invoker's service name (its POWERTOOLS_SERVICE_NAME; default the
    /// function's name)
    #[arg(long, value_name = "NAME")]
    pub metrics_service: Option<String>,
    /// With --via gateway: the route's URL, e.g. http://127.0.0.1:8080/target
    #[arg(value_name = "URL")]
    pub url: Option<http::Uri>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Named targets from XINVOKE_TARGETS / XINVOKE_TARGETS_FILE, comma-separated, invoked in turn
    #[arg(long, value_name = "NAMES", conflicts_with = "target", value_delimiter = ',')]
    pub name: Vec<String>,
    /// Invocation type [env: XINVOKE_INVOCATION_TYPE]
    #[arg(long = "type", value_name = "TYPE")]
    pub invocation_type: Option<InvocationType>,
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
    /// The payload, a JSON document (default {} against AWS, {"sleep_ms":200,"connections":1} locally: 200 ms holding one connection into the target's VPC)
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
    #[arg(long, value_name = "P", value_parser = share)]
    pub max_error_rate: Option<f64>,
    /// At stop, how long invokes in flight may still finish before they count as cancelled (5s,
    /// 500ms; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub grace: Duration,
    /// Open loop: at most this many invokes in flight (later ones wait; their wait is counted)
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,
    /// Give up retrying one invoke after this long: 60s, 2m (a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = deadline)]
    pub deadline: Duration,
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
    /// text: the text report on stdout; json: the JSON report (schema xinvoke.load.v1) on stdout
    /// instead, nothing else (progress and notes go to stderr)
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// `--via`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViaArg {
    Direct,
    Invoker,
    Handler,
    LambdaWorkers,
    Gateway,
}

/// `--path`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathArg {
    #[value(alias = "fast")]
    Signed,
    Sdk,
}

/// A share: `0.05` or `5%`, between 0 and 1.
/// `--slice`: whole seconds from 1 to 30.
fn slice_length(s: &str) -> Result<Duration, ValueError> {
    match parse_duration(s) {
        Ok(d) if d.subsec_nanos() == 0 && (1..=30).contains(&d.as_secs()) => Ok(d),
        _ => Err(ValueError("must be whole seconds from 1s to 30s, e.g. 5s")),
    }
}

fn share(s: &str) -> Result<f64, ValueError> {
    let (num, scale) = match s.trim().strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (s.trim(), 1.0),
    };
    match num.parse::<f64>().map(|v| v / scale) {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(_) => Err(ValueError("must be between 0 and 1 (or 0% and 100%)")),
        Err(_) => Err(ValueError("expected a share like 0.05 or 5%")),
    }
}

impl LoadArgs {
    fn load_given(&self) -> bool {
        self.rate.is_some() || self.ramp.is_some() || self.steps.is_some() || self.concurrency.is_some()
    }

    /// A target on AWS is named by a flag or a variable.
    fn aws_configured(&self, env: &impl Fn(&str) -> Option<String>) -> bool {
        self.target.arn.is_some()
            || !self.name.is_empty()
            || [keys::TARGET_ARN, keys::TARGETS, keys::TARGETS_FILE]
                .iter()
                .any(|k| env(k.var).is_some())
    }

    fn model(&self) -> Model {
        match (
            self.rate.clone().or(self.ramp.clone()).or(self.steps.clone()),
            self.concurrency,
        ) {
            (Some(pacing), _) => Model::Open(pacing),
            (None, Some(c)) => Model::Closed {
                concurrency: c as usize,
            },
            (None, None) => Model::Open(Pacing::parse_ramp(DEFAULT_RAMP).expect("the default ramp parses")),
        }
    }

    fn payloads(&self, local: bool) -> Result<Payloads, CliError> {
        let check = |flag: &'static str, bytes: &[u8], at: String| {
            serde_json::from_slice::<Value>(bytes).map(|_| ()).map_err(|e| {
                CliError::flag(
                    flag,
                    format!("{at}the payload must be a JSON document ({e}); e.g. --payload '{{\"hello\": \"world\"}}'"),
                )
            })
        };
        let read = |flag: &'static str, path: &PathBuf| {
            std::fs::read(path).map_err(|source| CliError::File {
                flag,
                path: path.clone(),
                source,
            })
        };
        if let Some(path) = &self.payload_ndjson {
            let flag = "--payload-ndjson";
            let text = String::from_utf8_lossy(&read(flag, path)?).into_owned();
            let mut list = Vec::new();
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                check(flag, line.as_bytes(), format!("{} line {}: ", path.display(), i + 1))?;
                list.push(line.trim().as_bytes().to_vec());
            }
            if list.is_empty() {
                return Err(CliError::flag(
                    flag,
                    format!("{}: no payloads (one JSON document a line)", path.display()),
                ));
            }
            return Ok(Payloads::cycle(list));
        }
        let (flag, bytes) = match (&self.payload_file, &self.payload) {
            (Some(path), _) => ("--payload-file", read("--payload-file", path)?),
            (None, Some(p)) => ("--payload", p.clone().into_bytes()),
            (None, None) if local => ("--payload", DEFAULT_PAYLOAD.as_bytes().to_vec()),
            (None, None) => ("--payload", b"{}".to_vec()),
        };
        check(flag, &bytes, String::new())?;
        Ok(Payloads::fixed(bytes))
    }

    /// The invoker Lambda for `--via lambda-workers` on AWS: the flag, else its variable.
    fn invoker(&self, env: &impl Fn(&str) -> Option<String>) -> Result<Option<FunctionArn>, CliError> {
        if self.invoker.is_some() {
            return Ok(self.invoker.clone());
        }
        env("XINVOKE_INVOKER_ARN")
            .map(|v| {
                v.parse()
                    .map_err(|e| CliError::flag("--invoker / XINVOKE_INVOKER_ARN", format!("{e}")))
            })
            .transpose()
    }

    /// Check every input and describe the run, so that bad input fails before it starts
    /// rather than after. `env` reads the process's variables.
    pub fn job(&self, env: impl Fn(&str) -> Option<String>) -> Result<Job, CliError> {
        let aws = self.aws_configured(&env);
        let builtin_job = !self.load_given() && !aws && !self.no_retry;
        let local = self.local || !aws;
        let model = self.model();
        let duration = match (self.duration, &model) {
            (Some(d), _) => Some(d),
            (None, Model::Open(p)) if p.end().is_some() => None,
            (None, _) if self.requests.is_some() => None,
            (None, Model::Open(Pacing::Ramp { over, .. })) => Some(*over),
            (None, _) => Some(Duration::from_secs(10)),
        };
        let payloads = self.payloads(local && self.via != ViaArg::Gateway)?;
        for (flag, path) in [("--json", &self.json), ("--html", &self.html)] {
            if let Some(p) = path {
                // Writable before a long run, but nothing changed yet: an older report stays
                // until this run's replaces it, and no empty file is left if the run fails.
                let existed = p.exists();
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(p)
                    .map_err(|source| CliError::File {
                        flag,
                        path: p.clone(),
                        source,
                    })?;
                if !existed {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        if self.url.is_some() && self.via != ViaArg::Gateway {
            return Err(CliError::flag("URL", "a URL is only taken with --via gateway"));
        }
        let via = match self.via {
            ViaArg::Gateway => match &self.url {
                Some(url) if matches!(url.scheme_str(), Some("http") | Some("https")) && url.authority().is_some() => {
                    Via::Gateway(url.clone())
                }
                Some(url) => return Err(CliError::flag("URL", format!("{url} is not an http(s) URL, e.g. http://127.0.0.1:8080/target"))),
                None => {
                    return Err(CliError::flag(
                        "--via gateway",
                        "needs the route's URL after the flags, e.g. xinvoke load --via gateway http://127.0.0.1:8080/target",
                    ))
                }
            },
            ViaArg::Direct => Via::Direct,
            ViaArg::Handler => Via::Handler(crate::lambdas::invoker::handler()),
            ViaArg::Invoker => {
                let invoker = self.invoker(&env)?;
                let read_metrics = match (self.read_metrics, &invoker) {
                    (None, _) => None,
                    (Some(wait), Some(arn)) if !local => Some(job::ReadMetrics {
                        wait,
                        namespace: self.metrics_namespace.clone(),
                        service: self.metrics_service.clone().unwrap_or_else(|| arn.name.clone()),
                    }),
                    _ => {
                        return Err(CliError::flag(
                            "--read-metrics",
                            "reads CloudWatch, against AWS with --invoker ARN; on the local endpoint the report has the invoker's metrics from its log",
                        ))
                    }
                };
                Via::Invoker {
                    invoker,
                    handler: crate::lambdas::invoker::handler(),
                    read_metrics,
                }
            }
            ViaArg::LambdaWorkers => {
                if self.record.is_some() {
                    return Err(CliError::flag(
                        "--record",
                        "not available with --via lambda-workers: the workers send statistics, not records",
                    ));
                }
                Via::LambdaWorkers {
                    workers: self.workers,
                    slice: self.slice,
                    invoker: self.invoker(&env)?,
                    handler: crate::lambdas::invoker::handler(),
                }
            }
        };
        let place = if local || self.via == ViaArg::Gateway {
            let target = match &self.target.arn {
                Some(_) => Some(Box::new(self.target.given()?)),
                None => None,
            };
            Place::Local {
                scenario: self.scenario.clone(),
                target,
            }
        } else {
            let more = Given {
                invocation_type: self.invocation_type,
                ..Given::default()
            };
            let settings = self.target.settings_from(more, &env)?;
            let names: Vec<Option<String>> = match self.name.as_slice() {
                [] => vec![None],
                list => list.iter().map(|n| Some(n.trim().to_string())).collect(),
            };
            for n in names.iter().flatten() {
                settings.target(Some(n))?;
            }
            Place::Aws {
                settings: Box::new(settings),
                names,
            }
        };
        let phases = if self.via == ViaArg::Gateway {
            vec![("through the gateway".into(), true)]
        } else if builtin_job || self.compare {
            vec![("without retries".into(), false), ("with retries".into(), true)]
        } else if self.no_retry {
            vec![("without retries".into(), false)]
        } else {
            vec![("with retries".into(), true)]
        };
        Ok(Job {
            place,
            via,
            path: match self.path {
                PathArg::Signed => InvokePath::Signed,
                PathArg::Sdk => InvokePath::Sdk,
            },
            model,
            duration,
            requests: self.requests,
            grace: self.grace,
            stop: StopRules {
                max_errors: self.max_errors,
                max_error_rate: self.max_error_rate,
                min_sample: 20,
            },
            payloads,
            invocation_type: self.invocation_type,
            phases,
            max_in_flight: self.max_in_flight as usize,
            deadline: self.deadline,
            real_waits: self.real_waits,
            record: self.record.clone(),
            progress: !self.quiet && std::io::stderr().is_terminal(),
        })
    }
}

/// Run the command; the exit code says how the run ended.
pub async fn run(args: LoadArgs) -> Result<u8, CliError> {
    crate::adapters::logging::init_cli();
    let job = args.job(config::process_env)?;
    if let Place::Aws { settings, names } = &job.place {
        // Before the first request: without credentials every invoke would fail the same way,
        // so name the chain's missing link (a profile's cached SSO token, a variable) instead.
        let target = settings.target(names.first().cloned().flatten().as_deref())?;
        let base = clients::base_config(settings.timeouts).await;
        chain::check(
            &base,
            &Auth::ExecutionRole,
            &target.arn.region,
            None,
            &config::process_env,
        )
        .await
        .map_err(CliError::Credentials)?;
    }
    // Ctrl-C once: stop gracefully; twice: abandon what is in flight.
    let (stop_tx, stop_rx) = stop_signal();
    let signals = tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            let next = stop_tx.borrow().escalate();
            if stop_tx.send(next).is_err() {
                break;
            }
        }
    });
    let outcome = job::run(job, stop_rx).await;
    signals.abort();
    let outcome = outcome?;
    report::print_report(&outcome.report, args.output);
    report::write(&outcome.report, args.json.as_deref(), args.html.as_deref())?;
    if let Some(p) = &args.record {
        eprintln!(
            "wrote the recording to {} (xinvoke report {} renders it again)",
            p.display(),
            p.display()
        );
    }
    for f in &outcome.worker_failures {
        eprintln!("warning: {f}; its share is missing from the report");
    }
    Ok(match outcome.end {
        EndReason::Completed if !outcome.worker_failures.is_empty() => 1,
        EndReason::Completed => 0,
        EndReason::MaxErrors | EndReason::MaxErrorRate => 1,
        EndReason::Interrupted => 130,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        load: LoadArgs,
    }

    fn parse(args: &[&str]) -> Result<LoadArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("load").chain(args.iter().copied())).map(|c| c.load)
    }

    #[test]
    fn bad_flag_values_are_refused_naming_the_flag() {
        for (args, flag) in [
            (&["--ramp", "10:20"][..], "--ramp"),
            (&["--rate", "0"], "--rate"),
            (&["--concurrency", "0"], "--concurrency"),
            (&["--max-error-rate", "150%"], "--max-error-rate"),
            (&["--deadline", "0"], "--deadline"),
            (&["--grace", "5 parsecs"], "--grace"),
            (&["--slice", "45s"], "--slice"),
            (&["--slice", "1500ms"], "--slice"),
            (&["--type", "Sync"], "--type"),
            (&["--via", "carrier-pigeon"], "--via"),
            (&["--workers", "0"], "--workers"),
            (&["--invoker", "xinvoke-invoker"], "--invoker"),
        ] {
            let e = parse(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} was accepted"))
                .to_string();
            assert!(e.contains(flag), "{args:?}: {e}");
        }
    }

    #[test]
    fn no_target_means_the_built_in_job_and_a_target_means_aws() {
        let none = |_: &str| None;
        let job = parse(&[]).unwrap().job(none).unwrap();
        assert!(matches!(job.place, Place::Local { target: None, .. }));
        assert_eq!(job.phases.len(), 2, "without retries, then with them");
        assert_eq!(job.payloads.get(0), DEFAULT_PAYLOAD.as_bytes());
        let env = |k: &str| {
            (k == "XINVOKE_TARGET_ARN").then(|| "arn:aws:lambda:us-east-1:222222222222:function:t:live".to_string())
        };
        let job = parse(&["--rate", "5", "--type", "Event"]).unwrap().job(env).unwrap();
        let Place::Aws { settings, names } = &job.place else {
            panic!("a configured target runs on AWS")
        };
        assert_eq!(names, &vec![None]);
        assert_eq!(settings.target(None).unwrap().invocation_type, InvocationType::Event);
        assert_eq!(job.payloads.get(0), b"{}");
        assert_eq!(job.phases, vec![("with retries".to_string(), true)]);
    }

    #[test]
    fn unknown_names_and_missing_invokers_fail_before_the_run() {
        let none = |_: &str| None;
        let e = parse(&["--name", "orders,billing"])
            .unwrap()
            .job(none)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("XINVOKE_TARGET") || e.contains("orders"), "{e}");
        let e = parse(&["--via", "lambda-workers", "--record", "x.ndjson"])
            .unwrap()
            .job(none)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--record"), "{e}");
    }
}
