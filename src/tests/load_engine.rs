//! The load engine against a fake attempter on tokio's paused clock: coordinated-omission
//! correction under injected stalls, the accounting identity under faults, stops and
//! cancellation, recordings that rebuild the same report, and merged worker shares.

use crate::tests::load_support::*;
use serde_json::json;
use std::time::Duration;
use xinvoke::domain::class::Class;
use xinvoke::load::collect::{read_recording, Collector};
use xinvoke::load::engine::{Model, StopRules};
use xinvoke::load::pacing::Pacing;
use xinvoke::load::record::{EndReason, LoadRecord};
use xinvoke::load::stats::Metrics;

#[tokio::test(start_paused = true)]
async fn a_stalled_target_shows_in_corrected_latency_but_not_in_the_naive_one() {
    // 100/s for 2 s through one connection (at most one in flight); request 50 stalls 1 s.
    // The 100 requests due during the stall queue behind it: wrk2/oha count them from when
    // they were due, so their latency includes the queueing.
    let mut list = vec![json!({}); 200];
    list[50] = json!({"stall_ms": 1000});
    let mut p = plan(Model::Open(Pacing::Rate(100.0)), Some(2000), None);
    p.max_in_flight = 1;
    let (_tx, stop) = stop_signal();
    let (outcome, _records, m) = run(&p, fake_target(true), &payloads(&list), stop).await;
    let r = m.finish();
    let ph = &r.phases[0];
    assert_eq!(outcome.end, EndReason::Completed);
    assert_eq!((ph.sent, ph.completed, ph.cancelled), (200, 200, 0));
    // Naive: one slow request in 200; p90 still ~1 ms.
    assert!(ph.latency_uncorrected.p90_ms < 5.0, "{:?}", ph.latency_uncorrected);
    assert!(ph.latency_uncorrected.max_ms >= 1000.0);
    // Corrected: ~100 requests waited up to a second behind the stall.
    assert!(ph.latency.p90_ms >= 500.0, "{:?}", ph.latency);
    assert!(ph.latency.p50_ms >= 5.0, "{:?}", ph.latency);
    assert!(
        ph.latency.max_ms >= 1000.0 && ph.latency.max_ms < 1100.0,
        "{:?}",
        ph.latency
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_target_does_not_slow_the_open_loop_schedule() {
    // Every request takes 2 s, the rate is 50/s for 2 s: all 100 leave on time.
    let mut p = plan(Model::Open(Pacing::Rate(50.0)), Some(2000), None);
    p.grace = Duration::from_secs(5);
    let (_tx, stop) = stop_signal();
    let (_, records, m) = run(&p, fake_target(true), &payloads(&[json!({"stall_ms": 2000})]), stop).await;
    let ph = &m.finish().phases[0];
    assert_eq!(ph.sent, 100);
    for r in records.iter().filter_map(|r| match r {
        LoadRecord::Invoke(i) => Some(i),
        _ => None,
    }) {
        let late = r.sent_us - r.intended_us;
        assert!(late < 2_000, "request {} left {late} µs late", r.seq);
    }
    assert_eq!(ph.series.iter().map(|s| s.sent).collect::<Vec<_>>(), vec![50, 50]);
}

#[tokio::test(start_paused = true)]
async fn every_request_is_accounted_once_under_faults_retries_and_hangs() {
    let list = [
        json!({}),
        json!({"fail": "EC2ThrottledException"}),
        json!({"fail": "ENILimitReachedException"}),
        json!({"fail": "TooManyRequestsException"}),
        json!({"fail": "SubnetIPAddressLimitReachedException"}),
        json!({"hang": true}),
        json!({"stall_ms": 300}),
    ];
    for retries in [false, true] {
        let mut p = plan(Model::Open(Pacing::parse_steps("20:1s,80:1s").unwrap()), None, None);
        p.grace = Duration::from_millis(200);
        let (_tx, stop) = stop_signal();
        let (outcome, records, m) = run(&p, fake_target(retries), &payloads(&list), stop).await;
        let (by, cancelled) = tally(&records);
        let ph = &m.finish().phases[0];
        assert_eq!(outcome.sent, 100);
        assert_eq!(
            outcome.sent,
            by.values().sum::<u64>() + cancelled,
            "{by:?} + {cancelled}"
        );
        assert!(ph.accounted);
        assert_eq!((ph.sent, ph.completed + ph.cancelled), (100, 100));
        // The hanging ones (1 in 7) never finish: cancelled after the grace period, with any
        // 300 ms request sent in the last 100 ms.
        let cancelled_seqs: Vec<u64> = records
            .iter()
            .filter_map(|r| match r {
                LoadRecord::Cancelled { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect();
        for seq in (0..100).filter(|s| s % 7 == 5) {
            assert!(cancelled_seqs.contains(&seq), "hung request {seq} must be cancelled");
        }
        if !retries {
            assert!(
                cancelled_seqs.iter().all(|s| s % 7 == 5 || (s % 7 == 6 && *s >= 90)),
                "{cancelled_seqs:?}"
            );
        }
        // With retries, invokes still waiting to retry at stop are cancelled too.
        for class in [
            Class::Ec2Throttled,
            Class::EniLimit,
            Class::Throttled,
            Class::SubnetIpLimit,
        ] {
            assert!(
                by.get(class.name()).copied().unwrap_or(0) > 0,
                "{class} missing: {by:?}"
            );
        }
        let seqs: std::collections::BTreeSet<u64> = records
            .iter()
            .filter_map(|r| match r {
                LoadRecord::Invoke(i) => Some(i.seq),
                LoadRecord::Cancelled { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(seqs.len(), 100, "each request exactly once");
        if retries {
            assert!(ph.attempts.retries > 0);
        } else {
            assert_eq!(ph.attempts.retries, 0);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn max_errors_stops_early_and_still_accounts_for_everything() {
    let mut p = plan(Model::Open(Pacing::Rate(100.0)), Some(60_000), None);
    p.stop = StopRules {
        max_errors: Some(10),
        ..StopRules::default()
    };
    let (_tx, stop) = stop_signal();
    let list = [
        json!({"fail": "ENILimitReachedException", "stall_ms": 50}),
        json!({"stall_ms": 50}),
    ];
    let (outcome, records, m) = run(&p, fake_target(false), &payloads(&list), stop).await;
    let (by, cancelled) = tally(&records);
    assert_eq!(outcome.end, EndReason::MaxErrors);
    assert!(outcome.sent < 100, "stopped within a second, sent {}", outcome.sent);
    assert_eq!(outcome.sent, by.values().sum::<u64>() + cancelled);
    assert!(by["eni_limit"] >= 10);
    let ph = &m.finish().phases[0];
    assert_eq!(ph.end, EndReason::MaxErrors);
    assert!(ph.accounted);
}

#[tokio::test(start_paused = true)]
async fn max_error_rate_stops_after_the_minimum_sample() {
    let mut p = plan(Model::Closed { concurrency: 4 }, None, Some(1000));
    p.stop = StopRules {
        max_error_rate: Some(0.2),
        min_sample: 20,
        ..StopRules::default()
    };
    let (_tx, stop) = stop_signal();
    let list = [json!({"fail": "TooManyRequestsException"}), json!({}), json!({})];
    let (outcome, _records, m) = run(&p, fake_target(false), &payloads(&list), stop).await;
    assert_eq!(outcome.end, EndReason::MaxErrorRate);
    let ph = &m.finish().phases[0];
    assert!(ph.completed >= 20 && ph.completed < 40, "{}", ph.completed);
    assert!(ph.accounted);
}

#[tokio::test(start_paused = true)]
async fn a_stop_signal_ends_the_phase_waits_for_the_grace_then_cancels() {
    let mut p = plan(Model::Open(Pacing::Rate(50.0)), Some(60_000), None);
    p.grace = Duration::from_millis(300);
    let (tx, stop) = stop_signal();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let _ = tx.send(xinvoke::load::engine::Stop::Graceful);
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    // Half the requests take 200 ms (finish within the grace), half hang (cancelled).
    let list = [json!({"stall_ms": 200}), json!({"hang": true})];
    let (outcome, records, m) = run(&p, fake_target(true), &payloads(&list), stop).await;
    let (by, cancelled) = tally(&records);
    assert_eq!(outcome.end, EndReason::Interrupted);
    assert!((49..=52).contains(&outcome.sent), "sent {}", outcome.sent);
    assert_eq!(outcome.sent, by.values().sum::<u64>() + cancelled);
    assert_eq!(cancelled, outcome.sent / 2);
    assert!(outcome.elapsed < Duration::from_millis(1400), "{:?}", outcome.elapsed);
    assert!(m.finish().phases[0].accounted);
}

#[tokio::test(start_paused = true)]
async fn closed_loop_keeps_the_concurrency_and_stops_at_the_request_count() {
    let p = plan(Model::Closed { concurrency: 5 }, None, Some(50));
    let (_tx, stop) = stop_signal();
    let (outcome, _records, m) = run(&p, fake_target(true), &payloads(&[json!({"stall_ms": 100})]), stop).await;
    assert_eq!(outcome.sent, 50);
    // 50 requests of 100 ms, five at a time: one second.
    assert!(
        outcome.elapsed >= Duration::from_millis(1000) && outcome.elapsed < Duration::from_millis(1100),
        "{:?}",
        outcome.elapsed
    );
    assert_eq!(m.finish().phases[0].ok, 50);
}

#[tokio::test(start_paused = true)]
async fn a_recording_rebuilds_the_very_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ndjson");
    let mut collector = Collector::new(Some(&path), false).unwrap();
    let p = plan(Model::Open(Pacing::parse_ramp("10:100:2s").unwrap()), Some(2000), None);
    let (_tx, stop) = stop_signal();
    let list = [
        json!({"stall_ms": 30}),
        json!({"fail": "EC2ThrottledException"}),
        json!({"stall_ms": 7}),
    ];
    let (_, records, _) = run(&p, fake_target(true), &payloads(&list), stop).await;
    for r in &records {
        collector.take(r);
    }
    let live = collector.finish().unwrap().finish();
    let again = read_recording(&path).unwrap().finish();
    assert_eq!(live, again);
    assert_eq!(xinvoke::load::report::json(&live), xinvoke::load::report::json(&again));
    assert_eq!(
        xinvoke::load::report::html::render(&live),
        xinvoke::load::report::html::render(&again)
    );
}

#[tokio::test(start_paused = true)]
async fn worker_shares_merged_equal_one_process_that_saw_every_record() {
    // Three workers run the same plan (as --workers 3 would on Lambda); the merged statistics
    // equal one collector fed every worker's records, and the totals are the workers' sums.
    let list = [
        json!({"stall_ms": 20}),
        json!({"fail": "SubnetIPAddressLimitReachedException"}),
        json!({}),
    ];
    let p = plan(Model::Open(Pacing::Rate(40.0)), Some(1500), None);
    let mut merged = Metrics::new();
    let mut single = Metrics::new();
    let mut sent = 0;
    for _ in 0..3 {
        let (_tx, stop) = stop_signal();
        let (outcome, records, m) = run(&p, fake_target(true), &payloads(&list), stop).await;
        sent += outcome.sent;
        merged.merge(&m);
        for r in &records {
            single.add(r);
        }
    }
    let (a, b) = (merged.finish(), single.finish());
    assert_eq!(a, b);
    let ph = &a.phases[0];
    assert_eq!(ph.sent, sent);
    assert_eq!(ph.sent, 180);
    assert!(ph.accounted);
}
