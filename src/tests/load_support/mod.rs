//! Shared helpers of the load tests: a fake target and a run on the engine with a paused clock
//! (the JSON Schema check is `tests/common/schema.rs`).
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use xinvoke::domain::classify::{RawOutcome, ServiceError};
use xinvoke::domain::invocation::InvocationType;
use xinvoke::domain::invocation::{Attempter, InvokeRequest};
use xinvoke::domain::record::InvokeRecord;
use xinvoke::domain::retry::{RetryBudget, RetryPolicy};
use xinvoke::invoke::runner::Runner;
pub use xinvoke::load::engine::stop_signal;
use xinvoke::load::engine::{run_phase, Model, Payloads, PhaseOutcome, PhasePlan, Sender, StopRules, StopSignal};
use xinvoke::load::record::{LoadRecord, RunInfo};
use xinvoke::load::stats::Metrics;

/// What the fake answers for a payload: `{"stall_ms": N}` sleeps N ms then answers ok,
/// `{"fail": "EC2ThrottledException"}` answers that error, `{"hang": true}` never answers;
/// anything else answers ok after 1 ms.
#[derive(Debug, Default)]
pub struct FakeAttempter;

impl Attempter for FakeAttempter {
    async fn attempt(&self, req: &InvokeRequest) -> RawOutcome {
        let v: Value = serde_json::from_slice(&req.payload).unwrap_or(Value::Null);
        if v["hang"] == Value::Bool(true) {
            std::future::pending::<()>().await;
        }
        let stall = v["stall_ms"].as_u64().unwrap_or(1);
        tokio::time::sleep(Duration::from_millis(stall)).await;
        if let Some(code) = v["fail"].as_str() {
            return RawOutcome::Failed(ServiceError {
                status: if code == "TooManyRequestsException" { 429 } else { 502 },
                code: code.to_string(),
                ..Default::default()
            });
        }
        RawOutcome::Answered {
            status: 200,
            function_error: None,
            executed_version: Some("1".into()),
            durable_execution_arn: None,
            payload: b"{}".to_vec(),
        }
    }
}

/// The fake under a runner with the default policy (or retries off).
pub fn fake_target(retries: bool) -> Arc<RunnerSender<FakeAttempter>> {
    let policy = RetryPolicy {
        disabled: !retries,
        ..RetryPolicy::default()
    };
    Arc::new(RunnerSender {
        runner: Runner::with_seed(policy, Arc::new(RetryBudget::new(500)), 7),
        attempter: FakeAttempter,
        request: InvokeRequest {
            target: "fake".into(),
            function: "arn:aws:lambda:us-east-1:222222222222:function:target:live"
                .parse()
                .unwrap(),
            invocation_type: InvocationType::RequestResponse,
            payload: Vec::new(),
            client_context: None,
            trace_id: None,
            durable_execution_name: None,
            tenant_id: None,
        },
    })
}

/// A plan with sensible test defaults.
pub fn plan(model: Model, duration_ms: Option<u64>, requests: Option<u64>) -> PhasePlan {
    PhasePlan {
        name: "test".into(),
        retries: true,
        model,
        duration: duration_ms.map(Duration::from_millis),
        requests,
        stop: StopRules::default(),
        grace: Duration::from_millis(500),
        max_in_flight: 10_000,
    }
}

/// Run one phase; returns the outcome, every record, and the statistics of those records.
pub async fn run<T: Sender>(
    plan: &PhasePlan,
    target: Arc<T>,
    payloads: &Payloads,
    stop: StopSignal,
) -> (PhaseOutcome, Vec<LoadRecord>, Metrics) {
    let mut records = vec![LoadRecord::run(RunInfo {
        target: "fake".into(),
        via: "direct".into(),
        ..RunInfo::default()
    })];
    let outcome = run_phase(0, plan, target, payloads, None, stop, &mut |r| records.push(r.clone())).await;
    let mut m = Metrics::new();
    for r in &records {
        m.add(r);
    }
    (outcome, records, m)
}

/// Payloads from JSON values.
pub fn payloads(list: &[Value]) -> Payloads {
    Payloads::cycle(list.iter().map(|v| v.to_string().into_bytes()).collect())
}

/// Invoke records by final class name, and cancelled records, from a record stream.
pub fn tally(records: &[LoadRecord]) -> (BTreeMap<String, u64>, u64) {
    let mut by = BTreeMap::new();
    let mut cancelled = 0;
    for r in records {
        match r {
            LoadRecord::Invoke(i) => *by.entry(i.class.name().to_string()).or_default() += 1,
            LoadRecord::Cancelled { .. } => cancelled += 1,
            _ => {}
        }
    }
    (by, cancelled)
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
