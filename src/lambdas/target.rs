//! The `target` Lambda (account 2): the sample VPC target, running the core's shared
//! behaviour (echo, sleep, fail, bytes, panic).

use crate::core::behaviour;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

/// Handle one event.
pub async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let input = serde_json::to_vec(&event.payload).unwrap_or_default();
    // One line an invoke (no payload): in JSON logs it carries the invocation's request id and
    // the trace the caller passed on (xray_trace_id).
    tracing::info!(bytes = input.len(), "invoked");
    let plan = behaviour::plan(&input);
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
    async fn bytes_instruction_answers_a_string_of_that_size() {
        let v = handle(event(json!({"bytes": 100}))).await.unwrap();
        assert_eq!(serde_json::to_vec(&v).unwrap().len(), 100);
    }
}
