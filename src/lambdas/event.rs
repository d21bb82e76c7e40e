//! The invoker's events, decoded once into a typed value: a direct invoke, an SQS batch, an
//! EventBridge schedule, a load job, or an HTTP request (API Gateway HTTP API payload 2.0, or
//! a Function URL: [`crate::lambdas::http`]). A malformed event is an [`EventError`] that says
//! what is wrong and what a valid event looks like; decoding never panics.

use crate::domain::arn::Qualifier;
use crate::domain::invocation::{InvocationType, TenantId};
use crate::lambdas::http::HttpRequest;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// What a valid direct event looks like, for error messages.
const DIRECT_SHAPE: &str = r#"{"payload": <any JSON>, "target"?: "<configured target name>", "invocation_type"?: "RequestResponse"|"Event"|"DryRun", "qualifier"?: "<alias or version>", "retries"?: false, "tenant_id"?: "<tenant of a tenant-isolated target>"}"#;

/// The `source` of an EventBridge scheduled event.
const SCHEDULE_SOURCE: &str = "aws.events";
/// The `detail-type` of an EventBridge scheduled event.
const SCHEDULE_DETAIL_TYPE: &str = "Scheduled Event";

/// A malformed event.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid event: {problem}; expected a direct event {DIRECT_SHAPE}, an SQS batch whose record bodies are direct events, an EventBridge scheduled event, an API Gateway HTTP API (payload format 2.0) or Function URL request, or a load event {{\"load\": <job>}}")]
pub struct EventError {
    pub problem: String,
}

impl EventError {
    pub fn new(problem: impl Into<String>) -> EventError {
        EventError {
            problem: problem.into(),
        }
    }
}

/// A direct invoke request.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectEvent {
    pub target: Option<String>,
    pub payload: Vec<u8>,
    pub invocation_type: Option<InvocationType>,
    pub qualifier: Option<Qualifier>,
    /// The tenant to invoke as (`X-Amz-Tenant-Id`), for a target in tenant-isolation mode.
    pub tenant_id: Option<TenantId>,
    /// `"retries": false`: one attempt, the invoker retries nothing (a load run's phase
    /// "without retries" turns retries off in both hops with it).
    pub retries: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectWire {
    target: Option<String>,
    payload: Value,
    invocation_type: Option<String>,
    qualifier: Option<String>,
    tenant_id: Option<String>,
    retries: Option<bool>,
}

/// Every event the invoker understands.
#[derive(Debug, Clone)]
pub enum InvokerEvent {
    Direct(DirectEvent),
    Sqs(SqsEvent),
    Schedule(Box<EventBridgeEvent>),
    /// A bounded load run from inside account 1 (`xinvoke load --via lambda-workers`): the job.
    Load(Value),
    /// An HTTP request from an API Gateway HTTP API or a Function URL, answered through the
    /// gateway's routes.
    Http(Box<HttpRequest>),
}

impl DirectEvent {
    /// Decode a direct event from JSON.
    pub fn from_value(v: Value) -> Result<DirectEvent, EventError> {
        if !v.is_object() {
            return Err(EventError::new(format!(
                "the event is a JSON {}, not an object",
                kind(&v)
            )));
        }
        // serde's type errors do not say which field they are about: name it here.
        for field in ["target", "invocation_type", "qualifier", "tenant_id"] {
            match v.get(field) {
                None | Some(Value::Null) | Some(Value::String(_)) => {}
                Some(other) => {
                    return Err(EventError::new(format!(
                        "{field}: expected a string, not a JSON {}",
                        kind(other)
                    )))
                }
            }
        }
        match v.get("retries") {
            None | Some(Value::Null) | Some(Value::Bool(_)) => {}
            Some(other) => {
                return Err(EventError::new(format!(
                    "retries: expected true or false, not a JSON {}",
                    kind(other)
                )))
            }
        }
        let w: DirectWire = serde_json::from_value(v).map_err(|e| EventError::new(e.to_string()))?;
        let invocation_type = w
            .invocation_type
            .map(|t| t.parse::<InvocationType>())
            .transpose()
            .map_err(|e| EventError::new(format!("invocation_type: {e}")))?;
        let qualifier = w
            .qualifier
            .map(|q| q.parse::<Qualifier>())
            .transpose()
            .map_err(|e| EventError::new(format!("qualifier: {e}")))?;
        let tenant_id = w
            .tenant_id
            .map(|t| t.parse::<TenantId>())
            .transpose()
            .map_err(|e| EventError::new(format!("tenant_id: {e}")))?;
        Ok(DirectEvent {
            target: w.target,
            payload: serde_json::to_vec(&w.payload).map_err(|e| EventError::new(e.to_string()))?,
            invocation_type,
            qualifier,
            tenant_id,
            retries: w.retries.unwrap_or(true),
        })
    }

