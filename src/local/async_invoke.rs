//! Asynchronous invocation as Lambda runs it (the Lambda guide, "Asynchronous invocation" and
//! "Error handling and automatic retries"): an `Event` invoke is answered 202 once queued;
//! the queue then runs it. A function error is retried `MaximumRetryAttempts` times (default
//! 2), about one minute then two minutes later; a throttle or a system error (the function not
//! ready, its network not set up, a 5xx) is retried with a backoff from one second up to five
//! minutes while the event is younger than `MaximumEventAgeInSeconds` (default six hours). An
//! event that still failed goes to the function's on-failure destination, else its dead-letter
//! queue, else it is dropped. Every delay runs on the endpoint's clock, so `POST /_local/clock`
//! moves events along without waiting.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Delay before retrying a function error, by retry number (the guide: "one minute, then two").
const FUNCTION_ERROR_DELAYS_MS: [i64; 2] = [60_000, 120_000];
/// Backoff of throttles and system errors: from this...
const SYSTEM_FIRST_DELAY_MS: i64 = 1_000;
/// ...doubling up to this.
const SYSTEM_MAX_DELAY_MS: i64 = 300_000;

/// One queued event.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    /// The Invoke's request id.
    pub request_id: String,
    /// `ACCOUNT:NAME` of the function.
    pub function: String,
    /// The qualifier invoked (alias, version) or none.
    pub qualifier: Option<String>,
    /// The ARN invoked, as a destination record names it.
    pub function_arn: String,
    pub payload: bytes::Bytes,
    /// The `X-Amzn-Trace-Id` of the Invoke, handed to each execution.
    pub trace_id: Option<String>,
    /// The message's idempotency key (the envelope's), for the execution counts.
    pub key: Option<String>,
    /// Server time it was accepted, ms.
    pub received_ms: i64,
    /// Server time it is next run, ms.
    pub due_ms: i64,
    /// Executions started so far.
    pub invokes: u32,
    /// Function errors so far.
    pub function_errors: u32,
    /// Throttles and system errors so far.
    pub system_errors: u32,
}

/// What one execution of a queued event came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It ran and succeeded.
    Succeeded,
    /// It ran and failed: the function's error payload.
    FunctionError { executed_version: String, payload: Value },
    /// It could not run: throttled, not ready, its network failed, a 5xx (the error's name).
    SystemError { code: String, message: String },
}

/// Where a failed event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Destination,
    DeadLetterQueue,
    Dropped,
}

/// What the queue does with an event after an execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Done,
    /// Run it again at this server time.
    RetryAt(i64),
    /// Give up: `condition` is `RetriesExhausted` or `EventAgeExceeded`.
    GiveUp {
        condition: &'static str,
    },
}

/// Decide what follows an execution: the pure part of Lambda's retry rules.
pub fn next(ev: &QueuedEvent, outcome: &Outcome, now_ms: i64, max_retries: u32, max_age_s: u32) -> Next {
    let max_age_ms = i64::from(max_age_s) * 1000;
    let age_ok = |at: i64| at - ev.received_ms <= max_age_ms;
    match outcome {
        Outcome::Succeeded => Next::Done,
        Outcome::FunctionError { .. } => {
            let retry = ev.function_errors; // this error already counted
            if retry > max_retries {
                return Next::GiveUp {
                    condition: "RetriesExhausted",
                };
            }
            let delay = FUNCTION_ERROR_DELAYS_MS[(retry as usize).saturating_sub(1).min(1)];
            if age_ok(now_ms + delay) {
                Next::RetryAt(now_ms + delay)
            } else {
                Next::GiveUp {
                    condition: "EventAgeExceeded",
                }
            }
        }
        Outcome::SystemError { .. } => {
            let n = ev.system_errors.saturating_sub(1).min(20);
            let delay = (SYSTEM_FIRST_DELAY_MS << n).min(SYSTEM_MAX_DELAY_MS);
            if age_ok(now_ms + delay) {
                Next::RetryAt(now_ms + delay)
            } else {
                Next::GiveUp {
                    condition: "EventAgeExceeded",
                }
            }
        }
    }
}

/// The queue of one world, the records delivered to destinations and dead-letter queues, and
/// the counts `/_local/stats` shows.
#[derive(Debug, Default)]
pub struct EventQueue {
    events: Mutex<Vec<QueuedEvent>>,
    delivered: Mutex<BTreeMap<String, Vec<Value>>>,
    pub queued: AtomicU64,
    pub succeeded: AtomicU64,
    pub retried: AtomicU64,
    pub to_destination: AtomicU64,
    pub to_dead_letter_queue: AtomicU64,
    pub dropped: AtomicU64,
}

