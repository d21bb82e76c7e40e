//! Shared helpers of the load tests: a fake target, a small JSON Schema checker (the subset
//! `schemas/load-report.schema.json` uses), and a run on the engine with a paused clock.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use xinvoke::core::classify::{RawOutcome, ServiceError};
use xinvoke::core::invocation::InvocationType;
use xinvoke::core::invocation::{Attempter, InvokeRequest};
use xinvoke::core::retry::{RetryBudget, RetryPolicy};
use xinvoke::invoke::runner::Runner;
pub use xinvoke::load::engine::stop_signal;
use xinvoke::load::engine::{run_phase, Model, Payloads, PhaseOutcome, PhasePlan, Sender, StopRules, StopSignal};
use xinvoke::load::record::{LoadRecord, RunInfo};
use xinvoke::load::senders::RunnerSender;
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

/// Check `value` against the subset of JSON Schema the report schema uses: type, const, enum,
/// required, properties, additionalProperties, items, minimum, maximum, minItems, $ref.
/// Returns every violation with its JSON path.
pub fn schema_errors(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, value, "$", &mut errors);
    errors
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let path = r.trim_start_matches("#/");
            path.split('/').fold(root, |v, k| &v[k])
        }
        None => s,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        _ => false,
    }
}

fn check(root: &Value, s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let s = resolve(root, s);
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)),
            _ => true,
        };
        if !ok {
            errors.push(format!("{path}: expected type {t}, got {v}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errors.push(format!("{path}: expected {c}, got {v}"));
        }
    }
    if let Some(Value::Array(options)) = s.get("enum") {
        if !options.contains(v) {
            errors.push(format!("{path}: {v} is not one of {options:?}"));
        }
    }
    if let (Some(min), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < min {
            errors.push(format!("{path}: {x} < minimum {min}"));
        }
    }
    if let (Some(max), Some(x)) = (s.get("maximum").and_then(Value::as_f64), v.as_f64()) {
        if x > max {
            errors.push(format!("{path}: {x} > maximum {max}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            let k = r.as_str().unwrap_or_default();
            if !obj.contains_key(k) {
                errors.push(format!("{path}: missing required {k:?}"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, child) in obj {
            let child_path = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(root, ps, child, &child_path, errors),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{path}: unexpected property {k:?}")),
                    Some(extra @ Value::Object(_)) => check(root, extra, child, &child_path, errors),
                    _ => {}
                },
            }
        }
    }
    if let Some(items) = v.as_array() {
        if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                errors.push(format!("{path}: fewer than {min} items"));
            }
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(root, item_schema, item, &format!("{path}[{i}]"), errors);
            }
        }
    }
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
