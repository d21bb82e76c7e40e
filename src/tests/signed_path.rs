//! The signed path agrees with the SDK path, outcome for outcome: every injectable error
//! of the local endpoint, a function error, a timeout, bad credentials, AccessDenied on both
//! sides and an unreachable endpoint, in both auth modes, sync and async, through both
//! attempters into the same classifier. The signed side is built as the invoker Lambda builds its
//! service (`invoker::service`), and the invoker's answers to events agree too.

use crate::tests::common::*;
use aws_credential_types::Credentials;
use serde_json::{json, Value};
use std::collections::HashMap;
use xinvoke::adapters::config::Settings;
use xinvoke::adapters::signed::InvokePath;
use xinvoke::domain::class::Class;
use xinvoke::domain::errors;
use xinvoke::domain::invocation::InvocationType;
use xinvoke::domain::record::InvokeRecord;
use xinvoke::invoke::service::{Call, Service};
use xinvoke::lambdas::invoker;
use xinvoke::local::{builtin, LocalServer};

/// A service on `path`, configured by `vars` as the invoker reads its environment; the signed
/// one is the invoker's own (`invoker::service`).
async fn on_path(server: &LocalServer, creds: Credentials, vars: &[(&str, &str)], path: InvokePath) -> Service {
    let mut map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    map.insert("XINVOKE_NO_RETRY".into(), "true".into());
    let settings = Settings::from_lookup(|k| map.get(k).cloned()).expect("valid test settings");
    let base = base(server, creds, settings.timeouts).await;
    let svc = match path {
        InvokePath::Sdk => Service::with_path(settings, &base, path).await,
        InvokePath::Signed => invoker::service(settings, &base).await,
    };
    assert_eq!(svc.path(), path, "the {} path was built", path.name());
    svc
}

/// The SDK and fast services for the same configuration.
async fn pair(server: &LocalServer, creds: Credentials, vars: &[(&str, &str)]) -> [Service; 2] {
    [
        on_path(server, creds.clone(), vars, InvokePath::Sdk).await,
        on_path(server, creds, vars, InvokePath::Signed).await,
    ]
}

