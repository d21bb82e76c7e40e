//! A run's finished statistics ([`Report`]): what the text, JSON and HTML reports show.

use crate::domain::class::Class;
use crate::load::record::{EndReason, RunInfo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The JSON report's schema name; bump the suffix on any incompatible change.
pub(crate) const SCHEMA: &str = "xinvoke.load.v1";

/// How latency is counted, said in every report.
pub(crate) const LATENCY_NOTE: &str = "Latency is counted from each request's intended send time in the schedule, not from when it was actually sent, so a stalled target cannot hide its queueing delay (coordinated-omission correction, as wrk2 and oha do). latency_uncorrected is from the actual send. Closed-loop phases have no schedule: there the two are equal.";

/// The finished statistics of a run: what `--json` writes (schema `xinvoke.load.v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub run: RunInfo,
    pub latency_note: String,
    pub phases: Vec<PhaseReport>,
}

/// One phase's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    pub name: String,
    pub retries: bool,
    pub model: String,
    pub load: String,
    pub end: EndReason,
    pub duration_s: f64,
    /// Requests sent. Always `completed + cancelled` (see `accounted`).
    pub sent: u64,
    /// Requests with a final class.
    pub completed: u64,
    /// Requests in flight at stop that did not finish within the grace period.
    pub cancelled: u64,
    /// Whether `sent == completed + cancelled` held.
    pub accounted: bool,
    pub ok: u64,
    pub errors: u64,
    /// errors / completed, 0..1.
    pub error_rate: f64,
    /// Sent per second, between the first and the last send.
    pub achieved_rate: f64,
    /// `ok` per second.
    pub throughput_ok: f64,
    /// Coordinated-omission corrected latency of completed requests.
    pub latency: Percentiles,
    /// From the actual send.
    pub latency_uncorrected: Percentiles,
    /// Final outcomes by class.
    pub classes: Vec<ClassRow>,
    /// Every attempt's outcome by class (what retries met and hid).
    pub attempt_classes: Vec<AttemptRow>,
    pub attempts: AttemptStats,
    /// Why each invoke stopped retrying (`succeeded`, `not_retryable`, `retries_disabled`, …).
    pub stops: BTreeMap<String, u64>,
    /// Latency distribution, power-of-two millisecond buckets.
    pub distribution: Vec<Bucket>,
    /// One row per second of the schedule.
    pub series: Vec<SecondRow>,
    /// Highest value of each target-side gauge.
    pub gauges_peak: BTreeMap<String, u64>,
    /// Final outcomes by configured target (one row when the run used one target).
    pub targets: Vec<TargetRow>,
    /// `--via invoker`: each hop's outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hops: Option<Hops>,
    /// How long the cancelled requests had been in flight when they were given up (they are
    /// not in the latency percentiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_in_flight: Option<Percentiles>,
}

/// Two hops' outcomes (`--via invoker`), by class name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hops {
    /// The invoker function's invoke: `ok` when it answered with the target's outcome.
    pub invoker: BTreeMap<String, u64>,
    /// The invoker's own metrics: `Invokes` by class from the EMF documents in its log (on
    /// the local endpoint; on AWS they are in CloudWatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BTreeMap<String, u64>>,
    /// The target's outcome, for the requests the invoker answered.
    pub target: BTreeMap<String, u64>,
    /// Which layer retried: the harness's invokes of the invoker, and the invoker's invokes of
    /// the target.
    #[serde(default)]
    pub retries: HopRetries,
}

/// Retries by hop of a two-hop run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopRetries {
    /// Retries of the invoke of the invoker function (hop 1, this process's).
    pub invoker: u64,
    /// Retries the invoker made of the target (hop 2).
    pub target: u64,
}

/// One target's outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub name: String,
    pub completed: u64,
    pub classes: BTreeMap<String, u64>,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// A final class's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassRow {
    pub class: Class,
    pub count: u64,
    /// count / completed, 0..1.
    pub share: f64,
    pub latency: Percentiles,
    /// The first second of the schedule in which it appeared.
    pub first_second: Option<u64>,
    /// Requests sent in that second.
    pub rate_at_first: Option<u64>,
}

/// An attempt class's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRow {
    pub class: Class,
    pub count: u64,
    pub first_second: Option<u64>,
}

/// Attempts and retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptStats {
    pub total: u64,
    pub retries: u64,
    pub max_per_invoke: u64,
    pub mean_per_invoke: f64,
    /// The waits before retries.
    pub retry_wait: Percentiles,
}

/// A latency distribution bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Upper bound (inclusive), ms.
    pub le_ms: f64,
    pub count: u64,
}

/// One second of the schedule (requests are placed by their intended send time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondRow {
    pub second: u64,
    /// The schedule's rate at this second (open loop).
    pub intended_rate: Option<f64>,
    pub sent: u64,
    pub ok: u64,
    pub cancelled: u64,
    /// Final outcomes by class name.
    pub classes: BTreeMap<String, u64>,
    /// Failed attempts by class name (including those retried to success).
    pub attempt_errors: BTreeMap<String, u64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Target-side gauges sampled in this second (e.g. `enis_in_use`).
    pub gauges: BTreeMap<String, u64>,
    /// `--via invoker`: requests whose first hop failed (the invoker did not answer), by class.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub invoker_errors: BTreeMap<String, u64>,
}
