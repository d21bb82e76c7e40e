//! Statistics of a load run: [`Metrics::add`] takes records one at a time, [`Metrics::finish`]
//! turns them into a [`Report`] (plain numbers, the JSON report as it is written). HDR
//! histograms in microseconds; nothing here knows of HTTP, the SDK or where records came from.

use crate::core::classify::Class;
use crate::load::record::{EndReason, LoadRecord, PhaseInfo, RunInfo};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod report;
pub use report::*;

/// Highest latency tracked exactly: one hour, in microseconds (higher values are clamped).
const MAX_US: u64 = 3_600_000_000;

fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, sigfig).unwrap_or_else(|_| Histogram::new(sigfig).expect("valid sigfig"))
}

/// Running statistics of a whole run (every phase). Serializable, so that a worker can ship
/// its share to the process that merges (histograms travel as `(value, count)` pairs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Metrics {
    run: RunInfo,
    phases: Vec<PhaseMetrics>,
}

/// Running statistics of one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PhaseMetrics {
    info: PhaseInfo,
    sent: Option<u64>,
    elapsed_us: u64,
    end: Option<EndReason>,
    classes: BTreeMap<Class, u64>,
    attempt_classes: BTreeMap<Class, u64>,
    cancelled: u64,
    stops: BTreeMap<String, u64>,
    #[serde(with = "hist")]
    latency: Histogram<u64>,
    #[serde(with = "hist")]
    service: Histogram<u64>,
    #[serde(with = "hist_map")]
    by_class: BTreeMap<Class, Histogram<u64>>,
    #[serde(with = "hist")]
    attempts: Histogram<u64>,
    #[serde(with = "hist")]
    waits: Histogram<u64>,
    seconds: Vec<Second>,
    last_us: u64,
    /// First and last actual send (for the achieved rate).
    sent_span: Option<(u64, u64)>,
    targets: BTreeMap<String, BTreeMap<Class, u64>>,
    /// `--via invoker`: each request's first hop (the invoker function's invoke).
    #[serde(default)]
    invoker_classes: BTreeMap<Class, u64>,
    /// `--via invoker`: the target's outcome, for the requests the invoker answered.
    #[serde(default)]
    target_classes: BTreeMap<Class, u64>,
    /// `--via invoker`: retries of the invoke of the invoker (hop 1), and the invoker's own
    /// retries of the target (hop 2), so a report says which layer retried.
    #[serde(default)]
    hop_retries: (u64, u64),
    /// How long each cancelled request had been in flight when it was given up.
    #[serde(default = "in_flight_histogram", with = "hist")]
    cancelled_in_flight: Histogram<u64>,
}

fn in_flight_histogram() -> Histogram<u64> {
    histogram(2)
}

/// One second of the schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Second {
    sent: u64,
    cancelled: u64,
    classes: BTreeMap<Class, u64>,
    attempt_classes: BTreeMap<Class, u64>,
    #[serde(with = "hist")]
    latency: Histogram<u64>,
    gauges: BTreeMap<String, u64>,
    /// `--via invoker`: first-hop failures (the invoker did not answer).
    #[serde(default)]
    invoker_errors: BTreeMap<Class, u64>,
}

impl Default for Second {
    fn default() -> Self {
        Second {
            sent: 0,
            cancelled: 0,
            classes: BTreeMap::new(),
            attempt_classes: BTreeMap::new(),
            // Sized by the latencies it sees (a run keeps one a second, so a fixed one-hour
            // range would cost ~26 KB a second; a few ms of latency need ~7 KB).
            latency: Histogram::new(2).expect("2 significant figures are valid"),
            gauges: BTreeMap::new(),
            invoker_errors: BTreeMap::new(),
        }
    }
}

impl PhaseMetrics {
    fn new(info: PhaseInfo) -> PhaseMetrics {
        PhaseMetrics {
            info,
            sent: None,
            elapsed_us: 0,
            end: None,
            classes: BTreeMap::new(),
            attempt_classes: BTreeMap::new(),
            cancelled: 0,
            stops: BTreeMap::new(),
            latency: histogram(3),
            service: histogram(3),
            by_class: BTreeMap::new(),
            attempts: histogram(2),
            waits: histogram(3),
            seconds: Vec::new(),
            last_us: 0,
            sent_span: None,
            targets: BTreeMap::new(),
            invoker_classes: BTreeMap::new(),
            hop_retries: (0, 0),
            target_classes: BTreeMap::new(),
            cancelled_in_flight: in_flight_histogram(),
        }
    }

