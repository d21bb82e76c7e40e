//! What a load run sends each request through, one [`Sender`] a `--via` mode: the core
//! [`Service`] (this process invokes the target cross-account, with the service's retry
//! policy), the invoker's handler in this process, the invoker function (two hops), or a
//! gateway. (`--via lambda-workers` sends slices, not requests: `job::workers`.)

use crate::domain::class::Class;
use crate::domain::invocation::InvocationType;
use crate::domain::record::InvokeRecord;
use crate::domain::retry::StopReason;
use crate::invoke::service::{Call, Service};
use crate::load::engine::Sender;
use crate::load::handler::InvokerHandler;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Invoke through the core service: `--via direct`.
#[derive(Debug)]
pub struct DirectSender {
    service: Arc<Service>,
    /// Configured target names, used in turn (`None`: the default target).
    names: Vec<Option<String>>,
    invocation_type: Option<InvocationType>,
    /// No retry may start after this long from the first send.
    deadline: Duration,
}

impl DirectSender {
    pub fn new(
        service: Arc<Service>,
        names: Vec<Option<String>>,
        invocation_type: Option<InvocationType>,
        deadline: Duration,
    ) -> DirectSender {
        let names = if names.is_empty() { vec![None] } else { names };
        DirectSender {
            service,
            names,
            invocation_type,
            deadline,
        }
    }
}

impl Sender for DirectSender {
    async fn invoke(&self, seq: u64, payload: Vec<u8>) -> InvokeRecord {
        let name = self.names[(seq % self.names.len() as u64) as usize].clone();
        let call = Call {
            target: name.clone(),
            payload,
            invocation_type: self.invocation_type,
            ..Call::default()
        };
        match self.service.invoke(call, Some(Instant::now() + self.deadline)).await {
            Ok(r) => r,
            Err(problem) => refused(name.as_deref().unwrap_or("default"), &problem.to_string()),
        }
    }
}

/// A record for an invoke refused before any attempt (e.g. an unknown target name).
pub fn refused(target: &str, problem: &str) -> InvokeRecord {
    InvokeRecord::refused(
        target,
        String::new(),
        InvocationType::RequestResponse,
        "InvalidParameterValueException",
        problem.to_string(),
    )
}

/// `--via handler`: the invoker Lambda's handler, in this process, one direct event a request
/// (to the target named in turn) through `service`; its answer or error is the invoke's record.
pub(crate) struct HandlerSender {
    handler: Arc<dyn InvokerHandler>,
    service: Arc<Service>,
    names: Vec<Option<String>>,
    retries: bool,
}

impl HandlerSender {
    /// Without `retries`, each event says `"retries": false`: the handler retries nothing.
    pub fn new(
        handler: Arc<dyn InvokerHandler>,
        service: Arc<Service>,
        names: Vec<Option<String>>,
        retries: bool,
    ) -> HandlerSender {
        HandlerSender {
            handler,
            service,
            names,
            retries,
        }
    }
}

impl Sender for HandlerSender {
    async fn invoke(&self, seq: u64, payload: Vec<u8>) -> InvokeRecord {
        let name = self.names[(seq % self.names.len().max(1) as u64) as usize].clone();
        let shown = name.clone().unwrap_or_else(|| "default".into());
        let event = direct_event(&payload, name.as_deref(), self.retries);
        let text = match self.handler.handle(&self.service, event).await {
            Ok(v) => v.to_string(),
            Err(e) => e.error_message,
        };
        serde_json::from_str::<InvokeRecord>(&text).unwrap_or_else(|_| refused(&shown, &text))
    }
}

/// `--via gateway URL`: each request a POST of the payload to an xinvoke gateway (or any HTTP
/// front that answers alike); the outcome is the class the gateway names in `x-xinvoke-class`,
/// its attempts and stop reason, or, from another front, the class its status implies.
pub struct GatewaySender {
    client:
        hyper_util::client::legacy::Client<crate::adapters::transport::Connector, http_body_util::Full<bytes::Bytes>>,
    url: http::Uri,
    timeout: std::time::Duration,
}

impl GatewaySender {
    pub fn new(url: http::Uri, timeout: std::time::Duration) -> GatewaySender {
        GatewaySender {
            client: crate::adapters::transport::client(Some(std::time::Duration::from_secs(2))),
            url,
            timeout,
        }
    }

    /// The record of one request to the gateway: one attempt from here (the gateway's own
    /// retries are its business, counted in its /metrics), the gateway's class and stop reason.
    fn record(&self, class: Class, status: Option<u16>, stop: StopReason, took: std::time::Duration) -> InvokeRecord {
        let mut r = refused(self.url.path(), "");
        r.function = self.url.to_string();
        r.outcome.class = class;
        r.outcome.status = status;
        r.outcome.error_code = None;
        r.outcome.hint = None;
        r.message = None;
        r.attempts = 1;
        r.stop = stop;
        r.latency_ms = took.as_secs_f64() * 1000.0;
        r.attempt_log = vec![crate::domain::record::AttemptRecord {
            attempt: 1,
            class,
            status,
            error_code: None,
            latency_ms: r.latency_ms,
            wait_before_ms: 0.0,
            may_have_run: false,
        }];
        r
    }
}

