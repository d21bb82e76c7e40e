//! The report's header ([`RunInfo`]): what ran where, and the notes a reader needs to read it
//! right. Each mode adds its own notes between the place's and the payload's.

use super::error::JobError;
use super::place::Run;
use super::spec::Job;
use crate::adapters::signed::InvokePath;
use crate::load::record::RunInfo;

/// The header of a run through `run` (every mode but the gateway's), with the mode's notes.
pub(super) fn header(job: &Job, run: &Run, mode_notes: Vec<String>) -> Result<RunInfo, JobError> {
    let target = run
        .names
        .iter()
        .map(|n| run.settings.target(n.as_deref()).map(|t| t.arn.to_string()))
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    let mut notes = Vec::new();
    if let Some(local) = run.local() {
        notes.push(format!(
            "local endpoint in-process at {} (scenario {}); no AWS calls are made",
            local.server.url(),
            local.label
        ));
        if let Some(models) = local.server.scenario().vpc_models() {
            notes.push(format!("VPC networking: {models}"));
        }
    }
    if run.shortened(job) && job.phases.iter().any(|(_, r)| *r) {
        notes.push("retry waits are the default policy's shortened 10x for the local endpoint (--real-waits for the real ones)".into());
    }
    if run.local().is_none() {
        notes.push("account 2's gauges (concurrency, ENIs) are not sampled on AWS: no API gives them live (CloudWatch's ConcurrentExecutions comes per minute, for the whole account or a function with reserved concurrency); read them there".into());
    }
    notes.extend(mode_notes);
    notes.push(payload_note(job));
    Ok(RunInfo {
        environment: match run.local() {
            Some(local) => format!("local endpoint (scenario {})", local.label),
            None => "AWS".to_string(),
        },
        ..started(job, target, notes)
    })
}

/// A header begun now: the version, the start time, the target, the mode, the notes.
pub(super) fn started(job: &Job, target: String, notes: Vec<String>) -> RunInfo {
    RunInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: crate::domain::utc::iso8601(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        ),
        target,
        via: job.via.name().to_string(),
        environment: String::new(),
        notes,
    }
}

/// How this process sends each Invoke.
pub(super) fn path_note(path: InvokePath) -> String {
    format!(
        "invoke path: {} ({})",
        path.name(),
        match path {
            InvokePath::Signed => "signed here with SigV4 over a pooled hyper client; the SDK if that cannot be built",
            InvokePath::Sdk => "aws-sdk-lambda",
        }
    )
}

/// The first payload, cut to 120 characters.
pub(super) fn payload_note(job: &Job) -> String {
    format!(
        "payload: {}",
        String::from_utf8_lossy(&job.payloads.get(0))
            .chars()
            .take(120)
            .collect::<String>()
    )
}