impl EventQueue {
    /// Accept an event (the Invoke answered 202).
    pub fn push(&self, ev: QueuedEvent) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.lock().push(ev);
    }

    /// Put an event back for its next try.
    pub fn retry(&self, ev: QueuedEvent) {
        self.retried.fetch_add(1, Ordering::Relaxed);
        self.lock().push(ev);
    }

    /// The events due at `now_ms`, taken off the queue.
    pub fn due(&self, now_ms: i64) -> Vec<QueuedEvent> {
        let mut events = self.lock();
        let (due, rest): (Vec<_>, Vec<_>) = events.drain(..).partition(|e| e.due_ms <= now_ms);
        *events = rest;
        due
    }

    /// Events waiting.
    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<QueuedEvent>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An event that failed for good: its record to the on-failure destination, else its
    /// message to the dead-letter queue, else nowhere. Where it ended.
    pub fn fail(
        &self,
        ev: &QueuedEvent,
        condition: &str,
        last: &Outcome,
        destination: Option<&str>,
        dead_letter_queue: Option<&str>,
        now_iso: &str,
    ) -> End {
        let payload: Value = serde_json::from_slice(&ev.payload).unwrap_or(Value::Null);
        let (target, record, end) = match (destination, dead_letter_queue) {
            (Some(d), _) => {
                // The Lambda guide's on-failure destination record.
                let mut response = json!({ "statusCode": 200 });
                let mut response_payload = Value::Null;
                match last {
                    Outcome::FunctionError {
                        executed_version,
                        payload,
                    } => {
                        response["executedVersion"] = executed_version.clone().into();
                        response["functionError"] = "Unhandled".into();
                        response_payload = payload.clone();
                    }
                    Outcome::SystemError { code, .. } => {
                        response = json!({ "statusCode": 0, "errorCode": code });
                    }
                    Outcome::Succeeded => {}
                }
                let record = json!({
                    "version": "1.0",
                    "timestamp": now_iso,
                    "requestContext": {
                        "requestId": ev.request_id,
                        "functionArn": ev.function_arn,
                        "condition": condition,
                        "approximateInvokeCount": ev.invokes,
                    },
                    "requestPayload": payload,
                    "responseContext": response,
                    "responsePayload": response_payload,
                });
                (d, record, End::Destination)
            }
            (None, Some(q)) => {
                // A dead-letter queue gets the event itself, with the error in attributes.
                let (code, message) = match last {
                    Outcome::FunctionError { payload, .. } => (
                        "200".to_string(),
                        payload["errorMessage"].as_str().unwrap_or_default().to_string(),
                    ),
                    Outcome::SystemError { code, message } => (code.clone(), message.clone()),
                    Outcome::Succeeded => (String::new(), String::new()),
                };
                let record = json!({
                    "body": payload,
                    "attributes": { "RequestID": ev.request_id, "ErrorCode": code, "ErrorMessage": message },
                });
                (q, record, End::DeadLetterQueue)
            }
            (None, None) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return End::Dropped;
            }
        };
        match end {
            End::Destination => &self.to_destination,
            _ => &self.to_dead_letter_queue,
        }
        .fetch_add(1, Ordering::Relaxed);
        self.delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(target.to_string())
            .or_default()
            .push(record);
        end
    }

    /// What destinations and dead-letter queues received, by ARN.
    pub fn delivered(&self) -> BTreeMap<String, Vec<Value>> {
        self.delivered.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(function_errors: u32, system_errors: u32) -> QueuedEvent {
        QueuedEvent {
            request_id: "r".into(),
            function: "222222222222:target".into(),
            qualifier: None,
            function_arn: "arn:aws:lambda:us-east-1:222222222222:function:target".into(),
            payload: bytes::Bytes::from_static(b"{\"a\":1}"),
            trace_id: None,
            key: None,
            received_ms: 0,
            due_ms: 0,
            invokes: function_errors + system_errors,
            function_errors,
            system_errors,
        }
    }

    fn fe() -> Outcome {
        Outcome::FunctionError {
            executed_version: "1".into(),
            payload: json!({"errorMessage": "boom"}),
        }
    }

    #[test]
    fn function_errors_are_retried_twice_after_one_then_two_minutes() {
        assert_eq!(next(&event(1, 0), &fe(), 0, 2, 21_600), Next::RetryAt(60_000));
        assert_eq!(next(&event(2, 0), &fe(), 60_000, 2, 21_600), Next::RetryAt(180_000));
        assert_eq!(
            next(&event(3, 0), &fe(), 180_000, 2, 21_600),
            Next::GiveUp {
                condition: "RetriesExhausted"
            }
        );
        assert_eq!(
            next(&event(1, 0), &fe(), 0, 0, 21_600),
            Next::GiveUp {
                condition: "RetriesExhausted"
            }
        );
    }

    #[test]
    fn system_errors_back_off_to_five_minutes_until_the_event_is_too_old() {
        let sys = Outcome::SystemError {
            code: "TooManyRequestsException".into(),
            message: String::new(),
        };
        assert_eq!(next(&event(0, 1), &sys, 0, 2, 60), Next::RetryAt(1_000));
        assert_eq!(next(&event(0, 3), &sys, 0, 2, 60), Next::RetryAt(4_000));
        assert_eq!(next(&event(0, 12), &sys, 0, 2, 21_600), Next::RetryAt(300_000));
        assert_eq!(
            next(&event(0, 7), &sys, 0, 2, 60),
            Next::GiveUp {
                condition: "EventAgeExceeded"
            },
            "a 64 s wait would pass the 60 s age"
        );
    }

    #[test]
    fn a_failed_event_goes_to_its_destination_else_its_dlq_else_nowhere() {
        let q = EventQueue::default();
        let ev = event(3, 0);
        assert_eq!(
            q.fail(&ev, "RetriesExhausted", &fe(), Some("arn:dest"), Some("arn:dlq"), "t"),
            End::Destination
        );
        assert_eq!(
            q.fail(&ev, "RetriesExhausted", &fe(), None, Some("arn:dlq"), "t"),
            End::DeadLetterQueue
        );
        assert_eq!(q.fail(&ev, "RetriesExhausted", &fe(), None, None, "t"), End::Dropped);
        let d = q.delivered();
        let record = &d["arn:dest"][0];
        assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(record["requestPayload"], json!({"a": 1}));
        assert_eq!(record["responseContext"]["functionError"], "Unhandled");
        assert_eq!(d["arn:dlq"][0]["attributes"]["ErrorMessage"], "boom");
        assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
    }
}
