//! The one record between the stages of a load run (vegeta's `Result`): the engine emits
//! them, statistics add them up, `--record` writes them as NDJSON, and `xinvoke report` reads
//! them back into the very same statistics. Times are whole microseconds so that a report
//! rebuilt from a recording is equal to the original, bit for bit.

use crate::core::classify::Class;
use crate::core::record::InvokeRecord;
use crate::core::retry::StopReason;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// What a record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The run's header: what was run, how, when. Once, first.
    Run,
    /// A phase begins (e.g. "without retries", then "with retries").
    Phase,
    /// One attempt of an invoke (emitted before its invoke).
    Attempt,
    /// An invoke's final outcome, after every retry.
    Invoke,
    /// An invoke that was sent but had not finished when the run stopped and its grace ran out.
    Cancelled,
    /// Gauges sampled from the target side (the local endpoint) once a second.
    Sample,
    /// A phase ended: how long it ran and why it stopped.
    PhaseEnd,
}

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
    pub fn is_early(self) -> bool {
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

/// One flat record. Which fields are set depends on `kind`; absent fields are left out of
/// the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRecord {
    pub kind: Kind,
    /// The phase (0-based) the record belongs to.
    #[serde(default)]
    pub phase: u32,
    /// The request's number within its phase (attempt, invoke, cancelled); the second for a sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Invoke, cancelled: the configured target's name (when a run spreads over several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// When the request was due, from the phase's start (the schedule's time, not the send's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_us: Option<u64>,
    /// When it was actually sent, from the phase's start (attempt: that attempt's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_us: Option<u64>,
    /// Invoke: from the intended time to the final answer (coordinated omission corrected).
    /// Attempt: that attempt's own time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// Invoke: from the actual send to the final answer (what a naive tool reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_us: Option<u64>,
    /// Attempt: its number (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Invoke: attempts made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Attempt: the retry wait before it. Invoke: all retry waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopReason>,
    /// Sample: gauge name → value (e.g. `enis_in_use`, `concurrency_peak`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gauges: Option<BTreeMap<String, u64>>,
    /// Phase end: how long the phase ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_us: Option<u64>,
    /// Phase end: requests the engine sent (each must come back as one invoke or cancelled record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<u64>,
    /// Phase end: why it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EndReason>,
    /// Run header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
    /// Phase header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_info: Option<PhaseInfo>,
}

impl LoadRecord {
    /// An empty record of a kind.
    pub fn new(kind: Kind, phase: u32) -> LoadRecord {
        LoadRecord {
            kind,
            phase,
            seq: None,
            target: None,
            intended_us: None,
            sent_us: None,
            latency_us: None,
            service_us: None,
            attempt: None,
            attempts: None,
            wait_us: None,
            class: None,
            status: None,
            error_code: None,
            stop: None,
            gauges: None,
            elapsed_us: None,
            sent: None,
            end: None,
            run: None,
            phase_info: None,
        }
    }

    /// The run header.
    pub fn run(info: RunInfo) -> LoadRecord {
        LoadRecord {
            run: Some(info),
            ..LoadRecord::new(Kind::Run, 0)
        }
    }

    /// A phase header.
    pub fn phase(phase: u32, info: PhaseInfo) -> LoadRecord {
        LoadRecord {
            phase_info: Some(info),
            ..LoadRecord::new(Kind::Phase, phase)
        }
    }

    /// A phase's end.
    pub fn phase_end(phase: u32, elapsed: Duration, sent: u64, end: EndReason) -> LoadRecord {
        LoadRecord {
            elapsed_us: Some(us(elapsed)),
            sent: Some(sent),
            end: Some(end),
            ..LoadRecord::new(Kind::PhaseEnd, phase)
        }
    }

    /// A request that was sent and then abandoned at stop.
    pub fn cancelled(phase: u32, seq: u64, intended: Duration, sent: Duration) -> LoadRecord {
        LoadRecord {
            seq: Some(seq),
            intended_us: Some(us(intended)),
            sent_us: Some(us(sent)),
            ..LoadRecord::new(Kind::Cancelled, phase)
        }
    }

    /// A sample of target-side gauges at `at` into the phase.
    pub fn sample(phase: u32, second: u64, at: Duration, gauges: BTreeMap<String, u64>) -> LoadRecord {
        LoadRecord {
            seq: Some(second),
            intended_us: Some(us(at)),
            gauges: Some(gauges),
            ..LoadRecord::new(Kind::Sample, phase)
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
            out.push(LoadRecord {
                seq: Some(seq),
                intended_us: Some(us(intended)),
                sent_us: Some(at),
                latency_us: Some(latency),
                attempt: Some(a.attempt),
                wait_us: Some(wait),
                class: Some(a.class),
                status: a.status,
                error_code: a.error_code.clone(),
                ..LoadRecord::new(Kind::Attempt, phase)
            });
            at += latency;
        }
        out.push(LoadRecord {
            seq: Some(seq),
            intended_us: Some(us(intended)),
            sent_us: Some(us(sent)),
            latency_us: Some(us(done.saturating_sub(intended))),
            service_us: Some(us(done.saturating_sub(sent))),
            attempts: Some(r.attempts),
            wait_us: Some(waits),
            class: Some(r.class()),
            status: r.outcome.status,
            error_code: r.outcome.error_code.clone(),
            stop: Some(r.stop),
            target: Some(r.target.clone()),
            ..LoadRecord::new(Kind::Invoke, phase)
        });
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
        let r = LoadRecord {
            seq: Some(3),
            intended_us: Some(1_000),
            latency_us: Some(12_345),
            class: Some(Class::Ec2Throttled),
            status: Some(502),
            error_code: Some("EC2ThrottledException".into()),
            ..LoadRecord::new(Kind::Invoke, 1)
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(!line.contains("gauges"), "{line}");
        assert!(line.contains(r#""class":"ec2_throttled""#), "{line}");
        assert_eq!(serde_json::from_str::<LoadRecord>(&line).unwrap(), r);
    }
}
