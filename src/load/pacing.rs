//! Pacing: when the i-th request of an open-loop run is due. A pure function of elapsed time
//! and hits so far, so a slow target can never slow the schedule down (vegeta's pacer, wrk2's
//! constant throughput): late requests are still counted from the time they were due.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// An open-loop schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Pacing {
    /// A constant rate (requests per second), for ever (bounded by the run's limits).
    Rate(f64),
    /// A linear ramp from one rate to another over a duration, then the final rate held.
    Ramp { from: f64, to: f64, over: Duration },
    /// Constant-rate steps, one after another; the schedule ends after the last step.
    Steps(Vec<Step>),
    /// The rest of a schedule from `offset` on (a worker's slice): hit `i` is the schedule's
    /// hit `skip + i`, due `offset` earlier. Slices at consecutive offsets share the
    /// schedule's hits exactly, each once.
    After {
        inner: Box<Pacing>,
        offset: Duration,
        /// The schedule's hits due before `offset`.
        skip: u64,
    },
}

/// One constant-rate step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub rate: f64,
    pub duration: Duration,
}

/// A pacing specification that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PacingError(pub String);

impl Pacing {
    /// Hits due by `elapsed` (the count of `i` with `send_time(i) <= elapsed`).
    pub fn due(&self, elapsed: Duration) -> u64 {
        if let Pacing::After { inner, offset, skip } = self {
            return inner.due(*offset + elapsed).saturating_sub(*skip);
        }
        // Hit i is sent the moment the cumulative count reaches i, so hit 0 is due at t=0. The
        // epsilon counts a hit due exactly at `elapsed` despite rounding.
        let n = (self.hits_by(elapsed.as_secs_f64()) + 1e-6).floor() as u64 + 1;
        match self.total() {
            Some(total) => n.min(total),
            None => n,
        }
    }

    /// When hit `i` (0-based) is due, from the start; `None` when the schedule has ended first.
    pub(crate) fn send_time(&self, i: u64) -> Option<Duration> {
        if let Some(total) = self.total() {
            if i >= total {
                return None;
            }
        }
        let target = i as f64;
        let secs = match self {
            Pacing::After { inner, offset, skip } => {
                return inner.send_time(skip + i).map(|t| t.saturating_sub(*offset));
            }
            Pacing::Rate(r) => {
                if *r <= 0.0 {
                    return None;
                }
                target / r
            }
            Pacing::Ramp { from, to, over } => {
                let d = over.as_secs_f64();
                let at_end = (from + to) / 2.0 * d;
                if target <= at_end {
                    solve_ramp(*from, *to, d, target)?
                } else {
                    if *to <= 0.0 {
                        return None;
                    }
                    d + (target - at_end) / to
                }
            }
            Pacing::Steps(steps) => {
                let mut start = 0.0;
                let mut before = 0.0;
                let mut found = None;
                for s in steps {
                    let d = s.duration.as_secs_f64();
                    let hits = s.rate * d;
                    if s.rate > 0.0 && target <= before + hits + 1e-9 {
                        found = Some(start + (target - before) / s.rate);
                        break;
                    }
                    before += hits;
                    start += d;
                }
                found?
            }
        };
        Some(Duration::from_nanos((secs.max(0.0) * 1e9).round() as u64))
    }

    /// The same shape at `factor` times the rate (a worker's share of a fanned-out load).
    pub(crate) fn scaled(&self, factor: f64) -> Pacing {
        match self {
            Pacing::Rate(r) => Pacing::Rate(r * factor),
            Pacing::Ramp { from, to, over } => Pacing::Ramp {
                from: from * factor,
                to: to * factor,
                over: *over,
            },
            Pacing::Steps(steps) => Pacing::Steps(
                steps
                    .iter()
                    .map(|s| Step {
                        rate: s.rate * factor,
                        duration: s.duration,
                    })
                    .collect(),
            ),
            Pacing::After { inner, offset, .. } => inner.scaled(factor).after(*offset),
        }
    }

    /// The rest of this schedule from `offset` on, as its own schedule starting at zero.
    pub(crate) fn after(&self, offset: Duration) -> Pacing {
        if let Pacing::After { inner, offset: o, .. } = self {
            return inner.after(*o + offset);
        }
        // The first hit due at or after `offset`: start from the rounded count and step to it.
        let mut skip = self.due(offset);
        while skip > 0 && self.send_time(skip - 1).is_some_and(|t| t >= offset) {
            skip -= 1;
        }
        while self.send_time(skip).is_some_and(|t| t < offset) {
            skip += 1;
        }
        Pacing::After {
            inner: Box::new(self.clone()),
            offset,
            skip,
        }
    }

