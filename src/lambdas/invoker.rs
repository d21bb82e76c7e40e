//! The `invoker` Lambda (account 1): decodes an event, invokes the target through the
//! service, and answers the outcome record. Failures leave as a `Diagnostic` whose
//! `error_type` is the class (or `invalid_event`) and whose message is the record as JSON.

use crate::adapters::service::{Call, Service};
use crate::core::record::InvokeRecord;
use crate::lambdas::event::{DirectEvent, EventError, InvokerEvent};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The error type of a malformed event.
pub const INVALID_EVENT: &str = "invalid_event";

/// Handle one event.
pub async fn handle(service: &Service, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let deadline = deadline_from(event.context.deadline, service.settings().deadline_margin);
    let decoded = InvokerEvent::from_value(event.payload).map_err(|e| invalid(&e))?;
    match decoded {
        InvokerEvent::Direct(d) => {
            let record = service
                .invoke(call_of(d), deadline)
                .await
                .map_err(|e| invalid(&EventError::new(e.to_string())))?;
            answer(record)
        }
        InvokerEvent::Schedule(_) => {
            let call = Call {
                payload: service.settings().scheduled_payload.clone(),
                ..Call::default()
            };
            let record = service
                .invoke(call, deadline)
                .await
                .map_err(|e| invalid(&EventError::new(e.to_string())))?;
            answer(record)
        }
        InvokerEvent::Load(job) => crate::load::worker::handle_load_event(service, job)
            .await
            .map_err(|e| invalid(&EventError::new(e.to_string()))),
        InvokerEvent::Sqs(batch) => {
            let response = handle_sqs(service, batch, deadline).await;
            serde_json::to_value(response).map_err(|e| Diagnostic {
                error_type: "internal".into(),
                error_message: e.to_string(),
            })
        }
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
pub async fn handle_sqs(service: &Service, batch: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (i, msg) in batch.records.into_iter().enumerate() {
        let id = msg.message_id.clone().unwrap_or_else(|| format!("record-{i}"));
        let ok = match DirectEvent::from_text(msg.body.as_deref().unwrap_or("")) {
            Ok(d) => match service.invoke(call_of(d), deadline).await {
                Ok(record) => record.is_ok(),
                Err(problem) => {
                    tracing::warn!(message_id = %id, class = INVALID_EVENT, problem = %problem, "sqs record");
                    false
                }
            },
            Err(e) => {
                tracing::warn!(message_id = %id, class = INVALID_EVENT, problem = %e.problem, "sqs record");
                false
            }
        };
        if !ok {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
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

/// The Lambda's deadline (ms since the epoch) less the margin, on tokio's clock. No deadline
/// when it is 0 or already past on arrival: Lambda never delivers an event after its deadline,
/// but emulators send placeholders (`cargo lambda watch` sends a constant 600000, in 1970),
/// which would otherwise stop every retry at once with `deadline`.
pub fn deadline_from(deadline_ms: u64, margin: Duration) -> Option<Instant> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_millis() as u64;
    if deadline_ms == 0 || deadline_ms <= now_ms {
        return None;
    }
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(margin);
    Some(Instant::now() + left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_already_past_on_arrival_is_no_deadline() {
        assert!(deadline_from(0, Duration::ZERO).is_none());
        assert!(deadline_from(600_000, Duration::from_millis(500)).is_none());
    }

    #[test]
    fn a_real_deadline_keeps_the_margin_free() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let d = deadline_from(now_ms + 10_000, Duration::from_millis(2_000)).unwrap();
        let left = d.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_millis(8_000) && left > Duration::from_millis(7_000),
            "{left:?}"
        );
    }
}
