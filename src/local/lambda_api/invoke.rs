//! Invoke: the request's checks and limits, then an execution (a concurrency slot, the
//! function's network, an environment, its behaviour) or the async queue.

use crate::domain::behaviour;
use crate::domain::invocation::TenantId;
use crate::local::async_invoke::{self, Next, Outcome, QueuedEvent};
use crate::local::errors::{headers, ApiError};
use crate::local::executions::{self, DurableStart};
use crate::local::faults::Phase;
use crate::local::function::FunctionRuntime;
use crate::local::iam::Caller;
use crate::local::scenario::Behaviour;
use crate::local::sigv4::ReceivedRequest;
use crate::local::vpc::Environment;
use crate::local::world::{Invocation, World};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::local::lambda_api::request::{
    authorize, with_request_id, FunctionRef, MAX_CLIENT_CONTEXT, MAX_EVENT_PAYLOAD, MAX_SYNC_PAYLOAD,
};
use crate::local::lambda_api::validate::Violations;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

/// The Invoke headers the model constrains with enums, checked before the function is
/// looked up (an unknown value is one error of the request's ValidationException).
pub(super) struct InvokeHeaders {
    kind: InvocationType,
    /// `X-Amz-Log-Type: Tail`.
    tail: bool,
}

impl InvokeHeaders {
    pub(super) fn checked(req: &ReceivedRequest<'_>, v: &mut Violations) -> InvokeHeaders {
        let header = |name: HeaderName| req.headers.get(name).and_then(|h| h.to_str().ok());
        let kind = match v.one_of(
            "invocationType",
            header(headers::INVOCATION_TYPE),
            &["Event", "RequestResponse", "DryRun"],
        ) {
            Some("Event") => InvocationType::Event,
            Some("DryRun") => InvocationType::DryRun,
            _ => InvocationType::RequestResponse,
        };
        let tail = v.one_of("logType", header(headers::LOG_TYPE), &["None", "Tail"]) == Some("Tail");
        // `TenantId`: the model's 1-256 characters of its pattern.
        if let Some(t) = header(X_AMZ_TENANT_ID).filter(|t| t.parse::<TenantId>().is_err()) {
            if t.len() > 256 {
                v.too_long("tenantId", t, 256);
            } else {
                v.failed(
                    "tenantId",
                    t,
                    r"Member must satisfy regular expression pattern: [a-zA-Z0-9\._:\/=+\-@ ]+",
                );
            }
        }
        InvokeHeaders { kind, tail }
    }
}

/// The header of Invoke's `TenantId` (botocore's lambda service-2.json).
const X_AMZ_TENANT_ID: HeaderName = HeaderName::from_static("x-amz-tenant-id");

/// Tenant isolation, as the Lambda guide's "Troubleshooting tenant isolation" describes it: a
/// tenant-isolated function refuses an invoke without a tenant id, and a function without
/// isolation an invoke with one, both InvalidParameterValueException (its message is the
/// guide's words: no verbatim one is documented). A tenant id that is not the model's
/// `TenantId` (1-256 of `[a-zA-Z0-9._:/=+-@ ]`) failed validation before the lookup
/// ([`InvokeHeaders::checked`]).
fn check_tenant(isolated: bool, tenant: Option<&str>) -> Result<(), ApiError> {
    if isolated != tenant.is_some() {
        return Err(ApiError::new(
            "InvalidParameterValueException",
            "Tenant ID configuration not specified or passed to a function when tenant isolation is not enabled.",
        ));
    }
    Ok(())
}

