//! Tenants inside an account: a target in tenant-isolation mode (CreateFunction's
//! `TenancyConfig: PER_TENANT`) needs Invoke's `TenantId` (`X-Amz-Tenant-Id`, botocore's lambda
//! service-2.json) on every call, and a function without it refuses one, both as
//! InvalidParameterValueException (the Lambda guide's "Troubleshooting tenant isolation"). The
//! local endpoint answers so to the real SDK; xinvoke sends the tenant on both paths, from its
//! configuration, a direct event's `tenant_id` or an SQS record's `tenant_id` attribute; doctor
//! names a missing tenant.

use crate::tests::common::*;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use xinvoke::adapters::signed::InvokePath;
use xinvoke::domain::class::Class;
use xinvoke::invoke::service::Call;
use xinvoke::local::scenario::functions::TenantIsolationMode;
use xinvoke::local::{builtin, Scenario};

/// The built-in scenario with its `target` in tenant-isolation mode.
fn isolated() -> Scenario {
    let mut s = Scenario::builtin();
    for a in &mut s.accounts {
        for f in &mut a.functions {
            f.tenant_isolation = Some(TenantIsolationMode::PerTenant);
        }
    }
    s
}

const GUIDE_MESSAGE: &str =
    "Tenant ID configuration not specified or passed to a function when tenant isolation is not enabled.";

#[tokio::test]
async fn the_local_endpoint_answers_a_tenant_mismatch_as_lambda_does() {
    let server = start_with(isolated()).await;
    let lambda = source_lambda(&server);
    let invoke = || {
        lambda
            .invoke()
            .function_name(builtin::TARGET_ALIAS_ARN)
            .payload(b"{}".to_vec().into())
    };
    let e = invoke().send().await.unwrap_err();
    let se = e.as_service_error().expect("a service error");
    assert_eq!(
        (se.code(), se.message()),
        (Some("InvalidParameterValueException"), Some(GUIDE_MESSAGE)),
        "{e:?}"
    );
    assert!(se.is_invalid_parameter_value_exception());
    let out = invoke()
        .tenant_id("blue")
        .send()
        .await
        .expect("a tenant id is accepted");
    assert_eq!(out.status_code(), 200);
    let e = invoke().tenant_id("a|b").send().await.unwrap_err();
    assert!(
        e.message()
            .unwrap_or_default()
            .contains("at 'tenantId' failed to satisfy constraint"),
        "{e:?}"
    );
    // GetFunctionConfiguration shows it (the invoke role of account 2 may read it).
    let conf = lambda_with(&server, assumed_credentials(&server).await)
        .get_function_configuration()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        conf.tenancy_config().map(|t| t.tenant_isolation_mode().as_str()),
        Some("PER_TENANT")
    );
    server.shutdown().await;

    // And a function without tenant isolation refuses a tenant id.
    let server = start().await;
    let e = source_lambda(&server)
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .tenant_id("blue")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.message(), Some(GUIDE_MESSAGE));
    server.shutdown().await;
}

fn call() -> Call {
    Call {
        payload: br#"{"tenant":"test"}"#.to_vec(),
        ..Default::default()
    }
}

#[tokio::test]
async fn xinvoke_sends_the_configured_tenant_on_both_paths_and_without_one_is_told_why() {
    let server = start_with(isolated()).await;
    for path in [InvokePath::Signed, InvokePath::Sdk] {
        let with = [
            ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
            ("XINVOKE_TENANT_ID", "blue"),
        ];
        let svc = service_on(&server, source_credentials(), &with, path).await;
        let r = svc.invoke(call(), None).await.unwrap();
        assert!(r.is_ok(), "{path:?}: {r:?}");
        // A call's own tenant wins over the configured one.
        let r = svc
            .invoke(
                Call {
                    tenant_id: Some("green".parse().unwrap()),
                    ..call()
                },
                None,
            )
            .await
            .unwrap();
        assert!(r.is_ok(), "{path:?}: {r:?}");

        let without = [("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)];
        let svc = service_on(&server, source_credentials(), &without, path).await;
        let r = svc.invoke(call(), None).await.unwrap();
        assert_eq!((r.class(), r.attempts), (Class::InvalidRequest, 1), "{path:?}: {r:?}");
        let hint = r.outcome.hint.clone().unwrap_or_default();
        assert!(hint.contains("tenant") && hint.contains("XINVOKE_TENANT_ID"), "{hint}");
    }
    server.shutdown().await;
}

fn event(v: Value) -> LambdaEvent<Value> {
    LambdaEvent {
        payload: v,
        context: Context::default(),
    }
}

fn sqs_record(id: &str, tenant: Option<&str>) -> Value {
    let attributes = match tenant {
        Some(t) => {
            json!({"tenant_id": {"stringValue": t, "stringListValues": [], "binaryListValues": [], "dataType": "String"}})
        }
        None => json!({}),
    };
    json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": json!({"payload": {"n": id}}).to_string(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": attributes,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:111111111111:xinvoke-requests",
        "awsRegion": "us-east-1"
    })
}

