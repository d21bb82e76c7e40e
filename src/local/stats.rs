//! Counters of what the server answered, kept in atomics so counting never serialises the
//! hot path, and the [`Stats`] snapshot served by `GET /_local/stats`.

use crate::domain::errors::{Origin, ERRORS};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A snapshot of the server's counters (the JSON of `GET /_local/stats`), from
/// [`LocalServer::stats`](crate::local::LocalServer::stats): [the module's
/// example](crate::local) counts an invoke.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Successful AssumeRole calls.
    pub sts_assume_role: u64,
    /// Successful AssumeRoleWithWebIdentity calls.
    pub sts_assume_role_with_web_identity: u64,
    /// GetCallerIdentity calls answered.
    pub sts_get_caller_identity: u64,
    /// STS error answers by code (`<Code>`), injected faults included.
    pub sts_by_error: BTreeMap<String, u64>,
    /// Invoke requests answered (any status).
    pub invokes: u64,
    /// Invoke requests by function name (requests naming an unknown function are not here).
    pub invokes_by_function: BTreeMap<String, u64>,
    /// Invoke answers by HTTP status.
    pub invokes_by_status: BTreeMap<String, u64>,
    /// Invoke error answers by error name (`x-amzn-ErrorType`); function errors count as
    /// `Function.Unhandled`.
    pub invokes_by_error: BTreeMap<String, u64>,
    /// ENIs held: per-environment VPC functions' and the accounts' Hyperplane ENIs.
    pub enis_in_use: u64,
    /// Hyperplane ENIs made since the world began (creates, updates, wake-ups, growth).
    pub hyperplane_enis_created: u64,
    /// Execution environments created (cold starts) by per-environment VPC functions.
    pub cold_starts: u64,
    /// `Event` invokes accepted (202) and queued.
    pub events_queued: u64,
    /// Queued events that ran and succeeded.
    pub events_succeeded: u64,
    /// Runs of queued events after their first (function errors, throttles, system errors).
    pub events_retried: u64,
    /// Failed events delivered to an on-failure destination.
    pub events_to_destination: u64,
    /// Failed events delivered to a dead-letter queue.
    pub events_to_dead_letter_queue: u64,
    /// Failed events with neither: discarded, as Lambda does.
    pub events_dropped: u64,
    /// Events waiting in the queue now.
    pub events_waiting: u64,
    /// Executions in flight now.
    pub concurrency: u64,
    /// Highest concurrency seen.
    pub concurrency_peak: u64,
}

/// The live counters.
#[derive(Debug)]
pub struct Counters {
    pub(crate) sts_assume_role: AtomicU64,
    pub(crate) sts_assume_role_with_web_identity: AtomicU64,
    pub(crate) sts_get_caller_identity: AtomicU64,
    invokes: AtomicU64,
    by_status: Vec<AtomicU64>,
    by_error: Vec<AtomicU64>,
    function_errors: AtomicU64,
    in_flight: AtomicU32,
    peak: AtomicU32,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            sts_assume_role: AtomicU64::new(0),
            sts_assume_role_with_web_identity: AtomicU64::new(0),
            sts_get_caller_identity: AtomicU64::new(0),
            invokes: AtomicU64::new(0),
            by_status: (0..600).map(|_| AtomicU64::new(0)).collect(),
            by_error: ERRORS.iter().map(|_| AtomicU64::new(0)).collect(),
            function_errors: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            peak: AtomicU32::new(0),
        }
    }
}

impl Counters {
    /// Count one Invoke answer: `error` is an index into the error table.
    pub(crate) fn invoke_answered(&self, status: u16, error: Option<usize>, function_error: bool) {
        self.invokes.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.by_status.get(usize::from(status)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(c) = error.and_then(|i| self.by_error.get(i)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if function_error {
            self.function_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count one STS error answer, by its code.
    pub(crate) fn sts_answered(&self, code: &str) {
        if let Some(c) = ERRORS
            .iter()
            .position(|r| r.origin == Origin::Sts && r.code == code)
            .and_then(|i| self.by_error.get(i))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One more execution in flight.
    pub(crate) fn execution_started(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    /// One execution fewer.
    pub(crate) fn execution_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// The snapshot, without the per-function and VPC parts (the world adds them).
    pub(crate) fn snapshot(&self) -> Stats {
        let nonzero = |v: &AtomicU64| Some(v.load(Ordering::Relaxed)).filter(|&n| n > 0);
        let by_origin = |sts: bool| -> BTreeMap<String, u64> {
            self.by_error
                .iter()
                .zip(ERRORS)
                .filter(|(_, r)| (r.origin == Origin::Sts) == sts)
                .filter_map(|(c, r)| nonzero(c).map(|n| (r.code.to_string(), n)))
                .collect()
        };
        let mut by_error = by_origin(false);
        if let Some(n) = nonzero(&self.function_errors) {
            by_error.insert("Function.Unhandled".into(), n);
        }
        Stats {
            sts_assume_role: self.sts_assume_role.load(Ordering::Relaxed),
            sts_assume_role_with_web_identity: self.sts_assume_role_with_web_identity.load(Ordering::Relaxed),
            sts_get_caller_identity: self.sts_get_caller_identity.load(Ordering::Relaxed),
            sts_by_error: by_origin(true),
            invokes: self.invokes.load(Ordering::Relaxed),
            invokes_by_function: BTreeMap::new(),
            invokes_by_status: self
                .by_status
                .iter()
                .enumerate()
                .filter_map(|(i, c)| nonzero(c).map(|n| (i.to_string(), n)))
                .collect(),
            invokes_by_error: by_error,
            enis_in_use: 0,
            hyperplane_enis_created: 0,
            cold_starts: 0,
            events_queued: 0,
            events_succeeded: 0,
            events_retried: 0,
            events_to_destination: 0,
            events_to_dead_letter_queue: 0,
            events_dropped: 0,
            events_waiting: 0,
            concurrency: u64::from(self.in_flight.load(Ordering::Relaxed)),
            concurrency_peak: u64::from(self.peak.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::errors::lambda_error_index;

    #[test]
    fn counts_statuses_errors_and_peak() {
        let c = Counters::default();
        c.invoke_answered(200, None, false);
        c.invoke_answered(200, None, true);
        c.invoke_answered(429, lambda_error_index("TooManyRequestsException"), false);
        c.execution_started();
        c.execution_started();
        c.execution_finished();
        let s = c.snapshot();
        assert_eq!(s.invokes, 3);
        assert_eq!(s.invokes_by_status["200"], 2);
        assert_eq!(s.invokes_by_error["TooManyRequestsException"], 1);
        assert_eq!(s.invokes_by_error["Function.Unhandled"], 1);
        assert_eq!((s.concurrency, s.concurrency_peak), (1, 2));
    }
}
