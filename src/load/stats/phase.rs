//! One phase's running statistics ([`PhaseMetrics`]): what each record adds, how a worker's
//! share merges in, and the phase's part of the report.

use crate::domain::class::Class;
use crate::load::record::{EndReason, LoadRecord, PhaseInfo};
use crate::load::stats::histogram::{distribution, histogram, ms, percentiles, round3, MAX_US};
use crate::load::stats::report::{
    AttemptRow, AttemptStats, ClassRow, HopRetries, Hops, PhaseReport, SecondRow, TargetRow,
};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PhaseMetrics {
    pub(super) info: PhaseInfo,
    sent: Option<u64>,
    elapsed_us: u64,
    end: Option<EndReason>,
    pub(super) classes: BTreeMap<Class, u64>,
    attempt_classes: BTreeMap<Class, u64>,
    cancelled: u64,
    stops: BTreeMap<String, u64>,
    #[serde(with = "crate::load::stats::histogram::wire")]
    latency: Histogram<u64>,
    #[serde(with = "crate::load::stats::histogram::wire")]
    service: Histogram<u64>,
    #[serde(with = "crate::load::stats::histogram::wire_map")]
    by_class: BTreeMap<Class, Histogram<u64>>,
    #[serde(with = "crate::load::stats::histogram::wire")]
    attempts: Histogram<u64>,
    #[serde(with = "crate::load::stats::histogram::wire")]
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
    #[serde(default = "in_flight_histogram", with = "crate::load::stats::histogram::wire")]
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
    #[serde(with = "crate::load::stats::histogram::wire")]
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
    pub(super) fn new(info: PhaseInfo) -> PhaseMetrics {
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

    pub(super) fn add(&mut self, r: &LoadRecord) {
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
    pub(super) fn merge(&mut self, o: &PhaseMetrics, offset_s: u64, keep_end: bool) {
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

    pub(super) fn finish(&self) -> PhaseReport {
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

fn add_counts<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

fn ratio(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        round3(n as f64 / of as f64 * 100.0) / 100.0
    }
}
