//! The invoke service: configuration, one client per credential set and the retry runner,
//! built once (at cold start in the Lambda, at start in the CLI) and shared by every invoke.
//! One JSON log line per invoke, never with credentials, external ids or payloads.

use crate::adapters::clients::Clients;
use crate::adapters::config::{Settings, TargetConfig, TargetError};
use crate::adapters::lambda::SdkAttempter;
use crate::adapters::signed::{InvokePath, PathAttempter, SignedAttempter};
use crate::domain::arn::Qualifier;
use crate::domain::delivery::{Allowance, IdempotencyKey};
use crate::domain::invocation::{InvocationType, InvokeRequest, TenantId};
use crate::domain::record::InvokeRecord;
use crate::domain::retry::{RetryBudget, RetryPolicy};
use crate::invoke::runner::Runner;
use aws_config::SdkConfig;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::time::Instant;

/// One invoke as an event or the CLI asks for it.
///
/// Start from [`Call::payload`] and set the public fields (some fields are the crate's own,
/// so `Call { .., ..Call::payload(..) }` does not compile outside it):
///
/// ```
/// use xinvoke::{Call, InvocationType};
/// let mut call = Call::payload(br#"{"order":42}"#.to_vec());
/// assert_eq!((call.target.as_deref(), call.invocation_type, call.no_retry), (None, None, false));
/// call.target = Some("orders".to_string()); // a name of XINVOKE_TARGETS
/// call.invocation_type = Some(InvocationType::Event); // queue it: Lambda answers 202
/// call.no_retry = true; // one attempt, whatever happens
/// ```
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// A configured target's name; the default target when `None`.
    pub target: Option<String>,
    /// The bytes sent as the event (JSON for a Lambda function).
    pub payload: Vec<u8>,
    /// Overrides the target's configured type.
    pub invocation_type: Option<InvocationType>,
    /// Overrides the qualifier of the target's ARN.
    pub(crate) qualifier: Option<Qualifier>,
    /// Base64 client context (sync only). When set it is sent as given, without the key.
    pub(crate) client_context: Option<String>,
    /// The message's idempotency key, carried to the target: in the client context (sync), as
    /// the durable execution name (a durable target), in the envelope (async, opted in).
    pub(crate) key: Option<IdempotencyKey>,
    /// Attempts the message spent before this invoke (an SQS record's earlier receives).
    pub(crate) spent: u32,
    /// One attempt whatever happens (the event's `"retries": false`).
    pub no_retry: bool,
    /// The tenant to invoke as (a tenant-isolated target); the target's configured tenant when
    /// `None`.
    pub(crate) tenant_id: Option<TenantId>,
}

impl Call {
    /// A call of the default target with `payload`, its configured invocation type, and retries
    /// as the policy says.
    pub fn payload(payload: Vec<u8>) -> Call {
        Call {
            payload,
            ..Call::default()
        }
    }
}

/// Configured targets, their clients and the runner: build it once (a Lambda's cold start)
/// and share it by reference between invokes.
///
/// This one invokes the target in account 2 by role chaining (assume `xinvoke-invoke` with
/// its external id, then Invoke), against the crate's local Lambda + STS endpoint. Against
/// AWS, read the settings with [`Settings::from_env`](crate::Settings::from_env) and the
/// config with [`base_config`](crate::base_config) instead.
///
/// ```
/// use std::time::Duration;
/// use xinvoke::local::{builtin, LocalServer, Scenario};
/// use xinvoke::{Call, Class, InvokePath, Service, Settings, StopReason};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// let vars = [
///     ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
///     ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
///     ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
/// ];
/// let settings = Settings::from_lookup(|name| {
///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// })?;
/// // The invoker's own role: the session Lambda would hand it.
/// let credentials = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let base = xinvoke::endpoint_config(settings.timeouts(), aws.url(), credentials, builtin::REGION).await;
/// let service = Service::with_path(settings, &base, InvokePath::Signed).await;
/// assert_eq!(service.path(), InvokePath::Signed);
///
/// let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
/// let record = service.invoke(Call::payload(br#"{"order":42}"#.to_vec()), Some(deadline)).await?;
/// assert!(record.is_ok(), "{:?}: {:?}", record.class(), record.outcome.hint);
/// assert_eq!((record.class(), record.attempts, record.stop), (Class::Ok, 1, StopReason::Succeeded));
///
/// // In the caller's X-Ray trace; a name that is not configured is an error naming the known ones.
/// let traced = service
///     .invoke_traced(Call::payload(b"{}".to_vec()), None, Some("Root=1-5759e988-bd862e3fe1be46a994272793"))
///     .await?;
/// assert!(traced.is_ok());
/// let mut unknown = Call::payload(b"{}".to_vec());
/// unknown.target = Some("orders".to_string());
/// assert!(service.invoke(unknown, None).await.is_err());
///
/// // Neither durable nor declared idempotent: running a message twice is not safe.
/// assert!(!service.rerun_safe(None)?);
/// assert_eq!(service.budget_available(), 500); // no retry took a token
/// assert_eq!(service.settings().timeouts().attempt, Duration::from_secs(30));
/// aws.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Service {
    settings: Settings,
    attempters: HashMap<String, PathAttempter>,
    path: InvokePath,
    runner: Runner,
    clients: Clients,
}

