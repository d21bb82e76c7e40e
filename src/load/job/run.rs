//! A run: where it goes is started, its `--via` mode chosen once, then the same loop for every
//! mode runs the phases, each reported as it ends, until they are done or a stop says so.

use super::error::{JobError, WorkerFailure};
use super::gateway::Gateway;
use super::invoker::Invoker;
use super::mode::{Direct, Handler, Mode, Phase};
use super::place::{self, Run};
use super::spec::{Job, Via};
use super::workers::workers;
use crate::load::collect::Collector;
use crate::load::engine::{Gauges, Stop, StopSignal};
use crate::load::record::{EndReason, LoadRecord};
use crate::load::stats::Report;

/// How a run came out.
pub struct Outcome {
    pub report: Report,
    pub end: EndReason,
    /// Each Lambda worker that failed: its share is missing from the report.
    pub worker_failures: Vec<WorkerFailure>,
}

/// Run the job until its phases end or `stop` says so.
pub async fn run(job: Job, stop: StopSignal) -> Result<Outcome, JobError> {
    if let Via::Gateway(url) = &job.via {
        // The gateway is the place: nothing starts here.
        return phases(&job, None, Gateway::new(&job, url.clone()), stop).await;
    }
    let run = place::start(&job).await?;
    // The one place a mode is chosen; what was started stops whatever the run came to.
    let outcome = match &job.via {
        Via::Direct => phases(&job, Some(&run), Direct { job: &job, run: &run }, stop).await,
        Via::Handler(handler) => {
            let mode = Handler {
                job: &job,
                run: &run,
                handler: handler.clone(),
            };
            phases(&job, Some(&run), mode, stop).await
        }
        Via::Invoker {
            invoker, read_metrics, ..
        } => {
            let mode = Invoker::new(&job, &run, invoker.clone(), read_metrics.clone());
            phases(&job, Some(&run), mode, stop).await
        }
        Via::LambdaWorkers {
            workers: count,
            slice,
            invoker,
            ..
        } => {
            let started = async {
                let mode = workers(&job, &run, *count, invoker, *slice).await?;
                phases(&job, Some(&run), mode, stop).await
            };
            started.await
        }
        // Returned above: the gateway starts nothing here.
        Via::Gateway(_) => unreachable!("--via gateway runs without a place"),
    };
    run.stop().await;
    outcome
}

/// The phases of `job` through `mode`, on `run`'s place (none for a gateway).
async fn phases(job: &Job, run: Option<&Run>, mut mode: impl Mode, stop: StopSignal) -> Result<Outcome, JobError> {
    let mut collector = Collector::new(job.record.as_deref(), job.progress)?;
    collector.take(&LoadRecord::run(mode.info()?));
    let mut end = EndReason::Completed;
    let mut worker_failures = Vec::new();
    for (i, (name, retries)) in job.phases.iter().enumerate() {
        if *stop.borrow() != Stop::Run {
            break;
        }
        if let (Some(run), true) = (run, i > 0) {
            run.next_phase().await?;
        }
        collector.phase_started(name, job.phase_length());
        let gauges = run.and_then(Run::gauges);
        let at = Phase {
            index: i as u32,
            plan: job.plan(name, *retries),
            gauges: gauges.as_ref().map(|g| g as &dyn Gauges),
            stop: stop.clone(),
        };
        let ended = mode.phase(at, &mut collector).await?;
        worker_failures.extend(ended.failures);
        if ended.end.is_early() {
            end = ended.end;
            break;
        }
    }
    let mut report = collector.finish()?.finish();
    mode.finish(&mut report).await;
    Ok(Outcome {
        report,
        end,
        worker_failures,
    })
}
