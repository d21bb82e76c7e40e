//! The local endpoint as AWS answers, through the real aws-sdk-lambda client over HTTP: enum
//! values the service model knows, function states and updates that take time, sessions that
//! stay expired, IAM's explicit deny and version policies, the unreserved pool, asynchronous
//! invocations retried and delivered as Lambda does, Hyperplane ENIs, and connection limits.

use crate::tests::common::*;
use aws_sdk_lambda::types::{LastUpdateStatus, LastUpdateStatusReasonCode, State, StateReasonCode, VpcConfig};
use serde_json::{json, Value};
use std::time::Duration;
use xinvoke::local::{builtin, LocalServer, Scenario};

/// The built-in scenario with `function_keys` added to account 2's `target` function (TOML
/// keys, before its tables) and `tail` appended (tables of the target or new functions).
fn builtin_with(function_keys: &str, tail: &str) -> Scenario {
    let text = include_str!("../../src/local/builtin.toml").replace(
        "behaviour = \"builtin\"\n",
        &format!("behaviour = \"builtin\"\n{function_keys}\n"),
    );
    Scenario::from_toml_str(&format!("{text}\n{tail}"), std::path::Path::new("test.toml")).expect("scenario")
}

async fn configuration(
    server: &LocalServer,
    name: &str,
) -> aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput {
    admin_lambda(server)
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .expect("configuration")
}

/// Every enum value a configuration carries is one the pinned model knows (the SDK's
/// `values()`, generated from the service model).
fn assert_known(c: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput, what: &str) {
    let check = |name: &str, value: Option<&str>, values: &[&str], required: bool| match value {
        Some(v) => assert!(
            values.contains(&v),
            "{what}: {name} {v:?} is not one of the model's {values:?}"
        ),
        None => assert!(!required, "{what}: no {name}"),
    };
    check("State", c.state().map(|v| v.as_str()), State::values(), true);
    check(
        "StateReasonCode",
        c.state_reason_code().map(|v| v.as_str()),
        StateReasonCode::values(),
        false,
    );
    check(
        "LastUpdateStatus",
        c.last_update_status().map(|v| v.as_str()),
        LastUpdateStatus::values(),
        true,
    );
    // AWS reports an update in progress with `Creating`, which the model's enum lacks
    // (LocalStack's recorded test_function_lifecycle): the one value allowed beyond it.
    let mut reason_codes = LastUpdateStatusReasonCode::values().to_vec();
    reason_codes.push("Creating");
    check(
        "LastUpdateStatusReasonCode",
        c.last_update_status_reason_code().map(|v| v.as_str()),
        &reason_codes,
        false,
    );
}

async fn invoke_code(server: &LocalServer, name: &str) -> Result<u16, String> {
    match admin_lambda(server).invoke().function_name(name).send().await {
        Ok(out) => Ok(out.status_code() as u16),
        Err(e) => Err(aws_sdk_lambda::error::ProvideErrorMetadata::code(&e)
            .unwrap_or("?")
            .to_string()),
    }
}

#[tokio::test]
async fn a_created_function_is_pending_creating_until_active_by_itself() {
    let server = start_with(builtin_with("state = \"Pending\"", "")).await;
    let c = configuration(&server, "target").await;
    assert_known(&c, "creating");
    assert_eq!(
        (c.state(), c.state_reason_code(), c.last_update_status()),
        (
            Some(&State::Pending),
            Some(&StateReasonCode::Creating),
            Some(&LastUpdateStatus::InProgress)
        )
    );
    assert_eq!(
        invoke_code(&server, "target:live").await,
        Err("ResourceConflictException".into())
    );
    // Hyperplane: the ENI is made (eni_create_ms, 1 s) and the pending time passes (2 s).
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let c = configuration(&server, "target").await;
    assert_known(&c, "created");
    assert_eq!(
        (c.state(), c.last_update_status()),
        (Some(&State::Active), Some(&LastUpdateStatus::Successful))
    );
    assert_eq!(invoke_code(&server, "target:live").await, Ok(200));
    assert_eq!(
        server.stats().hyperplane_enis_created,
        2,
        "one ENI per subnet: the target is on two"
    );
}

/// Invoke `target:live` with `payload` as the admin: the function error, if any.
async fn invoke_error(server: &LocalServer, payload: Value) -> Option<String> {
    let out = admin_lambda(server)
        .invoke()
        .function_name("target:live")
        .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
        .send()
        .await
        .expect("invoke");
    out.function_error().map(str::to_string)
}

