//! `xinvoke invoke`: one invoke through the same core as the invoker Lambda, printing the
//! outcome record as JSON (or as text). Flags override the `XINVOKE_*` variables of the same
//! meaning.

use crate::adapters::config::{self, Auth, Given, Settings};
use crate::adapters::{chain, clients, logging};
use crate::cli::target::TargetArgs;
use crate::cli::{deadline, duration, print_json, CliError, Output};
use crate::domain::arn::Qualifier;
use crate::domain::class::Class;
use crate::domain::duration::Unit;
use crate::domain::invocation::InvocationType;
use crate::domain::record::InvokeRecord;
use crate::invoke::service::{Call, Service};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// Invoke a target once (with retries) and print the outcome record as JSON.
///
/// Reads the standard AWS variables (AWS_REGION, AWS_PROFILE of any kind the AWS CLI
/// understands, IAM Identity Center included, credentials, AWS_ENDPOINT_URL to point at a local
/// endpoint) and the XINVOKE_* variables; flags win over variables. When no credentials can be
/// had, the record's hint names the missing link (e.g. no cached SSO token: `aws sso login`).
/// Exit code: 0 when the class is `ok`, 1 for any other class, 2 for bad input.
#[derive(clap::Args, Debug)]
pub struct InvokeArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// A named target from XINVOKE_TARGETS / XINVOKE_TARGETS_FILE instead of --target
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub name: Option<String>,
    /// Invocation type [env: XINVOKE_INVOCATION_TYPE]
    #[arg(long = "type", value_name = "TYPE")]
    pub invocation_type: Option<InvocationType>,
    /// Invoke this alias or version instead of the ARN's qualifier
    #[arg(long)]
    pub qualifier: Option<Qualifier>,
    /// The payload, a JSON document
    #[arg(long, default_value = "{}", conflicts_with = "payload_file")]
    pub payload: String,
    /// Read the payload (JSON) from a file
    #[arg(long, value_name = "FILE")]
    pub payload_file: Option<PathBuf>,
    /// Client context for a sync invoke, a JSON object (sent base64, at most 3,583 bytes)
    #[arg(long, value_name = "JSON")]
    pub client_context: Option<String>,
    /// Give up (no further retries) after this long: 60s, 2m, 1500ms (a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = deadline)]
    pub deadline: Duration,
    /// Make one attempt only, whatever happens [env: XINVOKE_NO_RETRY]
    #[arg(long)]
    pub no_retry: bool,
    /// The target is idempotent: retry sync timeouts too [env: XINVOKE_IDEMPOTENT]
    #[arg(long)]
    pub idempotent: bool,
    /// Per-attempt timeout: 30s, 1500ms (a bare number is milliseconds), at most 15m
    /// [env: XINVOKE_ATTEMPT_TIMEOUT_MS, default 30s]
    #[arg(long, value_name = "DURATION", value_parser = duration(Unit::Millis, Duration::from_millis(1), Duration::from_secs(900)))]
    pub attempt_timeout_ms: Option<Duration>,
    /// Connect timeout: 2s, 500ms (a bare number is milliseconds), at most 1m
    /// [env: XINVOKE_CONNECT_TIMEOUT_MS, default 2s]
    #[arg(long, value_name = "DURATION", value_parser = duration(Unit::Millis, Duration::from_millis(1), Duration::from_secs(60)))]
    pub connect_timeout_ms: Option<Duration>,
    /// json: the outcome record (xinvoke's record, as the invoker answers it); text: its main
    /// fields, one a line
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Json)]
    pub output: Output,
}

impl InvokeArgs {
    /// Settings from the flags over the environment `env`.
    pub fn settings(&self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, CliError> {
        let more = Given {
            invocation_type: self.invocation_type,
            no_retry: self.no_retry.then_some(true),
            idempotent: self.idempotent.then_some(true),
            attempt_timeout: self.attempt_timeout_ms,
            connect_timeout: self.connect_timeout_ms,
            ..Given::default()
        };
        Ok(self.target.settings_from(more, env)?)
    }

    /// The call the flags describe.
    pub fn call(&self) -> Result<Call, CliError> {
        let (flag, payload) = match &self.payload_file {
            Some(path) => (
                "--payload-file",
                std::fs::read(path).map_err(|source| CliError::File {
                    flag: "--payload-file",
                    path: path.clone(),
                    source,
                })?,
            ),
            None => ("--payload", self.payload.clone().into_bytes()),
        };
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&payload) {
            return Err(CliError::flag(
                flag,
                format!("the payload must be a JSON document ({e}); e.g. --payload '{{\"hello\": \"world\"}}'"),
            ));
        }
        let client_context = self.client_context.as_deref().map(encode_client_context).transpose()?;
        Ok(Call {
            target: self.name.clone(),
            payload,
            invocation_type: self.invocation_type,
            qualifier: self.qualifier.clone(),
            client_context,
            ..Call::default()
        })
    }
}