    /// The specification `FromStr` reads back (`R`, `ramp:…`, `steps:…`).
    pub fn spec(&self) -> String {
        let d = |d: Duration| format!("{}ms", d.as_millis());
        match self {
            Pacing::Rate(r) => format!("{r}"),
            Pacing::Ramp { from, to, over } => format!("ramp:{from}:{to}:{}", d(*over)),
            Pacing::Steps(steps) => format!(
                "steps:{}",
                steps
                    .iter()
                    .map(|s| format!("{}:{}", s.rate, d(s.duration)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Pacing::After { inner, offset, .. } => format!("after:{}:{}", d(*offset), inner.spec()),
        }
    }

    /// The schedule's own end, if it has one (steps end after the last).
    pub fn end(&self) -> Option<Duration> {
        match self {
            Pacing::Steps(steps) => Some(steps.iter().map(|s| s.duration).sum()),
            Pacing::After { inner, offset, .. } => inner.end().map(|e| e.saturating_sub(*offset)),
            _ => None,
        }
    }

    /// Hits in the whole schedule, when it ends by itself.
    fn total(&self) -> Option<u64> {
        match self {
            Pacing::Steps(steps) => {
                let hits: f64 = steps.iter().map(|s| s.rate * s.duration.as_secs_f64()).sum();
                Some((hits - 1e-9).ceil().max(0.0) as u64)
            }
            Pacing::After { inner, skip, .. } => inner.total().map(|t| t.saturating_sub(*skip)),
            _ => None,
        }
    }

    /// Cumulative hits (continuous) by `t` seconds.
    fn hits_by(&self, t: f64) -> f64 {
        match self {
            Pacing::Rate(r) => r * t,
            Pacing::Ramp { from, to, over } => {
                let d = over.as_secs_f64();
                if t <= d {
                    from * t + (to - from) * t * t / (2.0 * d)
                } else {
                    (from + to) / 2.0 * d + to * (t - d)
                }
            }
            Pacing::Steps(steps) => {
                let (mut start, mut hits) = (0.0, 0.0);
                for s in steps {
                    let d = s.duration.as_secs_f64();
                    if t < start + d {
                        return hits + s.rate * (t - start);
                    }
                    hits += s.rate * d;
                    start += d;
                }
                hits
            }
            Pacing::After { inner, offset, skip } => inner.hits_by(offset.as_secs_f64() + t) - *skip as f64,
        }
    }
}

/// The time at which a linear ramp's cumulative hits reach `n`: the root of
/// `from·t + (to-from)·t²/(2d) = n`.
fn solve_ramp(from: f64, to: f64, d: f64, n: f64) -> Option<f64> {
    if d == 0.0 {
        return Some(0.0);
    }
    let a = (to - from) / (2.0 * d);
    if a.abs() < 1e-12 {
        return (from > 0.0).then(|| n / from);
    }
    let disc = from * from + 4.0 * a * n;
    if disc < 0.0 {
        return None;
    }
    // The numerically stable root of a·t² + from·t - n = 0.
    let t = 2.0 * n / (from + disc.sqrt());
    t.is_finite().then_some(t)
}

impl fmt::Display for Pacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pacing::Rate(r) => write!(f, "{r}/s"),
            Pacing::Ramp { from, to, over } => write!(f, "ramp {from}/s to {to}/s over {}", secs(*over)),
            Pacing::Steps(steps) => {
                let parts: Vec<String> = steps
                    .iter()
                    .map(|s| format!("{}/s for {}", s.rate, secs(s.duration)))
                    .collect();
                write!(f, "steps {}", parts.join(", "))
            }
            Pacing::After { inner, offset, .. } => write!(f, "{inner}, from {}", secs(*offset)),
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// Parse a duration: `500ms`, `5s`, `2m`, or a plain number of seconds, at most 7 days.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, PacingError> {
    crate::domain::duration::parse(s, crate::domain::duration::Unit::Seconds).map_err(|e| PacingError(e.to_string()))
}

fn parse_rate(s: &str) -> Result<f64, PacingError> {
    let r: f64 = s
        .trim()
        .trim_end_matches("/s")
        .parse()
        .map_err(|_| PacingError(format!("{s:?} is not a rate (invokes per second, e.g. 50)")))?;
    if !(r.is_finite() && (0.0..=1_000_000.0).contains(&r)) {
        return Err(PacingError(format!(
            "rate {s:?} must be between 0 and 1000000 per second"
        )));
    }
    Ok(r)
}

impl Pacing {
    /// `--rate R`.
    pub(crate) fn parse_rate(s: &str) -> Result<Pacing, PacingError> {
        let r = parse_rate(s)?;
        if r == 0.0 {
            return Err(PacingError("must be above 0".into()));
        }
        Ok(Pacing::Rate(r))
    }

    /// `--ramp FROM:TO:DURATION`, e.g. `10:200:10s`.
    pub fn parse_ramp(s: &str) -> Result<Pacing, PacingError> {
        let parts: Vec<&str> = s.split(':').collect();
        let [from, to, over] = parts.as_slice() else {
            return Err(PacingError("expected FROM:TO:DURATION, e.g. 10:200:10s".into()));
        };
        let (from, to, over) = (parse_rate(from)?, parse_rate(to)?, parse_duration(over)?);
        if over.is_zero() || (from == 0.0 && to == 0.0) {
            return Err(PacingError("needs a duration above 0 and a rate above 0".into()));
        }
        Ok(Pacing::Ramp { from, to, over })
    }

    /// `--steps "RATE:DURATION,..."`, e.g. `10:5s,50:5s,100:5s`.
    pub fn parse_steps(s: &str) -> Result<Pacing, PacingError> {
        let steps = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (rate, dur) = p
                    .split_once(':')
                    .ok_or_else(|| PacingError(format!("{p:?} is not RATE:DURATION, e.g. 50:5s")))?;
                Ok(Step {
                    rate: parse_rate(rate)?,
                    duration: parse_duration(dur)?,
                })
            })
            .collect::<Result<Vec<Step>, PacingError>>()?;
        if steps.is_empty() || steps.iter().all(|s| s.rate == 0.0 || s.duration.is_zero()) {
            return Err(PacingError(
                "needs at least one step with a rate and a duration, e.g. 10:5s,50:5s".into(),
            ));
        }
        Ok(Pacing::Steps(steps))
    }
}

