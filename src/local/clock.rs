//! The server's clock: real time plus an offset the control API can advance, so tests can
//! expire STS sessions and idle functions without waiting. Signature skew is checked against
//! real time (clients sign with it); expiry and idleness use the advanced time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Real time plus an adjustable offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// A clock at real time.
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Real Unix time in milliseconds, ignoring any advance.
    pub(crate) fn real_ms() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// The server's Unix time in milliseconds (real time plus the advance).
    pub fn now_ms(&self) -> i64 {
        Clock::real_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Move the server's time forward by `seconds` (negative moves it back).
    pub fn advance_s(&self, seconds: i64) {
        self.offset_ms
            .fetch_add(seconds.saturating_mul(1000), Ordering::Relaxed);
    }

    /// How far the clock has been advanced, in seconds.
    pub(crate) fn offset_s(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed) / 1000
    }
}

pub use crate::domain::utc::{amz_date, iso8601, parse_amz_date};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_server_time_only() {
        let c = Clock::new();
        let before = c.now_ms() / 1000;
        c.advance_s(3600);
        assert!(c.now_ms() / 1000 >= before + 3600);
        assert!(Clock::real_ms() / 1000 < before + 60);
    }
}
