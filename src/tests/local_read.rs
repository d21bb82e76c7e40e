//! Lambda's read calls (GetFunctionConfiguration, GetPolicy, GetAlias) with the real SDK.

use crate::tests::common::*;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::types::State;
use serde_json::json;
use xinvoke::local::builtin;

#[tokio::test]
async fn configuration_reports_vpc_state_and_version() {
    let server = start().await;
    let client = admin_lambda(&server);
    let c = client
        .get_function_configuration()
        .function_name("target")
        .send()
        .await
        .unwrap();
    assert_eq!(c.function_name(), Some("target"));
    assert_eq!(c.function_arn(), Some(builtin::TARGET_FUNCTION_ARN));
    assert_eq!(c.version(), Some("$LATEST"));
    assert_eq!(c.state(), Some(&State::Active));
    assert_eq!(c.runtime().map(|r| r.as_str()), Some("provided.al2023"));
    let vpc = c.vpc_config().unwrap();
    assert_eq!(vpc.subnet_ids().len(), 2);
    assert_eq!(vpc.security_group_ids().len(), 1);
    assert!(vpc.vpc_id().unwrap().starts_with("vpc-"));
    let c = client
        .get_function_configuration()
        .function_name("target")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    assert_eq!(c.version(), Some("1"));
    assert_eq!(c.function_arn(), Some(builtin::TARGET_ALIAS_ARN));
}

#[tokio::test]
async fn configuration_shows_a_failed_state_and_its_reason_code() {
    let server = start().await;
    control(
        &server,
        "POST",
        "/_local/state",
        json!({"function":"target","state":"Failed","reason_code":"SubnetOutOfIPAddresses"}),
    )
    .await;
    let c = admin_lambda(&server)
        .get_function_configuration()
        .function_name("target")
        .send()
        .await
        .unwrap();
    assert_eq!(c.state(), Some(&State::Failed));
    assert_eq!(
        c.state_reason_code().map(|r| r.as_str()),
        Some("SubnetOutOfIPAddresses")
    );
    assert_eq!(
        c.last_update_status_reason_code().map(|r| r.as_str()),
        Some("SubnetOutOfIPAddresses")
    );
}

#[tokio::test]
async fn policy_of_the_alias_names_the_source_role_and_the_function_has_none() {
    let server = start().await;
    let client = admin_lambda(&server);
    let p = client
        .get_policy()
        .function_name("target")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    assert_eq!(doc["Statement"][0]["Principal"]["AWS"], builtin::SOURCE_ROLE_ARN);
    assert!(p.revision_id().is_some());
    let err = client.get_policy().function_name("target").send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(err.message(), Some("The resource you requested does not exist."));
}

#[tokio::test]
async fn alias_resolves_to_version_1_and_unknown_alias_is_404() {
    let server = start().await;
    let client = admin_lambda(&server);
    let a = client
        .get_alias()
        .function_name("target")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(a.alias_arn(), Some(builtin::TARGET_ALIAS_ARN));
    assert_eq!(a.function_version(), Some("1"));
    assert_eq!(a.name(), Some("live"));
    let err = client
        .get_alias()
        .function_name("target")
        .name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn reads_across_accounts_need_the_resource_policy_and_the_assumed_role_may_read() {
    let server = start().await;
    let err = source_lambda(&server)
        .get_function_configuration()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err
        .message()
        .unwrap()
        .contains("no resource-based policy allows the lambda:GetFunctionConfiguration action"));
    let creds = assumed_credentials(&server).await;
    let c = lambda_with(&server, creds)
        .get_function_configuration()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(c.state(), Some(&State::Active));
}
