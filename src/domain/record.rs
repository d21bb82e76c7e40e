//! The outcome record: one flat struct per attempt and one per invoke. Everything after an
//! invoke (logs, the CLI's JSON, the invoker's answer, load statistics) reads these.

use crate::domain::class::Class;
use crate::domain::classify::Sent;
use crate::domain::classify::{classify, Classification, RawOutcome};
use crate::domain::invocation::InvocationType;
use crate::domain::retry::StopReason;
use serde::{Deserialize, Serialize};

/// The header in which the gateway (and the invoker behind API Gateway) says an answer's
/// outcome class.
///
/// ```
/// // An answer of `xinvoke gateway`, as an HTTP client receives it.
/// let answer = http::Response::builder()
///     .status(429)
///     .header("x-xinvoke-class", "throttled")
///     .body(())
///     .unwrap();
/// let class = answer.headers()[xinvoke::CLASS_HEADER].to_str().unwrap();
/// assert_eq!(xinvoke::Class::from_name(class), Some(xinvoke::Class::Throttled));
/// ```
pub const CLASS_HEADER: &str = "x-xinvoke-class";
/// The header with the attempts made.
///
/// ```
/// // An answer of `xinvoke gateway` after one retry.
/// let answer = http::Response::builder()
///     .header("x-xinvoke-attempts", "2")
///     .body(())
///     .unwrap();
/// let attempts: u32 = answer.headers()[xinvoke::ATTEMPTS_HEADER].to_str().unwrap().parse().unwrap();
/// assert_eq!(attempts, 2);
/// ```
pub const ATTEMPTS_HEADER: &str = "x-xinvoke-attempts";
/// The header saying why no further attempt was made (`succeeded`, `attempts_exhausted`, ...).
pub const STOP_HEADER: &str = "x-xinvoke-stop";

/// One attempt: what happened and how long it and the wait before it took. An
/// [`InvokeRecord`]'s `attempt_log` holds one per attempt, in order.
///
/// ```
/// use xinvoke::{AttemptRecord, Class};
/// // The first of two attempts: Lambda throttled it, nothing ran.
/// let first = AttemptRecord {
///     attempt: 1,
///     class: Class::Throttled,
///     status: Some(429),
///     error_code: Some("TooManyRequestsException".to_string()),
///     latency_ms: 12.5,
///     wait_before_ms: 0.0,
///     may_have_run: false,
/// };
/// // As the records print it: `may_have_run` only when true.
/// let json = serde_json::to_value(&first).unwrap();
/// assert_eq!(json["class"], "throttled");
/// assert!(json.get("may_have_run").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// 1-based.
    pub attempt: u32,
    /// What this attempt's outcome means.
    pub class: Class,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The error's name, when the answer was an error.
    pub error_code: Option<String>,
    /// From send to the last byte of the answer.
    pub latency_ms: f64,
    /// The wait before this attempt (0 for the first).
    pub wait_before_ms: f64,
    /// The request was sent and no answer came: the target may have run it (sync), or the
    /// event may be queued (async).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_have_run: bool,
}