impl Service {
    /// Build the clients (one per credential set) and the runner; invokes go through the SDK.
    pub async fn new(settings: Settings, base: &SdkConfig) -> Service {
        Service::with_path(settings, base, InvokePath::Sdk).await
    }

    /// As [`Service::new`], sending invokes on `path`. The signed path falls back on the SDK where
    /// it cannot be built (e.g. an endpoint that is not an http(s) URL, no credentials), said
    /// once in a warning that names the targets concerned.
    pub async fn with_path(settings: Settings, base: &SdkConfig, path: InvokePath) -> Service {
        Service::with_path_limited(settings, base, path, None).await
    }

    /// As [`Service::with_path`], the signed path holding at most `max_connections` connections
    /// open per credential set: a load run's concurrency, so hyper's pool does not open more
    /// connections than requests are ever in flight.
    pub(crate) async fn with_path_limited(
        settings: Settings,
        base: &SdkConfig,
        path: InvokePath,
        max_connections: Option<usize>,
    ) -> Service {
        let clients = Clients::build(&settings, base).await;
        let mut attempters = HashMap::new();
        let mut fell_back: Vec<&str> = Vec::new();
        let mut problem = None;
        for t in settings.targets.values() {
            // Every target has its client: `Clients::build` made one per (auth, region) of the targets.
            let Some((client, session)) = clients.get(&t.auth, &t.arn.region) else {
                continue;
            };
            let sdk = || PathAttempter::Sdk(SdkAttempter::new(client.clone(), session.clone()));
            let attempter = match path {
                InvokePath::Sdk => sdk(),
                InvokePath::Signed => {
                    match SignedAttempter::build(
                        base,
                        session.clone(),
                        &t.arn.region,
                        settings.timeouts,
                        max_connections,
                    ) {
                        Ok(fast) => PathAttempter::Signed(Arc::new(fast)),
                        Err(e) => {
                            fell_back.push(&t.name);
                            problem.get_or_insert(e);
                            sdk()
                        }
                    }
                }
            };
            attempters.insert(t.name.clone(), attempter);
        }
        let effective = match problem {
            Some(e) => {
                tracing::warn!(targets = %fell_back.join(","), problem = %e, "the signed path is unavailable: these targets invoke through the SDK");
                InvokePath::Sdk
            }
            None => path,
        };
        let runner = Runner::new(
            settings.retry.clone(),
            Arc::new(RetryBudget::new(settings.budget_capacity)),
        );
        Service {
            settings,
            attempters,
            path: effective,
            runner,
            clients,
        }
    }

    /// The same targets and clients (so the same credentials and sessions) under another retry
    /// policy with its own budget: a load job's retries on or off without a second AssumeRole.
    pub(crate) fn with_retry_policy(&self, policy: RetryPolicy) -> Service {
        let mut settings = self.settings.clone();
        settings.retry = policy.clone();
        let runner = Runner::new(policy, Arc::new(RetryBudget::new(settings.budget_capacity)));
        Service {
            settings,
            attempters: self.attempters.clone(),
            path: self.path,
            runner,
            clients: self.clients.clone(),
        }
    }

    /// The path invokes take (`Sdk` if any target fell back on it).
    pub fn path(&self) -> InvokePath {
        self.path
    }

    /// The settings the service was built from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// How many distinct SDK clients were built (one per credential set and region).
    #[cfg(test)]
    pub(crate) fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// The retry budget's tokens left.
    pub fn budget_available(&self) -> u32 {
        self.runner.budget().available()
    }