#[tokio::test]
async fn the_invoker_forwards_a_tenant_from_a_direct_event_or_an_sqs_attribute() {
    let server = start_with(isolated()).await;
    let svc = resource_service(&server, &[]).await;
    let ok = xinvoke::lambdas::invoker::handle(&svc, event(json!({"payload": {"a": 1}, "tenant_id": "blue"})))
        .await
        .expect("the direct event's tenant is sent");
    assert_eq!(ok["class"], "ok", "{ok}");
    let refused = xinvoke::lambdas::invoker::handle(&svc, event(json!({"payload": {"a": 1}})))
        .await
        .unwrap_err();
    assert_eq!(refused.error_type, "invalid_request");
    let bad = xinvoke::lambdas::invoker::handle(&svc, event(json!({"payload": {}, "tenant_id": ""})))
        .await
        .unwrap_err();
    assert!(
        bad.error_message.contains("tenant_id: \"\" is not a tenant id"),
        "{}",
        bad.error_message
    );

    // The record with the attribute is invoked as its tenant; the one without is refused by
    // Lambda (InvalidParameterValueException: invalid_request, final, so not handed back to SQS).
    let refused_before = server
        .stats()
        .invokes_by_error
        .get("InvalidParameterValueException")
        .copied();
    let batch = json!({"Records": [sqs_record("with", Some("blue")), sqs_record("without", None)]});
    let answer = xinvoke::lambdas::invoker::handle(&svc, event(batch)).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let refused_after = server
        .stats()
        .invokes_by_error
        .get("InvalidParameterValueException")
        .copied();
    assert_eq!(
        refused_after.unwrap_or(0) - refused_before.unwrap_or(0),
        1,
        "exactly the record without a tenant was refused"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn doctor_says_a_tenant_isolated_target_needs_a_tenant() {
    let server = start_with(isolated()).await;
    let role = [
        ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
        ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
        ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
    ];
    let doctor = |extra: &'static [(&'static str, &'static str)]| {
        let server = &server;
        async move {
            let mut vars: std::collections::HashMap<String, String> =
                role.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let settings = xinvoke::adapters::config::Settings::from_lookup(|k| vars.get(k).cloned()).unwrap();
            let target = settings.target(None).unwrap().clone();
            let base = base(server, source_credentials(), Default::default()).await;
            xinvoke::invoke::doctor::diagnose(&target, &base).await
        }
    };
    let r = doctor(&[]).await;
    assert!(r.failed().contains(&"function"), "{}", r.render());
    let c = r.check("function").unwrap();
    assert!(c.summary.contains("tenant-isolated (PER_TENANT)"), "{}", r.render());
    assert!(
        c.fix.as_deref().unwrap().contains("XINVOKE_TENANT_ID"),
        "{}",
        r.render()
    );
    let r = doctor(&[("XINVOKE_TENANT_ID", "blue")]).await;
    assert!(r.ok, "{}", r.render());
    server.shutdown().await;
}

/// An HTTP route names the header carrying the tenant (`tenantHeader`): its value is sent as
/// the invoke's tenant; without it the request is answered 400 naming the header, and nothing
/// is invoked.
#[tokio::test]
async fn a_routes_tenant_header_carries_the_tenant() {
    let server = start_with(isolated()).await;
    let routes = include_str!("../../examples/gateway.yaml").replace(
        "    logicalName: target-live\n    timeout: 10s\n",
        "    logicalName: target-live\n    timeout: 10s\n    tenantHeader: X-Tenant-Id\n",
    );
    assert!(
        routes.contains("tenantHeader"),
        "the example's first route takes the setting"
    );
    let env = |_: &str| None;
    let base = base(&server, source_credentials(), Default::default()).await;
    let gateway = xinvoke::lambdas::http::load_routes(
        Some(&xinvoke::adapters::config::GatewaySource::Text(routes)),
        &env,
        Some(&base),
    )
    .await
    .unwrap()
    .unwrap();
    let svc = resource_service(&server, &[]).await;
    let mut request: Value = serde_json::from_str(include_str!("../../events/apigw-http-api.json")).unwrap();
    let before = server.stats().invokes;
    let answer = xinvoke::lambdas::invoker::handle_with_routes(&svc, Some(&gateway), event(request.clone()))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 400, "{answer}");
    assert!(
        answer["body"].as_str().unwrap().contains("x-tenant-id header"),
        "{answer}"
    );
    assert_eq!(server.stats().invokes, before, "nothing invoked");
    request["headers"]["x-tenant-id"] = json!("blue");
    let answer = xinvoke::lambdas::invoker::handle_with_routes(&svc, Some(&gateway), event(request))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    server.shutdown().await;
}
