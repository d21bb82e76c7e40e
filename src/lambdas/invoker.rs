//! The `invoker` Lambda (account 1): decodes an event, invokes the target through the
//! service, and answers the outcome record. Failures leave as a `Diagnostic` whose
//! `error_type` is the class (or `invalid_event`) and whose message is the record as JSON.
//! HTTP requests (an HTTP API or a Function URL) go through the gateway's routes instead and
//! are always answered in proxy format, failures as their HTTP status.
//!
//! Every invoke carries the message's idempotency key (`domain::delivery`): the invocation's
//! request id for a direct event (Lambda keeps it across its own retries of an async event),
//! the event id for the schedule, the message id for an SQS record. An SQS record is handed
//! back to SQS only when running it again is safe and its allowance has attempts left; what is
//! final goes to the failure queue (`XINVOKE_FAILURE_QUEUE_URL`), never silently.

use crate::adapters::config::Settings;
use crate::adapters::config::TargetError;
use crate::adapters::failure_queue::FailureQueue;
use crate::adapters::logging;
use crate::adapters::signed::InvokePath;
use crate::domain::delivery::{self, IdempotencyKey, Verdict};
use crate::domain::record::InvokeRecord;
use crate::gateway::Gateway;
use crate::invoke::service::{Call, Service};
use crate::lambdas::event::{DirectEvent, EventError, InvokerEvent};
use crate::lambdas::metrics::{self, Emf, Sample};
use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::stream::{self, StreamExt};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tracing::Instrument;

/// The invoker's handler for a load job to call in its own process (`--via handler`, `--via
/// invoker`, and the local stand-in of the invoker function for `--via lambda-workers`), with
/// its metrics kept in memory.
pub fn handler() -> std::sync::Arc<dyn crate::load::handler::InvokerHandler> {
    use crate::load::handler::{HandlerError, HandlerFuture, InvokerHandler};
    struct InProcess(Emf);
    impl InvokerHandler for InProcess {
        fn handle<'a>(&'a self, service: &'a Service, event: Value) -> HandlerFuture<'a> {
            Box::pin(async move {
                // The stand-in of a load worker: the load stack's XINVOKE_LOAD_WORKER.
                let extras = Extras {
                    metrics: Some(&self.0),
                    load_worker: true,
                    ..Extras::default()
                };
                handle_with(
                    service,
                    extras,
                    LambdaEvent::new(event, lambda_runtime::Context::default()),
                )
                .await
                .map_err(|d| HandlerError {
                    error_type: d.error_type,
                    error_message: d.error_message,
                })
            })
        }

        fn metrics(&self) -> Vec<Value> {
            self.0.take()
        }
    }
    std::sync::Arc::new(InProcess(Emf::in_memory()))
}

/// The invoker's service, built once at cold start: invokes are signed here and sent on the
/// signed path ([`InvokePath::Signed`], the one `xinvoke load` uses); the SDK sends only where
/// the signed path cannot be built, which a warning says once.
/// [`invoker_handler`](crate::lambdas::invoker_handler)'s example builds one.
pub async fn service(settings: Settings, base: &SdkConfig) -> Service {
    Service::with_path(settings, base, InvokePath::Signed).await
}

/// The error type of a malformed event.
const INVALID_EVENT: &str = "invalid_event";

/// What the invoker has besides its service, set up at cold start: the routes for HTTP
/// requests (`XINVOKE_GATEWAY_CONFIG` or `XINVOKE_GATEWAY_CONFIG_TEXT`), the metrics
/// writer (`XINVOKE_METRICS*`), the failure queue (`XINVOKE_FAILURE_QUEUE_URL`) and whether
/// it serves load events (`XINVOKE_LOAD_WORKER`).
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    pub routes: Option<&'a Gateway>,
    pub metrics: Option<&'a Emf>,
    pub failures: Option<&'a FailureQueue>,
    /// `{"load": ...}` events are served (the function is deployed as a load worker); else
    /// they are refused, so a caller of the Function URL or the queue cannot start load runs.
    pub load_worker: bool,
}

