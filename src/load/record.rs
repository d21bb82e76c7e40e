//! The one record between the stages of a load run (vegeta's `Result`): the engine emits
//! them, statistics add them up, `--record` writes them as NDJSON, and `xinvoke report` reads
//! them back into the very same statistics. Times are whole microseconds so that a report
//! rebuilt from a recording is equal to the original, bit for bit.

use crate::domain::class::Class;
use crate::domain::record::InvokeRecord;
use crate::domain::retry::StopReason;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a phase stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The schedule, `--duration` or `--requests` ran out.
    Completed,
    /// Ctrl-C.
    Interrupted,
    /// `--max-errors` reached.
    MaxErrors,
    /// `--max-error-rate` exceeded.
    MaxErrorRate,
}

impl EndReason {
    /// Whether the phase was cut short.
    pub(crate) fn is_early(self) -> bool {
        self != EndReason::Completed
    }

    pub fn name(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::Interrupted => "interrupted",
            EndReason::MaxErrors => "max_errors",
            EndReason::MaxErrorRate => "max_error_rate",
        }
    }
}

/// The run's description, carried by the `run` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunInfo {
    /// The xinvoke version that ran it.
    pub version: String,
    /// Wall-clock start, RFC 3339 (UTC).
    pub started_at: String,
    /// What was invoked (function ARN) and how (`direct`, `invoker`, `lambda-workers`).
    pub target: String,
    pub via: String,
    /// Where the target lives: `local endpoint (built-in, scenario …)` or `AWS`.
    pub environment: String,
    /// Free notes shown under the report's title (e.g. shortened retry waits).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A phase's description, carried by the `phase` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PhaseInfo {
    pub name: String,
    /// Whether the retry policy was on.
    pub retries: bool,
    /// `open` (paced) or `closed` (fixed concurrency).
    pub model: String,
    /// The pacing or concurrency, in words (`ramp 10/s to 200/s over 8s`, `concurrency 16`).
    pub load: String,
    /// The intended rate at each second of the schedule (open loop), for the charts.
    #[serde(default)]
    pub intended_rate: Vec<f64>,
}

/// One record, tagged on the wire by `kind` (`run`, `phase`, `attempt`, `invoke`,
/// `cancelled`, `sample`, `phase_end`); every record names its phase (0-based).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoadRecord {
    /// The run's header: what was run, how, when. Once, first.
    Run {
        #[serde(default)]
        phase: u32,
        run: RunInfo,
    },
    /// A phase begins (e.g. "without retries", then "with retries").
    Phase { phase: u32, phase_info: PhaseInfo },
    /// One attempt of an invoke (emitted before its invoke).
    Attempt(AttemptLine),
    /// An invoke's final outcome, after every retry.
    Invoke(InvokeLine),
    /// An invoke that was sent but had not finished when the run stopped and its grace ran out.
    Cancelled {
        phase: u32,
        seq: u64,
        intended_us: u64,
        sent_us: u64,
        /// How long it had been in flight when it was given up.
        #[serde(default)]
        in_flight_us: u64,
    },
    /// Gauges sampled from the target side (the local endpoint) once a second.
    Sample {
        phase: u32,
        #[serde(rename = "seq")]
        second: u64,
        /// When it was taken, from the phase's start.
        #[serde(rename = "intended_us")]
        at_us: u64,
        /// Gauge name → value (e.g. `enis_in_use`, `concurrency_peak`).
        gauges: BTreeMap<String, u64>,
    },
    /// A phase ended: how long it ran and why it stopped.
    PhaseEnd {
        phase: u32,
        elapsed_us: u64,
        /// Requests the engine sent (each comes back as one invoke or cancelled record).
        sent: u64,
        end: EndReason,
    },
}

/// One attempt of an invoke. Times are from the phase's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptLine {
    pub phase: u32,
    /// The request's number within its phase.
    pub seq: u64,
    /// When its request was due.
    pub intended_us: u64,
    /// When this attempt started.
    pub sent_us: u64,
    /// This attempt's own time.
    pub latency_us: u64,
    /// 1-based.
    pub attempt: u32,
    /// The retry wait before it.
    pub wait_us: u64,
    pub class: Class,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// An invoke's final outcome. Times are from the phase's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvokeLine {
    pub phase: u32,
    /// The request's number within its phase.
    pub seq: u64,
    /// The configured target's name (when a run spreads over several).
    #[serde(default)]
    pub target: String,
    /// When the request was due (the schedule's time, not the send's).
    pub intended_us: u64,
    pub sent_us: u64,
    /// From the intended time to the final answer (coordinated omission corrected).
    pub latency_us: u64,
    /// From the actual send to the final answer (what a naive tool reports).
    pub service_us: u64,
    pub attempts: u32,
    /// All retry waits.
    pub wait_us: u64,
    pub class: Class,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub stop: StopReason,
    /// `--via invoker`: the first hop (the invoker function's own invoke). The line's class is
    /// then the end-to-end outcome: the target's when the invoker answered, else the invoker's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoker: Option<HopLine>,
}

/// The first hop of a two-hop invoke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HopLine {
    /// `ok` when the invoker answered (the target's outcome follows), else its own failure.
    pub class: Class,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub attempts: u32,
    pub stop: StopReason,
    pub latency_us: u64,
}