pub(super) async fn invoke(
    world: &Arc<World>,
    caller: &Caller,
    fref: FunctionRef,
    InvokeHeaders { kind, tail }: InvokeHeaders,
    req: &ReceivedRequest<'_>,
    rid: &str,
) -> Result<Response, ApiError> {
    let header = |name: HeaderName| req.headers.get(name).and_then(|v| v.to_str().ok());
    let (f, resolved) = authorize(world, caller, &fref, "lambda:InvokeFunction")?;
    f.invokes.fetch_add(1, Ordering::Relaxed);
    let key = executions::message_key(req.headers, &req.body);
    world.executions.invoked(&f.def.name, key.as_deref());
    // The caller's trace: recorded, and handed to the function (an upstream gets it as the
    // Invoke's X-Amzn-Trace-Id, as Lambda passes it to the runtime).
    let trace_id = req
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.chars().take(256).collect::<String>());
    world.invocations.push(Invocation {
        request_id: rid.to_string(),
        function_arn: fref.arn(&world.region),
        invocation_type: match kind {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
            InvocationType::DryRun => "DryRun",
        },
        trace_id: trace_id.clone(),
        at_ms: world.clock.now_ms(),
    });
    // AWS refuses log tails across accounts; its exact status and code are not documented,
    // so this answers 403 AccessDeniedException (permanent, like a missing permission) with
    // AWS's message.
    if tail && caller.account != f.account {
        return Err(ApiError::new(
            "AccessDeniedException",
            "Cross-account log access is not allowed",
        ));
    }
    if let Some(e) = payload_too_large(kind, req.body.len()) {
        return Err(e);
    }
    check_tenant(f.def.tenant_isolation.is_some(), header(X_AMZ_TENANT_ID))?;
    let client_context = header(headers::CLIENT_CONTEXT).map(client_context).transpose()?;
    if !req.body.is_empty() {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&req.body) {
            return Err(ApiError::new(
                "InvalidRequestContentException",
                format!("Could not parse request body into json: Could not parse payload into json: {e}"),
            ));
        }
    }
    let executed = resolved.executed_version().to_string();
    if kind == InvocationType::DryRun {
        return Ok(with_request_id(StatusCode::NO_CONTENT.into_response(), rid));
    }
    if kind == InvocationType::Event {
        // What Lambda checks before queueing was checked above (existence, permission, size,
        // JSON); what it meets when running the event (state, throttles, network, 5xx) the
        // queue meets and retries (`async_invoke`).
        inject(world, Phase::Accept, f, fref.qualifier.as_deref()).await?;
        let now = world.clock.now_ms();
        world.events.push(QueuedEvent {
            request_id: rid.to_string(),
            function: format!("{}:{}", f.account, f.def.name),
            qualifier: fref.qualifier.clone(),
            function_arn: fref.arn(&world.region),
            payload: req.body.clone(),
            trace_id,
            key,
            received_ms: now,
            due_ms: now,
            invokes: 0,
            function_errors: 0,
            system_errors: 0,
        });
        return Ok(with_request_id(StatusCode::ACCEPTED.into_response(), rid));
    }
    let durable = match (
        f.def.durable,
        header(HeaderName::from_static(executions::DURABLE_NAME_HEADER)),
    ) {
        (true, name) => {
            let name = name.map_or_else(|| rid.to_string(), str::to_string);
            let version_arn = format!(
                "arn:aws:lambda:{}:{}:function:{}:{executed}",
                world.region, f.account, f.def.name
            );
            let function = format!("{}:{}", f.account, f.def.name);
            match world
                .executions
                .durable_start(&function, &name, &req.body, &version_arn, rid)?
            {
                DurableStart::Existing { arn, answer } => {
                    return Ok(sync_answer(answer, &executed, Some(&arn), None, rid))
                }
                DurableStart::Start { arn } => Some((function, name, arn)),
            }
        }
        (false, _) => None,
    };
    let environment = WarmStart::take(f);
    let started = std::time::Instant::now();
    let ran = async {
        f.check_ready(world.clock.now_ms())?;
        inject(world, Phase::Sync, f, fref.qualifier.as_deref()).await?;
        execute(
            world,
            f,
            req.body.clone(),
            rid,
            trace_id.as_deref(),
            client_context,
            key.as_deref(),
        )
        .await
    }
    .await
    .map(|(status, payload, function_error)| {
        let (payload, function_error) = within_response_limit(payload, function_error);
        (status, payload, function_error)
    });
    if let Some((function, name, _)) = &durable {
        world.executions.durable_finished(function, name, ran.as_ref().ok());
    }
    let arn = durable.as_ref().map(|(_, _, arn)| arn.as_str());
    let log = tail.then(|| {
        let memory_mb = f.lifecycle(world.clock.now_ms()).settings.memory_mb;
        tail_log(rid, &executed, started.elapsed(), memory_mb, environment.cold)
    });
    Ok(sync_answer(ran?, &executed, arn, log.as_deref(), rid))
}