/// UpdateFunctionConfiguration answers (and GetFunctionConfiguration shows) the requested
/// configuration with `LastUpdateStatus` InProgress at once (LocalStack's recorded
/// test_function_lifecycle `update_func_conf_response`, test_function_revisions_basic), while
/// invokes keep running the previous one until the update completes (the Lambda guide,
/// "Lambda function states"): a 1.2 s invoke succeeds on the old 30 s timeout during the
/// update and times out on the new 1 s one after it.
#[tokio::test]
async fn an_update_answers_the_requested_configuration_and_runs_the_previous_one_until_done() {
    let server = start_with(builtin_with("update_ms = 300", "")).await;
    let admin = admin_lambda(&server);
    let before = configuration(&server, "target").await;
    let out = admin
        .update_function_configuration()
        .function_name("target")
        .timeout(1)
        .memory_size(512)
        .description("smaller timeout")
        .vpc_config(VpcConfig::builder().security_group_ids("sg-0newgroup000000001").build())
        .send()
        .await
        .expect("UpdateFunctionConfiguration");
    assert_eq!(out.last_update_status(), Some(&LastUpdateStatus::InProgress));
    assert_eq!(out.state(), Some(&State::Active));
    assert_eq!(
        (out.timeout(), out.memory_size(), out.description()),
        (Some(1), Some(512), Some("smaller timeout")),
        "the answer shows what was asked for"
    );
    assert_eq!(
        out.vpc_config().unwrap().security_group_ids(),
        ["sg-0newgroup000000001"]
    );
    assert_ne!(out.revision_id(), before.revision_id(), "a change, a new RevisionId");
    let during = configuration(&server, "target").await;
    assert_known(&during, "updating");
    assert_eq!(
        (during.timeout(), during.last_update_status()),
        (Some(1), Some(&LastUpdateStatus::InProgress))
    );
    assert_eq!(
        invoke_error(&server, json!({"sleep_ms": 1200})).await,
        None,
        "invokes run the previous configuration (30 s timeout) meanwhile"
    );
    let again = admin
        .update_function_configuration()
        .function_name("target")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        again
            .as_service_error()
            .and_then(|e| aws_sdk_lambda::error::ProvideErrorMetadata::code(e)),
        Some("ResourceConflictException")
    );
    // A new security group needs its Hyperplane ENI (1 s) on top of the update's 300 ms.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after = configuration(&server, "target").await;
    assert_known(&after, "updated");
    assert_eq!(after.last_update_status(), Some(&LastUpdateStatus::Successful));
    assert_eq!(
        after.vpc_config().unwrap().security_group_ids(),
        ["sg-0newgroup000000001"]
    );
    assert_ne!(
        after.revision_id(),
        out.revision_id(),
        "the update completing is a change of its own (recorded rev5 != rev6)"
    );
    assert_eq!(
        invoke_error(&server, json!({"sleep_ms": 1200})).await.as_deref(),
        Some("Unhandled"),
        "the new 1 s timeout is in force"
    );
}

