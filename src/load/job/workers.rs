//! `--via lambda-workers`: each phase split into shares, each share run in slices (one invoke
//! of the invoker Lambda a slice), the statistics merged as each slice returns.

use super::error::{JobError, WorkerFailure};
use super::info;
use super::mode::{Mode, Phase, PhaseEnd};
use super::place::Run;
use super::spec::Job;
use crate::adapters::config::{Context, Given, Settings};
use crate::adapters::probes;
use crate::domain::arn::FunctionArn;
use crate::invoke::service::{Call, Service};
use crate::load::collect::Collector;
use crate::load::engine::{Model, Stop, StopRules};
use crate::load::record::{EndReason, LoadRecord, RunInfo};
use crate::load::worker::{WorkerAnswer, WorkerJob};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A worker's slice must end this long before the invoker's own timeout (the invoke's
/// round trip, the answer's encoding, a cold start's init).
const SLICE_MARGIN: Duration = Duration::from_secs(5);

/// `--via lambda-workers`: how the invoker Lambda is reached and how long each slice runs.
pub(super) struct Workers<'a> {
    job: &'a Job,
    run: &'a Run,
    count: u32,
    invoker: Arc<Service>,
    slice: Duration,
    /// How the slice length was decided, for the report's notes.
    note: String,
}

/// `--via lambda-workers`: the service that invokes the invoker Lambda (account 1's, or the
/// one played in this process), and the slice length: the one asked for, shortened to fit the
/// invoker's timeout as GetFunctionConfiguration gives it.
pub(super) async fn workers<'a>(
    job: &'a Job,
    run: &'a Run,
    count: u32,
    invoker: &Option<FunctionArn>,
    asked: Duration,
) -> Result<Workers<'a>, JobError> {
    let arn = run.invoker_arn(invoker)?;
    let mut s = Settings::resolve(
        Given {
            target_arn: Some(arn.clone()),
            ..Given::default()
        },
        Context::Cli,
    )?;
    s.retry.disabled = true;
    let base = run.base_config(s.timeouts).await;
    let lambda = probes::lambda_client(&base, &arn.region, None);
    let (slice, note) = match probes::function_configuration(&lambda, &arn).await.map(|c| c.timeout_s) {
        Ok(Some(timeout_s)) => {
            let timeout = Duration::from_secs(u64::from(timeout_s));
            let room = timeout.saturating_sub(job.grace + SLICE_MARGIN);
            let slice = asked.min(Duration::from_secs(room.as_secs()));
            if slice.is_zero() {
                return Err(JobError::WorkerTimeout {
                    timeout_s,
                    needed_s: (job.grace + SLICE_MARGIN).as_secs() + 1,
                });
            }
            let why = if slice < asked {
                format!(", shortened from {} s", asked.as_secs())
            } else {
                String::new()
            };
            (
                slice,
                format!(
                    "workers run slices of {} s{why} (the invoker's timeout is {timeout_s} s: a slice, the {} s grace and {} s of margin fit in it); Ctrl-C stops within one slice",
                    slice.as_secs(),
                    job.grace.as_secs_f64(),
                    SLICE_MARGIN.as_secs()
                ),
            )
        }
        other => {
            let why = match other {
                Err(crate::domain::classify::RawOutcome::Failed(e)) => {
                    format!("GetFunctionConfiguration answered {} {}", e.status, e.code)
                }
                Err(_) => "GetFunctionConfiguration got no answer".to_string(),
                _ => "GetFunctionConfiguration gave no timeout".to_string(),
            };
            (
                asked,
                format!(
                    "workers run slices of {} s; the invoker's timeout could not be read ({why}; grant lambda:GetFunctionConfiguration on the invoker), so it is assumed to be over {} s",
                    asked.as_secs(),
                    (asked + job.grace + SLICE_MARGIN).as_secs()
                ),
            )
        }
    };
    // A worker answers when its slice is done: the slice, its grace, and the margin.
    s.timeouts.attempt = slice + job.grace + SLICE_MARGIN * 2;
    let base = run.base_config(s.timeouts).await;
    Ok(Workers {
        job,
        run,
        count,
        invoker: Arc::new(Service::new(s, &base).await),
        slice,
        note,
    })
}

/// Where one worker's chain of slices is.
struct Chain {
    share: WorkerJob,
    /// The next slice's start within the phase's schedule.
    offset: Duration,
    /// Requests this worker has left to send (with `--requests`).
    requests_left: Option<u64>,
    /// Its share of the phase is not done yet.
    running: bool,
    /// A slice of it is running, allowed this many of `--max-errors`' failures.
    in_flight: Option<u64>,
}

