//! Durations as people write them: one syntax for every flag, variable and file field, so a
//! user learns it once. `1500ms`, `30s`, `2m`, `1h`, decimals allowed (`0.5s`). A bare number
//! keeps the unit that setting always had ([`Unit`]): seconds for `--deadline` and the load
//! flags, milliseconds for the `*_MS` variables and flags; each says so in its help. Errors say
//! what was wrong and show an example; the caller names the flag or variable.

use std::fmt;
use std::time::Duration;

/// What a bare number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `1500` is 1.5 s (the `*_MS` settings).
    Millis,
    /// `30` is 30 s.
    Seconds,
}

impl Unit {
    fn scale(self) -> f64 {
        match self {
            Unit::Millis => 0.001,
            Unit::Seconds => 1.0,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::Millis => "milliseconds",
            Unit::Seconds => "seconds",
        })
    }
}

/// A duration that cannot be read or is out of its setting's range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a number with an optional unit.
    #[error("{given:?} is not a duration: write e.g. 1500ms, 30s or 2m (a bare number is {bare})")]
    NotADuration {
        /// What was given.
        given: String,
        /// What a bare number means here.
        bare: Unit,
    },
    /// A unit other than `ms`, `s`, `m`, `h`.
    #[error("{given:?}: unknown unit {unit:?}; use ms, s, m or h, e.g. 30s")]
    UnknownUnit {
        /// What was given.
        given: String,
        /// The unit as written.
        unit: String,
    },
    /// Outside the setting's range.
    #[error("{given:?} is out of range: from {} to {}, e.g. {}", show(*.min), show(*.max), show(*.max / 2))]
    OutOfRange {
        /// What was given.
        given: String,
        /// The shortest allowed.
        min: Duration,
        /// The longest allowed.
        max: Duration,
    },
}

/// The longest duration any setting takes.
pub const WEEK: Duration = Duration::from_secs(7 * 86_400);

/// Read `s` (`1500ms`, `30s`, `2m`, `1h`, or a bare number of `bare`), from zero to a week.
pub fn parse(s: &str, bare: Unit) -> Result<Duration, DurationError> {
    parse_in(s, bare, Duration::ZERO, WEEK)
}

/// As [`parse`], within `min..=max`.
pub fn parse_in(s: &str, bare: Unit, min: Duration, max: Duration) -> Result<Duration, DurationError> {
    let given = s.trim();
    let (num, unit) = match given.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&given[..i], &given[i..]),
        None => (given, ""),
    };
    let not_one = || DurationError::NotADuration {
        given: given.to_string(),
        bare,
    };
    if num.trim().is_empty() {
        return Err(not_one());
    }
    let scale = match unit {
        "" => bare.scale(),
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(DurationError::UnknownUnit {
                given: given.to_string(),
                unit: unit.to_string(),
            })
        }
    };
    let v: f64 = num.trim().parse().map_err(|_| not_one())?;
    let secs = v * scale;
    if !secs.is_finite() {
        return Err(not_one());
    }
    let out_of_range = || DurationError::OutOfRange {
        given: given.to_string(),
        min,
        max,
    };
    if secs < 0.0 || secs > max.as_secs_f64() + 1e-9 {
        return Err(out_of_range());
    }
    let d = Duration::from_secs_f64(secs);
    if d < min {
        return Err(out_of_range());
    }
    Ok(d.min(max))
}

/// A duration as the syntax writes it: `1500ms`, `30s`, `2m`, `1h`, `0.5s`.
pub fn show(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    let whole = |v: f64| (v - v.round()).abs() < 1e-9;
    if ms == 0.0 {
        "0s".into()
    } else if ms < 1000.0 || (!whole(ms / 1000.0) && whole(ms)) {
        format!("{}ms", ms.round() as u64)
    } else if whole(ms / 3_600_000.0) {
        format!("{}h", (ms / 3_600_000.0).round() as u64)
    } else if whole(ms / 60_000.0) {
        format!("{}m", (ms / 60_000.0).round() as u64)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_a_bare_number_in_its_settings_unit() {
        let cases = [
            ("1500ms", Unit::Seconds, 1500),
            ("30s", Unit::Millis, 30_000),
            ("2m", Unit::Millis, 120_000),
            ("1h", Unit::Seconds, 3_600_000),
            ("0.5s", Unit::Seconds, 500),
            (" 45 ", Unit::Seconds, 45_000),
            ("25000", Unit::Millis, 25_000),
            ("0", Unit::Millis, 0),
        ];
        for (text, bare, ms) in cases {
            assert_eq!(parse(text, bare), Ok(Duration::from_millis(ms)), "{text}");
        }
    }

    #[test]
    fn errors_say_what_is_wrong_with_an_example() {
        let e = parse("soon", Unit::Millis).unwrap_err().to_string();
        assert!(
            e.contains("\"soon\"") && e.contains("30s") && e.contains("milliseconds"),
            "{e}"
        );
        let e = parse("5d", Unit::Seconds).unwrap_err().to_string();
        assert!(e.contains("unknown unit \"d\"") && e.contains("e.g. 30s"), "{e}");
        let e = parse("-1s", Unit::Seconds).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        let e = parse_in("2m", Unit::Seconds, Duration::from_secs(1), Duration::from_secs(30))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "\"2m\" is out of range: from 1s to 30s, e.g. 15s");
        assert!(parse("8d", Unit::Seconds).is_err());
        assert!(parse("NaNs", Unit::Seconds).is_err());
        assert!(parse("inf", Unit::Seconds).is_err());
        assert!(parse("", Unit::Seconds).is_err());
    }

    #[test]
    fn show_writes_what_parse_reads() {
        for ms in [0, 1, 250, 1000, 1500, 30_000, 90_000, 120_000, 3_600_000, 86_400_000] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse(&show(d), Unit::Seconds), Ok(d), "{}", show(d));
        }
        assert_eq!(show(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show(Duration::from_secs(30)), "30s");
        assert_eq!(show(Duration::from_secs(120)), "2m");
    }
}
