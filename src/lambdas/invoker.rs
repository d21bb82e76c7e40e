//! The `invoker` Lambda (account 1): decodes an event, invokes the target through the
//! service, and answers the outcome record. Failures leave as a `Diagnostic` whose
//! `error_type` is the class (or `invalid_event`) and whose message is the record as JSON.
//! HTTP requests (an HTTP API or a Function URL) go through the gateway's routes instead and
//! are always answered in proxy format, failures as their HTTP status.

use crate::adapters::config::Settings;
use crate::adapters::config::TargetError;
use crate::adapters::logging;
use crate::adapters::signed::InvokePath;
use crate::core::record::InvokeRecord;
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

/// The invoker's handler for a load job to call in its own process (`--via invoker`, and the
/// local stand-in of the invoker function for `--via lambda-workers`).
pub fn handler() -> crate::load::job::HandlerFactory {
    use crate::load::job::{HandlerError, HandlerFuture, InvokerHandler};
    use std::sync::Arc;
    struct InProcess(Arc<Service>, Emf);
    impl InvokerHandler for InProcess {
        fn handle(&self, event: Value) -> HandlerFuture<'_> {
            Box::pin(async move {
                let extras = Extras {
                    routes: None,
                    metrics: Some(&self.1),
                };
                handle_with(
                    &self.0,
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
            self.1.take()
        }
    }
    Arc::new(|service| Arc::new(InProcess(service, Emf::in_memory())) as Arc<dyn InvokerHandler>)
}

/// The invoker's service, built once at cold start: invokes are signed here and sent on the
/// signed path ([`InvokePath::Signed`], the one `xinvoke load` uses); the SDK sends only where
/// the signed path cannot be built, which a warning says once.
pub async fn service(settings: Settings, base: &SdkConfig) -> Service {
    Service::with_path(settings, base, InvokePath::Signed).await
}

/// The error type of a malformed event.
const INVALID_EVENT: &str = "invalid_event";

/// What the invoker has besides its service, set up at cold start: the routes for HTTP
/// requests (`XINVOKE_GATEWAY_CONFIG` or `XINVOKE_GATEWAY_CONFIG_TEXT`) and the metrics
/// writer (`XINVOKE_METRICS*`).
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    pub routes: Option<&'a Gateway>,
    pub metrics: Option<&'a Emf>,
}

/// Handle one event, without HTTP routes (an HTTP request is answered 500, naming the
/// variables that give routes) and without metrics.
pub async fn handle(service: &Service, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    handle_with(service, Extras::default(), event).await
}

/// Handle one event; HTTP requests go through `routes`.
pub async fn handle_with_routes(
    service: &Service,
    routes: Option<&Gateway>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    handle_with(service, Extras { routes, metrics: None }, event).await
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
            let record = run
                .invoke(call_of(d), run.trace)
                .await
                .map_err(|e| invalid(&EventError::new(e.to_string())))?;
            answer(record)
        }
        InvokerEvent::Schedule(_) => {
            let call = Call {
                payload: service.settings().scheduled_payload.clone(),
                ..Call::default()
            };
            let record = run
                .invoke(call, run.trace)
                .await
                .map_err(|e| invalid(&EventError::new(e.to_string())))?;
            answer(record)
        }
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

/// One invocation of the invoker: its service, deadline, trace and metrics.
struct Invocation<'a> {
    service: &'a Service,
    deadline: Option<Instant>,
    trace: Option<&'a str>,
    request_id: &'a str,
    metrics: Option<&'a Emf>,
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
        client_context: None,
    }
}

/// One invoke per record; only the records that failed come back, so SQS redelivers just those.
///
/// Records run concurrently, at most `XINVOKE_SQS_CONCURRENCY` at once (default: the whole
/// batch). Records of one FIFO message group (`MessageGroupId`) run one after another, in
/// order, and once one fails the rest of its group is not invoked but answered failed, so SQS
/// redelivers them in order (AWS's guidance for partial batch responses on FIFO queues, per
/// group as Powertools' `skip_group_on_error`). Every invoke is bounded by `deadline`: what has
/// not finished by then is answered failed (its log line says `stop: deadline`), so the
/// function answers before its own timeout and SQS never redelivers a record that succeeded.
async fn handle_sqs(run: &Invocation<'_>, batch: SqsEvent) -> SqsBatchResponse {
    let groups = message_groups(batch.records);
    let limit = run.service.settings().sqs_concurrency.unwrap_or(groups.len()).max(1);
    let mut failed: Vec<(usize, String)> = stream::iter(groups)
        .map(|group| run_group(run, group))
        .buffer_unordered(limit)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    failed.sort_unstable();
    let mut response = SqsBatchResponse::default();
    for (_, id) in failed {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// One record of a batch: its place, its message id, its body, the trace it was sent in.
struct Record {
    index: usize,
    id: String,
    body: Option<String>,
    /// SQS's `AWSTraceHeader` system attribute: the sender's trace, which the record's invoke
    /// continues (else the invocation's).
    trace: Option<String>,
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

/// Invoke a group's records in order; the failed ones (and, after a failure, the rest).
async fn run_group(run: &Invocation<'_>, group: Vec<Record>) -> Vec<(usize, String)> {
    let mut failed = Vec::new();
    for record in group {
        if !failed.is_empty() {
            tracing::warn!(message_id = %record.id, class = "skipped", problem = "an earlier message of its FIFO group failed: not invoked, answered failed so the group stays in order", "sqs record");
        } else if invoke_record(run, &record).await {
            continue;
        }
        failed.push((record.index, record.id));
    }
    failed
}

/// Invoke one record's direct event; whether it succeeded.
async fn invoke_record(run: &Invocation<'_>, record: &Record) -> bool {
    let problem = match DirectEvent::from_text(record.body.as_deref().unwrap_or("")) {
        Ok(d) => match run.invoke(call_of(d), record.trace.as_deref().or(run.trace)).await {
            Ok(r) => return r.is_ok(),
            Err(problem) => problem.to_string(),
        },
        Err(e) => e.problem,
    };
    tracing::warn!(message_id = %record.id, class = INVALID_EVENT, problem = %problem, "sqs record");
    false
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
