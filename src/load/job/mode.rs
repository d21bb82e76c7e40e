//! One way of sending a phase's requests a `--via` mode ([`Mode`]), chosen once per run
//! (`run`): the phase loop, the stop signal and the report are the same for all. The two
//! simplest modes live here, `--via direct` and `--via handler`; the others have a file each
//! (`invoker`, `gateway`, `workers`).

use super::error::{JobError, WorkerFailure};
use super::info;
use super::place::Run;
use super::spec::Job;
use crate::domain::retry::RetryPolicy;
use crate::invoke::service::Service;
use crate::load::collect::Collector;
use crate::load::engine::{run_phase, Gauges, Model, PhasePlan, Sender, StopSignal};
use crate::load::handler::InvokerHandler;
use crate::load::record::{EndReason, LoadRecord, RunInfo};
use crate::load::senders::{DirectSender, HandlerSender};
use crate::load::stats::Report;
use std::sync::Arc;

/// How one `--via` mode sends a run's phases.
pub(super) trait Mode {
    /// The report's header.
    fn info(&self) -> Result<RunInfo, JobError>;

    /// Run one phase, its records to `collector`.
    async fn phase(&mut self, at: Phase<'_>, collector: &mut Collector) -> Result<PhaseEnd, JobError>;

    /// After the last phase: what only the whole run gives (the invoker's metrics).
    async fn finish(self, _report: &mut Report)
    where
        Self: Sized,
    {
    }
}

/// The phase to run.
pub(super) struct Phase<'a> {
    pub(super) index: u32,
    pub(super) plan: PhasePlan,
    /// Sampled once a second (the local endpoint's counters).
    pub(super) gauges: Option<&'a dyn Gauges>,
    pub(super) stop: StopSignal,
}

/// How a phase ended, and the Lambda workers that failed in it.
pub(super) struct PhaseEnd {
    pub(super) end: EndReason,
    pub(super) failures: Vec<WorkerFailure>,
}

impl From<EndReason> for PhaseEnd {
    fn from(end: EndReason) -> PhaseEnd {
        PhaseEnd {
            end,
            failures: Vec::new(),
        }
    }
}

/// One phase of requests, each through `sender`, on the engine.
pub(super) async fn requests<S: Sender>(
    job: &Job,
    at: Phase<'_>,
    sender: Arc<S>,
    collector: &mut Collector,
) -> PhaseEnd {
    let mut sink = |r: &LoadRecord| collector.take(r);
    run_phase(at.index, &at.plan, sender, &job.payloads, at.gauges, at.stop, &mut sink)
        .await
        .end
        .into()
}

/// The phase's service to the targets: fresh clients, retries as the phase says (waits
/// shortened on the local endpoint), at most as many connections as requests in flight.
pub(super) async fn target_service(job: &Job, run: &Run, retries: bool) -> Arc<Service> {
    let base = run.base_config(run.settings.timeouts).await;
    let mut settings = run.settings.clone();
    if run.shortened(job) {
        settings.retry = RetryPolicy::defaults_shortened(10.0);
    }
    settings.retry.disabled = !retries;
    let in_flight = match job.model {
        Model::Closed { concurrency } => concurrency,
        Model::Open(_) => job.max_in_flight,
    };
    let service = Service::with_path_limited(settings, &base, job.path, Some(in_flight.max(1))).await;
    note_path(job, &service);
    Arc::new(service)
}

/// Say when the asked-for invoke path could not be built and the SDK's is used.
pub(super) fn note_path(job: &Job, service: &Service) {
    if service.path() != job.path {
        eprintln!(
            "note: the {} path is unavailable here; this phase uses the sdk path",
            job.path.name()
        );
    }
}

/// `--via direct`: this process invokes the target.
pub(super) struct Direct<'a> {
    pub(super) job: &'a Job,
    pub(super) run: &'a Run,
}

impl Mode for Direct<'_> {
    fn info(&self) -> Result<RunInfo, JobError> {
        info::header(self.job, self.run, vec![info::path_note(self.job.path)])
    }

    async fn phase(&mut self, at: Phase<'_>, collector: &mut Collector) -> Result<PhaseEnd, JobError> {
        let service = target_service(self.job, self.run, at.plan.retries).await;
        let sender = DirectSender::new(
            service,
            self.run.names.clone(),
            self.job.invocation_type,
            self.job.deadline,
        );
        Ok(requests(self.job, at, Arc::new(sender), collector).await)
    }
}

/// `--via handler`: the invoker's handler runs in this process, one direct event a request.
pub(super) struct Handler<'a> {
    pub(super) job: &'a Job,
    pub(super) run: &'a Run,
    pub(super) handler: Arc<dyn InvokerHandler>,
}

impl Mode for Handler<'_> {
    fn info(&self) -> Result<RunInfo, JobError> {
        info::header(self.job, self.run, vec![info::path_note(self.job.path)])
    }

    async fn phase(&mut self, at: Phase<'_>, collector: &mut Collector) -> Result<PhaseEnd, JobError> {
        let service = target_service(self.job, self.run, at.plan.retries).await;
        let sender = HandlerSender::new(
            Arc::clone(&self.handler),
            service,
            self.run.names.clone(),
            at.plan.retries,
        );
        Ok(requests(self.job, at, Arc::new(sender), collector).await)
    }
}
