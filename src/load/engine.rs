//! The engine: sends requests on schedule (open loop) or as workers free up (closed loop),
//! turns each finished invoke into records, and stops safely. One loop for every pacing:
//! pacing is a strategy ([`Pacing`]), not another copy of the loop.
//!
//! Accounting: every request the engine sends comes back exactly once, as an `invoke` record
//! or, when it is still in flight after the grace period at stop, as a `cancelled` record.

use crate::domain::class::Class;
use crate::domain::record::InvokeRecord;
use crate::load::pacing::Pacing;
use crate::load::record::{EndReason, LoadRecord, PhaseInfo};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};
use tracing::Instrument;

/// How the engine sends one request: invokes once (with or without retries) and tells how it
/// went. `seq` is the request's number in its phase (a sender may spread requests over
/// several functions).
pub trait Sender: Send + Sync + 'static {
    fn invoke(&self, seq: u64, payload: Vec<u8>) -> impl Future<Output = InvokeRecord> + Send;
}

/// Something to sample once a second on the target's side (the local endpoint's counters).
pub trait Gauges: Send + Sync {
    fn sample(&self) -> BTreeMap<String, u64>;
}

/// How requests are generated.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// Open loop: requests leave on the schedule, whatever the target does.
    Open(Pacing),
    /// Closed loop: this many requests in flight, each sent when the previous one finished.
    Closed { concurrency: usize },
}

impl Model {
    pub(crate) fn describe(&self) -> String {
        match self {
            Model::Open(p) => p.to_string(),
            Model::Closed { concurrency } => format!("concurrency {concurrency}"),
        }
    }
}

/// The payloads to send: one, or a list cycled through.
#[derive(Debug, Clone, PartialEq)]
pub struct Payloads(Vec<Vec<u8>>);

impl Payloads {
    pub fn fixed(p: Vec<u8>) -> Payloads {
        Payloads(vec![p])
    }

    /// A list to cycle through; an empty list sends `{}`.
    pub fn cycle(list: Vec<Vec<u8>>) -> Payloads {
        if list.is_empty() {
            Payloads::fixed(b"{}".to_vec())
        } else {
            Payloads(list)
        }
    }

    /// Every payload, in order.
    pub fn list(&self) -> &[Vec<u8>] {
        &self.0
    }

    /// The payload of request `seq`.
    pub fn get(&self, seq: u64) -> Vec<u8> {
        self.0[(seq % self.0.len() as u64) as usize].clone()
    }
}

/// When a phase ends early on its own.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StopRules {
    /// Stop after this many failed invokes.
    pub max_errors: Option<u64>,
    /// Stop when failures / completed exceeds this (0..1), once `min_sample` have completed.
    pub max_error_rate: Option<f64>,
    pub min_sample: u64,
}

/// One phase to run.
#[derive(Debug, Clone)]
pub struct PhasePlan {
    pub name: String,
    pub retries: bool,
    pub model: Model,
    /// Stop sending after this long.
    pub duration: Option<Duration>,
    /// Stop sending after this many requests.
    pub requests: Option<u64>,
    pub stop: StopRules,
    /// How long requests in flight at stop may still finish before they count as cancelled.
    pub grace: Duration,
    /// Open loop: at most this many in flight; later requests wait (and their wait counts).
    pub max_in_flight: usize,
}

impl PhasePlan {
    /// The phase's header record.
    pub fn info(&self) -> PhaseInfo {
        let intended_rate = match &self.model {
            Model::Open(p) => {
                let secs = self
                    .duration
                    .or(p.end())
                    .map(|d| d.as_secs_f64().ceil() as u64)
                    .unwrap_or(0)
                    .min(86_400);
                (0..secs)
                    .map(|s| {
                        let a = p.due(Duration::from_secs(s));
                        let b = p.due(Duration::from_secs(s + 1));
                        (b - a) as f64
                    })
                    .collect()
            }
            Model::Closed { .. } => Vec::new(),
        };
        PhaseInfo {
            name: self.name.clone(),
            retries: self.retries,
            model: match self.model {
                Model::Open(_) => "open".into(),
                Model::Closed { .. } => "closed".into(),
            },
            load: self.model.describe(),
            intended_rate,
        }
    }
}