/// A sync Invoke's answer: the function's status and payload, `X-Amz-Executed-Version`,
/// `X-Amz-Function-Error`, a durable execution's ARN, and the log tail when asked for.
fn sync_answer(
    (status, payload, function_error): executions::Answer,
    executed: &str,
    durable_execution_arn: Option<&str>,
    tail: Option<&str>,
    rid: &str,
) -> Response {
    let mut resp = (status, payload).into_response();
    let h = resp.headers_mut();
    if let Some(v) = durable_execution_arn.and_then(|a| HeaderValue::from_str(a).ok()) {
        h.insert(executions::DURABLE_ARN_HEADER, v);
    }
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(executed) {
        h.insert(headers::EXECUTED_VERSION, v);
    }
    if let Some(fe) = function_error {
        h.insert(headers::FUNCTION_ERROR, fe);
    }
    if let Some(log) = tail {
        use base64::Engine as _;
        if let Ok(v) = HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(log)) {
            h.insert(headers::LOG_RESULT, v);
        }
    }
    with_request_id(resp, rid)
}

/// The init phase a cold start reports (the endpoint runs no real runtime: a modelled value).
const INIT_DURATION: Duration = Duration::from_millis(120);
/// The memory an execution reports using (modelled).
const MAX_MEMORY_USED_MB: u32 = 24;

/// A synchronous execution's environment: a warm one when the function has one idle, else a
/// new one (a cold start); warm again when the execution ends.
struct WarmStart<'f> {
    f: &'f FunctionRuntime,
    cold: bool,
}

impl<'f> WarmStart<'f> {
    fn take(f: &'f FunctionRuntime) -> WarmStart<'f> {
        let warm = f
            .warm
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        WarmStart { f, cold: !warm }
    }
}

impl Drop for WarmStart<'_> {
    fn drop(&mut self) {
        self.f.warm.fetch_add(1, Ordering::AcqRel);
    }
}

/// The log tail of `LogType=Tail`: START, END and a REPORT line with every field Lambda
/// writes (the Lambda guide, "Using CloudWatch Logs with Lambda": Duration, Billed Duration,
/// Memory Size, Max Memory Used, and Init Duration on a cold start, whose init phase is
/// billed since August 2025), tab-separated as Lambda writes them.
fn tail_log(rid: &str, version: &str, duration: Duration, memory_mb: u32, cold: bool) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let init = cold.then_some(INIT_DURATION);
    let billed = (ms(duration) + init.map_or(0.0, ms)).ceil().max(1.0) as u64;
    let mut report = format!(
        "REPORT RequestId: {rid}\tDuration: {:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {} MB\t",
        ms(duration),
        MAX_MEMORY_USED_MB.min(memory_mb)
    );
    if let Some(init) = init {
        report.push_str(&format!("Init Duration: {:.2} ms\t", ms(init)));
    }
    format!("START RequestId: {rid} Version: {version}\nEND RequestId: {rid}\n{report}\n")
}

/// What AWS answers an Invoke whose payload is over its invocation type's limit: 413
/// RequestEntityTooLargeException (not the model's RequestTooLargeException), with the
/// sync and the async wording users report (awslabs/aws-athena-query-federation#793,
/// ASFHyP3/hyp3#2241).
fn payload_too_large(kind: InvocationType, size: usize) -> Option<ApiError> {
    let message = match kind {
        InvocationType::Event if size > MAX_EVENT_PAYLOAD => {
            format!("{size} byte payload is too large for the Event invocation type (limit {MAX_EVENT_PAYLOAD} bytes)")
        }
        InvocationType::Event => return None,
        _ if size > MAX_SYNC_PAYLOAD => sync_too_large(),
        _ => return None,
    };
    Some(ApiError::new("RequestEntityTooLargeException", message))
}