/// Handle one event, without HTTP routes (an HTTP request is answered 500, naming the
/// variables that give routes) and without metrics: the answer is the invoke's record, a
/// failure a [`Diagnostic`] whose type is the class and whose message is the record
/// (docs/lambdas.md).
///
/// This one is the invoker of account 1 against the local endpoint, invoking the target's
/// `live` alias with its own role:
///
/// ```
/// use lambda_runtime::{Context, LambdaEvent};
/// use serde_json::{json, Value};
/// use xinvoke::lambdas::{invoker_handler, invoker_service};
/// use xinvoke::local::{builtin, LocalServer, Scenario};
/// use xinvoke::Settings;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// let settings = Settings::from_lookup(|name| (name == "XINVOKE_TARGET_ARN").then(|| builtin::TARGET_ALIAS_ARN.to_string()))?;
/// let keys = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let base = xinvoke::endpoint_config(settings.timeouts(), aws.url(), keys, builtin::REGION).await;
/// let service = invoker_service(settings, &base).await; // once, at cold start
/// let event = |payload: Value| LambdaEvent::new(payload, Context::default());
///
/// // A direct event (events/direct-sync.json): the target echoes the payload.
/// let record = invoker_handler(&service, event(json!({"payload": {"order": 42}})))
///     .await
///     .map_err(|d| d.error_message)?;
/// assert_eq!((record["class"].clone(), record["attempts"].clone()), (json!("ok"), json!(1)));
/// assert_eq!(record["payload"], json!({"order": 42}));
///
/// // The target fails: never retried (it ran), the error is named by its class.
/// let failed = invoker_handler(&service, event(json!({"payload": {"fail": "no stock"}}))).await.unwrap_err();
/// assert_eq!(failed.error_type, "function_error");
/// let record: Value = serde_json::from_str(&failed.error_message)?;
/// assert_eq!(record["attempts"], 1);
/// assert_eq!(aws.stats().invokes, 2);
/// aws.shutdown().await;
/// # Ok(()) }
/// ```
pub async fn handle(service: &Service, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    handle_with(service, Extras::default(), event).await
}

/// Handle one event; HTTP requests go through `routes`.
#[cfg(test)]
pub async fn handle_with_routes(
    service: &Service,
    routes: Option<&Gateway>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    handle_with(
        service,
        Extras {
            routes,
            ..Extras::default()
        },
        event,
    )
    .await
}

/// Handle one event. Every log line of it carries the invocation's context (request id and
/// trace, from lambda_runtime's span; `cold_start` and `function_arn` from this one), every
/// invoke passes the trace on, and with metrics each invoke writes one EMF document (a cold
/// start one more).
pub async fn handle_with(
    service: &Service,
    extras: Extras<'_>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    static WARM: AtomicBool = AtomicBool::new(false);
    // The event's lines go out together after each invoke and at its end (one write each).
    let _held = logging::hold();
    let cold = !WARM.swap(true, Ordering::Relaxed);
    let span = tracing::info_span!(
        "invocation",
        cold_start = cold,
        function_arn = %event.context.invoked_function_arn
    );
    if let (true, Some(m)) = (cold, extras.metrics) {
        m.emit(&m.cold_start_document(metrics::now_ms()));
    }
    handle_in_span(service, extras, event).instrument(span).await
}