/// The largest client context Lambda accepts, base64-encoded.
const CLIENT_CONTEXT_LIMIT: usize = 3583;

/// Check a client context is a JSON object and encode it as Lambda wants it.
fn encode_client_context(json: &str) -> Result<String, CliError> {
    use base64::Engine;
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(v) if v.is_object() => {}
        _ => {
            return Err(CliError::flag(
                "--client-context",
                "must be a JSON object, e.g. '{\"custom\": {\"k\": \"v\"}}'",
            ))
        }
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(json);
    if encoded.len() > CLIENT_CONTEXT_LIMIT {
        return Err(CliError::flag(
            "--client-context",
            format!(
                "{} bytes base64-encoded, over Lambda's {CLIENT_CONTEXT_LIMIT}-byte limit: send less",
                encoded.len()
            ),
        ));
    }
    Ok(encoded)
}

/// Run the command; the exit code follows the class.
pub async fn run(args: InvokeArgs) -> Result<u8, CliError> {
    logging::init_cli();
    let settings = args.settings(config::process_env)?;
    let call = args.call()?;
    let deadline = Instant::now() + args.deadline;
    let base = clients::base_config(settings.timeouts).await;
    let service = Service::new(settings, &base).await;
    let mut record = service.invoke(call, Some(deadline)).await?;
    if no_credentials(&record) {
        // The chain gave nothing before any request was signed: name its missing link (a
        // profile's cached SSO token, a variable, a token file) instead of the generic hint.
        let region = service.target(args.name.as_deref())?.arn.region.clone();
        if let Err(link) = chain::check(&base, &Auth::ExecutionRole, &region, None, &config::process_env).await {
            record.outcome.hint = Some(link.to_string());
        }
    }
    match args.output {
        Output::Json => print_json(&record),
        Output::Text => print!("{}", render(&record)),
    }
    Ok(if record.is_ok() { 0 } else { 1 })
}

/// The caller's own credentials failed without any service answering (no STS code, no status).
fn no_credentials(r: &InvokeRecord) -> bool {
    r.class() == Class::Credentials && r.outcome.error_code.is_none() && r.outcome.status.is_none()
}

/// `--output text`: the record's main fields, one a line.
fn render(r: &InvokeRecord) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let o = &r.outcome;
    let _ = writeln!(out, "class     {}", o.class.name());
    let _ = writeln!(out, "function  {} ({})", r.function, r.invocation_type.as_str());
    let mut answer: Vec<String> = Vec::new();
    if let Some(s) = o.status {
        answer.push(format!("status {s}"));
    }
    for (k, v) in [
        ("error", &o.error_code),
        ("reason", &o.reason),
        ("ec2 error", &o.ec2_error_code),
        ("function error", &o.function_error),
        ("version", &r.executed_version),
    ] {
        if let Some(v) = v {
            answer.push(format!("{k} {v}"));
        }
    }
    if !answer.is_empty() {
        let _ = writeln!(out, "answer    {}", answer.join(", "));
    }
    let _ = writeln!(
        out,
        "attempts  {} in {:.0} ms (stop: {})",
        r.attempts,
        r.latency_ms,
        r.stop.name()
    );
    if o.may_have_run {
        let _ = writeln!(out, "note      the target may have run (no answer after sending)");
    }
    if let Some(m) = &r.message {
        let _ = writeln!(out, "message   {m}");
    }
    if let Some(p) = &r.payload {
        let _ = writeln!(out, "payload   {p}");
    }
    if let Some(h) = &o.hint {
        let _ = writeln!(out, "fix       {h}");
    }
    out
}
