//! Delivery across layers: one bound per message, whoever retries. A message (an SQS record,
//! an async event, a schedule, an HTTP request) enters with an idempotency key and an attempt
//! allowance; xinvoke's retry loop and SQS's redelivery both draw on that allowance, and a
//! target that may have run is never run again by any layer unless running it again is safe
//! (the target is declared idempotent, or durable: Lambda dedupes a durable execution by its
//! name). Lambda's own async retries are off (the template's `MaximumRetryAttempts: 0`).
//!
//! Why this is stateless and still a bound: the invoker keeps no table of messages. A record
//! SQS delivers for the r-th time (`ApproximateReceiveCount`) is counted as having spent r - 1
//! attempts, one per earlier receive, and the invoker makes that true: it hands a record back
//! to SQS ([`Verdict::HandBack`]) only after at most one attempt in that receive. A receive that
//! never reached the invoker (Lambda's poller throttled) spent none, so the count is an upper
//! bound. Whatever is final leaves as a record on the failure destination
//! ([`Verdict::Final`]), never silently.

use crate::domain::class::Class;
use crate::domain::record::InvokeRecord;
use crate::domain::retry::StopReason;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The key of `ClientContext.custom` that carries the idempotency key of a synchronous invoke
/// (the target reads `context.client_context.custom["idempotency_key"]`).
pub const CLIENT_CONTEXT_KEY: &str = "idempotency_key";

/// The longest idempotency key carried: an SQS message id, an EventBridge event id and a
/// Lambda request id are 36 characters; an HTTP request id is shorter.
const MAX_KEY: usize = 256;

/// What identifies one message to the target, so it can drop a repeat: the SQS message id, the
/// EventBridge event id, the HTTP request id, or the invocation's request id (which Lambda keeps
/// across its own retries of an async event).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A key from an id given by the event source; `None` when it is empty. A longer id is
    /// cut to 256 characters (no AWS id is that long).
    pub fn new(id: &str) -> Option<IdempotencyKey> {
        let id = id.trim();
        (!id.is_empty()).then(|| IdempotencyKey(id.chars().take(MAX_KEY).collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as a durable execution name (Invoke's `DurableExecutionName`: 1-64 of
    /// `[a-zA-Z0-9-_]`, botocore's lambda `service-2.json`): the key itself when it fits, else
    /// the first 64 hex digits of its SHA-256, so the same key always gives the same name.
    pub fn durable_execution_name(&self) -> String {
        let fits = self.0.len() <= 64
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if fits {
            self.0.clone()
        } else {
            hex::encode(Sha256::digest(self.0.as_bytes()))[..64].to_string()
        }
    }

    /// The client context (before base64) that carries the key in a synchronous invoke:
    /// `{"custom": {"idempotency_key": KEY}}`, Lambda's ClientContext shape.
    pub fn client_context_json(&self) -> String {
        serde_json::json!({ "custom": { CLIENT_CONTEXT_KEY: self.0 } }).to_string()
    }

    /// `payload` inside the opt-in async envelope: `{"xinvoke": {"idempotency_key": KEY},
    /// "payload": PAYLOAD}`. An empty payload is `null`.
    pub fn envelope(&self, payload: &[u8]) -> Vec<u8> {
        let key = serde_json::Value::String(self.0.clone()).to_string();
        let inner: &[u8] = if payload.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            payload
        };
        let mut out = Vec::with_capacity(inner.len() + key.len() + 48);
        out.extend_from_slice(br#"{"xinvoke":{"idempotency_key":"#);
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(br#"},"payload":"#);
        out.extend_from_slice(inner);
        out.push(b'}');
        out
    }
}

/// How a target takes a message's key, as configured per target (`XINVOKE_TARGETS`' `durable`
/// and `envelope`, or `XINVOKE_DURABLE` / `XINVOKE_ENVELOPE` for the default target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetDelivery {
    /// A durable function: the key goes as `DurableExecutionName`, so running it again is safe.
    pub durable: bool,
    /// Asynchronous invokes carry the key in the envelope: `{"xinvoke": {"idempotency_key":
    /// "..."}, "payload": <the payload>}` (Lambda passes no client context to an asynchronous
    /// invoke).
    pub envelope: bool,
}

/// The key and the inner payload of an envelope ([`IdempotencyKey::envelope`]); `None` when
/// `payload` is not one.
pub fn open_envelope(payload: &[u8]) -> Option<(String, Vec<u8>)> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Envelope {
        xinvoke: Header,
        payload: serde_json::Value,
    }
    #[derive(serde::Deserialize)]
    struct Header {
        idempotency_key: String,
    }
    if !mentions_envelope(payload) {
        return None;
    }
    let e: Envelope = serde_json::from_slice(payload).ok()?;
    Some((e.xinvoke.idempotency_key, serde_json::to_vec(&e.payload).ok()?))
}

/// Whether `payload` may be an envelope: it names the envelope's field (a scan, cheaper than
/// parsing every payload twice). Its members may come in any order.
fn mentions_envelope(payload: &[u8]) -> bool {
    const FIELD: &[u8] = br#""xinvoke""#;
    payload.windows(FIELD.len()).any(|w| w == FIELD)
}

/// What a message has already spent before this invoke, and whether running the target again
/// is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Allowance {
    /// Attempts counted against the message before this invoke (one per earlier receive).
    pub spent: u32,
    /// The target may run the message again: it is declared idempotent, or durable (Lambda
    /// dedupes the execution by its name).
    pub rerun_safe: bool,
    /// The sender turned retries off for this message: one attempt.
    pub no_retry: bool,
}

impl Allowance {
    /// The allowance of an SQS record received for the `receive_count`-th time.
    #[cfg(test)]
    pub fn of_receive(receive_count: u32, rerun_safe: bool) -> Allowance {
        Allowance {
            spent: receive_count.saturating_sub(1),
            rerun_safe,
            no_retry: false,
        }
    }
}

/// What becomes of a message after the invoker's invoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered: the target answered, or (durable) an execution of its name exists.
    Done,
    /// Back to SQS (`batchItemFailures`): nothing that must not run again may have run, the
    /// allowance has attempts left, and this receive made at most one attempt.
    HandBack,
    /// Final: the record goes to the failure destination (or, without one, an ERROR line).
    Final,
}

