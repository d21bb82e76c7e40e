//! Invoke: the request's checks and limits, then an execution (a concurrency slot, the
//! function's network, an environment, its behaviour) or the async queue.

use crate::core::behaviour;
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

use super::{authorize, with_request_id, FunctionRef, MAX_CLIENT_CONTEXT, MAX_EVENT_PAYLOAD, MAX_SYNC_PAYLOAD};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

/// The header of Invoke's `TenantId` (botocore's lambda service-2.json).
const X_AMZ_TENANT_ID: HeaderName = HeaderName::from_static("x-amz-tenant-id");

/// Tenant isolation, as the Lambda guide's "Troubleshooting tenant isolation" describes it: a
/// tenant-isolated function refuses an invoke without a tenant id, and a function without
/// isolation an invoke with one, both InvalidParameterValueException (its message is the
/// guide's words: no verbatim one is documented). A tenant id that is not the model's
/// `TenantId` (1-256 of `[a-zA-Z0-9._:/=+-@ ]`) fails validation first.
fn check_tenant(isolated: bool, tenant: Option<&str>) -> Result<(), ApiError> {
    if let Some(t) = tenant {
        if t.parse::<crate::core::invocation::TenantId>().is_err() {
            return Err(ApiError::new(
                "InvalidParameterValueException",
                format!("1 validation error detected: Value '{t}' at 'tenantId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9\\._:\\/=+\\-@ ]+"),
            ));
        }
    }
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
    req: &ReceivedRequest<'_>,
    rid: &str,
) -> Result<Response, ApiError> {
    let header = |name: HeaderName| req.headers.get(name).and_then(|v| v.to_str().ok());
    let kind = match header(headers::INVOCATION_TYPE) {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(ApiError::new(
                "InvalidParameterValueException",
                format!("1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"),
            ))
        }
    };
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
    let tail = header(headers::LOG_TYPE) == Some("Tail");
    // AWS refuses log tails across accounts; its exact status and code are not documented,
    // so this answers 403 AccessDeniedException (permanent, like a missing permission) with
    // AWS's message.
    if tail && caller.account != f.account {
        return Err(ApiError::new(
            "AccessDeniedException",
            "Cross-account log access is not allowed",
        ));
    }
    let limit = if kind == InvocationType::Event {
        MAX_EVENT_PAYLOAD
    } else {
        MAX_SYNC_PAYLOAD
    };
    if req.body.len() > limit {
        return Err(ApiError::new(
            "RequestTooLargeException",
            format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
        ));
    }
    if header(headers::CLIENT_CONTEXT).is_some_and(|c| c.len() > MAX_CLIENT_CONTEXT) {
        return Err(ApiError::new(
            "InvalidParameterValueException",
            format!("Client context must be smaller than {MAX_CLIENT_CONTEXT} bytes."),
        ));
    }
    check_tenant(f.def.tenant_isolation.is_some(), header(X_AMZ_TENANT_ID))?;
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
                    return Ok(sync_answer(answer, &executed, Some(&arn), false, rid))
                }
                DurableStart::Start { arn } => Some((function, name, arn)),
            }
        }
        (false, _) => None,
    };
    let ran = async {
        f.check_ready(world.clock.now_ms())?;
        inject(world, Phase::Sync, f, fref.qualifier.as_deref()).await?;
        execute(world, f, req.body.clone(), rid, trace_id.as_deref(), key.as_deref()).await
    }
    .await;
    if let Some((function, name, _)) = &durable {
        world.executions.durable_finished(function, name, ran.as_ref().ok());
    }
    let arn = durable.as_ref().map(|(_, _, arn)| arn.as_str());
    Ok(sync_answer(ran?, &executed, arn, tail, rid))
}

/// A sync Invoke's answer: the function's status and payload, `X-Amz-Executed-Version`,
/// `X-Amz-Function-Error`, a durable execution's ARN, and the log tail when asked for.
fn sync_answer(
    (status, payload, function_error): executions::Answer,
    executed: &str,
    durable_execution_arn: Option<&str>,
    tail: bool,
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
    if tail {
        let log = format!(
            "START RequestId: {rid} Version: {executed}\nEND RequestId: {rid}\nREPORT RequestId: {rid}\tDuration: 1.00 ms\n"
        );
        use base64::Engine as _;
        if let Ok(v) = HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(log)) {
            h.insert(headers::LOG_RESULT, v);
        }
    }
    with_request_id(resp, rid)
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
        execute(
            &world,
            &f,
            ev.payload.clone(),
            &ev.request_id,
            ev.trace_id.as_deref(),
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
            let stamp = crate::core::utc::iso8601(now.div_euclid(1000));
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
        return Err(ApiError::throttle(reason, 1));
    }
    world.counters.execution_started();
    Ok(Slot {
        world: Arc::clone(world),
        f: Arc::clone(f),
    })
}

/// One execution's connection through its function's Hyperplane ENIs; given back when dropped.
struct Connection {
    f: Arc<FunctionRuntime>,
    key: String,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(h) = &self.f.hyperplane {
            h.disconnect(&self.key);
        }
    }
}

/// Connect an execution of a Hyperplane function, when its ENIs could run out of
/// connections: only when one ENI carries fewer than the account's concurrency limit (with
/// AWS's 65,000 it never does, and nothing is counted). A new ENI takes its creation time.
async fn connect(world: &Arc<World>, f: &Arc<FunctionRuntime>) -> Result<Option<Connection>, ApiError> {
    let (Some(h), Some(account)) = (&f.hyperplane, world.accounts.get(&f.account)) else {
        return Ok(None);
    };
    if h.connections_per_eni >= account.concurrency_limit {
        return Ok(None);
    }
    let now = world.clock.now_ms();
    let Some(key) = f.network_key(now) else {
        return Ok(None);
    };
    let made = h.connect(&key, now).map_err(|e| e.invoke_error())?;
    let conn = Connection { f: Arc::clone(f), key };
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

/// Run the function: take a concurrency slot and an environment, then the behaviour (counted
/// as an execution of the message `key`). Returns the status, payload and
/// `X-Amz-Function-Error`.
async fn execute(
    world: &Arc<World>,
    f: &Arc<FunctionRuntime>,
    payload: Bytes,
    rid: &str,
    trace_id: Option<&str>,
    key: Option<&str>,
) -> Result<executions::Answer, ApiError> {
    let _slot = acquire_slot(world, f)?;
    let _env = acquire_env(world, f).await?;
    let _connection = connect(world, f).await?;
    world.executions.executed(&f.def.name, key);
    match &f.def.behaviour {
        Behaviour::Named(_) => {
            let plan = behaviour::plan(&payload);
            let timeout = Duration::from_secs(u64::from(f.def.timeout_s));
            if plan.sleep >= timeout {
                tokio::time::sleep(timeout).await;
                let body = serde_json::json!({
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": format!("RequestId: {rid} Error: Task timed out after {}.00 seconds", f.def.timeout_s),
                });
                return Ok((
                    StatusCode::OK,
                    Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                    Some(HeaderValue::from_static("Unhandled")),
                ));
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
        Behaviour::Upstream { upstream } => crate::local::upstream::forward(upstream, payload, trace_id).await,
    }
}