    /// Decode a direct event from text (an SQS record body).
    pub(crate) fn from_text(text: &str) -> Result<DirectEvent, EventError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| EventError::new(format!("the body is not JSON ({e})")))?;
        DirectEvent::from_value(v)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl InvokerEvent {
    /// Tell the event's shape and decode it.
    pub fn from_value(v: Value) -> Result<InvokerEvent, EventError> {
        let Some(obj) = v.as_object() else {
            return Err(EventError::new(format!(
                "the event is a JSON {}, not an object",
                kind(&v)
            )));
        };
        if obj.contains_key("Records") {
            let is_sqs = obj["Records"].as_array().is_some_and(|rs| {
                rs.iter()
                    .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
            });
            if !is_sqs {
                return Err(EventError::new(
                    "Records is present but is not a list of SQS messages (eventSource aws:sqs)",
                ));
            }
            let e: SqsEvent = serde_json::from_value(v).map_err(|e| EventError::new(format!("SQS batch: {e}")))?;
            return Ok(InvokerEvent::Sqs(e));
        }
        if obj.contains_key("detail-type") && obj.contains_key("source") {
            // Only the schedule: any other rule pointed at the invoker must not invoke the
            // default target (EventBridge's scheduled events are `aws.events` / `Scheduled Event`).
            let source = obj.get("source").and_then(Value::as_str).unwrap_or_default();
            let detail_type = obj.get("detail-type").and_then(Value::as_str).unwrap_or_default();
            if (source, detail_type) != (SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE) {
                return Err(EventError::new(format!(
                    "an EventBridge event from source {source:?} with detail-type {detail_type:?}: the invoker takes only scheduled events (source {SCHEDULE_SOURCE:?}, detail-type {SCHEDULE_DETAIL_TYPE:?}); send other events as direct events, e.g. with an input transformer"
                )));
            }
            let e: EventBridgeEvent =
                serde_json::from_value(v).map_err(|e| EventError::new(format!("EventBridge event: {e}")))?;
            return Ok(InvokerEvent::Schedule(Box::new(e)));
        }
        // A direct event never has `requestContext` (its fields are closed) and an HTTP event
        // never has `payload`: with both, the direct event's error (unknown field) is the one
        // that helps.
        if obj.contains_key("requestContext") && !obj.contains_key("payload") {
            return match obj.get("version").and_then(Value::as_str) {
                Some("2.0") => HttpRequest::from_value(v)
                    .map(|r| InvokerEvent::Http(Box::new(r)))
                    .map_err(|e| EventError::new(e.to_string())),
                Some(other) => Err(EventError::new(format!(
                    "an HTTP request of payload format version {other}: the invoker reads payload format 2.0 (an HTTP API integration with payloadFormatVersion 2.0, or a Function URL)"
                ))),
                None => Err(EventError::new(
                    "an HTTP request without payload format version 2.0 (a REST API, an ALB, or an HTTP API integration of payload format 1.0): the invoker reads payload format 2.0 (an HTTP API integration with payloadFormatVersion 2.0, or a Function URL)",
                )),
            };
        }
        if obj.contains_key("payload") {
            return DirectEvent::from_value(v).map(InvokerEvent::Direct);
        }
        if obj.len() == 1 {
            if let Some(job) = obj.get("load") {
                return Ok(InvokerEvent::Load(job.clone()));
            }
        }
        let keys: Vec<&str> = obj.keys().map(String::as_str).take(5).collect();
        Err(EventError::new(format!("unrecognised event with keys {keys:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn direct_event_decodes_every_field() {
        let e = InvokerEvent::from_value(
            json!({"target":"orders","payload":{"a":1},"invocation_type":"Event","qualifier":"live"}),
        )
        .unwrap();
        let InvokerEvent::Direct(d) = e else {
            panic!("expected a direct event")
        };
        assert_eq!(d.target.as_deref(), Some("orders"));
        assert_eq!(d.payload, br#"{"a":1}"#);
        assert_eq!(d.invocation_type, Some(InvocationType::Event));
        assert_eq!(d.qualifier.unwrap().as_str(), "live");
    }

    #[test]
    fn malformed_events_say_what_is_wrong_and_show_a_valid_shape() {
        let cases = [
            (json!("hello"), "JSON string, not an object"),
            (json!([1, 2]), "JSON array"),
            (json!({"hello": 1}), "unrecognised event"),
            (json!({"payload": 1, "invocation_type": "sync"}), "invocation_type"),
            (json!({"payload": 1, "qualifier": "$LATEST"}), "qualifier"),
            (json!({"payload": 1, "extra": true}), "unknown field `extra`"),
            (
                json!({"payload": 1, "retries": "no"}),
                "retries: expected true or false",
            ),
            (json!({"Records": [{"eventSource": "aws:s3"}]}), "SQS"),
            (json!({"target": "x"}), "unrecognised event"),
            (
                json!({"source": "aws.s3", "detail-type": "Object Created", "id": "1", "detail": {}}),
                r#"source "aws.s3" with detail-type "Object Created""#,
            ),
            (
                json!({"source": "aws.events", "detail-type": "Object Created", "detail": {}}),
                "only scheduled events",
            ),
        ];
        for (v, problem) in cases {
            let e = InvokerEvent::from_value(v.clone()).unwrap_err().to_string();
            assert!(e.contains(problem), "{v}: {e}");
            assert!(e.contains("\"payload\": <any JSON>"), "{e}");
        }
    }

    #[test]
    fn sqs_body_that_is_not_json_is_an_event_error() {
        let e = DirectEvent::from_text("not json").unwrap_err();
        assert!(e.problem.contains("not JSON"));
    }
}
