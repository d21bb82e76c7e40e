//! `--via lambda-workers`: each phase split into shares, one invoke of the invoker Lambda a
//! share, the statistics they answer merged.

use super::{base_config, plan_end, Job, JobError, Started, LOCAL_INVOKER_ARN};
use crate::adapters::config::{Context, Given, Settings};
use crate::core::arn::FunctionArn;
use crate::invoke::service::{Call, Service};
use crate::load::collect::Collector;
use crate::load::engine::PhasePlan;
use crate::load::record::{EndReason, LoadRecord};
use crate::load::worker::{WorkerAnswer, WorkerJob};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// `--via lambda-workers`: the service that invokes the invoker Lambda (account 1's, or the
/// one played in this process), given an attempt timeout that outlasts a worker's share.
pub(super) async fn worker_invoker(
    job: &Job,
    invoker: &Option<FunctionArn>,
    place: &Started,
) -> Result<Arc<Service>, JobError> {
    let arn = match place {
        Started::Local { .. } => LOCAL_INVOKER_ARN.parse().expect("the local invoker's ARN is valid"),
        Started::Aws => invoker.clone().ok_or(JobError::NoInvoker)?,
    };
    let mut s = Settings::resolve(
        Given {
            target_arn: Some(arn),
            ..Given::default()
        },
        Context::Cli,
    )?;
    s.retry.disabled = true;
    // A worker answers when its share is done: the whole phase plus its grace and margin.
    let phase_time = job
        .duration
        .or(plan_end(&job.model))
        .unwrap_or(Duration::from_secs(840));
    s.timeouts.attempt = (phase_time + job.grace + Duration::from_secs(60)).min(Duration::from_secs(900));
    let base = base_config(place, s.timeouts).await;
    Ok(Arc::new(Service::new(s, &base).await))
}

/// One phase through the workers: split it into shares, send each to an invoker, merge the
/// statistics they answer: how the phase ended, and a line per worker that failed (its share
/// is missing). Fails when no worker answered.
pub(super) async fn worker_phase(
    invoker: &Arc<Service>,
    job: &Job,
    workers: u32,
    plan: &PhasePlan,
    phase: u32,
    names: &[Option<String>],
    collector: &mut Collector,
) -> Result<(EndReason, Vec<String>), JobError> {
    let whole = WorkerJob {
        worker: 0,
        phase,
        name: plan.name.clone(),
        retries: plan.retries,
        load: String::new(),
        duration_ms: job.duration.map(|d| d.as_millis() as u64),
        requests: job.requests,
        payloads: job
            .payloads
            .list()
            .iter()
            .map(|p| serde_json::from_slice(p).unwrap_or(Value::Null))
            .collect(),
        targets: names.iter().flatten().cloned().collect(),
        max_errors: job.stop.max_errors,
        max_error_rate: job.stop.max_error_rate,
        grace_ms: job.grace.as_millis() as u64,
        max_in_flight: job.max_in_flight,
        deadline_ms: job.deadline.as_millis() as u64,
    };
    collector.take(&LoadRecord::phase_start(phase, plan.info()));
    let (answers, failed) = fan_out(Arc::clone(invoker), whole.split(&job.model, workers)).await;
    let mut end = EndReason::Completed;
    for a in &answers {
        collector.metrics.merge(&a.metrics);
        if a.end.is_early() {
            end = a.end;
        }
    }
    if answers.is_empty() {
        return Err(JobError::NoWorker(failed.first().cloned().unwrap_or_default()));
    }
    Ok((end, failed))
}

/// Invoke the invoker once per job, concurrently; the answers, and a line per failed worker.
pub(super) async fn fan_out(invoker: Arc<Service>, jobs: Vec<WorkerJob>) -> (Vec<WorkerAnswer>, Vec<String>) {
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let invoker = Arc::clone(&invoker);
        set.spawn(async move {
            let worker = job.worker;
            let call = Call {
                payload: json!({ "load": job }).to_string().into_bytes(),
                ..Default::default()
            };
            let record = invoker
                .invoke(call, None)
                .await
                .map_err(|e| format!("worker {worker}: {e}"))?;
            if !record.is_ok() {
                return Err(format!(
                    "worker {worker}: the invoker answered {} ({})",
                    record.class(),
                    record
                        .message
                        .clone()
                        .or(record.outcome.hint.clone())
                        .unwrap_or_default()
                ));
            }
            let payload = record.payload.unwrap_or(Value::Null);
            serde_json::from_value::<WorkerAnswer>(payload.clone()).map_err(|_| {
                format!(
                    "worker {worker}: not a load answer: {}",
                    payload.to_string().chars().take(300).collect::<String>()
                )
            })
        });
    }
    let (mut answers, mut failures) = (Vec::new(), Vec::new());
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(a)) => answers.push(a),
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(format!("a worker task failed: {e}")),
        }
    }
    answers.sort_by_key(|a| a.worker);
    (answers, failures)
}