    fn second(&mut self, at_us: u64) -> &mut Second {
        let i = (at_us / 1_000_000) as usize;
        if self.seconds.len() <= i {
            self.seconds.resize_with(i + 1, Second::default);
        }
        &mut self.seconds[i]
    }

    fn spanned(&mut self, t: u64) {
        self.sent_span = Some(match self.sent_span {
            None => (t, t),
            Some((a, b)) => (a.min(t), b.max(t)),
        });
    }

    fn add(&mut self, r: &LoadRecord) {
        match r {
            LoadRecord::Attempt(a) => {
                *self.attempt_classes.entry(a.class).or_default() += 1;
                if a.wait_us > 0 {
                    self.waits.saturating_record(a.wait_us);
                }
                *self.second(a.intended_us).attempt_classes.entry(a.class).or_default() += 1;
            }
            LoadRecord::Invoke(i) => {
                self.spanned(i.sent_us);
                let (at, class) = (i.intended_us, i.class);
                let latency = i.latency_us.max(1);
                *self.classes.entry(class).or_default() += 1;
                *self
                    .targets
                    .entry(i.target.clone())
                    .or_default()
                    .entry(class)
                    .or_default() += 1;
                self.latency.saturating_record(latency);
                self.service.saturating_record(i.service_us.max(1));
                self.by_class
                    .entry(class)
                    .or_insert_with(|| histogram(3))
                    .saturating_record(latency);
                self.attempts.saturating_record(u64::from(i.attempts).max(1));
                *self.stops.entry(i.stop.name().to_string()).or_default() += 1;
                self.last_us = self.last_us.max(at + latency);
                if let Some(hop) = &i.invoker {
                    *self.invoker_classes.entry(hop.class).or_default() += 1;
                    self.hop_retries.0 += u64::from(hop.attempts.saturating_sub(1));
                    if hop.class == Class::Ok {
                        self.hop_retries.1 += u64::from(i.attempts.saturating_sub(1));
                        *self.target_classes.entry(class).or_default() += 1;
                    } else {
                        *self.second(at).invoker_errors.entry(hop.class).or_default() += 1;
                    }
                }
                let s = self.second(at);
                s.sent += 1;
                *s.classes.entry(class).or_default() += 1;
                // Auto-resizing: `record` grows it (`saturating_record` would clamp to its size).
                let _ = s.latency.record(latency.min(MAX_US));
            }
            LoadRecord::Cancelled {
                intended_us,
                sent_us,
                in_flight_us,
                ..
            } => {
                self.spanned(*sent_us);
                self.cancelled += 1;
                self.cancelled_in_flight.saturating_record((*in_flight_us).max(1));
                let s = self.second(*intended_us);
                s.sent += 1;
                s.cancelled += 1;
            }
            LoadRecord::Sample { at_us, gauges, .. } => {
                let s = self.second(*at_us);
                for (k, v) in gauges {
                    let e = s.gauges.entry(k.clone()).or_default();
                    *e = (*e).max(*v);
                }
            }
            LoadRecord::PhaseEnd {
                elapsed_us, sent, end, ..
            } => {
                self.elapsed_us = self.elapsed_us.max(*elapsed_us);
                self.sent = Some(self.sent.unwrap_or(0) + sent);
                // Merged phases: the most severe reason wins (any early stop is early).
                if self.end.is_none_or(|e| e == EndReason::Completed) {
                    self.end = Some(*end);
                }
            }
            LoadRecord::Run { .. } | LoadRecord::Phase { .. } => {}
        }
    }