/// A stop asked from outside (Ctrl-C once, then again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Stop {
    /// Go on.
    #[default]
    Run,
    /// Send no more; requests in flight may finish within the grace period.
    Graceful,
    /// Send no more and abandon what is in flight.
    Now,
}

impl Stop {
    /// One more Ctrl-C.
    #[cfg(feature = "cli")]
    pub(crate) fn escalate(self) -> Stop {
        match self {
            Stop::Run => Stop::Graceful,
            Stop::Graceful | Stop::Now => Stop::Now,
        }
    }
}

/// Where a run hears [`Stop`] requests.
pub type StopSignal = watch::Receiver<Stop>;

/// A stop signal that never asks to stop (and its sender, to keep it open or to use it).
pub fn stop_signal() -> (watch::Sender<Stop>, StopSignal) {
    watch::channel(Stop::Run)
}

/// What a phase did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseOutcome {
    pub sent: u64,
    pub end: EndReason,
    pub elapsed: Duration,
}

/// Sends a `cancelled` record if its request is dropped before it finished.
struct InFlight {
    phase: u32,
    seq: u64,
    /// The phase's start, which the times are counted from.
    start: Instant,
    intended: Duration,
    sent: Duration,
    tx: mpsc::UnboundedSender<Vec<LoadRecord>>,
    done: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.tx.send(vec![LoadRecord::cancelled(
                self.phase,
                self.seq,
                self.intended,
                self.sent,
                self.start.elapsed(),
            )]);
        }
    }
}