const RESOURCE: &[(&str, &str)] = &[("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)];
const ROLE: &[(&str, &str)] = &[
    ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
    ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
    ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
];

/// What both paths must agree on.
fn seen(r: &InvokeRecord) -> Value {
    let o = &r.outcome;
    json!({
        "class": o.class,
        "retryable": o.retryable,
        "status": o.status,
        "error_code": o.error_code,
        "reason": o.reason,
        "ec2_error_code": o.ec2_error_code,
        "retry_after_s": o.retry_after_s,
        "function_error": o.function_error,
        "hint": o.hint,
        "executed_version": r.executed_version,
        "message": r.message,
        "payload": r.payload,
        "attempts": r.attempts,
    })
}

/// Invoke through both paths, each after installing `fault` (when given); assert they agree.
async fn agree(
    server: &LocalServer,
    services: &[Service; 2],
    fault_spec: Option<&Value>,
    payload: &Value,
    ty: InvocationType,
    what: &str,
) -> Value {
    let mut out = Vec::new();
    for svc in services {
        if let Some(spec) = fault_spec {
            fault(server, spec.clone()).await;
        }
        let call = Call {
            payload: payload.to_string().into_bytes(),
            invocation_type: Some(ty),
            ..Call::default()
        };
        let r = svc.invoke(call, None).await.expect("target resolves");
        out.push(seen(&r));
    }
    assert_eq!(out[0], out[1], "{what} {ty}: sdk (left) and fast (right) disagree");
    out.pop().unwrap()
}

/// Every fault the control API can inject, with the extra fields of the two errors that carry them.
fn fault_matrix() -> Vec<Value> {
    let mut specs: Vec<Value> = errors::answered_by(false)
        .map(|e| json!({"function": "target", "error": e.code, "times": 1}))
        .collect();
    for code in ["RequestLimitExceeded", "NetworkInterfaceLimitExceeded", "InternalError"] {
        specs
            .push(json!({"function": "target", "error": "EC2UnexpectedException", "ec2_error_code": code, "times": 1}));
    }
    for reason in [
        "ConcurrentInvocationLimitExceeded",
        "ReservedFunctionConcurrentInvocationLimitExceeded",
        "CallerRateLimitExceeded",
    ] {
        specs.push(json!({"function": "target", "error": "TooManyRequestsException", "reason": reason, "retry_after_s": 7, "times": 1}));
    }
    specs.push(json!({"function": "target", "error": "ServiceException", "message": "custom words", "times": 1}));
    specs
}

#[tokio::test]
async fn every_injected_fault_is_the_same_outcome_on_both_paths() {
    let server = start().await;
    let mut classes = std::collections::BTreeSet::new();
    for (mode, vars) in [("resource", RESOURCE), ("role", ROLE)] {
        let services = pair(&server, source_credentials(), vars).await;
        for ty in [InvocationType::RequestResponse, InvocationType::Event] {
            for spec in fault_matrix() {
                let got = agree(
                    &server,
                    &services,
                    Some(&spec),
                    &json!({}),
                    ty,
                    &format!("{mode} {spec}"),
                )
                .await;
                settle_events(&server).await;
                control_client(&server).clear_faults().await.unwrap();
                // An Event is answered 202 once queued; a throttle or 5xx is met when it runs.
                let when_run =
                    ty == InvocationType::Event && applies_when_run(spec["error"].as_str().unwrap_or_default());
                if when_run {
                    assert_eq!(
                        (got["class"].clone(), got["status"].clone()),
                        (json!("ok"), json!(202)),
                        "{mode} {ty} {spec}"
                    );
                } else {
                    assert_ne!(
                        got["class"],
                        json!("ok"),
                        "{mode} {ty} {spec}: the fault was not applied"
                    );
                }
                classes.insert(got["class"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    assert!(classes.len() >= 15, "the matrix reaches many classes: {classes:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn answers_function_errors_and_access_denied_agree_in_both_auth_modes() {
    let server = start().await;
    for (mode, vars) in [("resource", RESOURCE), ("role", ROLE)] {
        let services = pair(&server, source_credentials(), vars).await;
        for ty in [
            InvocationType::RequestResponse,
            InvocationType::Event,
            InvocationType::DryRun,
        ] {
            let ok = agree(&server, &services, None, &json!({"hello": mode}), ty, mode).await;
            assert_eq!(ok["class"], json!("ok"), "{mode} {ty}");
        }
        let echoed = agree(
            &server,
            &services,
            None,
            &json!({"n": 1}),
            InvocationType::RequestResponse,
            mode,
        )
        .await;
        assert_eq!(echoed["payload"], json!({"n": 1}));
        let failed = agree(
            &server,
            &services,
            None,
            &json!({"fail": "boom"}),
            InvocationType::RequestResponse,
            mode,
        )
        .await;
        assert_eq!(
            (failed["class"].clone(), failed["function_error"].clone()),
            (json!("function_error"), json!("Unhandled"))
        );
    }
    // Resource side: the source role may invoke target:live only, not the unqualified function.
    let unqualified = pair(
        &server,
        source_credentials(),
        &[("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN)],
    )
    .await;
    // Identity side: the stranger has no identity policy.
    let stranger = pair(&server, stranger_credentials(), RESOURCE).await;
    for ty in [InvocationType::RequestResponse, InvocationType::Event] {
        let r = agree(&server, &unqualified, None, &json!({}), ty, "unqualified").await;
        assert_eq!(r["class"], json!(Class::AccessDeniedResource));
        let r = agree(&server, &stranger, None, &json!({}), ty, "stranger").await;
        assert_eq!(r["class"], json!(Class::AccessDeniedIdentity));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_agree_whether_the_service_or_sts_refuses_them() {
    let server = start().await;
    let bad_secret = Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        "wrong-secret",
        Some(builtin::SOURCE_SESSION_TOKEN.into()),
        None,
        "t",
    );
    for (what, creds) in [
        ("bad secret", bad_secret.clone()),
        (
            "unknown key",
            Credentials::new("AKIANOBODY0000000000", "x", None, None, "t"),
        ),
    ] {
        let services = pair(&server, creds, RESOURCE).await;
        for ty in [InvocationType::RequestResponse, InvocationType::Event] {
            let r = agree(&server, &services, None, &json!({}), ty, what).await;
            assert_eq!(r["class"], json!("credentials"), "{what}: {r}");
        }
    }
    let wrong_external_id = [
        ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
        ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
        ("XINVOKE_EXTERNAL_ID", "not-the-external-id"),
    ];
    let services = pair(&server, source_credentials(), &wrong_external_id).await;
    for ty in [InvocationType::RequestResponse, InvocationType::Event] {
        let r = agree(&server, &services, None, &json!({}), ty, "wrong external id").await;
        assert_eq!(
            (r["class"].clone(), r["error_code"].clone()),
            (json!("credentials"), json!("AccessDenied"))
        );
    }
    // The role's source credentials themselves are refused by STS.
    let services = pair(&server, bad_secret, ROLE).await;
    let r = agree(
        &server,
        &services,
        None,
        &json!({}),
        InvocationType::RequestResponse,
        "bad source",
    )
    .await;
    assert_eq!(r["class"], json!("credentials"), "{r}");
    server.shutdown().await;
}

#[tokio::test]
async fn timeouts_agree_sync_and_async() {
    let server = start().await;
    let vars = [
        ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
        ("XINVOKE_ATTEMPT_TIMEOUT_MS", "300"),
    ];
    let services = pair(&server, source_credentials(), &vars).await;
    let r = agree(
        &server,
        &services,
        None,
        &json!({"sleep_ms": 1500}),
        InvocationType::RequestResponse,
        "slow target",
    )
    .await;
    assert_eq!(r["class"], json!("timeout"));
    let slow_answer = json!({"function": "target", "latency_ms": 1500, "times": 1});
    for ty in [InvocationType::RequestResponse, InvocationType::Event] {
        let r = agree(&server, &services, Some(&slow_answer), &json!({}), ty, "slow answer").await;
        assert_eq!(r["class"], json!("timeout"), "{ty}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_endpoint_is_connect_on_both_paths() {
    let server = start().await;
    let services = pair(&server, source_credentials(), RESOURCE).await;
    server.shutdown().await;
    for ty in [InvocationType::RequestResponse, InvocationType::Event] {
        let mut out = Vec::new();
        for svc in &services {
            let call = Call {
                payload: b"{}".to_vec(),
                invocation_type: Some(ty),
                ..Call::default()
            };
            out.push(seen(&svc.invoke(call, None).await.unwrap()));
        }
        assert_eq!(out[0], out[1]);
        assert_eq!(out[0]["class"], json!("connect"));
    }
}

#[tokio::test]
async fn the_fast_path_assumes_the_role_once_for_many_invokes() {
    let server = start().await;
    let fast = on_path(&server, source_credentials(), ROLE, InvokePath::Signed).await;
    for i in 0..50 {
        let call = Call {
            payload: json!({"i": i}).to_string().into_bytes(),
            ..Call::default()
        };
        let r = fast.invoke(call, None).await.unwrap();
        assert_eq!(r.class(), Class::Ok);
        assert_eq!(r.payload, Some(json!({"i": i})));
    }
    assert_eq!(
        server.stats().sts_assume_role,
        1,
        "credentials are cached until near expiry"
    );
    server.shutdown().await;
}

/// Both paths send the caller's trace (`X-Amzn-Trace-Id`, unsigned as the SDKs send it) with
/// every attempt, in both auth modes, and the endpoint accepts the signature and records it.
#[tokio::test]
async fn both_paths_pass_the_callers_trace_on() {
    let server = start().await;
    let mut sent = Vec::new();
    for (mode, vars) in [("role", ROLE), ("resource", RESOURCE)] {
        for (path, svc) in [InvokePath::Sdk, InvokePath::Signed]
            .into_iter()
            .zip(pair(&server, source_credentials(), vars).await)
        {
            let trace = format!(
                "Root=1-65f1a2b3-{:024x};Parent=53995c3f42cd8ad8;Sampled=1",
                sent.len() + 1
            );
            let call = Call {
                payload: b"{}".to_vec(),
                ..Call::default()
            };
            let r = svc.invoke_traced(call, None, Some(&trace)).await.unwrap();
            assert!(r.is_ok(), "{mode} {}: {r:?}", path.name());
            sent.push(trace);
        }
    }
    let received: Vec<String> = control_client(&server)
        .invocations()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["trace_id"].as_str().unwrap_or("none").to_string())
        .collect();
    assert_eq!(received, sent);
    server.shutdown().await;
}

/// The invoker's answer to an event, without what differs from one invoke to the next.
fn answered(answer: Result<Value, lambda_runtime::Diagnostic>) -> Value {
    let (kind, mut record) = match answer {
        Ok(v) => ("ok", v),
        Err(d) => (
            "error",
            json!({"error_type": d.error_type, "record": serde_json::from_str::<Value>(&d.error_message).unwrap_or(Value::Null)}),
        ),
    };
    let strip = |r: &mut Value| {
        if let Some(o) = r.as_object_mut() {
            o.remove("latency_ms");
            for a in o
                .get_mut("attempt_log")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(a) = a.as_object_mut() {
                    a.remove("latency_ms");
                }
            }
        }
    };
    strip(&mut record);
    if let Some(inner) = record.get_mut("record") {
        strip(inner);
    }
    json!({"kind": kind, "answer": record})
}

#[tokio::test]
async fn the_invokers_answers_agree_event_for_event_on_both_paths() {
    let server = start().await;
    let mut kinds = std::collections::BTreeSet::new();
    for (mode, vars) in [("resource", RESOURCE), ("role", ROLE)] {
        let services = pair(&server, source_credentials(), vars).await;
        let mut cases: Vec<(Option<Value>, Value)> = fault_matrix().into_iter().map(|f| (Some(f), json!({}))).collect();
        cases.push((None, json!({"payload": {"n": 1}})));
        cases.push((None, json!({"payload": {"fail": "boom"}})));
        cases.push((None, json!({"payload": {}, "invocation_type": "Event"})));
        for (spec, event) in cases {
            let event = if event.get("payload").is_some() {
                event
            } else {
                json!({"payload": event})
            };
            let mut out = Vec::new();
            for svc in &services {
                if let Some(spec) = &spec {
                    fault(&server, spec.clone()).await;
                }
                let e = lambda_runtime::LambdaEvent::new(event.clone(), lambda_runtime::Context::default());
                out.push(answered(invoker::handle(svc, e).await));
                control_client(&server).clear_faults().await.unwrap();
            }
            assert_eq!(
                out[0], out[1],
                "{mode} {spec:?} {event}: sdk (left) and the invoker's path (right) disagree"
            );
            kinds.insert(out[1]["answer"]["error_type"].as_str().unwrap_or("ok").to_string());
        }
        settle_events(&server).await;
    }
    assert!(kinds.len() >= 15, "the events reach many classes: {kinds:?}");
    server.shutdown().await;
}
