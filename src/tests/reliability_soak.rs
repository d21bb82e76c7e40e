//! Soak under chaos: a long load run through the load engine and the real SDK against the
//! local endpoint in-process, with seeded random faults of many classes, stalls, slow and
//! oversized answers, a VPC-limited target (per-environment ENIs, small quota, rate-limited
//! EC2 API) and, in a second phase, a proxy that resets connections at random. Every request
//! is accounted for exactly once, the endpoint's own counters agree with the records, memory
//! stays flat, nothing panics and nothing is left running.
//!
//! `XINVOKE_SOAK_REQUESTS` sets the length of the main phase. The default for a plain
//! `cargo test`, 40000, takes about 50 s in a debug build on 2 idle cores (the SDK path runs
//! ~800 invokes/s there); the test command (`scripts/test.sh`) runs the full 100000.

use crate::tests::common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xinvoke::adapters::clients;
use xinvoke::adapters::config::Settings;
use xinvoke::domain::class::Class;
use xinvoke::invoke::service::Service;
use xinvoke::load::engine::{run_phase, Model, Payloads, PhasePlan, StopRules};
use xinvoke::load::record::{EndReason, LoadRecord};
use xinvoke::load::senders::DirectSender;
use xinvoke::load::stats::Metrics;
use xinvoke::local::{builtin, LocalServer, Scenario};