impl Mode for Workers<'_> {
    fn info(&self) -> Result<RunInfo, JobError> {
        info::header(self.job, self.run, vec![self.note.clone()])
    }

    async fn phase(&mut self, at: Phase<'_>, collector: &mut Collector) -> Result<PhaseEnd, JobError> {
        worker_phase(self, at, collector).await
    }
}

/// One phase through the workers: each worker runs its share of the phase in slices, one
/// invoke of the invoker each, chained until the phase ends; each slice's statistics are
/// merged as it returns, so the stop rules apply to the whole run and a stop is heard within
/// one slice. The harness samples the gauges itself meanwhile. Returns how the phase ended and
/// each worker that failed (the rest of its share is missing). Fails when no slice was
/// answered.
async fn worker_phase(workers: &Workers<'_>, at: Phase<'_>, collector: &mut Collector) -> Result<PhaseEnd, JobError> {
    let Phase {
        index: phase,
        plan,
        gauges,
        mut stop,
    } = at;
    let (job, names) = (workers.job, &workers.run.names);
    let whole = WorkerJob {
        worker: 0,
        phase,
        name: plan.name.clone(),
        retries: plan.retries,
        load: String::new(),
        duration_ms: None,
        requests: job.requests,
        payloads: job
            .payloads
            .list()
            .iter()
            .map(|p| serde_json::from_slice(p).unwrap_or(Value::Null))
            .collect(),
        targets: names.iter().flatten().cloned().collect(),
        max_errors: None,
        max_error_rate: job.stop.max_error_rate,
        grace_ms: job.grace.as_millis() as u64,
        max_in_flight: job.max_in_flight,
        deadline_ms: job.deadline.as_millis() as u64,
    };
    let phase_len = job.phase_length();
    let mut chains: Vec<Chain> = whole
        .split(&job.model, workers.count)
        .into_iter()
        .map(|share| Chain {
            requests_left: share.requests,
            share,
            offset: Duration::ZERO,
            running: true,
            in_flight: None,
        })
        .collect();
    collector.take(&LoadRecord::phase_start(phase, plan.info()));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let slices = Slices {
        length: workers.slice,
        phase_len,
        max_errors: job.stop.max_errors,
    };
    slices.start_next(&mut chains, 0, &mut set, &workers.invoker);
    let (mut end, mut failures, mut answered) = (None::<EndReason>, Vec::new(), false);
    let mut next_sample = start;
    let mut signal_alive = true;
    loop {
        tokio::select! {
            biased;
            changed = stop.changed(), if signal_alive => {
                match changed {
                    Ok(()) => {}
                    Err(_) => { signal_alive = false; continue; }
                }
                let level = *stop.borrow_and_update();
                if level >= Stop::Graceful {
                    end.get_or_insert(EndReason::Interrupted);
                }
                if level == Stop::Now && !set.is_empty() {
                    // A second Ctrl-C: abandon the slices still running (their requests ran
                    // on the workers and are not in this report).
                    failures.push(WorkerFailure::Abandoned { slices: set.len() });
                    set.abort_all();
                }
            }
            _ = tokio::time::sleep_until(next_sample), if gauges.is_some() => {
                if let Some(g) = gauges {
                    let at = next_sample - start;
                    collector.take(&LoadRecord::sample(phase, at.as_secs(), at, g.sample()));
                }
                next_sample += Duration::from_secs(1);
            }
            joined = set.join_next() => {
                let Some(joined) = joined else { break };
                let Ok((w, offset, answer)) = joined else { continue };
                let w = w as usize;
                chains[w].in_flight = None;
                match answer {
                    Ok(a) => {
                        answered = true;
                        collector.metrics.merge_slice(phase, &a.metrics, offset);
                        let chain = &mut chains[w];
                        chain.offset = offset + workers.slice;
                        chain.requests_left = chain.requests_left.map(|r| r.saturating_sub(a.sent));
                        if end.is_none() {
                            end = broken(collector, phase, &job.stop);
                        }
                    }
                    Err(e) => {
                        failures.push(e);
                        chains[w].running = false;
                    }
                }
                if end.is_none() {
                    let failed = collector.metrics.completed_and_failed(phase).1;
                    slices.start_next(&mut chains, failed, &mut set, &workers.invoker);
                }
            }
        }
    }
    if let Some(g) = gauges {
        let at = start.elapsed();
        collector.take(&LoadRecord::sample(phase, at.as_secs(), at, g.sample()));
    }
    let end = end.unwrap_or(EndReason::Completed);
    // The phase's length is the slices' (each merged at its offset in the schedule).
    collector.take(&LoadRecord::phase_end(phase, Duration::ZERO, 0, end));
    if !answered {
        return Err(JobError::NoWorker(failures.into_iter().next()));
    }
    Ok(PhaseEnd { end, failures })
}

