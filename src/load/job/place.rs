//! Where a run goes, once started ([`Run`]): the local endpoint in-process (with the invoker
//! function played here when the mode invokes it), or AWS as the flags gave it; the settings
//! and target names every mode sends with.

use super::error::JobError;
use super::local::{self, LocalGauges, LocalPlace};
use super::spec::{Job, Place, LOCAL_INVOKER_ARN};
use crate::adapters::clients;
use crate::adapters::config::{Settings, Timeouts};
use crate::domain::arn::FunctionArn;
use crate::local::client::ControlClient;

/// A started run: where it goes, the settings it invokes with, the target names cycled
/// through.
pub(super) struct Run {
    /// The local endpoint in-process; none on AWS.
    local: Option<LocalPlace>,
    pub(super) settings: Settings,
    pub(super) names: Vec<Option<String>>,
}

/// Start the local endpoint in-process (and, when the mode invokes the invoker function, the
/// invoker it forwards to), or take AWS as given.
pub(super) async fn start(job: &Job) -> Result<Run, JobError> {
    match &job.place {
        Place::Aws { settings, names } => Ok(Run {
            local: None,
            settings: (**settings).clone(),
            names: names.clone(),
        }),
        Place::Local { scenario, target } => {
            let (local, settings, names) = local::start(job, scenario.as_deref(), target.as_deref().cloned()).await?;
            Ok(Run {
                local: Some(local),
                settings,
                names,
            })
        }
    }
}

impl Run {
    /// The local endpoint, when the run is there.
    pub(super) fn local(&self) -> Option<&LocalPlace> {
        self.local.as_ref()
    }

    /// Retry waits shortened 10x: on the local endpoint, unless `--real-waits`.
    pub(super) fn shortened(&self, job: &Job) -> bool {
        self.local().is_some() && !job.real_waits
    }

    /// The SDK configuration this process invokes with: account 1's on the local endpoint, the
    /// environment's on AWS.
    pub(super) async fn base_config(&self, timeouts: Timeouts) -> aws_config::SdkConfig {
        match self.local() {
            Some(l) => local::local_base(l.server.url(), timeouts).await,
            None => clients::base_config(timeouts).await,
        }
    }

    /// The invoker function: account 1's `xinvoke-invoker` played here, or the one given on AWS.
    pub(super) fn invoker_arn(&self, given: &Option<FunctionArn>) -> Result<FunctionArn, JobError> {
        match self.local() {
            Some(_) => Ok(LOCAL_INVOKER_ARN.parse().expect("the local invoker's ARN is valid")),
            None => given.clone().ok_or(JobError::NoInvoker),
        }
    }

    /// Between phases on the local endpoint: a reset (which ends every session, as a new
    /// deployment of the invoker would start anew) and fresh clients for the invoker.
    pub(super) async fn next_phase(&self) -> Result<(), JobError> {
        if let Some(l) = self.local() {
            ControlClient::new(l.server.addr()).reset().await?;
            if let Some(invoker) = &l.invoker {
                invoker.renew(&l.server).await;
            }
        }
        Ok(())
    }

    /// The gauges sampled once a second: the local endpoint's counters (none on AWS).
    pub(super) fn gauges(&self) -> Option<LocalGauges<'_>> {
        self.local().map(|l| LocalGauges(&l.server))
    }

    /// Stop what was started here.
    pub(super) async fn stop(self) {
        if let Some(l) = self.local {
            if let Some(i) = l.invoker {
                i.stop();
            }
            l.server.shutdown().await;
        }
    }
}
