//! What a delivery test counts: how often each message reached a function and how often the
//! function actually ran it (`GET /_local/executions`), and a durable function's executions by
//! name, so that one message runs once however often it is invoked.
//!
//! A message is known by the idempotency key its invoke carries: the durable execution name
//! (`X-Amz-Durable-Execution-Name`), else `ClientContext.custom.idempotency_key` (sync), else the
//! async envelope's `xinvoke.idempotency_key`. Invokes without one are counted under `""`.
//!
//! Durable functions (scenario `durable = true`) follow Invoke's documentation in botocore's
//! lambda `service-2.json` (`DurableExecutionName`): "If you invoke a durable function using a
//! name that already exists with the same payload, Lambda returns the existing execution
//! instead of creating a duplicate. If the payload differs, Lambda returns a
//! `DurableExecutionAlreadyStartedException` error" (409). An execution that never started (a
//! throttle, a function not ready) leaves no name behind. The answer of every invoke of a
//! durable function carries `X-Amz-Durable-Execution-Arn`,
//! `FUNCTION_ARN:VERSION/durable-execution/NAME/ID` (the `DurableExecutionArn` pattern).

use crate::local::errors::ApiError;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// The header a durable execution's name comes in.
pub const DURABLE_NAME_HEADER: &str = "x-amz-durable-execution-name";
/// The header a durable execution's ARN goes back in.
pub const DURABLE_ARN_HEADER: &str = "x-amz-durable-execution-arn";

/// One message's counts at one function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Invokes that reached the function (authorized), whatever came of them.
    pub invokes: u64,
    /// Times the function ran it (its behaviour started).
    pub executions: u64,
}

/// One row of `GET /_local/executions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub function: String,
    pub key: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// A sync answer as the function gave it: status, payload, `X-Amz-Function-Error`.
pub type Answer = (StatusCode, Bytes, Option<HeaderValue>);

#[derive(Debug, Clone)]
struct Durable {
    payload: [u8; 32],
    arn: String,
    /// `None` while the first execution runs.
    answer: Option<Answer>,
}

/// What an invoke of a durable function finds.
#[derive(Debug)]
pub enum DurableStart {
    /// A new execution of this ARN: run it, then [`Executions::durable_finished`].
    Start { arn: String },
    /// An execution of this name and payload already answered: its answer, not run again.
    Existing { arn: String, answer: Answer },
}

/// The counts and the durable executions of one world.
#[derive(Debug, Default)]
pub struct Executions {
    counts: Mutex<BTreeMap<(String, String), Counts>>,
    durable: Mutex<HashMap<(String, String), Durable>>,
}

impl Executions {
    fn count(&self, function: &str, key: Option<&str>, f: impl FnOnce(&mut Counts)) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        f(counts
            .entry((function.to_string(), key.unwrap_or_default().to_string()))
            .or_default());
    }

    /// An invoke of `function` carrying `key` reached it.
    pub fn invoked(&self, function: &str, key: Option<&str>) {
        self.count(function, key, |c| c.invokes += 1);
    }

    /// `function` started running the message `key`.
    pub fn executed(&self, function: &str, key: Option<&str>) {
        self.count(function, key, |c| c.executions += 1);
    }

    /// Every message's counts, by function then key.
    pub fn rows(&self) -> Vec<Row> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .iter()
            .map(|((function, key), counts)| Row {
                function: function.clone(),
                key: key.clone(),
                counts: *counts,
            })
            .collect()
    }

    /// An invoke of the durable function `function` (its `ACCOUNT:NAME`) named `name`, with
    /// `payload`, `version_arn` its qualified ARN (`...:function:NAME:VERSION`).
    pub fn durable_start(
        &self,
        function: &str,
        name: &str,
        payload: &[u8],
        version_arn: &str,
        request_id: &str,
    ) -> Result<DurableStart, ApiError> {
        let digest: [u8; 32] = Sha256::digest(payload).into();
        let mut durable = self.durable.lock().unwrap_or_else(|p| p.into_inner());
        let key = (function.to_string(), name.to_string());
        match durable.get(&key) {
            Some(d) if d.payload != digest => Err(ApiError::new(
                "DurableExecutionAlreadyStartedException",
                format!("Durable execution with name {name} already exists with a different payload."),
            )),
            Some(Durable {
                arn,
                answer: Some(answer),
                ..
            }) => Ok(DurableStart::Existing {
                arn: arn.clone(),
                answer: answer.clone(),
            }),
            Some(_) => Err(ApiError::new(
                "DurableExecutionAlreadyStartedException",
                format!("Durable execution with name {name} is already running."),
            )),
            None => {
                let arn = format!("{version_arn}/durable-execution/{name}/{}", execution_id(request_id));
                durable.insert(
                    key,
                    Durable {
                        payload: digest,
                        arn: arn.clone(),
                        answer: None,
                    },
                );
                Ok(DurableStart::Start { arn })
            }
        }
    }

    /// The execution started by [`Executions::durable_start`] answered (`Some`), or never
    /// started (`None`: a throttle, a system error), which forgets the name.
    pub fn durable_finished(&self, function: &str, name: &str, answer: Option<&Answer>) {
        let mut durable = self.durable.lock().unwrap_or_else(|p| p.into_inner());
        let key = (function.to_string(), name.to_string());
        match answer {
            Some(a) => {
                if let Some(d) = durable.get_mut(&key) {
                    d.answer = Some(a.clone());
                }
            }
            None => {
                durable.remove(&key);
            }
        }
    }
}

