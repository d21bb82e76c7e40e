//! UTC calendar arithmetic for the timestamps AWS writes (`X-Amz-Date`, STS `Expiration`, report
//! times): Unix seconds to civil fields and back, without a date crate.

/// Days since 1970-01-01 to a civil (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Civil date to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds to UTC (year, month, day, hour, minute, second).
pub fn split(unix_s: i64) -> (i64, u32, u32, i64, i64, i64) {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, secs / 3600, (secs % 3600) / 60, secs % 60)
}

/// `2026-11-23T12:00:00Z`, as STS writes `Expiration`.
pub fn iso8601(unix_s: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix_s);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `20261123T120000Z`, as SigV4 writes `X-Amz-Date`.
pub fn amz_date(unix_s: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix_s);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Parse `20261123T120000Z` into Unix seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z", "19700101T000000Z"),
            (951_782_400, "2000-02-29T00:00:00Z", "20000229T000000Z"),
            (1_795_435_200, "2026-11-23T12:00:00Z", "20261123T120000Z"),
        ];
        for (unix, iso, amz) in cases {
            assert_eq!(iso8601(unix), iso);
            assert_eq!(amz_date(unix), amz);
            assert_eq!(parse_amz_date(amz), Some(unix));
        }
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "2026-11-23",
            "20261323T000000Z",
            "2026112xT000000Z",
            "20261123T000000",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }
}
