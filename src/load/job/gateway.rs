//! `--via gateway URL`: the load goes to a gateway as HTTP requests; the gateway invokes and
//! retries, and says each request's class, attempts and stop reason in its answer's headers.
//! Nothing is started here: the gateway is the place.

use super::error::JobError;
use super::info;
use super::mode::{requests, Mode, Phase, PhaseEnd};
use super::spec::Job;
use crate::load::collect::Collector;
use crate::load::record::RunInfo;
use crate::load::senders::GatewaySender;
use std::sync::Arc;

/// `--via gateway`.
pub(super) struct Gateway<'a> {
    job: &'a Job,
    url: http::Uri,
    sender: Arc<GatewaySender>,
}

impl<'a> Gateway<'a> {
    pub(super) fn new(job: &'a Job, url: http::Uri) -> Self {
        Gateway {
            job,
            sender: Arc::new(GatewaySender::new(url.clone(), job.deadline)),
            url,
        }
    }
}

impl Mode for Gateway<'_> {
    fn info(&self) -> Result<RunInfo, JobError> {
        let notes = vec![
            "each request is an HTTP POST of the payload; the gateway invokes, retries by its routes' policy, and names the outcome (x-xinvoke-class, -attempts, -stop)".into(),
            info::payload_note(self.job),
        ];
        Ok(RunInfo {
            environment: format!(
                "the gateway at {}",
                self.url.authority().map(|a| a.as_str()).unwrap_or_default()
            ),
            ..info::started(self.job, self.url.to_string(), notes)
        })
    }

    async fn phase(&mut self, at: Phase<'_>, collector: &mut Collector) -> Result<PhaseEnd, JobError> {
        Ok(requests(self.job, at, Arc::clone(&self.sender), collector).await)
    }
}
