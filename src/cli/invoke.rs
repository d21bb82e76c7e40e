//! `xinvoke invoke`: one invoke through the same core as the invoker Lambda, printing the
//! outcome record as JSON. Flags override the `XINVOKE_*` variables of the same meaning.

use crate::adapters::config::Settings;
use crate::adapters::{clients, logging};
use crate::cli::target::TargetArgs;
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
    #[arg(long = "type", value_name = "TYPE", value_parser = ["RequestResponse", "Event", "DryRun"])]
    pub invocation_type: Option<String>,
    /// Invoke this alias or version instead of the ARN's qualifier
    #[arg(long)]
    pub qualifier: Option<String>,
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
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub deadline: f64,
    /// Make one attempt only, whatever happens [env: XINVOKE_NO_RETRY]
    #[arg(long)]
    pub no_retry: bool,
    /// The target is idempotent: retry sync timeouts too [env: XINVOKE_IDEMPOTENT]
    #[arg(long)]
    pub idempotent: bool,
    /// Per-attempt timeout in ms [env: XINVOKE_ATTEMPT_TIMEOUT_MS, default 30000]
    #[arg(long, value_name = "MS")]
    pub attempt_timeout_ms: Option<u64>,
    /// Connect timeout in ms [env: XINVOKE_CONNECT_TIMEOUT_MS, default 2000]
    #[arg(long, value_name = "MS")]
    pub connect_timeout_ms: Option<u64>,
}

/// A user-facing failure of the command (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl InvokeArgs {
    /// Settings from the flags over the environment.
    pub fn settings(&self) -> Result<Settings, UsageError> {
        let flag = |k: &'static str, v: Option<String>| v.map(|v| (k, v));
        let more: Vec<(&'static str, String)> = [
            flag("XINVOKE_INVOCATION_TYPE", self.invocation_type.clone()),
            flag("XINVOKE_NO_RETRY", self.no_retry.then(|| "true".into())),
            flag("XINVOKE_IDEMPOTENT", self.idempotent.then(|| "true".into())),
            flag(
                "XINVOKE_ATTEMPT_TIMEOUT_MS",
                self.attempt_timeout_ms.map(|v| v.to_string()),
            ),
            flag(
                "XINVOKE_CONNECT_TIMEOUT_MS",
                self.connect_timeout_ms.map(|v| v.to_string()),
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.target.settings(&more).map_err(UsageError)
    }

    /// The call the flags describe.
    pub fn call(&self) -> Result<Call, UsageError> {
        let payload = match &self.payload_file {
            Some(path) => {
                std::fs::read(path).map_err(|e| UsageError(format!("--payload-file {}: {e}", path.display())))?
            }
            None => self.payload.clone().into_bytes(),
        };
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&payload) {
            let from = if self.payload_file.is_some() {
                "--payload-file"
            } else {
                "--payload"
            };
            return Err(UsageError(format!(
                "{from}: the payload must be a JSON document ({e}); e.g. --payload '{{\"hello\": \"world\"}}'"
            )));
        }
        let qualifier = self
            .qualifier
            .as_deref()
            .map(str::parse::<Qualifier>)
            .transpose()
            .map_err(|e| UsageError(format!("--qualifier: {e}")))?;
        let invocation_type = self
            .invocation_type
            .as_deref()
            .map(str::parse::<InvocationType>)
            .transpose()
            .map_err(|e| UsageError(format!("--type: {e}")))?;
        let client_context = self.client_context.as_deref().map(encode_client_context).transpose()?;
        Ok(Call {
            target: self.name.clone(),
            payload,
            invocation_type,
            qualifier,
            client_context,
        })
    }

    /// The deadline from now.
    pub fn deadline(&self) -> Result<Instant, UsageError> {
        if !(self.deadline.is_finite() && self.deadline > 0.0 && self.deadline <= 86_400.0) {
            return Err(UsageError(
                "--deadline must be a number of seconds from 0 to 86400".into(),
            ));
        }
        Ok(Instant::now() + Duration::from_secs_f64(self.deadline))
    }
}

/// The largest client context Lambda accepts, base64-encoded.
const CLIENT_CONTEXT_LIMIT: usize = 3583;

/// Check a client context is a JSON object and encode it as Lambda wants it.
fn encode_client_context(json: &str) -> Result<String, UsageError> {
    use base64::Engine;
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(v) if v.is_object() => {}
        _ => {
            return Err(UsageError(
                "--client-context must be a JSON object, e.g. '{\"custom\": {\"k\": \"v\"}}'".into(),
            ))
        }
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(json);
    if encoded.len() > CLIENT_CONTEXT_LIMIT {
        return Err(UsageError(format!(
            "--client-context is {} bytes base64-encoded, over Lambda's {CLIENT_CONTEXT_LIMIT}-byte limit: send less",
            encoded.len()
        )));
    }
    Ok(encoded)
}

/// Run the command; the exit code follows the class.
pub async fn run(args: InvokeArgs) -> Result<u8, UsageError> {
    logging::init_cli();
    let settings = args.settings()?;
    let call = args.call()?;
    let deadline = args.deadline()?;
    let base = clients::base_config(settings.timeouts).await;
    let service = Service::new(settings, &base).await;
    let record = service
        .invoke(call, Some(deadline))
        .await
        .map_err(|e| UsageError(e.to_string()))?;
    let json = serde_json::to_string_pretty(&record).map_err(|e| UsageError(e.to_string()))?;
    println!("{json}");
    Ok(if record.is_ok() { 0 } else { 1 })
}
