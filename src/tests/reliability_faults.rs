//! The fault matrix with retries on: every class × {execution role (resource-based), assumed
//! role} × {sync, async}, over the wire through the real SDK, against the local endpoint.
//! Retryable classes are retried to the policy's maximum, the others are tried once, and both
//! auth modes give the same outcome. Also: the retry budget under a total outage, measured.

use crate::tests::common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use xinvoke::adapters::clients;
use xinvoke::adapters::config::Settings;
use xinvoke::domain::class::Class;
use xinvoke::domain::invocation::InvocationType;
use xinvoke::domain::retry::StopReason;
use xinvoke::invoke::service::{Call, Service};
use xinvoke::local::builtin;

const RETRIES: u32 = 2;

fn call(payload: serde_json::Value, ty: InvocationType) -> Call {
    Call {
        payload: payload.to_string().into_bytes(),
        invocation_type: Some(ty),
        ..Call::default()
    }
}

/// What must be the same whatever the auth mode.
type Seen = (Class, u32, StopReason, Option<u16>, Option<String>);

/// (fault spec, class, retryable): at least one row per class the endpoint can answer.
fn injected() -> Vec<(serde_json::Value, Class, bool)> {
    let identity = "User: arn:aws:sts::222222222222:assumed-role/x/y is not authorized to perform: lambda:InvokeFunction on resource: target because no identity-based policy allows the lambda:InvokeFunction action";
    let resource = "User: arn:aws:sts::222222222222:assumed-role/x/y is not authorized to perform: lambda:InvokeFunction on resource: target because no resource-based policy allows the lambda:InvokeFunction action";
    vec![
        (
            json!({"error": "TooManyRequestsException", "retry_after_s": 0}),
            Class::Throttled,
            true,
        ),
        (json!({"error": "EC2ThrottledException"}), Class::Ec2Throttled, true),
        (json!({"error": "ENILimitReachedException"}), Class::EniLimit, true),
        (
            json!({"error": "EC2UnexpectedException", "ec2_error_code": "RequestLimitExceeded"}),
            Class::Ec2RequestLimit,
            true,
        ),
        (
            json!({"error": "SubnetIPAddressLimitReachedException"}),
            Class::SubnetIpLimit,
            true,
        ),
        (
            json!({"error": "EC2UnexpectedException", "ec2_error_code": "InternalError"}),
            Class::Ec2Unexpected,
            true,
        ),
        (json!({"error": "InvalidSubnetIDException"}), Class::VpcConfig, false),
        (json!({"error": "ResourceNotReadyException"}), Class::NotReady, true),
        (json!({"error": "ResourceConflictException"}), Class::NotReady, true),
        (
            json!({"error": "AccessDeniedException", "message": identity}),
            Class::AccessDeniedIdentity,
            false,
        ),
        (
            json!({"error": "AccessDeniedException", "message": resource}),
            Class::AccessDeniedResource,
            false,
        ),
        (json!({"error": "AccessDeniedException"}), Class::AccessDenied, false),
        (json!({"error": "ResourceNotFoundException"}), Class::NotFound, false),
        (
            json!({"error": "InvalidParameterValueException"}),
            Class::InvalidRequest,
            false,
        ),
        (
            json!({"error": "RequestTooLargeException"}),
            Class::PayloadTooLarge,
            false,
        ),
        (json!({"error": "ServiceQuotaExceededException"}), Class::Quota, false),
        (json!({"error": "KMSDisabledException"}), Class::Kms, false),
        (json!({"error": "EFSMountFailureException"}), Class::Efs, false),
        (json!({"error": "EFSIOException"}), Class::Efs, true),
        (json!({"error": "ServiceException"}), Class::Service, true),
    ]
}

fn expect(retryable: bool) -> (u32, StopReason) {
    if retryable {
        (RETRIES + 1, StopReason::AttemptsExhausted)
    } else {
        (1, StopReason::NotRetryable)
    }
}