/// The message of a synchronous request over 6 MB.
pub(crate) fn sync_too_large() -> String {
    format!("Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation")
}

/// Check `X-Amz-Client-Context`: up to 3,583 bytes of base64 (the API reference) encoding a
/// JSON object, else 400 InvalidRequestContentException with AWS's wording (the answer SDK
/// users report, aws/aws-sdk-js#1388). The header as received is what the function gets.
fn client_context(raw: &str) -> Result<&str, ApiError> {
    use base64::Engine as _;
    if raw.len() > MAX_CLIENT_CONTEXT {
        // The wording of this refusal is not publicly recorded.
        return Err(ApiError::new(
            "InvalidParameterValueException",
            format!("Client context must be smaller than {MAX_CLIENT_CONTEXT} bytes."),
        ));
    }
    let is_object = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .is_some_and(|v| v.is_object());
    if !is_object {
        return Err(ApiError::new(
            "InvalidRequestContentException",
            "Client context must be a valid Base64-encoded JSON object.",
        ));
    }
    Ok(raw)
}

/// Apply the fault rules of `phase` for an invoke of `f`: a delay, then maybe an error.
async fn inject(world: &World, phase: Phase, f: &FunctionRuntime, qualifier: Option<&str>) -> Result<(), ApiError> {
    if let Some(inj) = world.faults.check_in(phase, &f.def.name, qualifier) {
        if !inj.latency.is_zero() {
            tokio::time::sleep(inj.latency).await;
        }
        if let Some(e) = inj.error {
            return Err(e);
        }
    }
    Ok(())
}

/// Run one queued event as Lambda's async poller does, then retry it, finish it, or send it
/// where failed events go (`async_invoke::next`).
pub async fn run_event(world: Arc<World>, mut ev: QueuedEvent) {
    let Some(f) = world.functions.get(&ev.function).cloned() else {
        return;
    };
    ev.invokes += 1;
    let executed_version = f
        .resolve(ev.qualifier.as_deref())
        .map(|r| r.executed_version().to_string())
        .unwrap_or_else(|| "$LATEST".into());
    let ran = async {
        f.check_ready(world.clock.now_ms())?;
        inject(&world, Phase::Execute, &f, ev.qualifier.as_deref()).await?;
        // Lambda hands ClientContext to synchronous invocations only (the API reference).
        execute(
            &world,
            &f,
            ev.payload.clone(),
            &ev.request_id,
            ev.trace_id.as_deref(),
            None,
            ev.key.as_deref(),
        )
        .await
    }
    .await;
    let outcome = match ran {
        Ok((_, payload, Some(_))) => {
            ev.function_errors += 1;
            Outcome::FunctionError {
                executed_version,
                payload: serde_json::from_slice(&payload).unwrap_or(serde_json::Value::Null),
            }
        }
        Ok(_) => Outcome::Succeeded,
        Err(e) => {
            ev.system_errors += 1;
            Outcome::SystemError {
                code: e.name().to_string(),
                message: e.message.to_string(),
            }
        }
    };
    let now = world.clock.now_ms();
    let cfg = &f.def.async_invoke;
    match async_invoke::next(&ev, &outcome, now, cfg.maximum_retry_attempts, cfg.maximum_event_age_s) {
        Next::Done => {
            world.events.succeeded.fetch_add(1, Ordering::Relaxed);
        }
        Next::RetryAt(at) => {
            ev.due_ms = at;
            world.events.retry(ev);
        }
        Next::GiveUp { condition } => {
            let stamp = crate::domain::utc::iso8601(now.div_euclid(1000));
            world.events.fail(
                &ev,
                condition,
                &outcome,
                cfg.on_failure.as_deref(),
                cfg.dead_letter_target.as_deref(),
                &stamp,
            );
        }
    }
}