    /// Fold another phase's metrics (another worker's share of the same phase, or a slice of
    /// it that began `offset_s` whole seconds into the phase) into this one; `keep_end` takes
    /// its end reason too.
    fn merge(&mut self, o: &PhaseMetrics, offset_s: u64, keep_end: bool) {
        let off = offset_s * 1_000_000;
        self.sent = match (self.sent, o.sent) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.elapsed_us = self.elapsed_us.max(o.elapsed_us + off);
        if keep_end && self.end.is_none_or(|e| e == EndReason::Completed) {
            self.end = o.end.or(self.end);
        }
        add_counts(&mut self.classes, &o.classes);
        add_counts(&mut self.attempt_classes, &o.attempt_classes);
        add_counts(&mut self.stops, &o.stops);
        self.cancelled += o.cancelled;
        let _ = self.latency.add(&o.latency);
        let _ = self.service.add(&o.service);
        for (c, h) in &o.by_class {
            let _ = self.by_class.entry(*c).or_insert_with(|| histogram(3)).add(h);
        }
        let _ = self.attempts.add(&o.attempts);
        let _ = self.waits.add(&o.waits);
        let first = offset_s as usize;
        if self.seconds.len() < first + o.seconds.len() {
            self.seconds.resize_with(first + o.seconds.len(), Second::default);
        }
        for (mine, theirs) in self.seconds[first..].iter_mut().zip(&o.seconds) {
            mine.sent += theirs.sent;
            mine.cancelled += theirs.cancelled;
            add_counts(&mut mine.classes, &theirs.classes);
            add_counts(&mut mine.attempt_classes, &theirs.attempt_classes);
            let _ = mine.latency.add(&theirs.latency);
            for (k, v) in &theirs.gauges {
                *mine.gauges.entry(k.clone()).or_default() += v;
            }
            add_counts(&mut mine.invoker_errors, &theirs.invoker_errors);
        }
        add_counts(&mut self.invoker_classes, &o.invoker_classes);
        add_counts(&mut self.target_classes, &o.target_classes);
        self.hop_retries.0 += o.hop_retries.0;
        self.hop_retries.1 += o.hop_retries.1;
        let _ = self.cancelled_in_flight.add(&o.cancelled_in_flight);
        self.last_us = self.last_us.max(o.last_us + off);
        if let Some((a, b)) = o.sent_span {
            self.spanned(a + off);
            self.spanned(b + off);
        }
        for (t, counts) in &o.targets {
            add_counts(self.targets.entry(t.clone()).or_default(), counts);
        }
    }