/// Every change of a configuration or a policy gives a new RevisionId, and a write carrying a
/// stale one answers 412 PreconditionFailedException with AWS's message (LocalStack's
/// recorded TestLambdaRevisions: "... Call the GetFunction/GetAlias API ..." for
/// UpdateFunctionConfiguration, "... Call the GetPolicy API ..." for AddPermission).
#[tokio::test]
async fn revision_ids_change_with_every_change_and_a_stale_one_is_refused() {
    use aws_sdk_lambda::error::ProvideErrorMetadata;
    let server = start_with(builtin_with("update_ms = 50", "")).await;
    let admin = admin_lambda(&server);
    let rev0 = configuration(&server, "target")
        .await
        .revision_id()
        .unwrap()
        .to_string();
    let policy_of = |q: &'static str| {
        let admin = admin.clone();
        async move {
            admin
                .get_policy()
                .function_name("target")
                .qualifier(q)
                .send()
                .await
                .unwrap()
        }
    };
    let alias_rev0 = policy_of("live").await.revision_id().unwrap().to_string();
    let stale = admin
        .add_permission()
        .function_name("target")
        .qualifier("live")
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .revision_id("wrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some("PreconditionFailedException"));
    assert_eq!(stale.raw_response().unwrap().status().as_u16(), 412);
    assert_eq!(
        stale.message(),
        Some("The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
    );
    admin
        .add_permission()
        .function_name("target")
        .qualifier("live")
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .revision_id(&alias_rev0)
        .send()
        .await
        .expect("the current RevisionId is accepted");
    let alias_rev1 = policy_of("live").await.revision_id().unwrap().to_string();
    assert_ne!(alias_rev1, alias_rev0, "AddPermission is a change");
    let alias = admin
        .get_alias()
        .function_name("target")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(alias.revision_id(), Some(alias_rev1.as_str()), "the alias's own id");
    let err = admin
        .remove_permission()
        .function_name("target")
        .qualifier("live")
        .statement_id("s3")
        .revision_id(&alias_rev0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PreconditionFailedException"));
    admin
        .remove_permission()
        .function_name("target")
        .qualifier("live")
        .statement_id("s3")
        .revision_id(&alias_rev1)
        .send()
        .await
        .expect("RemovePermission with the current id");
    assert_ne!(policy_of("live").await.revision_id().unwrap(), alias_rev1);
    assert_eq!(
        configuration(&server, "target").await.revision_id(),
        Some(rev0.as_str()),
        "the alias's policy is not the function's"
    );

    let err = admin
        .update_function_configuration()
        .function_name("target")
        .timeout(10)
        .revision_id("wrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PreconditionFailedException"));
    assert_eq!(
        err.message(),
        Some("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
    );
    let started = admin
        .update_function_configuration()
        .function_name("target")
        .timeout(10)
        .revision_id(&rev0)
        .send()
        .await
        .expect("the current id");
    assert_ne!(started.revision_id(), Some(rev0.as_str()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let done = configuration(&server, "target").await;
    assert_eq!(done.last_update_status(), Some(&LastUpdateStatus::Successful));
    assert_ne!(done.revision_id(), started.revision_id(), "completing changes it again");
}

#[tokio::test]
async fn a_burst_of_updates_needing_new_enis_fails_some_with_awss_reason_codes() {
    // Ten functions, one EC2 call allowed at once and no refill: a deployment that moves all
    // to new security groups gets one ENI; the others' updates Fail (EC2RequestLimitExceeded).
    let mut tail = String::new();
    for i in 0..10 {
        tail.push_str(&format!("[[accounts.functions]]\nname = \"f{i}\"\nupdate_ms = 50\nvpc = {{ subnet_ids = [\"subnet-1\"], security_group_ids = [\"sg-old\"] }}\n"));
    }
    tail.push_str("[accounts.network]\nec2_api_rate = 0.0\nec2_api_burst = 1\neni_create_ms = 10\n");
    let server = start_with(builtin_with("", &tail)).await;
    let mut functions = Vec::new();
    for i in 0..10 {
        functions.push(format!("f{i}"));
        let body = json!({"functions": [format!("f{i}")], "security_group_ids": [format!("sg-new-{i}")]});
        let (status, _) = control(&server, "POST", "/_local/update", body).await;
        assert_eq!(status, 200);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut reasons = Vec::new();
    for f in &functions {
        let c = configuration(&server, f).await;
        assert_known(&c, f);
        assert_eq!(
            c.state(),
            Some(&State::Active),
            "{f}: a failed update leaves the function Active"
        );
        reasons.push(c.last_update_status_reason_code().map(|r| r.as_str().to_string()));
    }
    let failed = reasons
        .iter()
        .filter(|r| r.as_deref() == Some("EC2RequestLimitExceeded"))
        .count();
    assert_eq!(failed, 9, "{reasons:?}");
    // Invokes keep working on the previous configuration.
    assert_eq!(invoke_code(&server, "f3").await, Ok(200));
}

#[tokio::test]
async fn an_idle_function_goes_inactive_fails_once_restores_and_runs() {
    let server = start_with(builtin_with("", "")).await;
    control(&server, "POST", "/_local/clock", json!({"advance_s": 15 * 24 * 3600})).await;
    let c = configuration(&server, "target").await;
    assert_known(&c, "inactive");
    assert_eq!(
        (c.state(), c.state_reason_code()),
        (Some(&State::Inactive), Some(&StateReasonCode::Idle))
    );
    assert_eq!(server.stats().enis_in_use, 0, "its ENI was reclaimed");
    assert_eq!(
        invoke_code(&server, "target:live").await,
        Err("ResourceNotReadyException".into())
    );
    let c = configuration(&server, "target").await;
    assert_known(&c, "restoring");
    assert_eq!(
        (c.state(), c.state_reason_code()),
        (Some(&State::Pending), Some(&StateReasonCode::Restoring))
    );
    assert_eq!(
        invoke_code(&server, "target:live").await,
        Err("ResourceConflictException".into())
    );
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    assert_eq!(invoke_code(&server, "target:live").await, Ok(200));
    assert_eq!(server.stats().enis_in_use, 2, "its two subnets' ENIs are back");
}

/// A wake-up whose ENIs cannot be made returns the function to Inactive with the reason, as
/// the Lambda guide's "Lambda function states" says, rather than Failed (and nothing was
/// updated, so LastUpdateStatus stays Successful); the next invoke tries again, and once the
/// ENIs can be made the function recovers.
#[tokio::test]
async fn a_failed_wake_up_returns_to_inactive_and_the_next_invoke_tries_again() {
    let tail = r#"
[[accounts.functions]]
name = "other"
vpc = { subnet_ids = ["subnet-0c0c0c0c0c0c0c0c0"], security_group_ids = ["sg-0other0000000001"], eni_mode = "hyperplane", pending_ms = 50 }
[accounts.network]
hyperplane_eni_quota = 2
eni_create_ms = 10
"#;
    let server = start_with(builtin_with("", tail)).await;
    let idle = || control(&server, "POST", "/_local/clock", json!({"advance_s": 15 * 24 * 3600}));
    idle().await;
    assert_eq!(server.stats().enis_in_use, 0, "both idle: their ENIs reclaimed");
    assert_eq!(
        invoke_code(&server, "other").await,
        Err("ResourceNotReadyException".into())
    );
    // `other` takes one ENI of the two; the target needs two (its two subnets).
    assert_eq!(
        invoke_code(&server, "target:live").await,
        Err("ResourceNotReadyException".into())
    );
    let c = configuration(&server, "target").await;
    assert_known(&c, "a failed wake-up");
    assert_eq!(
        (c.state(), c.state_reason_code(), c.last_update_status()),
        (
            Some(&State::Inactive),
            Some(&StateReasonCode::EniLimitExceeded),
            Some(&LastUpdateStatus::Successful)
        )
    );
    assert_eq!(
        invoke_code(&server, "target:live").await,
        Err("ResourceNotReadyException".into()),
        "the next invoke tries again (and fails again while the quota is held)"
    );
    // Free the quota: `other` runs, then idles into Inactive again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(invoke_code(&server, "other").await, Ok(200));
    idle().await;
    let _ = configuration(&server, "other").await;
    assert_eq!(
        invoke_code(&server, "target:live").await,
        Err("ResourceNotReadyException".into())
    );
    let c = configuration(&server, "target").await;
    assert_eq!(
        (c.state(), c.state_reason_code()),
        (Some(&State::Pending), Some(&StateReasonCode::Restoring)),
        "this time its ENIs are made"
    );
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    assert_eq!(invoke_code(&server, "target:live").await, Ok(200), "recovered");
}

#[tokio::test]
async fn failed_states_carry_the_vpc_reason_codes_aws_uses() {
    let server = start().await;
    for reason in [
        "EniLimitExceeded",
        "SubnetOutOfIPAddresses",
        "EC2RequestLimitExceeded",
        "InvalidSubnet",
        "InvalidSecurityGroup",
        "InsufficientRolePermissions",
    ] {
        control(
            &server,
            "POST",
            "/_local/state",
            json!({"function": "target", "state": "Failed", "reason_code": reason}),
        )
        .await;
        let c = configuration(&server, "target").await;
        assert_known(&c, reason);
        assert_eq!(c.state_reason_code().map(|r| r.as_str()), Some(reason));
    }
}

#[tokio::test]
async fn a_throttles_reason_is_one_of_the_models() {
    let server = start_with(builtin_with("reserved_concurrency = 1", "")).await;
    let slow = |s: &LocalServer| {
        admin_lambda(s)
            .invoke()
            .function_name("target:live")
            .payload(aws_sdk_lambda::primitives::Blob::new(br#"{"sleep_ms":500}"#.to_vec()))
            .send()
    };
    let (a, b) = tokio::join!(slow(&server), slow(&server));
    let err = a.err().or(b.err()).expect("one of two is throttled");
    let Some(aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(t)) = err.as_service_error()
    else {
        panic!("{err:?}");
    };
    let reason = t.reason().expect("a reason").as_str();
    assert!(
        aws_sdk_lambda::types::ThrottleReason::values().contains(&reason),
        "{reason:?}"
    );
}

#[tokio::test]
async fn an_expired_session_answers_expired_token_for_as_long_as_it_is_presented() {
    let server = start().await;
    let creds = assumed_credentials(&server).await;
    let lambda = lambda_with(&server, creds);
    for (advance, when) in [(3_700, "just expired"), (30 * 24 * 3600, "a month later")] {
        control(&server, "POST", "/_local/clock", json!({"advance_s": advance})).await;
        let err = lambda
            .invoke()
            .function_name(builtin::TARGET_FUNCTION_ARN)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_lambda::error::ProvideErrorMetadata::code(&err),
            Some("ExpiredTokenException"),
            "{when}"
        );
    }
}

#[tokio::test]
async fn an_explicit_deny_is_reported_in_awss_words() {
    // The alias's policy allows the source role and also denies it: Deny wins, and AWS says
    // "with an explicit deny in a resource-based policy".
    let allow = "Action = \"lambda:InvokeFunction\", Resource = \"arn:aws:lambda:us-east-1:222222222222:function:target:live\" },\n]";
    let text = include_str!("../../src/local/builtin.toml").replace(
        allow,
        &allow.replace(
            "},\n]",
            "},\n  { Sid = \"deny-source\", Effect = \"Deny\", Principal = { AWS = \"arn:aws:iam::111111111111:role/xinvoke-source\" }, Action = \"lambda:InvokeFunction\", Resource = \"arn:aws:lambda:us-east-1:222222222222:function:target:live\" },\n]",
        ),
    );
    assert!(text.contains("deny-source"));
    let scenario = Scenario::from_toml_str(&text, std::path::Path::new("deny.toml")).unwrap();
    let server = start_with(scenario).await;
    let err = source_lambda(&server)
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .send()
        .await
        .unwrap_err();
    let message = aws_sdk_lambda::error::ProvideErrorMetadata::message(&err)
        .unwrap_or_default()
        .to_string();
    assert!(
        message.ends_with("with an explicit deny in a resource-based policy"),
        "{message}"
    );
    let svc = resource_service(&server, &[]).await;
    let r = svc
        .invoke(
            xinvoke::invoke::service::Call {
                payload: b"{}".to_vec(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.class(), xinvoke::domain::class::Class::AccessDeniedResource);
    assert!(
        r.outcome.hint.unwrap().contains("explicit Deny"),
        "an Allow cannot undo it: the hint says so"
    );
}

#[tokio::test]
async fn a_permission_added_on_a_version_covers_that_versions_arn_only() {
    let server = start().await;
    let version_arn = format!("{}:1", builtin::TARGET_FUNCTION_ARN);
    let source = source_lambda(&server);
    let denied = source.invoke().function_name(&version_arn).send().await.unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&denied),
        Some("AccessDeniedException")
    );
    let added = admin_lambda(&server)
        .add_permission()
        .function_name("target")
        .qualifier("1")
        .statement_id("source-v1")
        .action("lambda:InvokeFunction")
        .principal(builtin::SOURCE_ROLE_ARN)
        .send()
        .await
        .expect("AddPermission --qualifier 1");
    let statement: Value = serde_json::from_str(added.statement().unwrap()).unwrap();
    assert_eq!(statement["Resource"], version_arn.as_str());
    let ok = source
        .invoke()
        .function_name(&version_arn)
        .send()
        .await
        .expect("the version's ARN is allowed");
    assert_eq!(ok.executed_version(), Some("1"));
    let unqualified = source
        .invoke()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&unqualified),
        Some("AccessDeniedException")
    );
    let policy = admin_lambda(&server)
        .get_policy()
        .function_name("target")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    assert!(policy.policy().unwrap().contains("source-v1"));
    let again = admin_lambda(&server)
        .add_permission()
        .function_name("target")
        .qualifier("1")
        .statement_id("source-v1")
        .action("lambda:InvokeFunction")
        .principal(builtin::SOURCE_ROLE_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&again),
        Some("ResourceConflictException")
    );
    admin_lambda(&server)
        .remove_permission()
        .function_name("target")
        .qualifier("1")
        .statement_id("source-v1")
        .send()
        .await
        .expect("RemovePermission");
    assert!(source.invoke().function_name(&version_arn).send().await.is_err());
}

#[tokio::test]
async fn unreserved_concurrency_is_the_limit_less_every_reservation_not_reserved_executions() {
    // Account 2: limit 3, `busy` reserves 2, so `target` (unreserved) has 1. Two executions of
    // `busy` in flight must not take `target`'s one.
    let scenario = builtin_with(
        "",
        "[[accounts.functions]]\nname = \"busy\"\nreserved_concurrency = 2\n",
    );
    let mut scenario = scenario;
    scenario.accounts[1].concurrency_limit = 3;
    let server = start_with(scenario).await;
    let admin = admin_lambda(&server);
    let sleep = |name: &'static str, ms: u64| {
        admin
            .invoke()
            .function_name(name)
            .payload(aws_sdk_lambda::primitives::Blob::new(
                format!("{{\"sleep_ms\":{ms}}}").into_bytes(),
            ))
            .send()
    };
    let (a, b, t) = tokio::join!(sleep("busy", 600), sleep("busy", 600), async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        sleep("target", 0).await
    });
    assert!(a.is_ok() && b.is_ok(), "busy runs within its reservation");
    assert!(t.is_ok(), "target's unreserved slot is free: {t:?}");
    let (t1, t2) = tokio::join!(sleep("target", 400), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sleep("target", 0).await
    });
    assert!(t1.is_ok());
    let Some(aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(e)) =
        t2.as_ref().err().and_then(|e| e.as_service_error())
    else {
        panic!("the second unreserved execution is throttled: {t2:?}");
    };
    assert_eq!(
        e.reason().map(|r| r.as_str()),
        Some("ConcurrentInvocationLimitExceeded")
    );
}

