//! The `target` Lambda (account 2): the sample VPC target, running the core's shared
//! behaviour (echo, sleep, fail, bytes, panic).
//!
//! It shows how a target uses the idempotency key xinvoke sends with every message
//! (`domain::delivery`): `ClientContext.custom.idempotency_key` on a synchronous invoke, the
//! envelope's `xinvoke.idempotency_key` on an asynchronous one. A key it has already answered
//! in this sandbox gets the same answer without running again. That only catches a repeat in
//! the same sandbox: a production target keeps the keys in a table every sandbox shares
//! (Powertools for AWS Lambda's idempotency utility with DynamoDB), or is a durable function,
//! which Lambda dedupes by execution name.

use crate::domain::behaviour;
use crate::domain::delivery::{self, CLIENT_CONTEXT_KEY};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Mutex;

/// The answers of the last keys this sandbox ran, newest last.
static ANSWERED: Mutex<VecDeque<(String, Value)>> = Mutex::new(VecDeque::new());
/// How many keys a sandbox remembers.
const REMEMBERED: usize = 256;

/// Handle one event: the behaviour the payload asks for (docs/lambdas.md), and the same answer
/// again for an idempotency key this sandbox has answered.
///
/// ```
/// use lambda_runtime::{Context, LambdaEvent};
/// use serde_json::json;
/// use xinvoke::lambdas::target_handler;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let event = |payload| LambdaEvent::new(payload, Context::default());
/// let echoed = target_handler(event(json!({"order": 42}))).await.unwrap();
/// assert_eq!(echoed, json!({"order": 42}));
/// let failed = target_handler(event(json!({"fail": "no stock"}))).await.unwrap_err();
/// assert_eq!((failed.error_type.as_str(), failed.error_message.as_str()), ("TargetFailure", "no stock"));
/// # }
/// ```
pub async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let input = serde_json::to_vec(&event.payload).unwrap_or_default();
    let key = event
        .context
        .client_context
        .as_ref()
        .and_then(|cc| cc.custom.get(CLIENT_CONTEXT_KEY).cloned())
        .or_else(|| delivery::open_envelope(&input).map(|(key, _)| key));
    if let Some(answer) = key.as_deref().and_then(answered) {
        tracing::info!(
            idempotency_key = key.as_deref(),
            "repeat dropped: answered before in this sandbox"
        );
        return Ok(answer);
    }
    // One line an invoke (no payload): in JSON logs it carries the invocation's request id and
    // the trace the caller passed on (xray_trace_id).
    tracing::info!(bytes = input.len(), idempotency_key = key.as_deref(), "invoked");
    let answer = run(&input).await?;
    if let Some(key) = key {
        let mut answered = ANSWERED.lock().unwrap_or_else(|p| p.into_inner());
        if answered.len() == REMEMBERED {
            answered.pop_front();
        }
        answered.push_back((key, answer.clone()));
    }
    Ok(answer)
}

/// The answer this sandbox gave `key`, if it ran it.
fn answered(key: &str) -> Option<Value> {
    let answered = ANSWERED.lock().unwrap_or_else(|p| p.into_inner());
    answered.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The behaviour: a failure is not remembered, so a retry runs it again.
async fn run(input: &[u8]) -> Result<Value, Diagnostic> {
    let plan = behaviour::plan(input);
    if !plan.sleep.is_zero() {
        tokio::time::sleep(plan.sleep).await;
    }
    if let Some(message) = plan.panic {
        panic!("{message}");
    }
    match plan.result {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Diagnostic {
            error_type: "InvalidOutput".into(),
            error_message: e.to_string(),
        }),
        Err(f) => Err(Diagnostic {
            error_type: f.error_type,
            error_message: f.error_message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;
    use serde_json::json;

    fn event(v: Value) -> LambdaEvent<Value> {
        LambdaEvent {
            payload: v,
            context: Context::default(),
        }
    }

    #[tokio::test]
    async fn echoes_its_payload() {
        assert_eq!(handle(event(json!({"a": [1, 2]}))).await.unwrap(), json!({"a": [1, 2]}));
    }

    #[tokio::test]
    async fn fail_instruction_is_a_diagnostic() {
        let d = handle(event(json!({"fail": "boom"}))).await.unwrap_err();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("TargetFailure", "boom")
        );
    }

    #[tokio::test]
    async fn a_key_answered_before_is_answered_again_without_running() {
        // As Lambda hands it over from the invoke's ClientContext.
        let mut context = Context::default();
        context.client_context =
            Some(serde_json::from_value(json!({"custom": {CLIENT_CONTEXT_KEY: "target-test-key-1"}})).unwrap());
        let first = handle(LambdaEvent::new(json!({"a": 1}), context.clone()))
            .await
            .unwrap();
        // The same key with a failing payload: not run, the first answer again.
        let again = handle(LambdaEvent::new(json!({"fail": "ran twice"}), context))
            .await
            .unwrap();
        assert_eq!((first, again), (json!({"a": 1}), json!({"a": 1})));
        let enveloped = crate::domain::delivery::IdempotencyKey::new("target-test-key-2")
            .unwrap()
            .envelope(br#"{"b": 2}"#);
        let payload: Value = serde_json::from_slice(&enveloped).unwrap();
        assert_eq!(handle(event(payload.clone())).await.unwrap(), json!({"b": 2}));
        assert_eq!(handle(event(payload)).await.unwrap(), json!({"b": 2}));
    }

    #[tokio::test]
    async fn bytes_instruction_answers_a_string_of_that_size() {
        let v = handle(event(json!({"bytes": 100}))).await.unwrap();
        assert_eq!(serde_json::to_vec(&v).unwrap().len(), 100);
    }
}
