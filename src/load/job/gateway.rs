//! `--via gateway URL`: the load goes to a gateway as HTTP requests; the gateway invokes and
//! retries, and says each request's class, attempts and stop reason in its answer's headers.

use super::{plan_end, Job, JobError, Outcome};
use crate::load::collect::Collector;
use crate::load::engine::{run_phase, Stop, StopSignal};
use crate::load::record::{EndReason, LoadRecord, RunInfo};
use crate::load::senders::GatewaySender;
use std::sync::Arc;

pub(super) async fn run(job: &Job, url: http::Uri, stop: StopSignal) -> Result<Outcome, JobError> {
    let mut collector = Collector::new(job.record.as_deref(), job.progress)?;
    collector.take(&LoadRecord::run(RunInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: crate::domain::utc::iso8601(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        ),
        target: url.to_string(),
        via: "gateway".into(),
        environment: format!("the gateway at {}", url.authority().map(|a| a.as_str()).unwrap_or_default()),
        notes: vec![
            "each request is an HTTP POST of the payload; the gateway invokes, retries by its routes' policy, and names the outcome (x-xinvoke-class, -attempts, -stop)".into(),
            format!(
                "payload: {}",
                String::from_utf8_lossy(&job.payloads.get(0)).chars().take(120).collect::<String>()
            ),
        ],
    }));
    let sender = Arc::new(GatewaySender::new(url, job.deadline));
    let mut end = EndReason::Completed;
    for (i, (name, retries)) in job.phases.iter().enumerate() {
        if *stop.borrow() != Stop::Run {
            break;
        }
        let plan = job.plan(name, *retries);
        collector.phase_started(name, job.duration.or(plan_end(&job.model)));
        let mut sink = |r: &LoadRecord| collector.take(r);
        let outcome = run_phase(
            i as u32,
            &plan,
            Arc::clone(&sender),
            &job.payloads,
            None,
            stop.clone(),
            &mut sink,
        )
        .await;
        if outcome.end.is_early() {
            end = outcome.end;
            break;
        }
    }
    Ok(Outcome {
        report: collector.finish()?.finish(),
        end,
        worker_failures: Vec::new(),
    })
}