/// Account 2's `target` with an on-failure destination or a dead-letter queue.
fn async_scenario(async_invoke: &str) -> Scenario {
    builtin_with("", &format!("[accounts.functions.async_invoke]\n{async_invoke}\n"))
}

async fn event(server: &LocalServer, payload: Value) -> u16 {
    admin_lambda(server)
        .invoke()
        .function_name("target:live")
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string().into_bytes()))
        .send()
        .await
        .expect("an Event invoke is accepted")
        .status_code() as u16
}

async fn destinations(server: &LocalServer) -> Value {
    control(server, "GET", "/_local/destinations", Value::Null).await.1
}

#[tokio::test]
async fn a_throttle_met_by_a_queued_event_is_retried_and_the_event_runs() {
    let server = start().await;
    fault(
        &server,
        json!({"function": "target", "error": "TooManyRequestsException", "times": 1}),
    )
    .await;
    assert_eq!(
        event(&server, json!({"n": 1})).await,
        202,
        "accepted: the throttle comes when it runs"
    );
    // The first run is throttled; Lambda retries a throttle after about a second.
    settle_events(&server).await;
    let s = server.stats();
    assert_eq!(
        (s.events_queued, s.events_retried, s.events_succeeded),
        (1, 1, 1),
        "{s:?}"
    );
    assert_eq!(
        s.invokes_by_error.get("TooManyRequestsException"),
        None,
        "the 202 was the invoke's answer"
    );
}