#[tokio::test]
async fn every_class_is_classified_and_retried_as_the_policy_says_in_both_auth_modes() {
    let server = start().await;
    let retry = fast_retry(RETRIES);
    let extra = [("XINVOKE_RETRY", retry.as_str()), ("XINVOKE_ATTEMPT_TIMEOUT_MS", "400")];
    let modes = [
        ("execution role", resource_service(&server, &extra).await),
        ("assumed role", role_service(&server, &extra).await),
    ];
    let mut seen: BTreeMap<(String, String), Vec<Seen>> = BTreeMap::new();
    let mut cases = injected();
    // A stall longer than the attempt timeout: `timeout`, retried only when nothing may have run.
    cases.push((json!({"latency_ms": 1500}), Class::Timeout, true));
    let (mut attempts_sent, mut abandoned) = (0u64, 0u64);
    for (mode, svc) in &modes {
        for ty in [InvocationType::RequestResponse, InvocationType::Event] {
            for (spec, class, retryable) in &cases {
                if ty == InvocationType::Event && applies_when_run(spec["error"].as_str().unwrap_or_default()) {
                    // Accepted (202) and met when the queued event runs: src/tests/local_fidelity.rs.
                    continue;
                }
                let mut spec = spec.clone();
                spec["function"] = json!("target");
                spec["times"] = json!(10);
                fault(&server, spec.clone()).await;
                let r = svc.invoke(call(json!({}), ty), None).await.unwrap();
                control_client(&server).clear_faults().await.unwrap();
                let retryable = *retryable && !(*class == Class::Timeout && ty == InvocationType::RequestResponse);
                let (attempts, stop) = expect(retryable);
                assert_eq!(
                    (r.class(), r.outcome.retryable, r.attempts, r.stop),
                    (*class, retryable, attempts, stop),
                    "{mode} {ty} {spec}: {r:?}"
                );
                assert!(r.attempt_log.iter().all(|a| a.class == *class), "{mode} {ty} {spec}");
                assert!(
                    r.outcome.hint.is_some(),
                    "{mode} {ty} {spec}: every failure says what to fix"
                );
                if *class == Class::Timeout {
                    abandoned += u64::from(r.attempts);
                } else {
                    attempts_sent += u64::from(r.attempts);
                }
                seen.entry((spec.to_string(), ty.to_string())).or_default().push((
                    r.class(),
                    r.attempts,
                    r.stop,
                    r.outcome.status,
                    r.outcome.error_code.clone(),
                ));
            }
            // function_error: the target ran and failed; never retried. Async: Lambda accepted it (202).
            let r = svc.invoke(call(json!({"fail": "boom"}), ty), None).await.unwrap();
            attempts_sent += 1;
            let want = if ty == InvocationType::Event {
                (Class::Ok, 1, StopReason::Succeeded)
            } else {
                (Class::FunctionError, 1, StopReason::NotRetryable)
            };
            assert_eq!((r.class(), r.attempts, r.stop), want, "{mode} {ty}: {r:?}");
        }
    }
    for (case, outcomes) in &seen {
        assert_eq!(outcomes.len(), 2, "{case:?}");
        assert_eq!(outcomes[0], outcomes[1], "{case:?}: the auth modes disagree");
    }
    // The endpoint counts every attempt the records claim, the ones the client abandoned at
    // its attempt timeout included: a caller that gives up does not stop the invoke, which is
    // counted when it ends (after its injected latency).
    assert_eq!(abandoned, 8);
    let mut counted = server.stats().invokes;
    for _ in 0..200 {
        if counted == attempts_sent + abandoned {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        counted = server.stats().invokes;
    }
    assert_eq!(counted, attempts_sent + abandoned);
    assert_eq!(server.stats().sts_assume_role, 1, "one session served the whole matrix");
    server.shutdown().await;
}

/// A service whose endpoint is `url` (nothing listening there), in one auth mode.
async fn unreachable_service(url: &str, role: bool, retry: &str) -> Service {
    let mut vars = vec![("XINVOKE_RETRY", retry), ("XINVOKE_CONNECT_TIMEOUT_MS", "200")];
    if role {
        vars.extend([
            ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
            ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
            ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
        ]);
    } else {
        vars.push(("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN));
    }
    let settings = Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let base = clients::endpoint_config(
        settings.timeouts,
        url.to_string(),
        source_credentials(),
        builtin::REGION,
    )
    .await;
    Service::new(settings, &base).await
}

#[tokio::test]
async fn connect_failures_are_retried_to_the_maximum_in_both_auth_modes() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let retry = fast_retry(RETRIES);
    for role in [false, true] {
        let svc = unreachable_service(&url, role, &retry).await;
        for ty in [InvocationType::RequestResponse, InvocationType::Event] {
            let r = svc.invoke(call(json!({}), ty), None).await.unwrap();
            assert_eq!(
                (r.class(), r.attempts, r.stop),
                (Class::Connect, RETRIES + 1, StopReason::AttemptsExhausted),
                "role={role} {ty}: {r:?}"
            );
        }
    }
}

#[tokio::test]
async fn refused_credentials_are_tried_once_in_both_auth_modes() {
    let server = start().await;
    let retry = fast_retry(RETRIES);
    let bad = aws_credential_types::Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        "wrong-secret",
        Some(builtin::SOURCE_SESSION_TOKEN.into()),
        None,
        "t",
    );
    let resource = service(
        &server,
        bad.clone(),
        &[
            ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
            ("XINVOKE_RETRY", &retry),
        ],
    )
    .await;
    let role = service(
        &server,
        bad,
        &[
            ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
            ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
            ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
            ("XINVOKE_RETRY", &retry),
        ],
    )
    .await;
    for (mode, svc) in [("execution role", &resource), ("assumed role", &role)] {
        for ty in [InvocationType::RequestResponse, InvocationType::Event] {
            let r = svc.invoke(call(json!({}), ty), None).await.unwrap();
            assert_eq!(
                (r.class(), r.outcome.retryable, r.attempts, r.stop),
                (Class::Credentials, false, 1, StopReason::NotRetryable),
                "{mode} {ty}: {r:?}"
            );
        }
    }
    assert_eq!(
        server.stats().invokes,
        2,
        "the bad signature never reached an invoke in role mode"
    );
    server.shutdown().await;
}

/// A total outage (every Invoke answers ServiceException): retries stop when the budget is
/// spent, and from then on each invoke costs one attempt, the rate without retries. Measured
/// from the records and checked against the endpoint's own count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_total_outage_retries_stop_at_the_budget_and_attempts_fall_to_the_base_rate() {
    let server = start().await;
    const BUDGET: u32 = 40;
    let svc = Arc::new(
        resource_service(
            &server,
            &[("XINVOKE_RETRY", &fast_retry(RETRIES)), ("XINVOKE_RETRY_BUDGET", "40")],
        )
        .await,
    );
    fault(
        &server,
        json!({"function": "target", "error": "ServiceException", "probability": 1.0, "seed": 3}),
    )
    .await;
    // 300 invokes, 8 at a time, in order of start.
    let sem = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = Vec::new();
    for _ in 0..300 {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            let r = svc
                .invoke(call(json!({}), InvocationType::RequestResponse), None)
                .await
                .unwrap();
            drop(permit);
            r
        }));
    }
    let mut records = Vec::new();
    for t in tasks {
        records.push(t.await.unwrap());
    }
    assert!(records.iter().all(|r| r.class() == Class::Service));
    let attempts: Vec<u32> = records.iter().map(|r| r.attempts).collect();
    let retries: u32 = attempts.iter().map(|a| a - 1).sum();
    assert_eq!(
        retries, BUDGET,
        "exactly the budget's tokens were spent on retries (cost 1 each)"
    );
    assert_eq!(svc.budget_available(), 0);
    let rate = |s: &[u32]| s.iter().sum::<u32>() as f64 / s.len() as f64;
    let (early, late) = (rate(&attempts[..10]), rate(&attempts[100..]));
    eprintln!("outage: attempts per invoke {early:.2} in the first 10 invokes, {late:.2} after the budget ran out");
    assert!(
        early >= 2.5,
        "before exhaustion retries run ({early} attempts per invoke)"
    );
    assert_eq!(late, 1.0, "after exhaustion the attempt rate is the base rate");
    assert!(records[100..]
        .iter()
        .all(|r| r.stop == StopReason::BudgetExhausted && r.attempts == 1));
    let sent: u32 = attempts.iter().sum();
    assert_eq!(
        server.stats().invokes,
        u64::from(sent),
        "the endpoint counted the same attempts"
    );
    assert_eq!(
        server.stats().invokes_by_error.get("ServiceException"),
        Some(&u64::from(sent))
    );
    server.shutdown().await;
}
