//! Assumed-role sessions that expire mid-run, with the endpoint's clock moved forward
//! (`POST /_local/clock`), and what xinvoke guarantees when they do.
//!
//! xinvoke caches assumed-role credentials itself (`adapters::credentials`): one AssumeRole per
//! session, refreshed before the expiry by the client's clock, and dropped as soon as the
//! service answers ExpiredToken, whatever the client's clock says (the endpoint's clock here is
//! ahead of the client's, the hard case). The invoke that meets the expiry retries once on a
//! fresh session, so no invoke fails for it, and a burst of invokes causes one AssumeRole.

use crate::tests::common::*;
use xinvoke::domain::class::Class;
use xinvoke::domain::invocation::InvocationType;
use xinvoke::domain::record::InvokeRecord;
use xinvoke::domain::retry::StopReason;
use xinvoke::invoke::service::{Call, Service};

async fn invoke(svc: &Service) -> InvokeRecord {
    let call = Call {
        payload: b"{}".to_vec(),
        invocation_type: Some(InvocationType::RequestResponse),
        ..Call::default()
    };
    svc.invoke(call, None).await.unwrap()
}

#[tokio::test]
async fn a_session_serves_its_lifetime_with_one_assume_role_and_no_failures() {
    let server = start().await;
    let svc = role_service(&server, &[]).await;
    // The session lasts 3600 s (STS's default); walk the endpoint's clock through most of it.
    for step in 0..6 {
        for _ in 0..5 {
            let r = invoke(&svc).await;
            assert_eq!((r.class(), r.attempts), (Class::Ok, 1), "step {step}: {r:?}");
        }
        control_client(&server).advance_clock(590).await.unwrap();
    }
    assert_eq!(server.stats().sts_assume_role, 1, "one AssumeRole per session");
    server.shutdown().await;
}

#[tokio::test]
async fn a_session_expired_by_the_endpoint_clock_is_refreshed_and_no_invoke_fails() {
    let server = start().await;
    // The default retry policy: an expired token is retried once, 0.1 s later.
    let svc = role_service(&server, &[]).await;
    assert_eq!(invoke(&svc).await.class(), Class::Ok);
    control_client(&server).advance_clock(3700).await.unwrap();
    let first = invoke(&svc).await;
    assert_eq!(
        (first.class(), first.attempts, first.stop),
        (Class::Ok, 2, StopReason::Succeeded),
        "{first:?}"
    );
    assert_eq!(
        first.attempt_log[0].error_code.as_deref(),
        Some("ExpiredTokenException")
    );
    for _ in 0..10 {
        let r = invoke(&svc).await;
        assert_eq!(
            (r.class(), r.attempts),
            (Class::Ok, 1),
            "the fresh session serves: {r:?}"
        );
    }
    assert_eq!(server.stats().sts_assume_role, 2, "one AssumeRole per session");
    server.shutdown().await;
}

#[tokio::test]
async fn the_fast_path_shares_the_session_and_refreshes_it_the_same_way() {
    use xinvoke::adapters::config::Settings;
    use xinvoke::adapters::signed::InvokePath;
    let server = start().await;
    let vars = [
        ("XINVOKE_TARGET_ARN", xinvoke::local::builtin::TARGET_FUNCTION_ARN),
        ("XINVOKE_ROLE_ARN", xinvoke::local::builtin::INVOKE_ROLE_ARN),
        ("XINVOKE_EXTERNAL_ID", xinvoke::local::builtin::EXTERNAL_ID),
    ];
    let settings = Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let base = base(&server, source_credentials(), settings.timeouts).await;
    let svc = Service::with_path(settings, &base, InvokePath::Signed).await;
    assert_eq!(svc.path(), InvokePath::Signed);
    for _ in 0..5 {
        assert_eq!(invoke(&svc).await.class(), Class::Ok);
    }
    assert_eq!(
        server.stats().sts_assume_role,
        1,
        "the SDK client and the signed path share one session"
    );
    control_client(&server).advance_clock(3700).await.unwrap();
    let first = invoke(&svc).await;
    assert_eq!((first.class(), first.attempts), (Class::Ok, 2), "{first:?}");
    assert_eq!(invoke(&svc).await.attempts, 1);
    assert_eq!(server.stats().sts_assume_role, 2);
    server.shutdown().await;
}

#[tokio::test]
async fn a_burst_meeting_an_expired_session_causes_one_assume_role_and_no_failure() {
    let server = start().await;
    let svc = std::sync::Arc::new(role_service(&server, &[]).await);
    assert_eq!(invoke(&svc).await.class(), Class::Ok);
    control_client(&server).advance_clock(3700).await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let svc = std::sync::Arc::clone(&svc);
        set.spawn(async move { invoke(&svc).await });
    }
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        assert_eq!(r.class(), Class::Ok, "{r:?}");
        assert!(r.attempts <= 2, "{r:?}");
    }
    assert_eq!(
        server.stats().sts_assume_role,
        2,
        "one refresh for the whole burst, not a storm"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_burst_of_cold_sessions_whose_assume_role_is_throttled_once_each_loses_no_invoke() {
    // In role mode every cold start does one AssumeRole; STS answers a burst with `Throttling`
    // (HTTP 400), which the SDKs retry as a throttle. Here 32 cold sessions start at once on
    // each invoke path and the first 32 AssumeRoles are throttled: every session meets one.
    use xinvoke::adapters::signed::InvokePath;
    let server = start().await;
    for path in [InvokePath::Sdk, InvokePath::Signed] {
        control_client(&server).reset().await.unwrap();
        fault(
            &server,
            serde_json::json!({"action": "sts:AssumeRole", "error": "Throttling", "times": 32}),
        )
        .await;
        let mut sessions = Vec::new();
        for _ in 0..32 {
            sessions.push(role_service_on(&server, path).await);
        }
        let records = concurrently(sessions, |svc| async move { invoke(&svc).await }).await;
        for r in &records {
            assert_eq!(r.class(), Class::Ok, "{path:?}: {r:?}");
        }
        let throttled: Vec<_> = records.iter().filter(|r| r.attempts > 1).collect();
        assert!(!throttled.is_empty(), "{path:?}: no session met the throttle");
        for r in throttled {
            assert_eq!(r.attempt_log[0].class, Class::StsThrottled, "{path:?}: {r:?}");
        }
        let stats = server.stats();
        assert_eq!(stats.sts_by_error.get("Throttling"), Some(&32), "{path:?}: {stats:?}");
        assert_eq!(stats.sts_assume_role, 32, "{path:?}: one granted session each");
    }
    server.shutdown().await;
}