#[tokio::test]
async fn errors_lambda_checks_before_queueing_stay_synchronous() {
    let server = start().await;
    fault(
        &server,
        json!({"function": "target", "error": "InvalidParameterValueException", "times": 1}),
    )
    .await;
    let err = admin_lambda(&server)
        .invoke()
        .function_name("target:live")
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&err),
        Some("InvalidParameterValueException")
    );
    let err = admin_lambda(&server)
        .invoke()
        .function_name("target:nope")
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&err),
        Some("ResourceNotFoundException")
    );
    assert_eq!(server.stats().events_queued, 0);
}

/// Wait until the endpoint's counters satisfy `done`.
async fn wait_until(server: &LocalServer, what: &str, done: impl Fn(&xinvoke::local::Stats) -> bool) {
    for _ in 0..500 {
        if done(&server.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: {:?}", server.stats());
}

#[tokio::test]
async fn a_failing_event_is_retried_twice_a_minute_then_two_apart_then_goes_to_its_destination() {
    let server = start_with(async_scenario(
        "on_failure = \"arn:aws:sqs:us-east-1:222222222222:failed-events\"",
    ))
    .await;
    assert_eq!(event(&server, json!({"fail": "always"})).await, 202);
    wait_until(&server, "the first run fails and is put back", |s| {
        s.events_retried == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.stats().events_retried, 1, "the retry waits a minute");
    assert!(destinations(&server).await.as_object().unwrap().is_empty());
    control(&server, "POST", "/_local/clock", json!({"advance_s": 61})).await;
    wait_until(&server, "the second run", |s| s.events_retried == 2).await;
    control(&server, "POST", "/_local/clock", json!({"advance_s": 61})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        server.stats().events_to_destination,
        0,
        "the second retry waits two minutes"
    );
    control(&server, "POST", "/_local/clock", json!({"advance_s": 60})).await;
    settle_events(&server).await;
    let d = destinations(&server).await;
    let records = d["arn:aws:sqs:us-east-1:222222222222:failed-events"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(records.len(), 1, "{d}");
    let r = &records[0];
    assert_eq!(r["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(r["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(r["requestPayload"], json!({"fail": "always"}));
    assert_eq!(r["responseContext"]["functionError"], "Unhandled");
    assert_eq!(r["responsePayload"]["errorMessage"], "always");
    let s = server.stats();
    assert_eq!(
        (s.events_retried, s.events_to_destination, s.events_succeeded),
        (2, 1, 0)
    );
}

#[tokio::test]
async fn an_event_throttled_past_its_maximum_age_goes_to_the_dead_letter_queue_else_is_dropped() {
    // Throttles and system errors are retried with a backoff (1 s, 2 s, 4 s, ...) until the
    // event is older than MaximumEventAgeInSeconds (60 here).
    let server = start_with(async_scenario(
        "maximum_event_age_s = 60\ndead_letter_target = \"arn:aws:sqs:us-east-1:222222222222:dlq\"",
    ))
    .await;
    fault(&server, json!({"function": "target", "error": "EC2ThrottledException"})).await;
    assert_eq!(event(&server, json!({"n": 7})).await, 202);
    for runs in 1..=6u64 {
        wait_until(&server, "a run is put back", |s| {
            s.events_retried == runs || s.events_to_dead_letter_queue == 1
        })
        .await;
        if server.stats().events_to_dead_letter_queue == 1 {
            break;
        }
        control(
            &server,
            "POST",
            "/_local/clock",
            json!({"advance_s": 1u64 << (runs - 1)}),
        )
        .await;
    }
    settle_events(&server).await;
    let d = destinations(&server).await;
    let dlq = d["arn:aws:sqs:us-east-1:222222222222:dlq"].as_array().unwrap().clone();
    assert_eq!(dlq.len(), 1, "{d}");
    assert_eq!(dlq[0]["body"], json!({"n": 7}));
    assert_eq!(dlq[0]["attributes"]["ErrorCode"], "EC2ThrottledException");
    // Runs at 0, 1, 3, 7, 15, 31 s; the next wait (64 s) would pass 60 s: 5 retries.
    assert_eq!(server.stats().events_retried, 5);
    // Without a destination or a queue, Lambda discards it.
    let server = start().await;
    fault(&server, json!({"function": "target", "error": "EC2ThrottledException"})).await;
    event(&server, json!({"n": 8})).await;
    for _ in 0..30 {
        if server.stats().events_dropped == 1 {
            break;
        }
        control(&server, "POST", "/_local/clock", json!({"advance_s": 3_600})).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    settle_events(&server).await;
    assert_eq!(server.stats().events_dropped, 1);
}

/// One Hyperplane ENI carries 2 connections here (AWS: 65,000), and the target's two subnets
/// hold one ENI each: three executions holding 2 connections each need a third ENI; with the
/// quota at 2 the third is refused with ENILimitReachedException. What counts is connections
/// into the VPC, not executions: without any, nothing is made.
#[tokio::test]
async fn connections_past_the_enis_capacity_need_another_eni() {
    async fn three(server: &LocalServer, payload: &'static [u8]) -> Vec<String> {
        let call = || {
            admin_lambda(server)
                .invoke()
                .function_name("target:live")
                .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_vec()))
                .send()
        };
        let (a, b, c) = tokio::join!(call(), call(), call());
        [a, b, c]
            .iter()
            .filter_map(|r| {
                r.as_ref()
                    .err()
                    .and_then(|e| aws_sdk_lambda::error::ProvideErrorMetadata::code(e))
                    .map(str::to_string)
            })
            .collect()
    }
    let scenario = builtin_with("", "[accounts.network]\nconnections_per_eni = 2\neni_create_ms = 50\n");
    let server = start_with(scenario).await;
    assert!(three(&server, br#"{"sleep_ms":300}"#).await.is_empty());
    assert_eq!(
        server.stats().hyperplane_enis_created,
        0,
        "executions without connections"
    );
    assert!(three(&server, br#"{"sleep_ms":300,"connections":2}"#).await.is_empty());
    assert_eq!(server.stats().hyperplane_enis_created, 1, "the third execution's ENI");
    assert_eq!(server.stats().enis_in_use, 3);
    let scenario = builtin_with(
        "",
        "[accounts.network]\nconnections_per_eni = 2\nhyperplane_eni_quota = 2\n",
    );
    let server = start_with(scenario).await;
    assert_eq!(
        three(&server, br#"{"sleep_ms":300,"connections":2}"#).await,
        ["ENILimitReachedException"]
    );
}

/// A function on two subnets holds two ENIs, which a function on the same subnets and
/// security groups shares; other security groups on a subnet need their own (the Lambda
/// guide, "Giving Lambda functions access to resources in an Amazon VPC"; the sharing of one
/// subnet's ENI is `hyperplane`'s unit test).
#[tokio::test]
async fn hyperplane_enis_are_per_subnet_and_security_group_set() {
    let tail = r#"
[[accounts.functions]]
name = "both-subnets"
vpc = { subnet_ids = ["subnet-0b2c3d4e5f6071829", "subnet-0a1b2c3d4e5f60718"], security_group_ids = ["sg-0c3d4e5f607182930"], eni_mode = "hyperplane" }
[[accounts.functions]]
name = "other-groups"
vpc = { subnet_ids = ["subnet-0a1b2c3d4e5f60718"], security_group_ids = ["sg-0other0000000001"], eni_mode = "hyperplane" }
"#;
    let server = start_with(builtin_with("", tail)).await;
    assert_eq!(
        server.stats().enis_in_use,
        3,
        "target: 2 subnets = 2 ENIs, shared by both-subnets; other-groups has its own on subnet a"
    );
}

#[tokio::test]
async fn a_client_that_stalls_mid_request_is_closed_within_the_limit_while_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limits = xinvoke::ServeLimits {
        header_read: Duration::from_millis(400),
        ..Default::default()
    };
    let server = LocalServer::start_with(Scenario::builtin(), "127.0.0.1:0".parse().unwrap(), limits)
        .await
        .unwrap();
    let mut stalled = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stalled
        .write_all(b"POST /2015-03-31/functions/target/invocations HTTP/1.1\r\nHost: x\r\nX-Amz-")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    // Meanwhile another client is served.
    assert_eq!(invoke_code(&server, "target:live").await, Ok(200));
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(3), stalled.read(&mut buf))
        .await
        .expect("the stalled connection is closed, not left open")
        .unwrap_or(0);
    let closed_after = started.elapsed();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(closed_after < Duration::from_millis(1_500), "{closed_after:?}");
    // An idle kept-alive connection is closed the same way.
    let mut idle = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut buf))
        .await
        .expect("closed")
        .unwrap_or(0);
    assert!(n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"));
}

/// The control API is served within the same limits as the AWS paths: headers or a body that
/// stall are answered 408 and closed within their timeout (before, a stalled body on
/// `/_local/faults` stayed open past 80 s), and a body over the cap is refused, on both.
#[tokio::test]
async fn the_control_api_and_the_aws_paths_share_the_body_limits() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limits = xinvoke::ServeLimits {
        header_read: Duration::from_millis(400),
        body_read: Duration::from_millis(400),
        max_body: 64 * 1024,
    };
    let server = LocalServer::start_with(Scenario::builtin(), "127.0.0.1:0".parse().unwrap(), limits)
        .await
        .unwrap();
    for path in ["/_local/faults", "/2015-03-31/functions/target/invocations"] {
        let mut stalled = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"a\":");
        stalled.write_all(head.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), stalled.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{path}: the stalled body is answered, not left open"))
            .unwrap_or(0);
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(
            started.elapsed() < Duration::from_millis(2_000),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    // Headers that stall: the same limit whatever the path.
    for path in ["/_local/faults", "/2015-03-31/functions/target/invocations"] {
        let mut stalled = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nX-Amz-");
        stalled.write_all(head.as_bytes()).await.unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), stalled.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{path}: the stalled headers are closed, not left open"))
            .unwrap_or(0);
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
    }
    let big = vec![b'x'; 64 * 1024 + 1];
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    for path in ["/_local/faults", "/2015-03-31/functions/target/invocations"] {
        let req = axum::http::Request::post(format!("{}{path}", server.url()))
            .body(http_body_util::Full::new(bytes::Bytes::from(big.clone())))
            .unwrap();
        let status = client.request(req).await.unwrap().status().as_u16();
        assert_eq!(status, 413, "{path}: over the cap");
    }
}

/// Published versions keep their configuration, and on Hyperplane their ENIs, until deleted:
/// old versions on other security groups can fill the account's ENI quota, so that an update
/// needing a new ENI fails (EniLimitExceeded); deleting a version releases its ENIs only
/// `eni_release_s` later (AWS releases them minutes after), and then the update succeeds.
#[tokio::test]
async fn old_versions_hold_their_enis_until_deleted_and_released() {
    let tail = r#"
[[accounts.functions]]
name = "old-versions"
versions = ["1", "2"]
update_ms = 20
vpc = { subnet_ids = ["subnet-0x0x0x0x0x0x0x0x0"], security_group_ids = ["sg-0current000000001"], eni_mode = "hyperplane" }
version_networks = { "1" = { subnet_ids = ["subnet-0x0x0x0x0x0x0x0x0"], security_group_ids = ["sg-0version10000001"] }, "2" = { subnet_ids = ["subnet-0x0x0x0x0x0x0x0x0"], security_group_ids = ["sg-0version20000001"] } }
[accounts.network]
hyperplane_eni_quota = 5
eni_create_ms = 10
eni_release_s = 60
"#;
    let server = start_with(builtin_with("", tail)).await;
    assert_eq!(
        server.stats().enis_in_use,
        5,
        "the target's 2, old-versions' 1 and one each for versions 1 and 2: the quota"
    );
    let deploy = || {
        control(
            &server,
            "POST",
            "/_local/update",
            json!({"functions": ["old-versions"], "security_group_ids": ["sg-0next00000000001"]}),
        )
    };
    let settle = || tokio::time::sleep(Duration::from_millis(150));
    deploy().await;
    settle().await;
    let c = configuration(&server, "old-versions").await;
    assert_eq!(
        (c.last_update_status(), c.last_update_status_reason_code()),
        (
            Some(&LastUpdateStatus::Failed),
            Some(&LastUpdateStatusReasonCode::EniLimitExceeded)
        ),
        "the old versions' ENIs fill the quota"
    );
    let (status, answer) = control(
        &server,
        "POST",
        "/_local/delete_version",
        json!({"function": "old-versions", "version": "1"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        invoke_code(&server, "old-versions:1").await,
        Err("ResourceNotFoundException".into()),
        "a deleted version is gone"
    );
    assert_eq!(server.stats().enis_in_use, 5, "its ENI is released later, not at once");
    deploy().await;
    settle().await;
    let c = configuration(&server, "old-versions").await;
    assert_eq!(c.last_update_status(), Some(&LastUpdateStatus::Failed));
    control(&server, "POST", "/_local/clock", json!({"advance_s": 61})).await;
    assert_eq!(server.stats().enis_in_use, 4, "released after eni_release_s");
    deploy().await;
    settle().await;
    let c = configuration(&server, "old-versions").await;
    assert_eq!(c.last_update_status(), Some(&LastUpdateStatus::Successful));
    assert_eq!(c.vpc_config().unwrap().security_group_ids(), ["sg-0next00000000001"]);
    let (status, answer) = control(
        &server,
        "POST",
        "/_local/delete_version",
        json!({"function": "target", "version": "1"}),
    )
    .await;
    assert_eq!(status, 400, "alias live points to target's version 1: {answer}");
    assert!(answer["error"].as_str().unwrap().contains("alias \"live\""), "{answer}");
}

/// Alias changes are changes: moving an alias (UpdateAlias) or deleting it (DeleteAlias,
/// through the control API) gives it a new RevisionId (LocalStack's recorded
/// test_function_revisions_version_and_alias: update_alias changes the alias's id); invokes
/// follow it; a version an alias points to cannot be deleted until the alias moves or goes.
#[tokio::test]
async fn alias_changes_give_new_revision_ids_and_free_their_versions() {
    let tail = r#"
[[accounts.functions]]
name = "aliased"
versions = ["1", "2"]
aliases = [{ name = "live", version = "1" }]
"#;
    let server = start_with(builtin_with("", tail)).await;
    let admin = admin_lambda(&server);
    let alias = || admin.get_alias().function_name("aliased").name("live").send();
    let before = alias().await.unwrap();
    let delete_version = |v: &'static str| {
        control(
            &server,
            "POST",
            "/_local/delete_version",
            json!({"function": "aliased", "version": v}),
        )
    };
    assert_eq!(delete_version("1").await.0, 400, "live points to 1");
    let (status, answer) = control(
        &server,
        "POST",
        "/_local/alias",
        json!({"function": "aliased", "alias": "live", "version": "2"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let moved = alias().await.unwrap();
    assert_eq!(moved.function_version(), Some("2"));
    assert_ne!(moved.revision_id(), before.revision_id(), "UpdateAlias is a change");
    let out = admin.invoke().function_name("aliased:live").send().await.unwrap();
    assert_eq!(out.executed_version(), Some("2"), "invokes follow the alias");
    assert_eq!(delete_version("1").await.0, 200, "no alias points to 1 any more");
    let (status, _) = control(
        &server,
        "POST",
        "/_local/alias",
        json!({"function": "aliased", "alias": "live", "delete": true}),
    )
    .await;
    assert_eq!(status, 200);
    let err = alias().await.unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&err),
        Some("ResourceNotFoundException")
    );
    assert_eq!(
        delete_version("2").await.0,
        200,
        "its last alias gone, the version can go"
    );
}