async fn handle_in_span(service: &Service, extras: Extras<'_>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let settings = service.settings();
    let deadline = deadline_from(
        event.context.deadline,
        settings.deadline_margin,
        settings.function_timeout,
    );
    let LambdaEvent { payload, context } = event;
    let run = Invocation {
        service,
        deadline,
        // This invocation's trace, passed on with every Invoke so the target joins it.
        trace: context.xray_trace_id.as_deref(),
        request_id: &context.request_id,
        metrics: extras.metrics,
        failures: extras.failures,
    };
    let decoded = InvokerEvent::from_value(payload).map_err(|e| invalid(&e))?;
    match decoded {
        InvokerEvent::Http(request) => {
            let (proxy, observed) =
                crate::lambdas::http::answer_observed(extras.routes, &request, run.request_id, deadline, run.trace)
                    .await;
            if let (Some(m), Some(o)) = (run.metrics, observed) {
                let sample = Sample {
                    target: &o.function,
                    class: o.class,
                    stop: o.stop,
                    invocation_type: o.invocation_type,
                    attempts: o.attempts,
                    latency_ms: o.latency_ms,
                    request_id: run.request_id,
                    trace_id: run.trace,
                };
                m.emit_invoke(&sample);
            }
            Ok(proxy)
        }
        InvokerEvent::Direct(d) => {
            let call = Call {
                key: IdempotencyKey::new(run.request_id),
                ..call_of(d)
            };
            let record = run
                .invoke(call, run.trace)
                .await
                .map_err(|e| invalid(&EventError::new(e.to_string())))?;
            answer(record)
        }
        InvokerEvent::Schedule(e) => {
            let call = Call {
                payload: service.settings().scheduled_payload.clone(),
                key: e.id.as_deref().and_then(IdempotencyKey::new),
                ..Call::default()
            };
            let record = run
                .invoke(call, run.trace)
                .await
                .map_err(|e| invalid(&EventError::new(e.to_string())))?;
            answer(record)
        }
        InvokerEvent::Load(_) if !extras.load_worker => Err(invalid(&EventError::new(format!(
            "a load event, but this function is not deployed as a load worker: set {}=true on the function that runs load slices (the template's LoadWorker=true), never on one a Function URL or a queue reaches",
            crate::adapters::config::keys::LOAD_WORKER.var
        )))),
        InvokerEvent::Load(job) => crate::load::worker::handle_load_event(service, job)
            .await
            .map_err(|e| invalid(&EventError::new(e.to_string()))),
        InvokerEvent::Sqs(batch) => {
            let response = handle_sqs(&run, batch).await;
            serde_json::to_value(response).map_err(|e| Diagnostic {
                error_type: "internal".into(),
                error_message: e.to_string(),
            })
        }
    }
}

/// One invocation of the invoker: its service, deadline, trace, metrics and failure queue.
struct Invocation<'a> {
    service: &'a Service,
    deadline: Option<Instant>,
    trace: Option<&'a str>,
    request_id: &'a str,
    metrics: Option<&'a Emf>,
    failures: Option<&'a FailureQueue>,
}

impl Invocation<'_> {
    /// Invoke in `trace`, and write the invoke's EMF document.
    async fn invoke(&self, call: Call, trace: Option<&str>) -> Result<InvokeRecord, TargetError> {
        let record = self.service.invoke_traced(call, self.deadline, trace).await?;
        if let Some(m) = self.metrics {
            m.emit_invoke(&Sample::of(&record, self.request_id, trace));
        }
        logging::release();
        Ok(record)
    }
}

fn call_of(d: DirectEvent) -> Call {
    Call {
        target: d.target,
        payload: d.payload,
        invocation_type: d.invocation_type,
        qualifier: d.qualifier,
        tenant_id: d.tenant_id,
        no_retry: !d.retries,
        ..Call::default()
    }
}