impl LoadRecord {
    /// The phase (0-based) the record belongs to.
    pub fn phase(&self) -> u32 {
        match self {
            LoadRecord::Run { phase, .. }
            | LoadRecord::Phase { phase, .. }
            | LoadRecord::Cancelled { phase, .. }
            | LoadRecord::Sample { phase, .. }
            | LoadRecord::PhaseEnd { phase, .. } => *phase,
            LoadRecord::Attempt(a) => a.phase,
            LoadRecord::Invoke(i) => i.phase,
        }
    }

    /// The run header.
    pub fn run(info: RunInfo) -> LoadRecord {
        LoadRecord::Run { phase: 0, run: info }
    }

    /// A phase header.
    pub fn phase_start(phase: u32, info: PhaseInfo) -> LoadRecord {
        LoadRecord::Phase {
            phase,
            phase_info: info,
        }
    }

    /// A phase's end.
    pub(crate) fn phase_end(phase: u32, elapsed: Duration, sent: u64, end: EndReason) -> LoadRecord {
        LoadRecord::PhaseEnd {
            phase,
            elapsed_us: us(elapsed),
            sent,
            end,
        }
    }

    /// A request that was sent and then abandoned at `now` (all from the phase's start).
    pub fn cancelled(phase: u32, seq: u64, intended: Duration, sent: Duration, now: Duration) -> LoadRecord {
        LoadRecord::Cancelled {
            phase,
            seq,
            intended_us: us(intended),
            sent_us: us(sent),
            in_flight_us: us(now.saturating_sub(sent)),
        }
    }

    /// A sample of target-side gauges at `at` into the phase.
    pub fn sample(phase: u32, second: u64, at: Duration, gauges: BTreeMap<String, u64>) -> LoadRecord {
        LoadRecord::Sample {
            phase,
            second,
            at_us: us(at),
            gauges,
        }
    }

    /// The attempt records and the invoke record of one finished invoke. `intended` and `sent`
    /// are from the phase's start; `done` is when the final answer arrived.
    pub fn from_invoke(
        phase: u32,
        seq: u64,
        intended: Duration,
        sent: Duration,
        done: Duration,
        r: &InvokeRecord,
    ) -> Vec<LoadRecord> {
        let mut out = Vec::with_capacity(r.attempt_log.len() + 1);
        let mut at = us(sent);
        let mut waits = 0;
        for a in &r.attempt_log {
            let wait = ms_to_us(a.wait_before_ms);
            let latency = ms_to_us(a.latency_ms);
            at += wait;
            waits += wait;
            out.push(LoadRecord::Attempt(AttemptLine {
                phase,
                seq,
                intended_us: us(intended),
                sent_us: at,
                latency_us: latency,
                attempt: a.attempt,
                wait_us: wait,
                class: a.class,
                status: a.status,
                error_code: a.error_code.clone(),
            }));
            at += latency;
        }
        out.push(LoadRecord::Invoke(InvokeLine {
            phase,
            seq,
            target: r.target.clone(),
            intended_us: us(intended),
            sent_us: us(sent),
            latency_us: us(done.saturating_sub(intended)),
            service_us: us(done.saturating_sub(sent)),
            attempts: r.attempts,
            wait_us: waits,
            class: r.class(),
            status: r.outcome.status,
            error_code: r.outcome.error_code.clone(),
            stop: r.stop,
            invoker: r.via.as_ref().map(|h| HopLine {
                class: h.class,
                status: h.status,
                attempts: h.attempts,
                stop: h.stop,
                latency_us: ms_to_us(h.latency_ms),
            }),
        }));
        out
    }
}

/// Whole microseconds.
pub fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn ms_to_us(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        (ms * 1000.0).round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_ndjson_and_leaves_absent_fields_out() {
        let r = LoadRecord::Invoke(InvokeLine {
            phase: 1,
            seq: 3,
            target: "orders".into(),
            intended_us: 1_000,
            sent_us: 1_200,
            latency_us: 12_345,
            service_us: 12_145,
            attempts: 1,
            wait_us: 0,
            class: Class::Ec2Throttled,
            status: Some(502),
            error_code: Some("EC2ThrottledException".into()),
            stop: StopReason::RetriesDisabled,
            invoker: None,
        });
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.starts_with(r#"{"kind":"invoke","phase":1,"seq":3,"#), "{line}");
        assert!(line.contains(r#""class":"ec2_throttled""#), "{line}");
        assert_eq!(serde_json::from_str::<LoadRecord>(&line).unwrap(), r);
        let sample = LoadRecord::sample(0, 2, Duration::from_secs(2), BTreeMap::new());
        let line = serde_json::to_string(&sample).unwrap();
        assert_eq!(
            line,
            r#"{"kind":"sample","phase":0,"seq":2,"intended_us":2000000,"gauges":{}}"#
        );
        let cancelled = serde_json::to_string(&LoadRecord::cancelled(
            0,
            7,
            Duration::ZERO,
            Duration::ZERO,
            Duration::from_secs(1),
        ))
        .unwrap();
        assert!(
            !cancelled.contains("class") && !cancelled.contains("status"),
            "{cancelled}"
        );
    }
}