    fn finish(&self) -> PhaseReport {
        let completed: u64 = self.classes.values().sum();
        let sent = self.sent.unwrap_or(completed + self.cancelled);
        let duration_us = self.elapsed_us.max(self.last_us).max(1);
        let duration_s = round3(duration_us as f64 / 1e6);
        let ok = self.classes.get(&Class::Ok).copied().unwrap_or(0);
        let first_second = |pick: &dyn Fn(&Second) -> u64| self.seconds.iter().position(|s| pick(s) > 0);
        let classes = self
            .classes
            .iter()
            .map(|(c, n)| {
                let first = first_second(&|s: &Second| s.classes.get(c).copied().unwrap_or(0));
                ClassRow {
                    class: *c,
                    count: *n,
                    share: ratio(*n, completed),
                    latency: percentiles(&self.by_class[c]),
                    first_second: first.map(|i| i as u64),
                    rate_at_first: first.map(|i| self.seconds[i].sent),
                }
            })
            .collect();
        let attempt_classes = self
            .attempt_classes
            .iter()
            .map(|(c, n)| AttemptRow {
                class: *c,
                count: *n,
                first_second: first_second(&|s: &Second| s.attempt_classes.get(c).copied().unwrap_or(0))
                    .map(|i| i as u64),
            })
            .collect();
        let attempts_total: u64 = self.attempt_classes.values().sum();
        let series = self
            .seconds
            .iter()
            .enumerate()
            .map(|(i, s)| SecondRow {
                second: i as u64,
                intended_rate: self.info.intended_rate.get(i).copied(),
                sent: s.sent,
                ok: s.classes.get(&Class::Ok).copied().unwrap_or(0),
                cancelled: s.cancelled,
                classes: s.classes.iter().map(|(c, n)| (c.name().to_string(), *n)).collect(),
                attempt_errors: s
                    .attempt_classes
                    .iter()
                    .filter(|(c, _)| **c != Class::Ok)
                    .map(|(c, n)| (c.name().to_string(), *n))
                    .collect(),
                p50_ms: (!s.latency.is_empty()).then(|| ms(s.latency.value_at_quantile(0.5))),
                p99_ms: (!s.latency.is_empty()).then(|| ms(s.latency.value_at_quantile(0.99))),
                gauges: s.gauges.clone(),
                invoker_errors: names(&s.invoker_errors),
            })
            .collect::<Vec<_>>();
        let mut gauges_peak = BTreeMap::new();
        for s in &self.seconds {
            for (k, v) in &s.gauges {
                let e: &mut u64 = gauges_peak.entry(k.clone()).or_default();
                *e = (*e).max(*v);
            }
        }
        PhaseReport {
            name: self.info.name.clone(),
            retries: self.info.retries,
            model: self.info.model.clone(),
            load: self.info.load.clone(),
            end: self.end.unwrap_or(EndReason::Completed),
            duration_s,
            sent,
            completed,
            cancelled: self.cancelled,
            accounted: sent == completed + self.cancelled,
            ok,
            errors: completed - ok,
            error_rate: ratio(completed - ok, completed),
            achieved_rate: match self.sent_span {
                // Requests per second between the first and the last send: the drain at the end
                // does not dilute it.
                Some((a, b)) if b > a && sent >= 2 => round3((sent - 1) as f64 / ((b - a) as f64 / 1e6)),
                _ => round3(sent as f64 / (duration_us as f64 / 1e6)),
            },
            throughput_ok: round3(ok as f64 / (duration_us as f64 / 1e6)),
            latency: percentiles(&self.latency),
            latency_uncorrected: percentiles(&self.service),
            classes,
            attempt_classes,
            attempts: AttemptStats {
                total: attempts_total,
                retries: attempts_total.saturating_sub(completed),
                max_per_invoke: self.attempts.max(),
                mean_per_invoke: round3(if self.attempts.is_empty() {
                    0.0
                } else {
                    self.attempts.mean()
                }),
                retry_wait: percentiles(&self.waits),
            },
            stops: self.stops.clone(),
            distribution: distribution(&self.latency),
            series,
            gauges_peak,
            targets: self
                .targets
                .iter()
                .map(|(name, counts)| TargetRow {
                    name: name.clone(),
                    completed: counts.values().sum(),
                    classes: counts.iter().map(|(c, n)| (c.name().to_string(), *n)).collect(),
                })
                .collect(),
            hops: (!self.invoker_classes.is_empty()).then(|| Hops {
                invoker: names(&self.invoker_classes),
                target: names(&self.target_classes),
                retries: HopRetries {
                    invoker: self.hop_retries.0,
                    target: self.hop_retries.1,
                },
                metrics: None,
            }),
            cancelled_in_flight: (!self.cancelled_in_flight.is_empty()).then(|| percentiles(&self.cancelled_in_flight)),
        }
    }
}

/// Counts by class name.
fn names(counts: &BTreeMap<Class, u64>) -> BTreeMap<String, u64> {
    counts.iter().map(|(c, n)| (c.name().to_string(), *n)).collect()
}

/// Histograms on the wire: significant figures and the recorded `(value, count)` pairs.
mod hist {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Wire {
        sigfig: u8,
        values: Vec<(u64, u64)>,
    }

    pub(super) fn to_wire(h: &Histogram<u64>) -> Wire {
        Wire {
            sigfig: h.sigfig(),
            values: h
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
    }

    pub(super) fn from_wire(w: Wire) -> Histogram<u64> {
        let mut h = super::histogram(w.sigfig.clamp(1, 5));
        for (v, n) in w.values {
            let _ = h.record_n(v.clamp(1, super::MAX_US), n);
        }
        h
    }

    pub(crate) fn serialize<S: Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        to_wire(h).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        Ok(from_wire(Wire::deserialize(d)?))
    }
}

mod hist_map {
    use crate::core::classify::Class;
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub(crate) fn serialize<S: Serializer>(m: &BTreeMap<Class, Histogram<u64>>, s: S) -> Result<S::Ok, S::Error> {
        let wire: BTreeMap<Class, super::hist::Wire> = m.iter().map(|(c, h)| (*c, super::hist::to_wire(h))).collect();
        wire.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Class, Histogram<u64>>, D::Error> {
        let wire = BTreeMap::<Class, super::hist::Wire>::deserialize(d)?;
        Ok(wire.into_iter().map(|(c, w)| (c, super::hist::from_wire(w))).collect())
    }
}

fn add_counts<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

fn ratio(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        round3(n as f64 / of as f64 * 100.0) / 100.0
    }
}

fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        count: h.len(),
        min_ms: ms(h.min()),
        mean_ms: round3(h.mean() / 1000.0),
        p50_ms: ms(h.value_at_quantile(0.5)),
        p90_ms: ms(h.value_at_quantile(0.9)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        p999_ms: ms(h.value_at_quantile(0.999)),
        max_ms: ms(h.max()),
    }
}

/// Counts in power-of-two buckets of milliseconds (≤1, ≤2, ≤4 … ms), up to the maximum.
fn distribution(h: &Histogram<u64>) -> Vec<Bucket> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut le_us: u64 = 1000;
    let mut below = 0;
    loop {
        let upto = h.count_between(0, le_us);
        out.push(Bucket {
            le_ms: le_us as f64 / 1000.0,
            count: upto - below,
        });
        below = upto;
        if le_us >= h.max() || le_us >= MAX_US {
            break;
        }
        le_us *= 2;
    }
    out
}

impl Metrics {
    /// Empty statistics.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Add one record.
    pub fn add(&mut self, r: &LoadRecord) {
        match r {
            LoadRecord::Run { run, .. } => self.run = run.clone(),
            LoadRecord::Phase { phase, phase_info } => self.phase_mut(*phase).info = phase_info.clone(),
            _ => self.phase_mut(r.phase()).add(r),
        }
    }

    /// Phase `i`'s statistics, made (with those of the phases before it) when first seen.
    fn phase_mut(&mut self, i: u32) -> &mut PhaseMetrics {
        let i = i as usize;
        while self.phases.len() <= i {
            self.phases.push(PhaseMetrics::new(PhaseInfo::default()));
        }
        &mut self.phases[i]
    }

    /// Fold in the statistics of another process that ran the same phases (a worker's share).
    pub fn merge(&mut self, other: &Metrics) {
        if self.run == RunInfo::default() {
            self.run = other.run.clone();
        }
        for (i, p) in other.phases.iter().enumerate() {
            if let Some(mine) = self.phases.get_mut(i) {
                mine.merge(p, 0, true);
            } else {
                self.phases.push(p.clone());
            }
        }
    }

    /// Fold in a worker's slice of phase `phase` that began `offset` (whole seconds) into it:
    /// its times shifted by `offset`, its own end reason left out (a slice ends at its share
    /// of a stop rule; the merging process decides how the phase ended).
    pub(crate) fn merge_slice(&mut self, phase: u32, other: &Metrics, offset: std::time::Duration) {
        if let Some(p) = other.phases.get(phase as usize) {
            let info = p.info.clone();
            let mine = self.phase_mut(phase);
            if mine.info == PhaseInfo::default() {
                mine.info = info;
            }
            mine.merge(p, offset.as_secs(), false);
        }
    }

    /// Phase `phase`'s completed invokes and how many of them failed, so far.
    pub(crate) fn completed_and_failed(&self, phase: u32) -> (u64, u64) {
        self.phases.get(phase as usize).map_or((0, 0), |p| {
            let completed: u64 = p.classes.values().sum();
            (completed, completed - p.classes.get(&Class::Ok).copied().unwrap_or(0))
        })
    }

    /// How many phases have begun.
    pub fn phases(&self) -> usize {
        self.phases.len()
    }