/// Holds one execution's concurrency slot; gives it back when dropped (also when the client
/// goes away mid-invoke).
struct Slot {
    world: Arc<World>,
    f: Arc<FunctionRuntime>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.f.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(a) = self.world.accounts.get(&self.f.account) {
            a.in_flight.fetch_sub(1, Ordering::Relaxed);
            if self.f.def.reserved_concurrency.is_none() {
                a.unreserved_in_flight.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.world.counters.execution_finished();
    }
}

/// A concurrency slot: within the function's reserved concurrency, or else within the
/// account's unreserved pool, which only unreserved functions' executions hold.
fn acquire_slot(world: &Arc<World>, f: &Arc<FunctionRuntime>) -> Result<Slot, ApiError> {
    let Some(account) = world.accounts.get(&f.account) else {
        return Err(ApiError::named("ServiceException"));
    };
    let in_fn = f.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    account.in_flight.fetch_add(1, Ordering::Relaxed);
    let over = match f.def.reserved_concurrency {
        Some(r) if in_fn > r => Some("ReservedFunctionConcurrentInvocationLimitExceeded"),
        Some(_) => None,
        None => {
            let unreserved = account.unreserved_in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            (unreserved > account.unreserved_limit).then(|| {
                account.unreserved_in_flight.fetch_sub(1, Ordering::Relaxed);
                "ConcurrentInvocationLimitExceeded"
            })
        }
    };
    if let Some(reason) = over {
        f.in_flight.fetch_sub(1, Ordering::Relaxed);
        account.in_flight.fetch_sub(1, Ordering::Relaxed);
        return Err(ApiError::throttle(reason, None));
    }
    world.counters.execution_started();
    Ok(Slot {
        world: Arc::clone(world),
        f: Arc::clone(f),
    })
}

/// One execution's connections through its function's Hyperplane ENIs; closed when dropped.
struct Connection {
    f: Arc<FunctionRuntime>,
    key: String,
    n: u32,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(h) = &self.f.hyperplane {
            h.disconnect(&self.key, self.n);
        }
    }
}

/// Open the `n` connections into the VPC an execution of a Hyperplane function holds (what
/// an ENI's 65,000 counts; none unless the behaviour declares them). A new ENI takes its
/// creation time.
async fn connect(world: &Arc<World>, f: &Arc<FunctionRuntime>, n: u32) -> Result<Option<Connection>, ApiError> {
    let Some(h) = f.hyperplane.as_ref().filter(|_| n > 0) else {
        return Ok(None);
    };
    let now = world.clock.now_ms();
    let Some(keys) = f.network_keys(now) else {
        return Ok(None);
    };
    let (key, made) = h.connect(&keys, n, now).map_err(|e| e.invoke_error())?;
    let conn = Connection {
        f: Arc::clone(f),
        key,
        n,
    };
    if made {
        tokio::time::sleep(Duration::from_millis(h.eni_create_ms)).await;
    }
    Ok(Some(conn))
}

/// Holds an execution environment (per_environment VPC mode); returns it warm when dropped.
struct EnvLease {
    world: Arc<World>,
    f: Arc<FunctionRuntime>,
    env: Option<Environment>,
    ready: bool,
}

impl Drop for EnvLease {
    fn drop(&mut self) {
        if let (Some(pool), Some(env)) = (&self.f.pool, self.env.take()) {
            let mut pool = pool.lock().unwrap_or_else(|p| p.into_inner());
            if self.ready {
                pool.release(env, self.world.clock.now_ms());
            } else {
                pool.discard(env);
            }
        }
    }
}

async fn acquire_env(world: &Arc<World>, f: &Arc<FunctionRuntime>) -> Result<Option<EnvLease>, ApiError> {
    let Some(pool) = &f.pool else {
        return Ok(None);
    };
    let acquired = {
        let mut pool = pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.acquire(world.clock.now_ms())
    };
    let (env, cold) = acquired.map_err(|e| e.to_api_error())?;
    let mut lease = EnvLease {
        world: Arc::clone(world),
        f: Arc::clone(f),
        env: Some(env),
        ready: !cold,
    };
    if cold {
        let setup = f.def.vpc.as_ref().map(|v| v.eni_setup_ms).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(setup)).await;
        lease.ready = true;
    }
    Ok(Some(lease))
}

