//! The core over the wire: the real aws-sdk-lambda and aws-sdk-sts clients, through the
//! invoke service, against the local endpoint on loopback. Every class is reached through
//! status, headers and body as AWS sends them, in both auth modes, sync and async.

use crate::tests::common::*;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;
use xinvoke::domain::class::Class;
use xinvoke::domain::invocation::InvocationType;
use xinvoke::domain::retry::StopReason;
use xinvoke::invoke::service::{Call, Service};
use xinvoke::local::builtin;

fn call(payload: serde_json::Value, ty: InvocationType) -> Call {
    Call {
        payload: payload.to_string().into_bytes(),
        invocation_type: Some(ty),
        ..Call::default()
    }
}

async fn invoke(
    svc: &Service,
    payload: serde_json::Value,
    ty: InvocationType,
) -> xinvoke::domain::record::InvokeRecord {
    svc.invoke(call(payload, ty), None).await.expect("target resolves")
}

#[tokio::test]
async fn both_auth_modes_invoke_sync_async_and_dry_run() {
    let server = start().await;
    let resource = resource_service(&server, &[]).await;
    let role = role_service(&server, &[]).await;
    for (mode, svc) in [("resource", &resource), ("role", &role)] {
        let sync = invoke(svc, json!({"hello": mode}), InvocationType::RequestResponse).await;
        assert_eq!(sync.class(), Class::Ok, "{mode}: {sync:?}");
        assert_eq!(sync.outcome.status, Some(200));
        assert_eq!(sync.payload, Some(json!({"hello": mode})), "{mode}: the target echoes");
        assert_eq!(sync.attempts, 1);
        let event = invoke(svc, json!({"n": 1}), InvocationType::Event).await;
        assert_eq!(
            (event.class(), event.outcome.status, event.payload.clone()),
            (Class::Ok, Some(202), None),
            "{mode}"
        );
        let dry = invoke(svc, json!({}), InvocationType::DryRun).await;
        assert_eq!((dry.class(), dry.outcome.status), (Class::Ok, Some(204)), "{mode}");
    }
    let alias = invoke(&resource, json!({}), InvocationType::RequestResponse).await;
    assert_eq!(
        alias.executed_version.as_deref(),
        Some("1"),
        "the alias live points at version 1"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_function_error_header_makes_a_function_error_not_ok() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    let r = invoke(&svc, json!({"fail": "boom"}), InvocationType::RequestResponse).await;
    assert_eq!(r.class(), Class::FunctionError);
    assert_eq!(r.outcome.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(r.payload.as_ref().unwrap()["errorMessage"], "boom");
    assert_eq!(r.attempts, 1, "function errors are not retried by default");
    server.shutdown().await;
}

#[tokio::test]
async fn access_denied_tells_the_identity_side_from_the_resource_side() {
    let server = start().await;
    // The source role may invoke target:live only: unqualified target is refused by the resource policy.
    let unqualified = service(
        &server,
        source_credentials(),
        &[("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN)],
    )
    .await;
    let r = invoke(&unqualified, json!({}), InvocationType::RequestResponse).await;
    assert_eq!(
        (r.class(), r.outcome.status, r.attempts),
        (Class::AccessDeniedResource, Some(403), 1)
    );
    assert!(r.outcome.hint.as_deref().unwrap().contains("add-permission"));
    // The stranger has no identity policy at all.
    let stranger = service(
        &server,
        stranger_credentials(),
        &[("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)],
    )
    .await;
    let r = invoke(&stranger, json!({}), InvocationType::Event).await;
    assert_eq!((r.class(), r.outcome.status), (Class::AccessDeniedIdentity, Some(403)));
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_qualifier_is_not_found_and_bad_credentials_are_credentials() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    let r = svc
        .invoke(
            Call {
                qualifier: Some("nope".parse().unwrap()),
                ..call(json!({}), InvocationType::RequestResponse)
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!((r.class(), r.outcome.status), (Class::NotFound, Some(404)));

    let bad_secret = aws_credential_types::Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        "wrong-secret",
        Some(builtin::SOURCE_SESSION_TOKEN.into()),
        None,
        "t",
    );
    let svc = service(
        &server,
        bad_secret,
        &[("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)],
    )
    .await;
    let r = invoke(&svc, json!({}), InvocationType::RequestResponse).await;
    assert_eq!(
        (r.class(), r.outcome.error_code.as_deref()),
        (Class::Credentials, Some("InvalidSignatureException"))
    );
    assert_eq!(r.attempts, 1);

    let wrong_external_id = service(
        &server,
        source_credentials(),
        &[
            ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
            ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
            ("XINVOKE_EXTERNAL_ID", "not-the-external-id"),
        ],
    )
    .await;
    let r = invoke(&wrong_external_id, json!({}), InvocationType::RequestResponse).await;
    assert_eq!(r.class(), Class::Credentials, "{r:?}");
    assert_eq!(r.outcome.error_code.as_deref(), Some("AccessDenied"));
    assert!(r.outcome.hint.as_deref().unwrap().contains("external id"));
    server.shutdown().await;
}

/// Every injected Invoke error arrives classified as the table says, for both auth modes and
/// both invocation types, with retries off so each is one attempt.
#[tokio::test]
async fn every_injected_error_is_classified_through_the_wire() {
    let server = start().await;
    let resource = resource_service(&server, &[("XINVOKE_NO_RETRY", "true")]).await;
    let role = role_service(&server, &[("XINVOKE_NO_RETRY", "true")]).await;
    let cases: Vec<(serde_json::Value, Class, u16)> = vec![
        (json!({"error": "EC2ThrottledException"}), Class::Ec2Throttled, 502),
        (json!({"error": "ENILimitReachedException"}), Class::EniLimit, 502),
        (
            json!({"error": "EC2UnexpectedException", "ec2_error_code": "RequestLimitExceeded"}),
            Class::Ec2RequestLimit,
            502,
        ),
        (
            json!({"error": "EC2UnexpectedException", "ec2_error_code": "NetworkInterfaceLimitExceeded"}),
            Class::EniLimit,
            502,
        ),
        (
            json!({"error": "EC2UnexpectedException", "ec2_error_code": "InternalError"}),
            Class::Ec2Unexpected,
            502,
        ),
        (
            json!({"error": "SubnetIPAddressLimitReachedException"}),
            Class::SubnetIpLimit,
            502,
        ),
        (json!({"error": "InvalidSubnetIDException"}), Class::VpcConfig, 502),
        (
            json!({"error": "InvalidSecurityGroupIDException"}),
            Class::VpcConfig,
            502,
        ),
        (json!({"error": "EC2AccessDeniedException"}), Class::VpcConfig, 502),
        (json!({"error": "ResourceNotReadyException"}), Class::NotReady, 502),
        (json!({"error": "ENINotReadyException"}), Class::NotReady, 502),
        (json!({"error": "ResourceConflictException"}), Class::NotReady, 409),
        (json!({"error": "SnapStartNotReadyException"}), Class::NotReady, 409),
        (
            json!({"error": "TooManyRequestsException", "reason": "ConcurrentInvocationLimitExceeded"}),
            Class::Throttled,
            429,
        ),
        (json!({"error": "ServiceException"}), Class::Service, 500),
        (json!({"error": "KMSDisabledException"}), Class::Kms, 502),
        (json!({"error": "KMSAccessDeniedException"}), Class::Kms, 502),
        (json!({"error": "EFSMountFailureException"}), Class::Efs, 403),
        (json!({"error": "EFSIOException"}), Class::Efs, 410),
        (json!({"error": "EFSMountTimeoutException"}), Class::Efs, 408),
        (json!({"error": "ServiceQuotaExceededException"}), Class::Quota, 402),
        (
            json!({"error": "RequestTooLargeException"}),
            Class::PayloadTooLarge,
            413,
        ),
        (
            json!({"error": "InvalidParameterValueException"}),
            Class::InvalidRequest,
            400,
        ),
        (
            json!({"error": "InvalidRequestContentException"}),
            Class::InvalidRequest,
            400,
        ),
        (
            json!({"error": "UnsupportedMediaTypeException"}),
            Class::InvalidRequest,
            415,
        ),
        (
            json!({"error": "RecursiveInvocationException"}),
            Class::InvalidRequest,
            400,
        ),
        (json!({"error": "InvalidRuntimeException"}), Class::InvalidRequest, 502),
        (json!({"error": "ResourceNotFoundException"}), Class::NotFound, 404),
        (json!({"error": "AccessDeniedException"}), Class::AccessDenied, 403),
    ];
    for (mode, svc) in [("resource", &resource), ("role", &role)] {
        for ty in [InvocationType::RequestResponse, InvocationType::Event] {
            for (spec, class, status) in &cases {
                let mut spec = spec.clone();
                spec["function"] = json!("target");
                spec["times"] = json!(1);
                fault(&server, spec.clone()).await;
                let r = invoke(svc, json!({}), ty).await;
                settle_events(&server).await;
                control_client(&server).clear_faults().await.unwrap();
                if ty == InvocationType::Event && applies_when_run(spec["error"].as_str().unwrap_or_default()) {
                    // Queued (202); the error is met when the event runs, and retried there.
                    assert_eq!(
                        (r.class(), r.outcome.status),
                        (Class::Ok, Some(202)),
                        "{mode} {ty} {spec}"
                    );
                    continue;
                }
                assert_eq!(
                    (r.class(), r.outcome.status),
                    (*class, Some(*status)),
                    "{mode} {ty} {spec}"
                );
                assert_eq!(r.attempts, 1, "{mode} {ty} {spec}");
                assert!(r.outcome.hint.is_some());
            }
        }
    }
    let ec2 = {
        fault(&server, json!({"function": "target", "error": "EC2UnexpectedException", "ec2_error_code": "RequestLimitExceeded", "times": 1})).await;
        invoke(&resource, json!({}), InvocationType::RequestResponse).await
    };
    assert_eq!(ec2.outcome.ec2_error_code.as_deref(), Some("RequestLimitExceeded"));
    server.shutdown().await;
}

#[tokio::test]
async fn retryable_failures_are_retried_and_then_succeed() {
    let server = start().await;
    let retry = fast_retry(2);
    for svc in [
        resource_service(&server, &[("XINVOKE_RETRY", &retry)]).await,
        role_service(&server, &[("XINVOKE_RETRY", &retry)]).await,
    ] {
        fault(
            &server,
            json!({"function": "target", "error": "EC2ThrottledException", "times": 2}),
        )
        .await;
        let r = invoke(&svc, json!({"x": 1}), InvocationType::RequestResponse).await;
        assert_eq!((r.class(), r.attempts), (Class::Ok, 3), "{r:?}");
        assert_eq!(
            r.attempt_log.iter().map(|a| a.class).collect::<Vec<_>>(),
            vec![Class::Ec2Throttled, Class::Ec2Throttled, Class::Ok]
        );
        // More failures than retries: the last class is reported, attempts are exhausted.
        fault(
            &server,
            json!({"function": "target", "error": "ENILimitReachedException", "times": 5}),
        )
        .await;
        let r = invoke(&svc, json!({}), InvocationType::RequestResponse).await;
        assert_eq!(
            (r.class(), r.attempts, r.stop),
            (Class::EniLimit, 3, StopReason::AttemptsExhausted)
        );
        control_client(&server).clear_faults().await.unwrap();
        // Non-retryable: one attempt whatever the policy.
        fault(
            &server,
            json!({"function": "target", "error": "InvalidSubnetIDException", "times": 1}),
        )
        .await;
        let r = invoke(&svc, json!({}), InvocationType::RequestResponse).await;
        assert_eq!(
            (r.class(), r.attempts, r.stop),
            (Class::VpcConfig, 1, StopReason::NotRetryable)
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_short_retry_after_is_honoured() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    fault(&server, json!({"function": "target", "error": "TooManyRequestsException", "reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "retry_after_s": 1, "times": 1})).await;
    let r = invoke(&svc, json!({}), InvocationType::RequestResponse).await;
    assert_eq!((r.class(), r.attempts), (Class::Ok, 2));
    assert_eq!(r.attempt_log[0].class, Class::Throttled);
    assert!(
        r.attempt_log[1].wait_before_ms >= 1000.0,
        "waited {} ms",
        r.attempt_log[1].wait_before_ms
    );
    server.shutdown().await;
}

#[tokio::test]
async fn no_retry_waits_past_the_deadline() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    fault(
        &server,
        json!({"function": "target", "error": "TooManyRequestsException", "retry_after_s": 5, "times": 1}),
    )
    .await;
    let started = Instant::now();
    let r = svc
        .invoke(
            call(json!({}), InvocationType::RequestResponse),
            Some(Instant::now() + Duration::from_secs(2)),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.class(), r.attempts, r.stop),
        (Class::Throttled, 1, StopReason::Deadline)
    );
    assert_eq!(r.outcome.retry_after_s, Some(5.0));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "it stopped at once instead of waiting"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_exhausted_budget_stops_retries_across_invokes() {
    let server = start().await;
    // Budget 3 tokens, each service retry costs 1: three retries in all, then none.
    let svc = resource_service(
        &server,
        &[("XINVOKE_RETRY", &fast_retry(1)), ("XINVOKE_RETRY_BUDGET", "3")],
    )
    .await;
    fault(
        &server,
        json!({"function": "target", "error": "ServiceException", "probability": 1.0, "seed": 1}),
    )
    .await;
    let mut attempts = Vec::new();
    for _ in 0..6 {
        let r = invoke(&svc, json!({}), InvocationType::RequestResponse).await;
        assert_eq!(r.class(), Class::Service);
        attempts.push((r.attempts, r.stop));
    }
    assert_eq!(&attempts[..3], &[(2, StopReason::AttemptsExhausted); 3]);
    assert_eq!(&attempts[3..], &[(1, StopReason::BudgetExhausted); 3]);
    assert_eq!(svc.budget_available(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_slow_sync_target_times_out_and_is_not_retried_unless_idempotent() {
    let server = start().await;
    let slow = json!({"sleep_ms": 1500});
    let svc = resource_service(
        &server,
        &[("XINVOKE_ATTEMPT_TIMEOUT_MS", "300"), ("XINVOKE_RETRY", &fast_retry(1))],
    )
    .await;
    let r = invoke(&svc, slow.clone(), InvocationType::RequestResponse).await;
    assert_eq!(
        (r.class(), r.attempts, r.stop),
        (Class::Timeout, 1, StopReason::NotRetryable)
    );
    let idem = resource_service(
        &server,
        &[
            ("XINVOKE_ATTEMPT_TIMEOUT_MS", "300"),
            ("XINVOKE_RETRY", &fast_retry(1)),
            ("XINVOKE_IDEMPOTENT", "true"),
        ],
    )
    .await;
    let r = invoke(&idem, slow, InvocationType::RequestResponse).await;
    assert_eq!((r.class(), r.attempts), (Class::Timeout, 2));
    server.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_endpoint_is_connect() {
    let server = start().await;
    let addr = server.addr();
    server.shutdown().await;
    // Nothing listens there now.
    let map = [
        ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
        ("XINVOKE_NO_RETRY", "true"),
    ];
    let settings = xinvoke::adapters::config::Settings::from_lookup(|k| {
        map.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    })
    .unwrap();
    let base = xinvoke::adapters::clients::loader(settings.timeouts)
        .credentials_provider(source_credentials())
        .endpoint_url(format!("http://{addr}"))
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let svc = Service::new(settings, &base).await;
    let r = invoke(&svc, json!({}), InvocationType::RequestResponse).await;
    assert_eq!(r.class(), Class::Connect);
}

#[tokio::test]
async fn one_assume_role_serves_many_invokes() {
    let server = start().await;
    let svc = role_service(&server, &[]).await;
    for i in 0..25 {
        let r = invoke(&svc, json!({"i": i}), InvocationType::RequestResponse).await;
        assert_eq!(r.class(), Class::Ok);
    }
    assert_eq!(server.stats().sts_assume_role, 1);
    assert_eq!(svc.client_count(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_payloads_are_refused_before_sending() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    let big = "x".repeat(1024 * 1024 + 10);
    let r = invoke(&svc, json!(big), InvocationType::Event).await;
    assert_eq!((r.class(), r.attempts), (Class::PayloadTooLarge, 0));
    assert!(r
        .outcome
        .hint
        .as_deref()
        .unwrap()
        .contains("1048576-byte limit for Event"));
    let sync = invoke(&svc, json!(big), InvocationType::RequestResponse).await;
    assert_eq!(sync.class(), Class::Ok, "1 MB is fine synchronously");
    server.shutdown().await;
}

/// botocore's Lambda service model, vendored with its version (`tests/model/VERSION`) and
/// refreshed by `scripts/refresh-lambda-model.sh`.
const LAMBDA_MODEL: &str = include_str!("../../tests/model/lambda-2015-03-31.service-2.json");

/// The SDKs' standard retry mode (botocore `retries/standard.py`: its throttling error codes
/// and transient statuses 500, 502, 503, 504), which a shape without the model's `retryable`
/// trait gets.
fn standard_mode_retries(code: &str, status: u16) -> bool {
    const THROTTLING: [&str; 14] = [
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    ];
    THROTTLING.contains(&code) || [500, 502, 503, 504].contains(&status)
}

/// Where the one table's retry judgement differs from what the model and the standard mode
/// say, on purpose (docs/classes.md says why for each class).
const RETRY_JUDGEMENTS: [(&str, bool, &str); 19] = [
    (
        "EFSMountConnectivityException",
        true,
        "a mount target that did not answer in time may answer the next time",
    ),
    ("EFSMountTimeoutException", true, "as EFSMountConnectivityException"),
    (
        "S3FilesMountConnectivityException",
        true,
        "as EFSMountConnectivityException",
    ),
    ("S3FilesMountTimeoutException", true, "as EFSMountConnectivityException"),
    ("EFSIOException", true, "a transient IO error of the file system"),
    (
        "SnapStartTimeoutException",
        true,
        "a restore that timed out may finish the next time",
    ),
    (
        "ResourceConflictException",
        true,
        "Pending ends by itself: not_ready, retried patiently",
    ),
    (
        "SnapStartNotReadyException",
        true,
        "the snapshot is still being made: not_ready",
    ),
    (
        "CodeArtifactUserPendingException",
        true,
        "provisioning ends by itself: not_ready",
    ),
    (
        "CodeArtifactUserDeletedException",
        true,
        "Lambda provisions a new user: not_ready",
    ),
    (
        "EC2AccessDeniedException",
        false,
        "the execution role lacks EC2 permissions: vpc_config, no retry can help",
    ),
    (
        "InvalidSubnetIDException",
        false,
        "the function's VPC config is wrong: vpc_config",
    ),
    (
        "InvalidSecurityGroupIDException",
        false,
        "the function's VPC config is wrong: vpc_config",
    ),
    (
        "InvalidRuntimeException",
        false,
        "the deployment is broken: invalid_request",
    ),
    (
        "InvalidZipFileException",
        false,
        "the deployment is broken: invalid_request",
    ),
    (
        "KMSAccessDeniedException",
        false,
        "the key or the role's kms:Decrypt: kms, no retry can help",
    ),
    ("KMSNotFoundException", false, "the key is gone: kms"),
    (
        "KMSDisabledException",
        false,
        "the key is disabled: kms, an operator must enable it",
    ),
    (
        "KMSInvalidStateException",
        false,
        "the key's state refuses Decrypt: kms",
    ),
];

/// The one table against the model, Invoke error by Invoke error: the same names both ways,
/// each row with the shape's status, its blame (`senderFault`), the spelling of its message
/// member, and the retryability the model's `retryable` trait or the standard mode gives
/// unless [`RETRY_JUDGEMENTS`] says otherwise. Any difference fails, named.
#[test]
fn the_error_table_matches_the_vendored_lambda_model() {
    use xinvoke::domain::errors::{answered_by, Blame, Origin};
    let model: serde_json::Value = serde_json::from_str(LAMBDA_MODEL).expect("the vendored model is JSON");
    let shapes = &model["shapes"];
    let modelled: std::collections::BTreeSet<&str> = model["operations"]["Invoke"]["errors"]
        .as_array()
        .expect("Invoke lists its errors")
        .iter()
        .filter_map(|e| e["shape"].as_str())
        .collect();
    let rows: std::collections::BTreeMap<&str, _> = answered_by(false)
        .filter(|r| r.origin == Origin::Invoke)
        .map(|r| (r.code, r))
        .collect();
    let mut differences = Vec::new();
    for name in &modelled {
        if !rows.contains_key(name) {
            differences.push(format!("{name}: in the model, no Invoke row"));
        }
    }
    let mut judged = 0;
    for (name, row) in &rows {
        if !modelled.contains(name) {
            differences.push(format!("{name}: an Invoke row the model does not list"));
            continue;
        }
        let shape = &shapes[*name];
        let status = shape["error"]["httpStatusCode"].as_u64();
        if status != Some(u64::from(row.status)) {
            differences.push(format!(
                "{name}: status {} in the table, {status:?} in the model",
                row.status
            ));
        }
        let sender = shape["error"]["senderFault"].as_bool().unwrap_or(false);
        if sender != (row.blame == Blame::User) {
            differences.push(format!(
                "{name}: blame {:?} in the table, senderFault {sender} in the model",
                row.blame
            ));
        }
        let lowercase = shape["members"].get("message").is_some();
        if lowercase != row.lowercase_message {
            differences.push(format!("{name}: message member spelled differently from the model"));
        }
        let by_model = shape.get("retryable").is_some() || standard_mode_retries(name, row.status);
        let expected = match RETRY_JUDGEMENTS.iter().find(|(n, _, _)| n == name) {
            Some((_, judged_retryable, _)) => {
                judged += 1;
                assert_ne!(
                    *judged_retryable, by_model,
                    "{name}: listed as a judgement but the model already agrees: remove it from RETRY_JUDGEMENTS"
                );
                *judged_retryable
            }
            None => by_model,
        };
        if expected != row.retryable {
            differences.push(format!(
                "{name}: retryable {} in the table, {expected} by the model and the standard mode",
                row.retryable
            ));
        }
    }
    assert_eq!(
        judged,
        RETRY_JUDGEMENTS.len(),
        "a judgement names an error the table does not have"
    );
    assert!(
        differences.is_empty(),
        "the one table differs from botocore's model ({}):\n{}",
        include_str!("../../tests/model/VERSION").trim(),
        differences.join("\n")
    );
}

#[tokio::test]
async fn an_event_that_got_no_answer_is_marked_may_have_run_and_retried() {
    // The endpoint holds the first Event 1 s (then queues it); the attempt gives up at 200 ms.
    // The event may be queued: the record says so, and it is retried, as Lambda's own async
    // delivery is at least once.
    let server = start().await;
    let svc = resource_service(
        &server,
        &[("XINVOKE_ATTEMPT_TIMEOUT_MS", "200"), ("XINVOKE_RETRY", &fast_retry(1))],
    )
    .await;
    fault(&server, json!({"function": "target", "latency_ms": 1000, "times": 1})).await;
    let r = invoke(&svc, json!({"n": 1}), InvocationType::Event).await;
    assert_eq!(
        (r.class(), r.attempts, r.outcome.status),
        (Class::Ok, 2, Some(202)),
        "{r:?}"
    );
    assert!(r.attempt_log[0].may_have_run && !r.attempt_log[1].may_have_run, "{r:?}");
    assert!(
        r.outcome.may_have_run,
        "the record says an earlier attempt may have queued it"
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["may_have_run"], true);
    server.shutdown().await;
}
