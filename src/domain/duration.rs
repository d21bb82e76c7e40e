//! Durations as people write them in flags and files.

use std::time::Duration;

/// `500ms`, `5s`, `2m`, `1h`, `0.5s`, or a plain number of seconds; at most 7 days. The error
/// says what was wrong, with an example.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 500ms, 5s, 2m)"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    let secs = v * scale;
    if !(secs.is_finite() && (0.0..=7.0 * 86_400.0).contains(&secs)) {
        return Err(format!("{s:?} must be between 0 and 7 days"));
    }
    Ok(Duration::from_secs_f64(secs))
}