    /// Resolve the target an event names; the error says what a valid name is.
    pub(crate) fn target(&self, name: Option<&str>) -> Result<&TargetConfig, TargetError> {
        self.settings.target(name)
    }

    /// Invoke once, with retries, before `deadline`.
    pub async fn invoke(&self, call: Call, deadline: Option<Instant>) -> Result<InvokeRecord, TargetError> {
        self.invoke_traced(call, deadline, None).await
    }

    /// Whether the target `name` (the default when `None`) may run a message again: it is
    /// durable, or every target is declared idempotent.
    pub fn rerun_safe(&self, name: Option<&str>) -> Result<bool, TargetError> {
        let target = self.settings.target(name)?;
        Ok(target.delivery.durable || self.settings.retry.idempotent)
    }

    /// Invoke once, with retries, before `deadline`, in the trace `trace_id` (the
    /// `X-Amzn-Trace-Id` value the caller runs in: a Lambda's, or an HTTP request's).
    pub async fn invoke_traced(
        &self,
        call: Call,
        deadline: Option<Instant>,
        trace_id: Option<&str>,
    ) -> Result<InvokeRecord, TargetError> {
        let target = self.settings.target(call.target.as_deref())?;
        let attempter = &self.attempters[&target.name];
        let function = match call.qualifier {
            Some(q) => target.arn.with_qualifier(Some(q)),
            None => target.arn.clone(),
        };
        let invocation_type = call.invocation_type.unwrap_or(target.invocation_type);
        let mut req = InvokeRequest {
            target: target.name.clone(),
            function,
            invocation_type,
            payload: call.payload,
            client_context: call.client_context,
            trace_id: trace_id.map(str::to_string),
            durable_execution_name: None,
            tenant_id: call.tenant_id.or_else(|| target.tenant_id.clone()),
        };
        if let Some(key) = &call.key {
            carry_key(&mut req, key, target.delivery);
        }
        let allowance = Allowance {
            spent: call.spent,
            rerun_safe: target.delivery.durable,
            no_retry: call.no_retry,
        };
        let mut record = self.runner.run_with(attempter, &req, deadline, allowance).await;
        record.idempotency_key = call.key.map(|k| k.as_str().to_string());
        log_record(&record);
        Ok(record)
    }
}

/// Put the message's key where the target reads it: the durable execution name (a durable
/// target), the client context (a sync invoke, unless the caller gave its own), the envelope (an
/// async invoke of a target that opted in). Lambda passes no client context to async invokes.
fn carry_key(req: &mut InvokeRequest, key: &IdempotencyKey, delivery: crate::domain::delivery::TargetDelivery) {
    use base64::Engine as _;
    if delivery.durable {
        req.durable_execution_name = Some(key.durable_execution_name());
    }
    match req.invocation_type {
        InvocationType::RequestResponse if req.client_context.is_none() => {
            req.client_context = Some(base64::engine::general_purpose::STANDARD.encode(key.client_context_json()));
        }
        InvocationType::Event if delivery.envelope => req.payload = key.envelope(&req.payload),
        _ => {}
    }
}

/// The one log line of an invoke: what a dashboard needs, nothing secret, no payload.
fn log_record(r: &InvokeRecord) {
    let o = &r.outcome;
    if r.is_ok() {
        tracing::info!(
            target_name = %r.target,
            function = %r.function,
            invocation_type = %r.invocation_type,
            class = %o.class,
            status = o.status,
            attempts = r.attempts,
            earlier_attempts = r.earlier_attempts,
            latency_ms = r.latency_ms,
            executed_version = r.executed_version.as_deref(),
            idempotency_key = r.idempotency_key.as_deref(),
            "invoke"
        );
    } else {
        tracing::warn!(
            target_name = %r.target,
            function = %r.function,
            invocation_type = %r.invocation_type,
            class = %o.class,
            status = o.status,
            error_code = o.error_code.as_deref(),
            reason = o.reason.as_deref(),
            ec2_error_code = o.ec2_error_code.as_deref(),
            function_error = o.function_error.as_deref(),
            attempts = r.attempts,
            stop = r.stop.name(),
            may_have_run = r.outcome.may_have_run,
            earlier_attempts = r.earlier_attempts,
            latency_ms = r.latency_ms,
            idempotency_key = r.idempotency_key.as_deref(),
            hint = o.hint.as_deref(),
            "invoke"
        );
    }
}