/// An execution id: the request id without what the ARN pattern refuses.
fn execution_id(request_id: &str) -> String {
    request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The message key an invoke carries (see the module's documentation).
pub fn message_key(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    use base64::Engine as _;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(name) = header(DURABLE_NAME_HEADER) {
        return Some(name.to_string());
    }
    if let Some(cc) = header("x-amz-client-context") {
        let key = base64::engine::general_purpose::STANDARD
            .decode(cc)
            .ok()
            .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
            .and_then(|v| v["custom"]["idempotency_key"].as_str().map(str::to_string));
        if key.is_some() {
            return key;
        }
    }
    envelope_key(body)
}

/// The key of the async envelope `{"xinvoke": {"idempotency_key": KEY}, "payload": ...}`.
pub fn envelope_key(body: &[u8]) -> Option<String> {
    crate::core::delivery::open_envelope(body).map(|(key, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &'static str) -> Answer {
        (StatusCode::OK, Bytes::from_static(body.as_bytes()), None)
    }

    #[test]
    fn a_name_runs_once_answers_its_result_again_and_refuses_another_payload() {
        let e = Executions::default();
        let arn = "arn:aws:lambda:us-east-1:222222222222:function:orders:1";
        let DurableStart::Start { arn: first } = e.durable_start("2:orders", "m-1", b"{}", arn, "r-1").unwrap() else {
            panic!("a new name starts an execution")
        };
        assert_eq!(first, format!("{arn}/durable-execution/m-1/r-1"));
        let running = e.durable_start("2:orders", "m-1", b"{}", arn, "r-2").unwrap_err();
        assert_eq!(running.name(), "DurableExecutionAlreadyStartedException");
        e.durable_finished("2:orders", "m-1", Some(&answer("{\"ok\":1}")));
        match e.durable_start("2:orders", "m-1", b"{}", arn, "r-3").unwrap() {
            DurableStart::Existing { arn, answer } => {
                assert_eq!(arn, first);
                assert_eq!(answer.1, Bytes::from_static(b"{\"ok\":1}"));
            }
            other => panic!("the same name and payload answer the existing execution: {other:?}"),
        }
        let other = e
            .durable_start("2:orders", "m-1", b"{\"a\":2}", arn, "r-4")
            .unwrap_err();
        assert_eq!(other.name(), "DurableExecutionAlreadyStartedException");
    }

    #[test]
    fn an_execution_that_never_started_leaves_no_name() {
        let e = Executions::default();
        let arn = "arn:aws:lambda:us-east-1:222222222222:function:orders:1";
        assert!(matches!(
            e.durable_start("2:o", "m", b"{}", arn, "r").unwrap(),
            DurableStart::Start { .. }
        ));
        e.durable_finished("2:o", "m", None);
        assert!(matches!(
            e.durable_start("2:o", "m", b"{}", arn, "r2").unwrap(),
            DurableStart::Start { .. }
        ));
    }

    #[test]
    fn the_key_comes_from_the_name_the_client_context_or_the_envelope() {
        use base64::Engine as _;
        let mut h = HeaderMap::new();
        let cc = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"idempotency_key":"k-cc"}}"#);
        h.insert("x-amz-client-context", HeaderValue::from_str(&cc).unwrap());
        assert_eq!(message_key(&h, b"{}").as_deref(), Some("k-cc"));
        h.insert(DURABLE_NAME_HEADER, HeaderValue::from_static("k-name"));
        assert_eq!(message_key(&h, b"{}").as_deref(), Some("k-name"));
        let body = br#"{"xinvoke":{"idempotency_key":"k-env"},"payload":{}}"#;
        assert_eq!(message_key(&HeaderMap::new(), body).as_deref(), Some("k-env"));
        assert_eq!(message_key(&HeaderMap::new(), b"{}"), None);
    }
}