impl Sender for GatewaySender {
    async fn invoke(&self, _seq: u64, payload: Vec<u8>) -> InvokeRecord {
        use http_body_util::BodyExt;
        let req = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(payload)));
        let started = Instant::now();
        let Ok(req) = req else {
            return self.record(Class::InvalidRequest, None, StopReason::NotRetryable, started.elapsed());
        };
        let resp = match tokio::time::timeout(self.timeout, self.client.request(req)).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(_)) => return self.record(Class::Connect, None, StopReason::NotRetryable, started.elapsed()),
            Err(_) => return self.record(Class::Timeout, None, StopReason::Deadline, started.elapsed()),
        };
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let class = header(crate::domain::record::CLASS_HEADER)
            .and_then(|c| Class::from_name(&c))
            .unwrap_or_else(|| class_of_status(status));
        let stop = header(crate::domain::record::STOP_HEADER)
            .and_then(|s| serde_json::from_value::<StopReason>(serde_json::Value::String(s)).ok())
            .unwrap_or(if class == Class::Ok {
                StopReason::Succeeded
            } else {
                StopReason::NotRetryable
            });
        // Read the answer to its end, so the connection goes back to the pool.
        let _ = resp.into_body().collect().await;
        self.record(class, Some(status), stop, started.elapsed())
    }
}

/// The class an HTTP status implies, for an answer that does not name one.
fn class_of_status(status: u16) -> Class {
    match status {
        200..=299 => Class::Ok,
        404 => Class::NotFound,
        413 => Class::PayloadTooLarge,
        429 => Class::Throttled,
        400..=499 => Class::InvalidRequest,
        504 => Class::Timeout,
        _ => Class::Service,
    }
}

/// `--via invoker`: each request invokes the invoker function in account 1 (hop 1) with a
/// direct event naming the target in turn; the invoker invokes the target (hop 2) and answers
/// its record, or fails with it (`errorType` its class, `errorMessage` the record). The record
/// of a request is the target's outcome with the first hop in `via`, or the invoker's own
/// failure when it did not answer.
pub struct InvokerSender {
    service: Arc<Service>,
    names: Vec<Option<String>>,
    deadline: Duration,
    retries: bool,
}

impl InvokerSender {
    /// `service` invokes the invoker function (its default target); without `retries` (its
    /// policy then has them off too) each event says `"retries": false`, so neither hop retries.
    pub fn new(service: Arc<Service>, names: Vec<Option<String>>, deadline: Duration, retries: bool) -> InvokerSender {
        let names = if names.is_empty() { vec![None] } else { names };
        InvokerSender {
            service,
            names,
            deadline,
            retries,
        }
    }
}

impl Sender for InvokerSender {
    async fn invoke(&self, seq: u64, payload: Vec<u8>) -> InvokeRecord {
        let name = self.names[(seq % self.names.len() as u64) as usize].clone();
        let event = direct_event(&payload, name.as_deref(), self.retries);
        let call = Call {
            payload: event.to_string().into_bytes(),
            invocation_type: Some(InvocationType::RequestResponse),
            ..Call::default()
        };
        match self.service.invoke(call, Some(Instant::now() + self.deadline)).await {
            Ok(outer) => two_hops(outer, name.as_deref()),
            Err(problem) => refused(name.as_deref().unwrap_or("default"), &problem.to_string()),
        }
    }
}

/// The direct event of one request: its payload, the target named in turn, and `"retries":
/// false` when the phase runs without retries (the invoker then retries nothing either).
fn direct_event(payload: &[u8], target: Option<&str>, retries: bool) -> serde_json::Value {
    let payload: serde_json::Value = serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null);
    let mut event = serde_json::json!({ "payload": payload });
    if let Some(n) = target {
        event["target"] = serde_json::Value::String(n.to_string());
    }
    if !retries {
        event["retries"] = serde_json::Value::Bool(false);
    }
    event
}

/// The record of a two-hop invoke from the invoke of the invoker (`outer`) for the target
/// named `name` (none: the invoker's default).
pub fn two_hops(outer: InvokeRecord, name: Option<&str>) -> InvokeRecord {
    let mut hop = crate::domain::record::Hop {
        function: outer.function.clone(),
        class: outer.class(),
        status: outer.outcome.status,
        attempts: outer.attempts,
        stop: outer.stop,
        latency_ms: outer.latency_ms,
    };
    let inner = match (outer.class(), &outer.payload) {
        (Class::Ok, Some(p)) => serde_json::from_value::<InvokeRecord>(p.clone()).ok(),
        // The invoker ran and answered the target's failure as a function error.
        (Class::FunctionError, Some(p)) => p["errorType"]
            .as_str()
            .and_then(Class::from_name)
            .and_then(|_| p["errorMessage"].as_str())
            .and_then(|m| serde_json::from_str::<InvokeRecord>(m).ok()),
        _ => None,
    };
    match inner {
        Some(mut r) => {
            hop.class = Class::Ok;
            r.via = Some(Box::new(hop));
            r
        }
        None => {
            // The invoker did not answer for the target: its own failure, counted against
            // the target the request was for.
            let mut r = outer;
            r.target = name.unwrap_or("default").to_string();
            r.via = Some(Box::new(hop));
            r
        }
    }
}
