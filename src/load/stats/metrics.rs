//! The statistics of a whole run ([`Metrics`]): records added one at a time, each to its
//! phase; a worker's share merged; the report when the run is done.

use crate::domain::class::Class;
use crate::load::record::{LoadRecord, PhaseInfo, RunInfo};
use crate::load::stats::phase::PhaseMetrics;
use crate::load::stats::report::{Report, LATENCY_NOTE, SCHEMA};
use serde::{Deserialize, Serialize};

/// Running statistics of a whole run (every phase). Serializable, so that a worker can ship
/// its share to the process that merges (histograms travel as `(value, count)` pairs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Metrics {
    run: RunInfo,
    phases: Vec<PhaseMetrics>,
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
    #[cfg(test)]
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
    use crate::domain::retry::StopReason;
    use crate::load::record::{AttemptLine, EndReason, InvokeLine};

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
