//! The HDR histograms the statistics keep, in microseconds: how they are made, how they travel
//! between a Lambda worker and the process that merges (`(value, count)` pairs), and the
//! percentiles and distribution a report reads from them.

use crate::load::stats::report::{Bucket, Percentiles};
use hdrhistogram::Histogram;

/// Highest latency tracked exactly: one hour, in microseconds (higher values are clamped).
pub(super) const MAX_US: u64 = 3_600_000_000;

/// A histogram from 1 µs to [`MAX_US`] with `sigfig` significant figures.
pub(super) fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, sigfig).unwrap_or_else(|_| Histogram::new(sigfig).expect("valid sigfig"))
}

/// Histograms on the wire: significant figures and the recorded `(value, count)` pairs.
pub(super) mod wire {
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

/// Histograms by class on the wire.
pub(super) mod wire_map {
    use crate::domain::class::Class;
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub(crate) fn serialize<S: Serializer>(m: &BTreeMap<Class, Histogram<u64>>, s: S) -> Result<S::Ok, S::Error> {
        let wire: BTreeMap<Class, super::wire::Wire> = m.iter().map(|(c, h)| (*c, super::wire::to_wire(h))).collect();
        wire.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Class, Histogram<u64>>, D::Error> {
        let wire = BTreeMap::<Class, super::wire::Wire>::deserialize(d)?;
        Ok(wire.into_iter().map(|(c, w)| (c, super::wire::from_wire(w))).collect())
    }
}

/// Rounded to three decimals; 0 when not finite.
pub(super) fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// Microseconds as milliseconds, three decimals.
pub(super) fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

/// The percentiles a report shows.
pub(super) fn percentiles(h: &Histogram<u64>) -> Percentiles {
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
pub(super) fn distribution(h: &Histogram<u64>) -> Vec<Bucket> {
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