/// How slices are cut.
struct Slices {
    length: Duration,
    phase_len: Option<Duration>,
    max_errors: Option<u64>,
}

type SliceSet = tokio::task::JoinSet<(u32, Duration, Result<WorkerAnswer, WorkerFailure>)>;

impl Slices {
    /// Start the next slice of every worker that has none running and whose share goes on.
    /// With `--max-errors`, the failures the run may still have (less those the running slices
    /// are allowed) are split among the slices started; a worker gets no slice while none are
    /// left, until a running slice returns with fewer than it was allowed.
    fn start_next(&self, chains: &mut [Chain], failed: u64, set: &mut SliceSet, invoker: &Arc<Service>) {
        for c in chains.iter_mut() {
            if c.in_flight.is_none() && (c.requests_left == Some(0) || self.phase_len.is_some_and(|l| c.offset >= l)) {
                c.running = false;
            }
        }
        let idle: Vec<usize> = (0..chains.len())
            .filter(|w| chains[*w].running && chains[*w].in_flight.is_none())
            .collect();
        for (rank, w) in idle.iter().enumerate() {
            let allowed = match self.max_errors {
                None => 0,
                Some(m) => {
                    let reserved: u64 = chains.iter().filter_map(|c| c.in_flight).sum();
                    let left = m.saturating_sub(failed + reserved);
                    if left == 0 {
                        continue;
                    }
                    (left / (idle.len() - rank) as u64).max(1)
                }
            };
            let job = self.cut(&chains[*w], self.max_errors.map(|_| allowed));
            chains[*w].in_flight = Some(allowed);
            let (invoker, offset) = (Arc::clone(invoker), chains[*w].offset);
            set.spawn(async move {
                let worker = job.worker;
                (worker, offset, invoke_worker(&invoker, job).await)
            });
        }
    }

    /// A worker's next slice: its share of the schedule from its offset, at most `length`
    /// long (less at the phase's end), its requests left, the failures it may have.
    fn cut(&self, chain: &Chain, max_errors: Option<u64>) -> WorkerJob {
        let mut job = chain.share.clone();
        if let Ok(Model::Open(p)) = job.model() {
            job.load = p.after(chain.offset).spec();
        }
        let length = self
            .phase_len
            .map_or(self.length, |l| self.length.min(l.saturating_sub(chain.offset)));
        job.duration_ms = Some(length.as_millis() as u64);
        job.requests = chain.requests_left;
        job.max_errors = max_errors;
        job
    }
}

/// The whole run's stop rules, on every slice merged so far.
fn broken(collector: &Collector, phase: u32, rules: &StopRules) -> Option<EndReason> {
    let (completed, failed) = collector.metrics.completed_and_failed(phase);
    if rules.max_errors.is_some_and(|m| failed >= m) {
        Some(EndReason::MaxErrors)
    } else if rules
        .max_error_rate
        .is_some_and(|rate| completed >= rules.min_sample.max(1) && failed as f64 / completed as f64 > rate)
    {
        Some(EndReason::MaxErrorRate)
    } else {
        None
    }
}

/// Invoke the invoker with one worker's job: its answer, or why there is none.
async fn invoke_worker(invoker: &Service, job: WorkerJob) -> Result<WorkerAnswer, WorkerFailure> {
    let worker = job.worker;
    let call = Call {
        payload: json!({ "load": job }).to_string().into_bytes(),
        ..Default::default()
    };
    let record = invoker
        .invoke(call, None)
        .await
        .map_err(|source| WorkerFailure::Refused { worker, source })?;
    if !record.is_ok() {
        return Err(WorkerFailure::Failed {
            worker,
            class: record.class(),
            detail: record
                .message
                .clone()
                .or(record.outcome.hint.clone())
                .unwrap_or_default(),
        });
    }
    let payload = record.payload.unwrap_or(Value::Null);
    serde_json::from_value::<WorkerAnswer>(payload.clone()).map_err(|_| WorkerFailure::NotALoadAnswer {
        worker,
        answer: payload.to_string().chars().take(300).collect(),
    })
}
