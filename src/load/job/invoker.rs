//! `--via invoker`: each request invokes the invoker function in account 1 with a direct
//! event, and it invokes the target: two hops, both in the report. Its own metrics come back
//! too: from the invoker played here on the local endpoint (its EMF documents, per phase), or
//! from CloudWatch on AWS with `--read-metrics` (over the whole run).

use super::error::JobError;
use super::info;
use super::mode::{note_path, requests, Mode, Phase, PhaseEnd};
use super::place::Run;
use super::spec::{Job, ReadMetrics};
use crate::adapters::clients;
use crate::adapters::config::{Context, Given, Settings, Timeouts};
use crate::domain::arn::FunctionArn;
use crate::domain::retry::RetryPolicy;
use crate::invoke::service::Service;
use crate::load::collect::Collector;
use crate::load::record::RunInfo;
use crate::load::senders::InvokerSender;
use crate::load::stats::Report;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// `--via invoker`.
pub(super) struct Invoker<'a> {
    job: &'a Job,
    run: &'a Run,
    /// The invoker on AWS (`--invoker`).
    invoker: Option<FunctionArn>,
    read_metrics: Option<ReadMetrics>,
    started: SystemTime,
    /// Locally: each phase's invokes by class, from the invoker's EMF documents.
    by_phase: Vec<Option<BTreeMap<String, u64>>>,
}

impl<'a> Invoker<'a> {
    pub(super) fn new(
        job: &'a Job,
        run: &'a Run,
        invoker: Option<FunctionArn>,
        read_metrics: Option<ReadMetrics>,
    ) -> Self {
        Invoker {
            job,
            run,
            invoker,
            read_metrics,
            started: SystemTime::now(),
            by_phase: Vec::new(),
        }
    }

    /// The service that invokes the invoker function (account 1's, or the one played in
    /// this process), retrying that first hop as the phase says.
    async fn hop1(&self, retries: bool) -> Result<Arc<Service>, JobError> {
        let mut s = Settings::resolve(
            Given {
                target_arn: Some(self.run.invoker_arn(&self.invoker)?),
                ..Given::default()
            },
            Context::Cli,
        )?;
        if self.run.shortened(self.job) {
            s.retry = RetryPolicy::defaults_shortened(10.0);
        }
        s.retry.disabled = !retries;
        let base = self.run.base_config(s.timeouts).await;
        let service = Service::with_path(s, &base, self.job.path).await;
        note_path(self.job, &service);
        Ok(Arc::new(service))
    }
}

impl Mode for Invoker<'_> {
    fn info(&self) -> Result<RunInfo, JobError> {
        let mut notes = Vec::new();
        if self.read_metrics.is_none() && self.run.local().is_none() {
            notes.push("the invoker's own metrics (EMF: Invokes, Failed, Retries by target and class) are in CloudWatch, namespace xinvoke unless XINVOKE_METRICS_NAMESPACE says otherwise; this run does not read them back (--read-metrics does)".into());
        }
        notes.push("two hops: each request invokes the invoker function in account 1 with a direct event, and it invokes the target; `by hop` and the inv: columns say which hop failed, and the first hop's retries are this phase's, the second's the invoker's own".into());
        notes.push(info::path_note(self.job.path));
        info::header(self.job, self.run, notes)
    }

    async fn phase(&mut self, at: Phase<'_>, collector: &mut Collector) -> Result<PhaseEnd, JobError> {
        let (index, retries) = (at.index as usize, at.plan.retries);
        let hop1 = self.hop1(retries).await?;
        let sender = InvokerSender::new(hop1, self.run.names.clone(), self.job.deadline, retries);
        let ended = requests(self.job, at, Arc::new(sender), collector).await;
        if let Some(invoker) = self.run.local().and_then(|l| l.invoker.as_ref()) {
            self.by_phase.resize(index, None);
            self.by_phase.push(Some(invoker.invokes_by_class()));
        }
        Ok(ended)
    }

    async fn finish(self, report: &mut Report) {
        for (p, metrics) in report.phases.iter_mut().zip(self.by_phase) {
            if let Some(hops) = &mut p.hops {
                hops.metrics = metrics;
            }
        }
        if let (Some(arn), Some(read), None) = (&self.invoker, &self.read_metrics, self.run.local()) {
            read_back_metrics(report, arn, read, self.started, self.run.settings.timeouts).await;
        }
    }
}

/// `--read-metrics`: the invoker's `Invokes` by class over the whole run, from CloudWatch, on
/// the last phase's hops (CloudWatch keeps them per minute, so phases cannot be told apart),
/// once they add up to the requests the invoker answered or `read.wait` has passed. What
/// could not be read becomes a note: the run's report stands.
async fn read_back_metrics(
    report: &mut Report,
    invoker: &FunctionArn,
    read: &ReadMetrics,
    started: SystemTime,
    timeouts: Timeouts,
) {
    let answered: u64 = report
        .phases
        .iter()
        .filter_map(|p| p.hops.as_ref())
        .map(|h| h.invoker.get("ok").copied().unwrap_or(0))
        .sum();
    let base = clients::base_config(timeouts).await;
    let cloudwatch = match crate::adapters::cloudwatch::CloudWatch::new(&base, &invoker.region) {
        Ok(c) => c,
        Err(e) => {
            return report
                .run
                .notes
                .push(format!("the invoker's metrics were not read: {e}"))
        }
    };
    let give_up = tokio::time::Instant::now() + read.wait;
    let found = loop {
        let read_now = cloudwatch
            .invokes_by_class(&read.namespace, &read.service, started, std::time::SystemTime::now())
            .await;
        match read_now {
            Ok(by_class) if by_class.values().sum::<u64>() >= answered => break Ok(by_class),
            Ok(by_class) if tokio::time::Instant::now() >= give_up => break Ok(by_class),
            Err(e) => break Err(e),
            Ok(by_class) => {
                eprintln!(
                    "waiting for the invoker's metrics in CloudWatch: {} of {answered} invokes so far",
                    by_class.values().sum::<u64>()
                );
                tokio::time::sleep(Duration::from_secs(10).min(read.wait)).await;
            }
        }
    };
    match found {
        Ok(by_class) => {
            let total: u64 = by_class.values().sum();
            report.run.notes.push(format!(
                "the invoker's metrics: {total} Invokes in CloudWatch ({}, service {}) over the whole run, on the last phase's hops; the invoker answered {answered} requests{}",
                read.namespace,
                read.service,
                if total < answered { " (some had not arrived when the wait ended)" } else { "" }
            ));
            if let Some(hops) = report.phases.iter_mut().rev().find_map(|p| p.hops.as_mut()) {
                hops.metrics = Some(by_class);
            }
        }
        Err(e) => report
            .run
            .notes
            .push(format!("the invoker's metrics were not read: {e}")),
    }
}
