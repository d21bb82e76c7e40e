//! `xinvoke invoke`: one invoke through the same core as the invoker Lambda, printing the
//! outcome record as JSON. Flags override the `XINVOKE_*` variables of the same meaning.

use crate::adapters::config::{self, Given, Settings};
use crate::adapters::{clients, logging};
use crate::cli::target::TargetArgs;
use crate::cli::{seconds, CliError};
use crate::core::arn::Qualifier;
use crate::core::invocation::InvocationType;
use crate::invoke::service::{Call, Service};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// Invoke a target once (with retries) and print the outcome record as JSON.
///
/// Reads the standard AWS variables (AWS_REGION, AWS_PROFILE, credentials, AWS_ENDPOINT_URL
/// to point at a local endpoint) and the XINVOKE_* variables; flags win over variables.
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
    /// Give up (no further retries) after this many seconds
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds)]
    pub deadline: Duration,
    /// Make one attempt only, whatever happens [env: XINVOKE_NO_RETRY]
    #[arg(long)]
    pub no_retry: bool,
    /// The target is idempotent: retry sync timeouts too [env: XINVOKE_IDEMPOTENT]
    #[arg(long)]
    pub idempotent: bool,
    /// Per-attempt timeout in ms [env: XINVOKE_ATTEMPT_TIMEOUT_MS, default 30000]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=900_000))]
    pub attempt_timeout_ms: Option<u64>,
    /// Connect timeout in ms [env: XINVOKE_CONNECT_TIMEOUT_MS, default 2000]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub connect_timeout_ms: Option<u64>,
}

impl InvokeArgs {
    /// Settings from the flags over the environment `env`.
    pub fn settings(&self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, CliError> {
        let more = Given {
            invocation_type: self.invocation_type,
            no_retry: self.no_retry.then_some(true),
            idempotent: self.idempotent.then_some(true),
            attempt_timeout: self.attempt_timeout_ms.map(Duration::from_millis),
            connect_timeout: self.connect_timeout_ms.map(Duration::from_millis),
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
    let record = service.invoke(call, Some(deadline)).await?;
    let json = serde_json::to_string_pretty(&record).expect("a record serializes");
    println!("{json}");
    Ok(if record.is_ok() { 0 } else { 1 })
}