/// One invoke per record; only the records handed back come back, so SQS redelivers just those.
///
/// A record's verdict is `domain::delivery`'s: delivered; handed back (nothing that must not run
/// again may have run, its allowance has attempts left, and this receive made at most one
/// attempt: SQS's visibility timeout is the wait); or final, sent to the failure queue and not
/// handed back, so SQS never runs a target that may have run a second time. On a redelivered
/// record (`ApproximateReceiveCount` > 1) the retry policy counts one attempt per earlier
/// receive, so a class's `max_retries` bounds the message, not each receive.
///
/// Records run concurrently, at most `XINVOKE_SQS_CONCURRENCY` at once (default: the whole
/// batch). Records of one FIFO message group (`MessageGroupId`) run one after another, in
/// order, and once one is not delivered the rest of its group is not invoked but handed back,
/// so SQS redelivers them in order (AWS's guidance for partial batch responses on FIFO queues,
/// per group as Powertools' `skip_group_on_error`). Every invoke is bounded by `deadline`:
/// what has not started by then is handed back (its log line says `stop: deadline`), so the
/// function answers before its own timeout and SQS never redelivers a record that succeeded.
async fn handle_sqs(run: &Invocation<'_>, batch: SqsEvent) -> SqsBatchResponse {
    let groups = message_groups(batch.records);
    let limit = run.service.settings().sqs_concurrency.unwrap_or(groups.len()).max(1);
    let mut handed_back: Vec<(usize, String)> = stream::iter(groups)
        .map(|group| run_group(run, group))
        .buffer_unordered(limit)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    handed_back.sort_unstable();
    let mut response = SqsBatchResponse::default();
    for (_, id) in handed_back {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// The SQS message attribute that names a record's tenant (`X-Amz-Tenant-Id`).
const TENANT_ATTRIBUTE: &str = "tenant_id";

/// One record of a batch: its place, its message id, its body, the trace it was sent in, and
/// how often SQS has delivered it.
struct Record {
    index: usize,
    id: String,
    body: Option<String>,
    /// SQS's `AWSTraceHeader` system attribute: the sender's trace, which the record's invoke
    /// continues (else the invocation's).
    trace: Option<String>,
    /// The message attribute `tenant_id` (a String attribute): the tenant to invoke as, unless
    /// the body names one.
    tenant: Option<String>,
    /// SQS's `ApproximateReceiveCount` (1 when absent or unreadable).
    receive_count: u32,
}

/// The batch as groups run one after another inside: a FIFO message group's records in
/// order; a standard queue's record alone.
fn message_groups(messages: Vec<SqsMessage>) -> Vec<Vec<Record>> {
    let mut groups: Vec<Vec<Record>> = Vec::new();
    let mut fifo: HashMap<String, usize> = HashMap::new();
    for (index, msg) in messages.into_iter().enumerate() {
        let record = Record {
            index,
            id: msg.message_id.unwrap_or_else(|| format!("record-{index}")),
            body: msg.body,
            trace: msg.attributes.get("AWSTraceHeader").cloned(),
            tenant: msg
                .message_attributes
                .get(TENANT_ATTRIBUTE)
                .and_then(|a| a.string_value.clone()),
            receive_count: msg
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
        };
        match msg.attributes.get("MessageGroupId") {
            Some(group) => {
                let at = *fifo.entry(group.clone()).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[at].push(record);
            }
            None => groups.push(vec![record]),
        }
    }
    groups
}

/// Invoke a group's records in order; the ones handed back (and, once one is not delivered,
/// the rest, not invoked).
async fn run_group(run: &Invocation<'_>, group: Vec<Record>) -> Vec<(usize, String)> {
    let mut handed_back = Vec::new();
    let mut blocked = false;
    for record in group {
        if blocked {
            tracing::warn!(message_id = %record.id, class = "skipped", problem = "an earlier message of its FIFO group was not delivered: not invoked, handed back so the group stays in order", "sqs record");
            handed_back.push((record.index, record.id));
            continue;
        }
        match invoke_record(run, &record).await {
            Verdict::Done => {}
            Verdict::HandBack => {
                blocked = true;
                handed_back.push((record.index, record.id));
            }
            Verdict::Final => blocked = true,
        }
    }
    handed_back
}

/// Invoke one record's direct event; its verdict. A final record has gone to the failure
/// queue (or, without one, to an ERROR line) when this returns.
async fn invoke_record(run: &Invocation<'_>, record: &Record) -> Verdict {
    let decoded = DirectEvent::from_text(record.body.as_deref().unwrap_or("")).and_then(|mut d| {
        if d.tenant_id.is_none() {
            d.tenant_id = record
                .tenant
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| EventError::new(format!("message attribute {TENANT_ATTRIBUTE}: {e}")))?;
        }
        Ok(d)
    });
    let problem = match decoded {
        Ok(d) => match run.service.rerun_safe(d.target.as_deref()) {
            Ok(rerun_safe) => {
                let call = Call {
                    key: IdempotencyKey::new(&record.id),
                    spent: record.receive_count.saturating_sub(1),
                    ..call_of(d)
                };
                match run.invoke(call, record.trace.as_deref().or(run.trace)).await {
                    Ok(r) => {
                        let verdict = delivery::sqs_verdict(&r, rerun_safe);
                        if verdict == Verdict::Final {
                            run.give_up(record, Outcome::Invoked(&r)).await;
                        }
                        return verdict;
                    }
                    Err(problem) => problem.to_string(),
                }
            }
            Err(problem) => problem.to_string(),
        },
        Err(e) => e.problem,
    };
    tracing::warn!(message_id = %record.id, class = INVALID_EVENT, problem = %problem, "sqs record");
    run.give_up(record, Outcome::Invalid(&problem)).await;
    Verdict::Final
}

/// How a final SQS record ended: its invoke's record, or the problem that kept it from one.
enum Outcome<'a> {
    Invoked(&'a InvokeRecord),
    Invalid(&'a str),
}

/// What the failure queue receives for a final SQS record: enough to act on it (the body to
/// send again once the cause is fixed, the key the target may already have seen, the outcome).
#[derive(serde::Serialize)]
struct FinalRecord<'a> {
    version: &'static str,
    trigger: &'static str,
    message_id: &'a str,
    receive_count: u32,
    /// `invalid_event` or the invoke's class.
    class: &'a str,
    /// The target may have run it (so it was not handed back).
    may_have_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a InvokeRecord>,
    body: Option<&'a str>,
}

impl Invocation<'_> {
    /// A final record leaves: to the failure queue, else as an ERROR line (no payload, no body)
    /// and an `Undelivered` metric.
    async fn give_up(&self, record: &Record, outcome: Outcome<'_>) {
        let (class, may_have_run, problem, invoked) = match outcome {
            Outcome::Invoked(r) => (r.class().name(), r.outcome.may_have_run, None, Some(r)),
            Outcome::Invalid(p) => (INVALID_EVENT, false, Some(p), None),
        };
        let attempts = invoked.map_or(0, |r| r.attempts);
        let stop = invoked.map_or("not_invoked", |r| r.stop.name());
        if let Some(queue) = self.failures {
            let doc = FinalRecord {
                version: "1.0",
                trigger: "sqs",
                message_id: &record.id,
                receive_count: record.receive_count,
                class,
                may_have_run,
                problem,
                record: invoked,
                body: record.body.as_deref(),
            };
            let body = serde_json::to_string(&doc).unwrap_or_default();
            match queue.send(body).await {
                Ok(()) => {
                    tracing::warn!(message_id = %record.id, class, may_have_run, attempts, stop, destination = queue.url(), "sqs record final: sent to the failure queue, not handed back");
                    return;
                }
                Err(e) => tracing::error!(error = %e, "failure queue"),
            }
        }
        tracing::error!(message_id = %record.id, receive_count = record.receive_count, class, may_have_run, attempts, stop, problem, "sqs record final and undelivered: no failure queue took it (set XINVOKE_FAILURE_QUEUE_URL); not handed back, so SQS does not run it again");
        if let Some(m) = self.metrics {
            m.emit(&m.undelivered_document(metrics::now_ms()));
        }
    }
}