/// The verdict on an SQS record's invoke (`rerun_safe`: the target is idempotent or durable).
///
/// - `ok`, `already_done`: [`Verdict::Done`].
/// - The target may have run and running it again is not safe: [`Verdict::Final`], whatever
///   the class (a function error, an attempt cut at the deadline after the request was sent).
/// - The retry loop stopped for want of time or budget (`deadline`, `budget_exhausted`) after
///   at most one attempt, with the class's allowance not spent: [`Verdict::HandBack`]; SQS's
///   visibility timeout is the wait, the next receive spends what is left.
/// - Anything else (the allowance spent, a class retrying cannot help, retries off, or several
///   attempts in this receive): [`Verdict::Final`].
pub fn sqs_verdict(record: &InvokeRecord, rerun_safe: bool) -> Verdict {
    match record.class() {
        Class::Ok | Class::AlreadyDone => return Verdict::Done,
        _ => {}
    }
    if record.outcome.may_have_run && !rerun_safe {
        return Verdict::Final;
    }
    let wanted_more = matches!(record.stop, StopReason::Deadline | StopReason::BudgetExhausted);
    if wanted_more && record.attempts <= 1 {
        Verdict::HandBack
    } else {
        Verdict::Final
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::classify::Sent;
    use crate::domain::classify::{classify, RawOutcome, ServiceError};
    use crate::domain::invocation::InvocationType;

    fn record(raw: RawOutcome, attempts: u32, stop: StopReason) -> InvokeRecord {
        let mut r = InvokeRecord::refused("t", "f".into(), InvocationType::RequestResponse, "X", String::new());
        r.outcome = classify(&raw);
        r.attempts = attempts;
        r.stop = stop;
        r
    }

    fn failed(status: u16, code: &str) -> RawOutcome {
        RawOutcome::Failed(ServiceError {
            status,
            code: code.into(),
            ..Default::default()
        })
    }

    fn function_error() -> RawOutcome {
        RawOutcome::Answered {
            status: 200,
            function_error: Some("Unhandled".into()),
            executed_version: None,
            durable_execution_arn: None,
            payload: b"{}".to_vec(),
        }
    }

    #[test]
    fn a_record_that_may_have_run_is_final_unless_running_it_again_is_safe() {
        let cut = record(RawOutcome::TimedOut { sent: Sent::Sync }, 1, StopReason::Deadline);
        assert_eq!(sqs_verdict(&cut, false), Verdict::Final);
        assert_eq!(sqs_verdict(&cut, true), Verdict::HandBack);
        let fe = record(function_error(), 1, StopReason::NotRetryable);
        assert_eq!(sqs_verdict(&fe, false), Verdict::Final);
        assert_eq!(
            sqs_verdict(&fe, true),
            Verdict::Final,
            "retrying a function error cannot help"
        );
    }

    #[test]
    fn a_throttle_cut_short_after_one_attempt_goes_back_to_sqs_and_one_retried_here_does_not() {
        let once = record(failed(429, "TooManyRequestsException"), 1, StopReason::Deadline);
        assert_eq!(sqs_verdict(&once, false), Verdict::HandBack);
        let twice = record(failed(429, "TooManyRequestsException"), 2, StopReason::Deadline);
        assert_eq!(
            sqs_verdict(&twice, false),
            Verdict::Final,
            "the next receive counts one attempt per receive"
        );
        let spent = record(
            failed(429, "TooManyRequestsException"),
            1,
            StopReason::AttemptsExhausted,
        );
        assert_eq!(sqs_verdict(&spent, false), Verdict::Final);
        let denied = record(failed(403, "AccessDeniedException"), 1, StopReason::NotRetryable);
        assert_eq!(sqs_verdict(&denied, false), Verdict::Final);
        let not_started = record(failed(429, "TooManyRequestsException"), 0, StopReason::Deadline);
        assert_eq!(sqs_verdict(&not_started, false), Verdict::HandBack);
    }

    #[test]
    fn an_existing_durable_execution_is_delivered() {
        let r = record(
            failed(409, "DurableExecutionAlreadyStartedException"),
            1,
            StopReason::NotRetryable,
        );
        assert_eq!(r.class(), Class::AlreadyDone);
        assert_eq!(sqs_verdict(&r, true), Verdict::Done);
        assert_eq!(sqs_verdict(&r, false), Verdict::Done);
    }

    #[test]
    fn durable_names_are_the_key_when_it_fits_else_a_stable_hash() {
        let k = IdempotencyKey::new("059f36b4-87a3-44ab-83d2-661975830a7d").unwrap();
        assert_eq!(k.durable_execution_name(), "059f36b4-87a3-44ab-83d2-661975830a7d");
        let k = IdempotencyKey::new("JKJaXmPLvHcESHA=").unwrap();
        let name = k.durable_execution_name();
        assert_eq!(name.len(), 64);
        assert!(name.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            name,
            IdempotencyKey::new("JKJaXmPLvHcESHA=")
                .unwrap()
                .durable_execution_name()
        );
        assert!(IdempotencyKey::new("  ").is_none());
    }

    #[test]
    fn the_envelope_and_the_client_context_carry_the_key() {
        let k = IdempotencyKey::new("m-1").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&k.envelope(br#"{"a":1}"#)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"xinvoke": {"idempotency_key": "m-1"}, "payload": {"a": 1}})
        );
        let v: serde_json::Value = serde_json::from_slice(&k.envelope(b"")).unwrap();
        assert_eq!(v["payload"], serde_json::Value::Null);
        let (key, inner) = open_envelope(&k.envelope(br#"{"a":1}"#)).unwrap();
        assert_eq!((key.as_str(), inner.as_slice()), ("m-1", &br#"{"a":1}"#[..]));
        assert!(open_envelope(br#"{"a":1}"#).is_none());
        let reordered = br#"{"payload": {"a": 1}, "xinvoke": {"idempotency_key": "m-2"}}"#;
        assert_eq!(open_envelope(reordered).unwrap().0, "m-2");
        let cc: serde_json::Value = serde_json::from_str(&k.client_context_json()).unwrap();
        assert_eq!(cc["custom"]["idempotency_key"], "m-1");
    }

    #[test]
    fn a_redelivered_record_has_spent_one_attempt_per_earlier_receive() {
        assert_eq!(Allowance::of_receive(1, false).spent, 0);
        assert_eq!(
            Allowance::of_receive(4, true),
            Allowance {
                spent: 3,
                rerun_safe: true,
                no_retry: false
            }
        );
        assert_eq!(Allowance::of_receive(0, false).spent, 0);
    }
}
