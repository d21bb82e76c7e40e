//! Distributed load: one worker's share of a run. The fanning-out process sends each worker a
//! [`WorkerJob`] (in the invoker Lambda: the `load` event), the worker runs it on the engine
//! and answers its [`Metrics`]; the fanning-out process merges them with [`Metrics::merge`]
//! and reports one run.

use crate::invoke::service::Service;
use crate::load::engine::{run_phase, Model, Payloads, PhasePlan, Sender, StopRules};
use crate::load::pacing::Pacing;
use crate::load::record::EndReason;
use crate::load::senders::DirectSender;
use crate::load::stats::Metrics;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// One worker's share of a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkerJob {
    /// Which worker this is (0-based), for logs and errors.
    #[serde(default)]
    pub worker: u32,
    #[serde(default)]
    pub phase: u32,
    pub name: String,
    pub retries: bool,
    /// `R`, `ramp:FROM:TO:DURATION`, `steps:RATE:DUR,...` or `concurrency:C`: already this
    /// worker's share.
    pub load: String,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub requests: Option<u64>,
    /// Payloads used in turn (JSON documents).
    pub payloads: Vec<Value>,
    /// Configured target names used in turn (empty: the default target).
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub max_errors: Option<u64>,
    #[serde(default)]
    pub max_error_rate: Option<f64>,
    #[serde(default = "default_grace_ms")]
    pub grace_ms: u64,
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// No retry of one invoke starts after this long.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

fn default_grace_ms() -> u64 {
    2_000
}
fn default_max_in_flight() -> usize {
    10_000
}
fn default_deadline_ms() -> u64 {
    30_000
}

/// What a worker answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WorkerAnswer {
    pub worker: u32,
    pub sent: u64,
    pub end: EndReason,
    pub metrics: Metrics,
}

/// A job that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid load job: {0}")]
pub(crate) struct WorkerError(pub String);

impl WorkerJob {
    /// The engine's model for this job.
    pub fn model(&self) -> Result<Model, WorkerError> {
        if let Some(c) = self.load.strip_prefix("concurrency:") {
            let c: usize = c
                .parse()
                .map_err(|_| WorkerError(format!("load {:?}: bad concurrency", self.load)))?;
            return Ok(Model::Closed { concurrency: c.max(1) });
        }
        self.load
            .parse::<Pacing>()
            .map(Model::Open)
            .map_err(|e| WorkerError(e.to_string()))
    }

    /// The phase plan.
    pub fn plan(&self) -> Result<PhasePlan, WorkerError> {
        Ok(PhasePlan {
            name: self.name.clone(),
            retries: self.retries,
            model: self.model()?,
            duration: self.duration_ms.map(Duration::from_millis),
            requests: self.requests,
            stop: StopRules {
                max_errors: self.max_errors,
                max_error_rate: self.max_error_rate,
                min_sample: 20,
            },
            grace: Duration::from_millis(self.grace_ms),
            max_in_flight: self.max_in_flight,
        })
    }

    /// Split a whole phase into `n` equal shares: rates and concurrency divided, requests
    /// spread (the first shares take the remainder).
    pub fn split(&self, model: &Model, n: u32) -> Vec<WorkerJob> {
        let n = n.max(1);
        (0..n)
            .map(|i| {
                let mut job = self.clone();
                job.worker = i;
                job.load = match model {
                    Model::Open(p) => p.scaled(1.0 / f64::from(n)).spec(),
                    Model::Closed { concurrency } => {
                        let share = concurrency / n as usize + usize::from((i as usize) < concurrency % n as usize);
                        format!("concurrency:{}", share.max(1))
                    }
                };
                job.requests = self
                    .requests
                    .map(|r| r / u64::from(n) + u64::from(u64::from(i) < r % u64::from(n)));
                job
            })
            .collect()
    }
}

/// Run one job against `target`; the worker's statistics come back whole.
async fn run_job<T: Sender>(job: &WorkerJob, target: Arc<T>) -> Result<WorkerAnswer, WorkerError> {
    let plan = job.plan()?;
    let payloads = Payloads::cycle(job.payloads.iter().map(|v| v.to_string().into_bytes()).collect());
    let mut metrics = Metrics::new();
    // Nobody can press Ctrl-C in a Lambda: the job's own bounds and stop rules end it.
    let (_keep, stop) = crate::load::engine::stop_signal();
    let outcome = run_phase(job.phase, &plan, target, &payloads, None, stop, &mut |r| metrics.add(r)).await;
    Ok(WorkerAnswer {
        worker: job.worker,
        sent: outcome.sent,
        end: outcome.end,
        metrics,
    })
}

/// The invoker Lambda's `load` event: run the job against the configured targets through the
/// invoker's own clients (no new AssumeRole), retries on or off as the job says, and answer
/// the worker's statistics.
pub(crate) async fn handle_load_event(service: &Service, job: Value) -> Result<Value, WorkerError> {
    let job: WorkerJob = serde_json::from_value(job).map_err(|e| WorkerError(e.to_string()))?;
    // The invokes of a load job write log lines (in this invocation's context) but no
    // metrics: their figures are the harness's report.
    tracing::info!(worker = job.worker, phase = job.phase, load = %job.load, "load job");
    let mut policy = service.settings().retry.clone();
    policy.disabled = !job.retries;
    for t in &job.targets {
        service
            .settings()
            .target(Some(t))
            .map_err(|e| WorkerError(e.to_string()))?;
    }
    let service = Arc::new(service.with_retry_policy(policy));
    let names = job.targets.iter().map(|t| Some(t.clone())).collect();
    let target = Arc::new(DirectSender::new(
        service,
        names,
        None,
        Duration::from_millis(job.deadline_ms),
    ));
    let answer = run_job(&job, target).await?;
    serde_json::to_value(&answer).map_err(|e| WorkerError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> WorkerJob {
        serde_json::from_value(serde_json::json!({
            "name": "with retries", "retries": true, "load": "", "payloads": [{}], "requests": 100
        }))
        .unwrap()
    }

    #[test]
    fn shares_add_up_to_the_whole_schedule() {
        let whole = Pacing::parse_ramp("10:100:5s").unwrap();
        let jobs = job().split(&Model::Open(whole.clone()), 3);
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs.iter().map(|j| j.requests.unwrap()).sum::<u64>(), 100);
        let t = Duration::from_secs(5);
        let shares: u64 = jobs
            .iter()
            .map(|j| match j.model().unwrap() {
                Model::Open(p) => p.due(t),
                Model::Closed { .. } => unreachable!(),
            })
            .sum();
        // Each share rounds its own first hit up: at most one extra per worker.
        assert!(
            (whole.due(t)..=whole.due(t) + 3).contains(&shares),
            "{shares} vs {}",
            whole.due(t)
        );
        assert_eq!(jobs[2].worker, 2);
    }

    #[test]
    fn closed_loop_concurrency_is_spread_and_a_job_round_trips_as_json() {
        let jobs = job().split(&Model::Closed { concurrency: 10 }, 4);
        let loads: Vec<&str> = jobs.iter().map(|j| j.load.as_str()).collect();
        assert_eq!(
            loads,
            ["concurrency:3", "concurrency:3", "concurrency:2", "concurrency:2"]
        );
        let back: WorkerJob = serde_json::from_value(serde_json::to_value(&jobs[1]).unwrap()).unwrap();
        assert_eq!(back, jobs[1]);
        assert!(job().model().is_err(), "an empty load is refused");
    }
}