fn answer(record: InvokeRecord) -> Result<Value, Diagnostic> {
    let json = serde_json::to_value(&record).unwrap_or(Value::Null);
    if record.is_ok() {
        Ok(json)
    } else {
        Err(Diagnostic {
            error_type: record.class().name().to_string(),
            error_message: json.to_string(),
        })
    }
}

fn invalid(e: &EventError) -> Diagnostic {
    tracing::warn!(class = INVALID_EVENT, problem = %e.problem, "event");
    Diagnostic {
        error_type: INVALID_EVENT.to_string(),
        error_message: e.to_string(),
    }
}

/// The Lambda's deadline (ms since the epoch) less the margin, on tokio's clock. A deadline of
/// 0 or already past on arrival is no deadline: Lambda never delivers an event after its
/// deadline, but emulators send placeholders (`cargo lambda watch` sends a constant 600000, in
/// 1970), which would otherwise stop every retry at once. Then `fallback` (the function's
/// timeout, `XINVOKE_FUNCTION_TIMEOUT_MS`), counted from now, stands in when it is set.
fn deadline_from(deadline_ms: u64, margin: Duration, fallback: Option<Duration>) -> Option<Instant> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_millis() as u64;
    let left = if deadline_ms == 0 || deadline_ms <= now_ms {
        fallback?
    } else {
        Duration::from_millis(deadline_ms - now_ms)
    };
    Some(Instant::now() + left.saturating_sub(margin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_deadline_gives_way_to_the_configured_function_timeout() {
        let d = deadline_from(600_000, Duration::from_millis(500), Some(Duration::from_secs(3))).unwrap();
        let left = d.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_millis(2_500) && left > Duration::from_millis(2_000),
            "{left:?}"
        );
    }

    #[test]
    fn a_deadline_already_past_on_arrival_is_no_deadline() {
        assert!(deadline_from(0, Duration::ZERO, None).is_none());
        assert!(deadline_from(600_000, Duration::from_millis(500), None).is_none());
    }

    #[test]
    fn a_real_deadline_keeps_the_margin_free() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let d = deadline_from(
            now_ms + 10_000,
            Duration::from_millis(2_000),
            Some(Duration::from_secs(60)),
        )
        .unwrap();
        let left = d.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_millis(8_000) && left > Duration::from_millis(7_000),
            "{left:?}"
        );
    }
}