/// The largest synchronous response Lambda returns (LocalStack's recorded
/// test_lambda_too_large_response: "Response payload size exceeded maximum allowed payload size
/// (6291556 bytes).").
const MAX_RESPONSE: usize = 6_291_556;

/// A response over Lambda's limit becomes the function error Lambda answers instead.
fn within_response_limit(payload: Bytes, function_error: Option<HeaderValue>) -> (Bytes, Option<HeaderValue>) {
    if payload.len() <= MAX_RESPONSE {
        return (payload, function_error);
    }
    let body = serde_json::json!({
        "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."),
        "errorType": "Function.ResponseSizeTooLarge",
    });
    (
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        Some(HeaderValue::from_static("Unhandled")),
    )
}

/// What an execution runs.
enum Run<'a> {
    /// The built-in behaviour's plan for the payload.
    Builtin(behaviour::Plan),
    /// An upstream process, by URL.
    Upstream(&'a str),
}

/// The function error of an execution stopped at the function's timeout, as Lambda reports it.
fn timed_out(rid: &str, timeout_s: u32) -> (StatusCode, Bytes, Option<HeaderValue>) {
    let body = serde_json::json!({
        "errorType": "Sandbox.Timedout",
        "errorMessage": format!("RequestId: {rid} Error: Task timed out after {timeout_s}.00 seconds"),
    });
    (
        StatusCode::OK,
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        Some(HeaderValue::from_static("Unhandled")),
    )
}

/// Run the function: take a concurrency slot and an environment, then the behaviour (counted
/// as an execution of the message `key`; an upstream gets the trace and the client context as
/// an Invoke's headers, which a Runtime API hands the function as `Lambda-Runtime-Trace-Id`
/// and `Lambda-Runtime-Client-Context`). Returns the status, payload and
/// `X-Amz-Function-Error`.
async fn execute(
    world: &Arc<World>,
    f: &Arc<FunctionRuntime>,
    payload: Bytes,
    rid: &str,
    trace_id: Option<&str>,
    client_context: Option<&str>,
    key: Option<&str>,
) -> Result<executions::Answer, ApiError> {
    let run = match &f.def.behaviour {
        Behaviour::Named(_) => Run::Builtin(behaviour::plan(&payload)),
        Behaviour::Upstream { upstream } => Run::Upstream(upstream),
    };
    let connections = match &run {
        Run::Builtin(plan) => plan.connections,
        Run::Upstream(_) => 0,
    };
    let _slot = acquire_slot(world, f)?;
    let _env = acquire_env(world, f).await?;
    let _connection = connect(world, f, connections).await?;
    world.executions.executed(&f.def.name, key);
    let timeout_s = f.timeout_s();
    let timeout = Duration::from_secs(u64::from(timeout_s));
    let plan = match run {
        Run::Builtin(plan) => plan,
        Run::Upstream(url) => {
            // The function's timeout bounds an upstream's run as it bounds any execution.
            let forward = crate::local::upstream::forward(url, payload, trace_id, client_context);
            return match tokio::time::timeout(timeout, forward).await {
                Ok(answer) => answer,
                Err(_) => Ok(timed_out(rid, timeout_s)),
            };
        }
    };
    if plan.sleep >= timeout {
        tokio::time::sleep(timeout).await;
        return Ok(timed_out(rid, timeout_s));
    }
    if !plan.sleep.is_zero() {
        tokio::time::sleep(plan.sleep).await;
    }
    Ok(match plan.result {
        Ok(body) if body.as_slice() == payload.as_ref() => (StatusCode::OK, payload, None),
        Ok(body) => (StatusCode::OK, Bytes::from(body), None),
        Err(failure) => (
            StatusCode::OK,
            Bytes::from(failure.to_payload()),
            Some(HeaderValue::from_static("Unhandled")),
        ),
    })
}