/// Run one phase, handing every record to `sink` in order (attempts before their invoke).
pub async fn run_phase<T: Sender>(
    phase: u32,
    plan: &PhasePlan,
    sender: Arc<T>,
    payloads: &Payloads,
    gauges: Option<&dyn Gauges>,
    mut stop_signal: StopSignal,
    sink: &mut (dyn FnMut(&LoadRecord) + Send),
) -> PhaseOutcome {
    sink(&LoadRecord::phase_start(phase, plan.info()));
    let start = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<LoadRecord>>();
    let mut tasks = JoinSet::new();
    let mut tally = Tally::default();
    let mut end: Option<EndReason> = None;
    let mut signal_alive = true;
    let mut level = Stop::Run;
    let mut sampler = Sampler {
        gauges,
        next: start,
        second: 0,
        start,
        phase,
    };
    let end_of_duration = plan.duration.map(|d| start + d);
    let limit = match plan.model {
        Model::Open(_) => plan.max_in_flight.max(1),
        Model::Closed { concurrency } => concurrency.max(1),
    };

    while end.is_none() {
        let next_due: Option<Instant> = if plan.requests.is_some_and(|n| tally.sent >= n) {
            None
        } else {
            match &plan.model {
                Model::Open(p) => p.send_time(tally.sent).map(|d| start + d),
                Model::Closed { .. } => Some(Instant::now()),
            }
            .filter(|due| end_of_duration.is_none_or(|e| *due < e))
        };
        let Some(due) = next_due else {
            end = Some(EndReason::Completed);
            break;
        };
        let can_send = tally.in_flight < limit;
        tokio::select! {
            biased;
            changed = stop_signal.changed(), if signal_alive => {
                match changed {
                    Ok(()) => level = *stop_signal.borrow_and_update(),
                    Err(_) => signal_alive = false,
                }
                if level >= Stop::Graceful {
                    end = Some(EndReason::Interrupted);
                }
            }
            Some(batch) = rx.recv() => {
                tally.take(&batch, sink);
                end = tally.broken(&plan.stop);
                // Reap the tasks that have finished: a finished task keeps its allocation until
                // joined, and the branch below, last in a biased select, seldom runs while
                // records keep coming (at concurrency 512 the set held up to ~2,000 tasks, 512
                // of them in flight; reaped here, it holds the tasks in flight).
                while tasks.try_join_next().is_some() {}
            }
            // A send already due goes now: `sleep_until` a past instant still waits for the next
            // timer tick (1 ms), which capped a closed loop at ~1000 sends a second.
            _ = async { if due > Instant::now() { sleep_until(due).await } }, if can_send => {
                let seq = tally.sent;
                tally.sent += 1;
                tally.in_flight += 1;
                let guard = InFlight {
                    phase,
                    seq,
                    start,
                    intended: due - start,
                    sent: Instant::now() - start,
                    tx: tx.clone(),
                    done: false,
                };
                let sender = Arc::clone(&sender);
                let payload = payloads.get(seq);
                tasks.spawn(async move {
                    let mut guard = guard;
                    let record = sender.invoke(guard.seq, payload).await;
                    let done = Instant::now() - start;
                    guard.done = true;
                    let batch = LoadRecord::from_invoke(guard.phase, guard.seq, guard.intended, guard.sent, done, &record);
                    let _ = guard.tx.send(batch);
                }.in_current_span());
            }
            _ = sleep_until(sampler.next), if sampler.gauges.is_some() => sampler.take(sink),
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }

    // Stopping: what is in flight may finish within the grace period; the rest is cancelled.
    let mut grace_end = Instant::now() + plan.grace;
    let mut aborted = false;
    if level == Stop::Now {
        grace_end = Instant::now();
    }
    while tally.in_flight > 0 {
        tokio::select! {
            biased;
            Some(batch) = rx.recv() => tally.take(&batch, sink),
            changed = stop_signal.changed(), if signal_alive => {
                match changed {
                    Ok(()) => level = *stop_signal.borrow_and_update(),
                    Err(_) => signal_alive = false,
                }
                if level == Stop::Now {
                    // A second Ctrl-C: abandon what is in flight now.
                    grace_end = Instant::now();
                }
            }
            _ = sleep_until(grace_end), if !aborted => {
                tasks.abort_all();
                aborted = true;
            }
            _ = sleep_until(sampler.next), if sampler.gauges.is_some() => sampler.take(sink),
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed();
    if let Some(g) = sampler.gauges {
        // One last sample, so that a phase shorter than a second has its gauges too.
        sink(&LoadRecord::sample(phase, elapsed.as_secs(), elapsed, g.sample()));
    }
    let end = end.unwrap_or(EndReason::Completed);
    sink(&LoadRecord::phase_end(phase, elapsed, tally.sent, end));
    PhaseOutcome {
        sent: tally.sent,
        end,
        elapsed,
    }
}

/// What the engine counts as records come back.
#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    in_flight: usize,
    completed: u64,
    errors: u64,
}

impl Tally {
    fn take(&mut self, batch: &[LoadRecord], sink: &mut (dyn FnMut(&LoadRecord) + Send)) {
        for r in batch {
            match r {
                LoadRecord::Invoke(i) => {
                    self.in_flight -= 1;
                    self.completed += 1;
                    if i.class != Class::Ok {
                        self.errors += 1;
                    }
                }
                LoadRecord::Cancelled { .. } => self.in_flight -= 1,
                _ => {}
            }
            sink(r);
        }
    }

    /// The stop rule broken, if one is.
    fn broken(&self, rules: &StopRules) -> Option<EndReason> {
        if rules.max_errors.is_some_and(|m| self.errors >= m) {
            Some(EndReason::MaxErrors)
        } else if rules.max_error_rate.is_some_and(|rate| {
            self.completed >= rules.min_sample.max(1) && self.errors as f64 / self.completed as f64 > rate
        }) {
            Some(EndReason::MaxErrorRate)
        } else {
            None
        }
    }
}

/// Samples the gauges once a second.
struct Sampler<'a> {
    gauges: Option<&'a dyn Gauges>,
    next: Instant,
    second: u64,
    start: Instant,
    phase: u32,
}

impl Sampler<'_> {
    fn take(&mut self, sink: &mut (dyn FnMut(&LoadRecord) + Send)) {
        if let Some(g) = self.gauges {
            sink(&LoadRecord::sample(
                self.phase,
                self.second,
                self.next - self.start,
                g.sample(),
            ));
        }
        self.second += 1;
        self.next += Duration::from_secs(1);
    }
}