    /// The report.
    pub fn finish(&self) -> Report {
        Report {
            schema: SCHEMA.to_string(),
            run: self.run.clone(),
            latency_note: LATENCY_NOTE.to_string(),
            phases: self.phases.iter().map(PhaseMetrics::finish).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::retry::StopReason;
    use crate::load::record::{AttemptLine, InvokeLine};

    fn invoke(phase: u32, seq: u64, at_ms: u64, latency_ms: u64, class: Class, attempts: u32) -> Vec<LoadRecord> {
        let mut v = Vec::new();
        for a in 1..=attempts {
            v.push(LoadRecord::Attempt(AttemptLine {
                phase,
                seq,
                intended_us: at_ms * 1000,
                sent_us: at_ms * 1000,
                latency_us: 1000,
                attempt: a,
                wait_us: if a == 1 { 0 } else { 5_000 },
                class: if a == attempts { class } else { Class::Ec2Throttled },
                status: None,
                error_code: None,
            }));
        }
        v.push(LoadRecord::Invoke(InvokeLine {
            phase,
            seq,
            target: "target".into(),
            intended_us: at_ms * 1000,
            sent_us: at_ms * 1000,
            latency_us: latency_ms * 1000,
            service_us: latency_ms * 1000,
            attempts,
            wait_us: 0,
            class,
            status: None,
            error_code: None,
            stop: if class == Class::Ok {
                StopReason::Succeeded
            } else {
                StopReason::NotRetryable
            },
            invoker: None,
        }));
        v
    }

    #[test]
    fn counts_percentiles_and_series_come_from_the_records() {
        let mut m = Metrics::new();
        m.add(&LoadRecord::phase_start(
            0,
            PhaseInfo {
                name: "p".into(),
                ..Default::default()
            },
        ));
        for i in 0..100u64 {
            let class = if i % 10 == 0 { Class::EniLimit } else { Class::Ok };
            for r in invoke(0, i, i * 20, i + 1, class, if i % 5 == 0 { 2 } else { 1 }) {
                m.add(&r);
            }
        }
        m.add(&LoadRecord::cancelled(
            0,
            100,
            std::time::Duration::from_millis(1990),
            std::time::Duration::from_millis(1990),
            std::time::Duration::from_millis(2300),
        ));
        m.add(&LoadRecord::phase_end(
            0,
            std::time::Duration::from_secs(2),
            101,
            EndReason::Completed,
        ));
        let r = m.finish();
        let p = &r.phases[0];
        assert_eq!(
            (p.sent, p.completed, p.cancelled, p.ok, p.errors),
            (101, 100, 1, 90, 10)
        );
        assert!(p.accounted);
        assert_eq!(p.latency.count, 100);
        assert!((p.latency.p50_ms - 50.0).abs() <= 1.0, "{:?}", p.latency);
        assert!((p.latency.max_ms - 100.0).abs() < 0.1, "{:?}", p.latency);
        assert_eq!(p.attempts.total, 120);
        assert_eq!(p.attempts.retries, 20);
        assert_eq!(p.series.len(), 2);
        assert_eq!(p.series[0].sent + p.series[1].sent, 101);
        // Second 0 saw latencies of 1..=50 ms, second 1 of 51..=100 ms.
        let near = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() <= want * 0.02);
        assert!(
            near(p.series[0].p50_ms, 25.0) && near(p.series[0].p99_ms, 50.0),
            "{:?}",
            p.series[0]
        );
        assert!(
            near(p.series[1].p50_ms, 75.0) && near(p.series[1].p99_ms, 100.0),
            "{:?}",
            p.series[1]
        );
        let eni = p.classes.iter().find(|c| c.class == Class::EniLimit).unwrap();
        assert_eq!((eni.count, eni.first_second), (10, Some(0)));
        assert_eq!(p.distribution.iter().map(|b| b.count).sum::<u64>(), 100);
    }

    #[test]
    fn merged_shares_equal_one_process_that_saw_every_record() {
        let mut all = Metrics::new();
        let mut parts = [Metrics::new(), Metrics::new(), Metrics::new()];
        for i in 0..300u64 {
            let class = [Class::Ok, Class::Throttled, Class::SubnetIpLimit][(i % 7 % 3) as usize];
            for r in invoke(0, i, i * 7, i % 50 + 1, class, 1 + (i % 3) as u32) {
                all.add(&r);
                parts[(i % 3) as usize].add(&r);
            }
        }
        let mut merged = Metrics::new();
        for p in &parts {
            merged.merge(p);
        }
        assert_eq!(merged.finish(), all.finish());
    }

    #[test]
    fn metrics_survive_the_wire_between_a_worker_and_the_merger() {
        let mut m = Metrics::new();
        for i in 0..200u64 {
            for r in invoke(
                0,
                i,
                i * 9,
                i % 77 + 1,
                if i % 4 == 0 { Class::EniLimit } else { Class::Ok },
                1 + (i % 2) as u32,
            ) {
                m.add(&r);
            }
        }
        let wire = serde_json::to_string(&m).unwrap();
        let back: Metrics = serde_json::from_str(&wire).unwrap();
        assert_eq!(back.finish(), m.finish());
    }
}
