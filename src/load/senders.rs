//! What a load run invokes: the core [`Service`] (this process invokes the target
//! cross-account, with the service's retry policy), or any [`Attempter`] under a [`Runner`]
//! (tests use a fake one).

use crate::core::invocation::InvocationType;
use crate::core::invocation::{Attempter, InvokeRequest};
use crate::core::record::InvokeRecord;
use crate::invoke::runner::Runner;
use crate::invoke::service::{Call, Service};
use crate::load::engine::Sender;
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

/// Any attempter under a runner: one request shape, the payload swapped per request.
#[derive(Debug)]
pub struct RunnerSender<A> {
    pub runner: Runner,
    pub attempter: A,
    pub request: InvokeRequest,
}

impl<A: Attempter + 'static> Sender for RunnerSender<A> {
    async fn invoke(&self, _seq: u64, payload: Vec<u8>) -> InvokeRecord {
        let mut req = self.request.clone();
        req.payload = payload;
        self.runner.run(&self.attempter, &req, None).await
    }
}

/// `--via invoker`: the invoker Lambda's handler, in this process, one direct event a request
/// (to the target named in turn); its answer or error is the invoke's record.
pub(crate) struct HandlerSender {
    handler: Arc<dyn crate::load::job::InvokerHandler>,
    names: Vec<Option<String>>,
}

impl HandlerSender {
    pub fn new(handler: Arc<dyn crate::load::job::InvokerHandler>, names: Vec<Option<String>>) -> HandlerSender {
        HandlerSender { handler, names }
    }
}

impl Sender for HandlerSender {
    async fn invoke(&self, seq: u64, payload: Vec<u8>) -> InvokeRecord {
        let name = self.names[(seq % self.names.len().max(1) as u64) as usize].clone();
        let shown = name.clone().unwrap_or_else(|| "default".into());
        let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap_or(serde_json::Value::Null);
        let mut event = serde_json::json!({ "payload": payload });
        if let Some(n) = name {
            event["target"] = serde_json::Value::String(n);
        }
        let text = match self.handler.handle(event).await {
            Ok(v) => v.to_string(),
            Err(e) => e.error_message,
        };
        serde_json::from_str::<InvokeRecord>(&text).unwrap_or_else(|_| refused(&shown, &text))
    }
}