/// The built-in scenario with the target's VPC made small: every concurrent environment takes
/// an ENI and a subnet IP, made through a rate-limited EC2 API.
fn vpc_limited() -> Scenario {
    let text = include_str!("../../src/local/builtin.toml").replace(
        "eni_mode = \"hyperplane\"",
        "eni_mode = \"per_environment\"\neni_quota = 24\nfree_ips_per_subnet = 10\nec2_api_rate = 200.0\nec2_api_burst = 8\neni_setup_ms = 2",
    );
    Scenario::from_toml_str(&text, std::path::Path::new("vpc-limited.toml")).expect("the VPC-limited scenario parses")
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Seeded probability faults of many classes, and stalls (latency without an error).
async fn chaos(server: &LocalServer) -> usize {
    let rules = [
        json!({"error": "TooManyRequestsException", "retry_after_s": 0, "probability": 0.02}),
        json!({"error": "EC2ThrottledException", "probability": 0.02}),
        json!({"error": "ENILimitReachedException", "probability": 0.01}),
        json!({"error": "EC2UnexpectedException", "ec2_error_code": "RequestLimitExceeded", "probability": 0.01}),
        json!({"error": "SubnetIPAddressLimitReachedException", "probability": 0.01}),
        json!({"error": "ResourceNotReadyException", "probability": 0.01}),
        json!({"error": "ServiceException", "probability": 0.03}),
        json!({"error": "EFSIOException", "probability": 0.005}),
        json!({"error": "KMSDisabledException", "probability": 0.005}),
        json!({"error": "InvalidSubnetIDException", "probability": 0.005}),
        json!({"error": "ResourceNotFoundException", "probability": 0.005}),
        json!({"latency_ms": 40, "probability": 0.01}),
    ];
    for (seed, mut rule) in rules.iter().cloned().enumerate() {
        rule["function"] = json!("target");
        rule["seed"] = json!(seed as u64 + 100);
        fault(server, rule).await;
    }
    rules.len()
}

/// Tiny payloads, a few slow answers, a few big ones and a few too big to return.
fn payloads() -> Payloads {
    let mut list = vec![b"{}".to_vec(); 200];
    list[7] = br#"{"sleep_ms": 15}"#.to_vec();
    list[57] = br#"{"bytes": 20000}"#.to_vec();
    list[113] = br#"{"bytes": 7000000}"#.to_vec();
    list[151] = br#"{"fail": "chaos"}"#.to_vec();
    Payloads::cycle(list)
}

fn plan(requests: u64, concurrency: usize) -> PhasePlan {
    PhasePlan {
        name: "soak".into(),
        retries: true,
        model: Model::Closed { concurrency },
        duration: None,
        requests: Some(requests),
        stop: StopRules::default(),
        grace: Duration::from_secs(10),
        max_in_flight: concurrency,
    }
}

#[derive(Default)]
struct Seen {
    invokes: u64,
    cancelled: u64,
    attempts: u64,
    answered_attempts: u64,
    unanswered_classes: BTreeMap<Class, u64>,
    by_class: BTreeMap<Class, u64>,
    attempts_by_error: BTreeMap<String, u64>,
    sent: u64,
}

impl Seen {
    fn take(&mut self, r: &LoadRecord) {
        match r {
            LoadRecord::Invoke(i) => {
                self.invokes += 1;
                *self.by_class.entry(i.class).or_default() += 1;
            }
            LoadRecord::Cancelled { .. } => self.cancelled += 1,
            LoadRecord::Attempt(a) => {
                self.attempts += 1;
                if a.status.is_some() {
                    self.answered_attempts += 1;
                } else {
                    *self.unanswered_classes.entry(a.class).or_default() += 1;
                }
                // The endpoint counts a function error as `Function.Unhandled`.
                let code = match a.class {
                    Class::FunctionError => Some("Function.Unhandled".to_string()),
                    _ => a.error_code.clone(),
                };
                if let Some(code) = code {
                    *self.attempts_by_error.entry(code).or_default() += 1;
                }
            }
            LoadRecord::PhaseEnd { sent, .. } => self.sent = *sent,
            _ => {}
        }
    }
}

async fn direct(svc: Service) -> Arc<DirectSender> {
    Arc::new(DirectSender::new(Arc::new(svc), vec![], None, Duration::from_secs(30)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_chaotic_run_accounts_for_every_request_and_matches_the_endpoint() {
    let requests: u64 = std::env::var("XINVOKE_SOAK_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40_000);
    let server = LocalServer::start(vpc_limited(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let rules = chaos(&server).await;
    let svc = resource_service(&server, &[("XINVOKE_RETRY", &fast_retry(1))]).await;
    let target = direct(svc).await;
    let (_stop_tx, stop) = xinvoke::load::engine::stop_signal();
    let started = Instant::now();
    let mut seen = Seen::default();
    let mut metrics = Metrics::new();
    let mut rss = (0u64, 0u64, 0u64);
    let tenth = requests / 10;
    let run = async {
        let mut sink = |r: &LoadRecord| {
            seen.take(r);
            metrics.add(r);
            if matches!(r, LoadRecord::Invoke(_)) && seen.invokes == tenth {
                rss.0 = rss_kb();
            }
            if matches!(r, LoadRecord::Invoke(_)) && seen.invokes == requests * 55 / 100 {
                rss.1 = rss_kb();
            }
        };
        run_phase(0, &plan(requests, 64), target, &payloads(), None, stop, &mut sink).await
    };
    // Generous (a quarter of the debug build's rate on 2 idle cores), but a stuck task still fails.
    let outcome = tokio::time::timeout(Duration::from_secs(60 + requests / 200), run)
        .await
        .expect("the soak finishes: no stuck task");
    rss.2 = rss_kb();
    let elapsed = started.elapsed();
    assert_eq!(outcome.end, EndReason::Completed);
    assert_eq!(outcome.sent, requests);
    assert_eq!(seen.sent, requests);
    // Every request exactly once: sent = Σ classes + cancelled.
    let by_class: u64 = seen.by_class.values().sum();
    assert_eq!(seen.invokes, by_class);
    assert_eq!(by_class + seen.cancelled, requests, "{:?}", seen.by_class);
    assert_eq!(seen.cancelled, 0, "nothing was left running");
    let report = metrics.finish();
    let phase = &report.phases[0];
    assert!(phase.accounted, "the report accounts for every request");
    assert_eq!((phase.sent, phase.completed), (requests, requests));
    // The endpoint's own counters: every attempt was answered and counted once, per error code.
    let stats = server.stats();
    assert_eq!(seen.answered_attempts, seen.attempts, "no attempt went unanswered");
    assert_eq!(stats.invokes, seen.attempts, "the endpoint counted every attempt once");
    let mut server_errors = stats.invokes_by_error.clone();
    server_errors.retain(|_, n| *n > 0);
    assert_eq!(
        seen.attempts_by_error, server_errors,
        "errors by code, client vs endpoint"
    );
    let status_total: u64 = stats.invokes_by_status.values().sum();
    assert_eq!(status_total, seen.attempts);
    // Chaos happened: many classes, VPC limits included.
    let classes = seen.by_class.len();
    assert!(classes >= 10, "only {classes} classes: {:?}", seen.by_class);
    assert!(seen.by_class.contains_key(&Class::Ok));
    let injected: u64 = server_errors.values().sum();
    eprintln!(
        "soak: {requests} requests, {} attempts, {injected} error answers ({rules} fault rules + VPC limits), \
         {classes} classes {:?}, RSS {} kB at 10% -> {} kB at 55% -> {} kB at 100%, {:.1}s",
        seen.attempts,
        seen.by_class,
        rss.0,
        rss.1,
        rss.2,
        elapsed.as_secs_f64()
    );
    // Memory flat: what the last 90% added is bounded (no per-request growth).
    assert!(rss.0 > 0);
    assert!(rss.1 <= rss.0 + 64 * 1024, "RSS grew from {} kB to {} kB", rss.0, rss.1);
    server.shutdown().await;
}

/// A proxy that resets connections at random, per request: each chunk the client sends (a
/// tiny request) is, with a small probability, answered by a RST instead of being forwarded, or
/// forwarded and then answered by a RST, so the endpoint ran it but the client never hears.
/// (`SO_LINGER` 0 sends the RST on drop and never blocks, unlike the non-zero linger tokio
/// warns about.)
#[allow(deprecated)]
async fn resetting_proxy(upstream: std::net::SocketAddr, seed: u64) -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let resets = Arc::new(AtomicU64::new(0));
    let counted = resets.clone();
    tokio::spawn(async move {
        let mut n = 0u64;
        while let Ok((client, _)) = listener.accept().await {
            n += 1;
            let resets = counted.clone();
            let mut rng = fastrand::Rng::with_seed(seed + n);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let upstream_leg = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let Ok(read) = cr.read(&mut buf).await else {
                            return false;
                        };
                        if read == 0 {
                            return false;
                        }
                        let roll = rng.f64();
                        if roll < 0.01 {
                            return true; // reset before the endpoint sees it
                        }
                        if sw.write_all(&buf[..read]).await.is_err() {
                            return false;
                        }
                        if roll < 0.02 {
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            return true; // reset after the endpoint got it
                        }
                    }
                };
                let downstream_leg = tokio::io::copy(&mut sr, &mut cw);
                tokio::select! {
                    reset = upstream_leg => {
                        if reset {
                            resets.fetch_add(1, Ordering::Relaxed);
                            let _ = cr.as_ref().set_linger(Some(Duration::ZERO));
                        }
                    }
                    _ = downstream_leg => {}
                }
            });
        }
    });
    (addr, resets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_end_sync_invokes_unretried_and_every_request_is_accounted() {
    let server = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    fault(
        &server,
        json!({"function": "target", "latency_ms": 30, "probability": 0.05, "seed": 9}),
    )
    .await;
    let (proxy, resets) = resetting_proxy(server.addr(), 42).await;
    let vars = [
        ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
        ("XINVOKE_RETRY", &fast_retry(2)),
        ("XINVOKE_ATTEMPT_TIMEOUT_MS", "2000"),
    ];
    let settings = Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let base = clients::endpoint_config(
        settings.timeouts,
        format!("http://{proxy}"),
        source_credentials(),
        builtin::REGION,
    )
    .await;
    let target = direct(Service::new(settings, &base).await).await;
    let requests = 3000;
    let (_stop_tx, stop) = xinvoke::load::engine::stop_signal();
    let mut seen = Seen::default();
    let run = async {
        let mut sink = |r: &LoadRecord| seen.take(r);
        run_phase(0, &plan(requests, 16), target, &payloads(), None, stop, &mut sink).await
    };
    let outcome = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the run finishes despite resets");
    assert_eq!(outcome.sent, requests);
    let by_class: u64 = seen.by_class.values().sum();
    assert_eq!(by_class + seen.cancelled, requests, "{:?}", seen.by_class);
    let resets = resets.load(Ordering::Relaxed);
    assert!(resets > 0, "the proxy reset connections");
    // Answered attempts reached the endpoint; a reset one may or may not have.
    let stats = server.stats();
    assert!(
        stats.invokes >= seen.answered_attempts,
        "{} < {}",
        stats.invokes,
        seen.answered_attempts
    );
    assert!(stats.invokes <= seen.attempts, "{} > {}", stats.invokes, seen.attempts);
    let unanswered = seen.attempts - seen.answered_attempts;
    // Attempts the endpoint ran whose answer the reset lost: the connection was made and the
    // sync request sent, so xinvoke does not retry them (the target may have run).
    let ran_unheard = stats.invokes - seen.answered_attempts;
    eprintln!(
        "resets: {requests} requests, {resets} connections reset, {unanswered} attempts unanswered \
         ({ran_unheard} of them ran on the endpoint), classes {:?}",
        seen.by_class
    );
    assert!(unanswered > 0, "some attempts met a reset");
    // A reset is `connect` (an attempt never answered, whatever the endpoint did), and a sync
    // request lost after it was sent is never sent again: every such attempt ends its invoke.
    assert_eq!(
        seen.unanswered_classes.keys().copied().collect::<Vec<_>>(),
        vec![Class::Connect],
        "{:?}",
        seen.unanswered_classes
    );
    assert_eq!(
        seen.by_class.get(&Class::Connect).copied().unwrap_or(0),
        unanswered,
        "each reset attempt was its invoke's last: no sync request is sent twice"
    );
    server.shutdown().await;
}