impl FromStr for Pacing {
    type Err = PacingError;

    /// `R`, `ramp:FROM:TO:DURATION` or `steps:RATE:DUR,...`.
    fn from_str(s: &str) -> Result<Pacing, PacingError> {
        if let Some(r) = s.strip_prefix("after:") {
            let (offset, inner) = r
                .split_once(':')
                .ok_or_else(|| PacingError("expected after:OFFSET:SCHEDULE, e.g. after:5s:50".into()))?;
            Ok(inner.parse::<Pacing>()?.after(parse_duration(offset)?))
        } else if let Some(r) = s.strip_prefix("ramp:") {
            Pacing::parse_ramp(r)
        } else if let Some(r) = s.strip_prefix("steps:") {
            Pacing::parse_steps(r)
        } else {
            Pacing::parse_rate(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn a_constant_rate_sends_evenly_from_time_zero() {
        let p = Pacing::Rate(10.0);
        assert_eq!(p.send_time(0), Some(ms(0)));
        assert_eq!(p.send_time(1), Some(ms(100)));
        assert_eq!(p.send_time(25), Some(ms(2500)));
        assert_eq!(p.due(ms(0)), 1);
        assert_eq!(p.due(ms(99)), 1);
        assert_eq!(p.due(ms(100)), 2);
        assert_eq!(p.due(ms(1000)), 11);
    }

    #[test]
    fn due_and_send_time_agree_for_every_schedule() {
        let schedules = [
            Pacing::Rate(37.0),
            Pacing::Ramp {
                from: 10.0,
                to: 100.0,
                over: ms(5000),
            },
            Pacing::Ramp {
                from: 100.0,
                to: 5.0,
                over: ms(3000),
            },
            Pacing::Steps(vec![
                Step {
                    rate: 10.0,
                    duration: ms(1000),
                },
                Step {
                    rate: 50.0,
                    duration: ms(500),
                },
                Step {
                    rate: 0.0,
                    duration: ms(500),
                },
                Step {
                    rate: 100.0,
                    duration: ms(1000),
                },
            ]),
        ];
        for p in schedules {
            let mut last = Duration::ZERO;
            for i in 0..150 {
                let Some(t) = p.send_time(i) else { break };
                assert!(t >= last, "{p}: send times must not go back ({i})");
                last = t;
                assert!(
                    p.due(t) > i,
                    "{p}: hit {i} at {t:?} must be due by then (due {})",
                    p.due(t)
                );
                if t > ms(1) {
                    assert!(p.due(t - ms(1)) <= i + 1, "{p}: hit {i} must not be due 1ms early");
                }
            }
        }
    }

    /// A worker's slices: the schedule cut at whole seconds, each slice its own schedule from
    /// zero. Every hit of the whole lands in exactly one slice, at the same time.
    #[test]
    fn slices_share_the_schedules_hits_exactly_once() {
        let schedules = [
            Pacing::Rate(0.7),
            Pacing::Rate(37.0),
            Pacing::Ramp {
                from: 3.0,
                to: 90.0,
                over: ms(7000),
            },
            Pacing::parse_steps("10:1500ms,0:1s,40:2500ms").unwrap(),
        ];
        let end = ms(10_000);
        let slice = ms(2000);
        for p in schedules {
            let whole: Vec<Duration> = (0..).map_while(|i| p.send_time(i)).take_while(|t| *t < end).collect();
            let mut sliced = Vec::new();
            let mut offset = Duration::ZERO;
            while offset < end {
                // Sent over the wire as its spec, as the harness sends a worker its slice.
                let part: Pacing = p.after(offset).spec().parse().unwrap();
                sliced.extend(
                    (0..)
                        .map_while(|i| part.send_time(i))
                        .take_while(|t| *t < slice)
                        .map(|t| t + offset),
                );
                offset += slice;
            }
            assert_eq!(sliced.len(), whole.len(), "{p}: every hit once");
            for (a, b) in whole.iter().zip(&sliced) {
                assert!(a.abs_diff(*b) <= Duration::from_micros(1), "{p}: {a:?} vs {b:?}");
            }
        }
        let late = Pacing::parse_steps("10:1s").unwrap().after(ms(3000));
        assert_eq!(
            late.send_time(0),
            None,
            "a slice after the schedule's end sends nothing"
        );
        assert_eq!(
            Pacing::Rate(5.0).after(ms(1000)).after(ms(1000)).spec(),
            "after:2000ms:5"
        );
    }

    #[test]
    fn a_ramp_sends_the_area_under_the_rate_line() {
        let p = Pacing::Ramp {
            from: 0.0,
            to: 100.0,
            over: ms(10_000),
        };
        // 0→100/s over 10 s is 500 hits; then 100/s.
        assert_eq!(p.due(ms(10_000)), 501);
        assert_eq!(p.due(ms(11_000)), 601);
        // The first second carries 5 hits, the last second of the ramp 95.
        assert_eq!(p.due(ms(1000)) - p.due(ms(0)), 5);
        assert_eq!(p.due(ms(10_000)) - p.due(ms(9000)), 95);
        let late = p.send_time(600).unwrap();
        assert!((late.as_secs_f64() - 11.0).abs() < 1e-6, "{late:?}");
    }

    #[test]
    fn steps_follow_each_other_and_end() {
        let p = Pacing::parse_steps("10:1s,50:1s,100:500ms").unwrap();
        assert_eq!(p.end(), Some(ms(2500)));
        assert_eq!(p.due(ms(999)), 10);
        assert_eq!(p.due(ms(1999)), 60);
        assert_eq!(p.due(ms(2500)), 110);
        assert_eq!(p.due(ms(60_000)), 110);
        assert_eq!(p.send_time(10), Some(ms(1000)));
        assert_eq!(p.send_time(60), Some(ms(2000)));
        assert_eq!(p.send_time(109), Some(ms(2490)));
        assert_eq!(p.send_time(110), None);
    }

    #[test]
    fn specifications_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!("25".parse::<Pacing>().unwrap(), Pacing::Rate(25.0));
        assert_eq!(
            Pacing::parse_ramp("10:200:10s").unwrap(),
            Pacing::Ramp {
                from: 10.0,
                to: 200.0,
                over: ms(10_000)
            }
        );
        assert_eq!(parse_duration("250ms").unwrap(), ms(250));
        assert_eq!(parse_duration("2m").unwrap(), ms(120_000));
        assert_eq!(parse_duration("3").unwrap(), ms(3000));
        assert!(Pacing::parse_ramp("10:200").unwrap_err().0.contains("FROM:TO:DURATION"));
        assert!(Pacing::parse_steps("10").unwrap_err().0.contains("RATE:DURATION"));
        assert!(Pacing::parse_rate("0").is_err());
        assert!(Pacing::parse_rate("fast").unwrap_err().0.contains("invokes per second"));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
