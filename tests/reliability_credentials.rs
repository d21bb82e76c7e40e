//! Assumed-role sessions that expire mid-run, with the endpoint's clock moved forward
//! (`POST /_local/clock`), and what xinvoke guarantees when they do.
//!
//! The SDK's identity cache refreshes a session shortly before the `Expiration` STS gave it,
//! judged by the client's (real) clock. Moving only the endpoint's clock past that expiry makes
//! the endpoint answer ExpiredTokenException while the client still believes the session is
//! valid: a server clock ahead of the client's. Nothing then makes the cache refresh early, so
//! the one retry xinvoke allows for an expired token meets the same token. These tests pin
//! that behaviour down: a session lasts its lifetime with one AssumeRole; past the endpoint's
//! expiry each invoke fails as `credentials` / ExpiredTokenException with a hint naming the
//! clock, is retried exactly once (no retry storm, no AssumeRole storm), and a new service
//! (a cold start) assumes a fresh session and succeeds.

mod common;

use common::*;
use xinvoke::adapters::service::{Call, Service};
use xinvoke::core::{Class, InvocationType, InvokeRecord, StopReason};

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
    let server = start_local().await;
    let svc = role_service(&server, &[]).await;
    // The session lasts 3600 s (STS's default); walk the endpoint's clock through most of it.
    for step in 0..6 {
        for _ in 0..5 {
            let r = invoke(&svc).await;
            assert_eq!((r.class(), r.attempts), (Class::Ok, 1), "step {step}: {r:?}");
        }
        control(&server).advance_clock(590).await.unwrap();
    }
    assert_eq!(server.stats().sts_assume_role, 1, "one AssumeRole per session");
    server.shutdown().await;
}

#[tokio::test]
async fn a_session_expired_by_the_endpoint_clock_fails_as_credentials_retried_once_without_storms() {
    let server = start_local().await;
    let svc = role_service(&server, &[("XINVOKE_RETRY", &fast_retry(1))]).await;
    assert_eq!(invoke(&svc).await.class(), Class::Ok);
    control(&server).advance_clock(3700).await.unwrap();
    let mut failed = 0;
    for _ in 0..10 {
        let r = invoke(&svc).await;
        assert_eq!(r.class(), Class::Credentials, "{r:?}");
        assert_eq!(r.outcome.error_code.as_deref(), Some("ExpiredTokenException"));
        assert!(
            r.outcome.retryable,
            "an expired token is the one retryable credentials failure"
        );
        assert_eq!(
            (r.attempts, r.stop),
            (2, StopReason::AttemptsExhausted),
            "retried exactly once"
        );
        assert!(r.outcome.hint.as_deref().unwrap().contains("clock"), "{r:?}");
        failed += 1;
    }
    assert_eq!(
        failed, 10,
        "the client's cache does not know the endpoint expired the session"
    );
    assert_eq!(
        server.stats().sts_assume_role,
        1,
        "no AssumeRole storm: the cache keeps the session it believes valid"
    );
    assert_eq!(server.stats().invokes_by_error.get("ExpiredTokenException"), Some(&20));
    // A cold start (a new service) assumes a fresh session on the endpoint's clock and succeeds.
    let fresh = role_service(&server, &[]).await;
    let r = invoke(&fresh).await;
    assert_eq!((r.class(), r.attempts), (Class::Ok, 1), "{r:?}");
    assert_eq!(server.stats().sts_assume_role, 2);
    server.shutdown().await;
}