/// The final outcome of one invoke, after every retry: what [`Service::invoke`] answers, and
/// (as JSON) what the invoker function answers and `xinvoke invoke --output json` prints.
///
/// [`Service::invoke`]: crate::Service::invoke
///
/// ```
/// use xinvoke::{Class, InvokeRecord, StopReason};
/// // The invoker function's answer: throttled once, then answered.
/// let answer = r#"{
///     "target": "default",
///     "function": "arn:aws:lambda:us-east-1:222222222222:function:target:live",
///     "invocation_type": "RequestResponse",
///     "class": "ok", "retryable": false, "status": 200,
///     "executed_version": "1",
///     "attempts": 2, "stop": "succeeded", "latency_ms": 1043.2,
///     "attempt_log": [
///         {"attempt": 1, "class": "throttled", "status": 429, "error_code": "TooManyRequestsException",
///          "latency_ms": 11.0, "wait_before_ms": 0.0},
///         {"attempt": 2, "class": "ok", "status": 200, "error_code": null,
///          "latency_ms": 30.1, "wait_before_ms": 1002.1}
///     ],
///     "payload": {"order": 42, "state": "accepted"}
/// }"#;
/// let record: InvokeRecord = serde_json::from_str(answer).unwrap();
/// assert!(record.is_ok());
/// assert_eq!((record.class(), record.stop, record.attempts), (Class::Ok, StopReason::Succeeded, 2));
/// assert_eq!(record.attempt_log[0].class, Class::Throttled);
/// assert_eq!(record.payload.as_ref().unwrap()["state"], "accepted");
/// // Sent and never answered: the target may have run, so it was not retried.
/// let lost = answer
///     .replace(r#""class": "ok""#, r#""class": "timeout", "may_have_run": true"#)
///     .replace(r#""stop": "succeeded""#, r#""stop": "not_retryable""#);
/// let lost: InvokeRecord = serde_json::from_str(&lost).unwrap();
/// assert!(!lost.is_ok() && lost.outcome.may_have_run);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvokeRecord {
    /// The configured target's name.
    pub target: String,
    /// The function ARN invoked (with its qualifier).
    pub function: String,
    /// How it was invoked.
    pub invocation_type: InvocationType,
    /// The last attempt's classification: class, retryable, status, codes, hint; its
    /// `may_have_run` is set when any attempt may have run the target (or queued the event).
    #[serde(flatten)]
    pub outcome: Classification,
    /// The service's error message, when it sent one (never a payload).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `X-Amz-Executed-Version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_version: Option<String>,
    /// Attempts made (0 when refused before sending).
    pub attempts: u32,
    /// Why no further attempt was made.
    pub stop: StopReason,
    /// From the first send to the final answer, waits included.
    pub latency_ms: f64,
    /// Every attempt, in order.
    pub attempt_log: Vec<AttemptRecord>,
    /// The target's answer (sync invokes): JSON when it parses, else a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    /// The same answer's bytes as they came (what a gateway passes on); never serialized.
    #[serde(skip)]
    pub raw_payload: Option<Vec<u8>>,
    /// When the invoke went through an invoker function first (`xinvoke load --via invoker`):
    /// that hop's own outcome. The rest of the record is then the target's, as the invoker
    /// answered it, or the invoker's failure when it did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) via: Option<Box<Hop>>,
    /// The message's idempotency key, as the target got it (client context, envelope or
    /// durable execution name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Attempts counted against the message before this invoke (an SQS record's earlier
    /// receives): `attempts` plus these are within the class's allowance.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub earlier_attempts: u32,
    /// `X-Amz-Durable-Execution-Arn`: the durable execution a durable target started (or had).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable_execution_arn: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The first hop of a two-hop invoke: the invoke of the invoker function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    /// The invoker function's ARN.
    pub function: String,
    /// `ok` when the invoker answered with the target's outcome (even a failed one), else how
    /// its own invoke failed (throttled, function_error, ...).
    pub class: Class,
    pub status: Option<u16>,
    pub attempts: u32,
    pub stop: StopReason,
    pub latency_ms: f64,
}

impl InvokeRecord {
    /// An invoke refused before any attempt: `code` and `problem` say why (the problem is also
    /// the hint, as it names what to change).
    pub(crate) fn refused(
        target: &str,
        function: String,
        invocation_type: InvocationType,
        code: &str,
        problem: String,
    ) -> InvokeRecord {
        let mut outcome = classify(&RawOutcome::Rejected {
            code: code.to_string(),
            message: problem.clone(),
        });
        outcome.hint = Some(problem.clone());
        InvokeRecord {
            target: target.to_string(),
            function,
            invocation_type,
            outcome,
            message: Some(problem),
            executed_version: None,
            attempts: 0,
            stop: StopReason::NotRetryable,
            latency_ms: 0.0,
            attempt_log: Vec::new(),
            payload: None,
            raw_payload: None,
            via: None,
            idempotency_key: None,
            earlier_attempts: 0,
            durable_execution_arn: None,
        }
    }

    /// An invoke not attempted because the deadline came first: class `timeout`, stop
    /// `deadline`, `hint` says what to change.
    pub(crate) fn not_started(
        target: &str,
        function: String,
        invocation_type: InvocationType,
        hint: &str,
    ) -> InvokeRecord {
        let mut r = InvokeRecord::refused(target, function, invocation_type, "Deadline", hint.to_string());
        r.outcome = classify(&RawOutcome::TimedOut { sent: Sent::No });
        r.outcome.hint = Some(hint.to_string());
        r.message = None;
        r.stop = StopReason::Deadline;
        r
    }

    /// The final class.
    pub fn class(&self) -> Class {
        self.outcome.class
    }

    /// Whether the invoke succeeded.
    pub fn is_ok(&self) -> bool {
        self.outcome.class == Class::Ok
    }
}

/// Decode a target's answer for the record: JSON when it parses, else (lossy) text.
pub(crate) fn payload_value(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
