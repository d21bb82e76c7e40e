//! The sample target's behaviour, one implementation shared by the `target` Lambda and the
//! local endpoint's built-in target, so both answer the same payload the same way.
//!
//! A payload is echoed unless it is a JSON object with one of these keys:
//! `{"sleep_ms": N}` sleeps N ms then echoes, `{"fail": "msg"}` fails with a function error,
//! `{"bytes": N}` answers a JSON string of N bytes (N ≤ 6 MB), `{"panic": "msg"}` panics (the
//! `target` binary really does; the local endpoint answers what the Rust runtime then
//! reports). `{"connections": N}` (with any of them) declares that the execution holds N
//! connections into its VPC meanwhile: what a Hyperplane ENI's capacity counts (the local
//! endpoint models it; the `target` binary opens none). The plan is data: the caller does the sleeping, so this module stays free of any
//! runtime.

use serde::Deserialize;
use std::time::Duration;

/// The largest answer `{"bytes": N}` may ask for: past Lambda's synchronous response limit
/// (6 MB), so that Lambda's own answer to an oversize response can be seen.
const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

/// The longest `{"sleep_ms": N}` honoured (Lambda's 15-minute function timeout).
const MAX_SLEEP: Duration = Duration::from_secs(900);

/// What the target does with one payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Wait this long before answering.
    pub sleep: Duration,
    /// The answer: the payload to return, or a function error.
    pub result: Result<Vec<u8>, FunctionFailure>,
    /// Panic with this message (`result` is then the function error the Rust runtime answers).
    pub panic: Option<String>,
    /// Connections into the function's VPC the execution holds.
    pub connections: u32,
}

/// The `errorType` lambda_runtime reports for a handler that panicked: the type name of the
/// panic's payload (lambda_runtime 1.x, `layers/panic.rs`).
pub const PANIC_ERROR_TYPE: &str = "&alloc::boxed::Box<dyn core::any::Any + core::marker::Send>";

/// A function error as a Rust Lambda reports it (`lambda_runtime::Diagnostic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionFailure {
    /// `errorType` in the error payload.
    pub error_type: String,
    /// `errorMessage` in the error payload.
    pub error_message: String,
}

impl FunctionFailure {
    /// The JSON error object Lambda returns as the payload of a failed invoke.
    pub(crate) fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "errorType": self.error_type,
            "errorMessage": self.error_message,
        }))
        .unwrap_or_default()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Instructions {
    sleep_ms: Option<u64>,
    fail: Option<String>,
    bytes: Option<u64>,
    panic: Option<String>,
    connections: Option<u32>,
}

/// Decide what the target does with `payload` (the inner payload of an async envelope).
pub fn plan(payload: &[u8]) -> Plan {
    match crate::core::delivery::open_envelope(payload) {
        Some((_, inner)) => plan_of(&inner),
        None => plan_of(payload),
    }
}

fn plan_of(payload: &[u8]) -> Plan {
    let echo = || Plan {
        sleep: Duration::ZERO,
        result: Ok(payload.to_vec()),
        panic: None,
        connections: 0,
    };
    let Ok(ins) = serde_json::from_slice::<Instructions>(payload) else {
        return echo();
    };
    let sleep = Duration::from_millis(ins.sleep_ms.unwrap_or(0)).min(MAX_SLEEP);
    let result = if let Some(msg) = &ins.panic {
        Err(FunctionFailure {
            error_type: PANIC_ERROR_TYPE.to_string(),
            error_message: format!("Lambda panicked: {msg}"),
        })
    } else if let Some(msg) = ins.fail {
        Err(FunctionFailure {
            error_type: "TargetFailure".to_string(),
            error_message: msg,
        })
    } else if let Some(n) = ins.bytes {
        if n > MAX_RESPONSE_BYTES {
            Err(FunctionFailure {
                error_type: "InvalidInstruction".to_string(),
                error_message: format!("bytes: {n} exceeds the {MAX_RESPONSE_BYTES}-byte response limit; ask for less"),
            })
        } else {
            Ok(filler(n as usize))
        }
    } else {
        Ok(payload.to_vec())
    };
    Plan {
        sleep,
        result,
        panic: ins.panic,
        connections: ins.connections.unwrap_or(0),
    }
}

/// A JSON string whose encoding is exactly `n` bytes (for n ≥ 2; fewer gives `""`).
fn filler(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n.max(2));
    out.push(b'"');
    out.resize(n.max(2) - 1, b'x');
    out.push(b'"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_payload_is_echoed_without_delay() {
        let p = plan(br#"{"hello":"world"}"#);
        assert_eq!(p.sleep, Duration::ZERO);
        assert_eq!(p.result.unwrap(), br#"{"hello":"world"}"#);
    }

    #[test]
    fn connections_are_declared_beside_the_other_instructions() {
        let p = plan(br#"{"sleep_ms":5,"connections":3}"#);
        assert_eq!((p.connections, p.sleep), (3, Duration::from_millis(5)));
        assert_eq!(plan(br#"{"hello":1}"#).connections, 0, "none unless declared");
    }

    #[test]
    fn non_json_payload_is_echoed() {
        assert_eq!(plan(b"not json").result.unwrap(), b"not json");
    }

    #[test]
    fn sleep_instruction_sleeps_then_echoes() {
        let p = plan(br#"{"sleep_ms":250}"#);
        assert_eq!(p.sleep, Duration::from_millis(250));
        assert_eq!(p.result.unwrap(), br#"{"sleep_ms":250}"#);
    }

    #[test]
    fn fail_instruction_is_a_function_error_with_the_message() {
        let p = plan(br#"{"fail":"boom"}"#);
        let f = p.result.unwrap_err();
        assert_eq!(f.error_type, "TargetFailure");
        assert_eq!(f.error_message, "boom");
        let v: serde_json::Value = serde_json::from_slice(&f.to_payload()).unwrap();
        assert_eq!(v["errorMessage"], "boom");
    }

    #[test]
    fn panic_instruction_panics_and_answers_what_the_runtime_reports() {
        let p = plan(br#"{"panic":"boom"}"#);
        assert_eq!(p.panic.as_deref(), Some("boom"));
        assert_eq!(p.result.unwrap_err().error_message, "Lambda panicked: boom");
    }

    #[test]
    fn bytes_instruction_answers_exactly_that_many_bytes_of_json() {
        let body = plan(br#"{"bytes":1000}"#).result.unwrap();
        assert_eq!(body.len(), 1000);
        assert!(serde_json::from_slice::<String>(&body).is_ok());
    }

    #[test]
    fn bytes_over_the_response_limit_fail_clearly() {
        let f = plan(br#"{"bytes":9000000}"#).result.unwrap_err();
        assert!(f.error_message.contains("8388608"));
    }

    #[test]
    fn object_with_other_keys_is_echoed_not_interpreted() {
        let p = plan(br#"{"sleep_ms":5,"other":1}"#);
        assert_eq!(p.sleep, Duration::ZERO);
    }
}
