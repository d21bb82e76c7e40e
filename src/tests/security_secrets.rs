//! Secrets stay secret: across everything captured at INFO (xinvoke, the SDK, the local
//! account 2), every error message, the `Debug` output of settings, services, records and
//! scenarios, the load records and the load reports (JSON, text, HTML), no secret access key,
//! no session token (the local endpoint's start with `IQoJ`), no external id, and no payload.
//! With the crate's tests' process-wide subscriber (`crate::tests::logs`), which sees every line.

use crate::tests::common::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use xinvoke::adapters::config::Settings;
use xinvoke::domain::invocation::InvocationType;
use xinvoke::invoke::service::Call;
use xinvoke::load::engine::{run_phase, Model, Payloads, PhasePlan, StopRules};
use xinvoke::load::record::{LoadRecord, RunInfo};
use xinvoke::load::report;
use xinvoke::load::senders::DirectSender;
use xinvoke::load::stats::Metrics;
use xinvoke::local::builtin;

const MARKER: &str = "payload-marker-c0ffee";

fn forbidden() -> Vec<&'static str> {
    vec![
        builtin::SOURCE_SECRET_KEY,
        builtin::STRANGER_SECRET_KEY,
        builtin::ADMIN_SECRET_KEY,
        builtin::EXTERNAL_ID,
        "IQoJ",
        MARKER,
    ]
}

fn assert_clean(what: &str, text: &str) {
    for secret in forbidden() {
        assert!(!text.contains(secret), "{what} contains {secret:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_payload_in_logs_errors_debug_output_records_or_reports() {
    let captured = crate::tests::logs::capture().await;

    let server = start().await;
    let retry = fast_retry(1);
    let role = role_service(&server, &[("XINVOKE_RETRY", &retry)]).await;
    let resource = resource_service(&server, &[("XINVOKE_RETRY", &retry)]).await;
    let wrong_external_id = service(
        &server,
        source_credentials(),
        &[
            ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
            ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
            ("XINVOKE_EXTERNAL_ID", "a-wrong-external-id-c0ffee"),
        ],
    )
    .await;
    let bad_secret = service(
        &server,
        aws_credential_types::Credentials::new(
            builtin::SOURCE_ACCESS_KEY,
            "a-wrong-secret-c0ffee",
            Some("IQoJb3JpZ2luX2VjEJr//fake-session-token".into()),
            None,
            "t",
        ),
        &[("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)],
    )
    .await;
    let mut texts: Vec<(String, String)> = Vec::new();
    let call = |payload: serde_json::Value, ty| Call {
        payload: payload.to_string().into_bytes(),
        invocation_type: Some(ty),
        ..Call::default()
    };
    for svc in [&role, &resource, &wrong_external_id, &bad_secret] {
        for ty in [InvocationType::RequestResponse, InvocationType::Event] {
            for payload in [json!({"m": MARKER}), json!({"fail": MARKER})] {
                fault(
                    &server,
                    json!({"function": "target", "error": "EC2ThrottledException", "times": 1}),
                )
                .await;
                let r = svc.invoke(call(payload, ty), None).await.unwrap();
                // The record itself may carry a sync answer (asked for); everything else may not.
                let mut shown = r.clone();
                shown.payload = None;
                texts.push(("record Debug".into(), format!("{shown:?}")));
                texts.push(("record JSON".into(), serde_json::to_string(&shown).unwrap()));
                texts.push(("hint".into(), r.outcome.hint.clone().unwrap_or_default()));
                texts.push(("message".into(), r.message.clone().unwrap_or_default()));
            }
        }
        texts.push(("service Debug".into(), format!("{svc:?}")));
        texts.push(("settings Debug".into(), format!("{:?}", svc.settings())));
    }
    // The endpoint expires the session: the ExpiredToken answer must not echo the token.
    control_client(&server).advance_clock(3700).await.unwrap();
    let r = role
        .invoke(call(json!({"m": MARKER}), InvocationType::RequestResponse), None)
        .await
        .unwrap();
    texts.push(("expired record".into(), format!("{:?}", r.outcome)));
    texts.push(("expired message".into(), r.message.unwrap_or_default()));
    // Configuration errors.
    for (k, v) in [
        ("XINVOKE_EXTERNAL_ID", "bad id with spaces c0ffee"),
        ("XINVOKE_EXTERNAL_ID", "x"),
        ("XINVOKE_ROLE_ARN", "not-an-arn"),
    ] {
        let vars = [
            ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
            ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
            ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
        ];
        let e = Settings::from_lookup(|name| {
            if name == k {
                Some(v.to_string())
            } else {
                vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
            }
        })
        .unwrap_err();
        texts.push((format!("config error {k}"), format!("{e} {e:?}")));
        if k == "XINVOKE_EXTERNAL_ID" {
            assert!(!e.to_string().contains(v), "the bad external id is echoed: {e}");
        }
    }
    // The endpoint's scenario holds the secret keys: redacted. (Its trust policy names the
    // external id, as an IAM trust policy does: that is account 2's own document.)
    let scenario = format!("{:?}", xinvoke::local::Scenario::builtin());
    for secret in [
        builtin::SOURCE_SECRET_KEY,
        builtin::STRANGER_SECRET_KEY,
        builtin::ADMIN_SECRET_KEY,
    ] {
        assert!(!scenario.contains(secret), "scenario Debug shows {secret}");
    }
    texts.push((
        "stats".into(),
        serde_json::to_string(&control_client(&server).stats().await.unwrap()).unwrap(),
    ));

    // A load run through the role service with payloads carrying the marker: records and reports.
    control_client(&server).reset().await.unwrap();
    fault(
        &server,
        json!({"function": "target", "error": "ServiceException", "probability": 0.3, "seed": 5}),
    )
    .await;
    let role = Arc::new(role_service(&server, &[("XINVOKE_RETRY", &retry)]).await);
    let target = Arc::new(DirectSender::new(role, vec![], None, Duration::from_secs(10)));
    let plan = PhasePlan {
        name: "secrets".into(),
        retries: true,
        model: Model::Closed { concurrency: 4 },
        duration: None,
        requests: Some(200),
        stop: StopRules::default(),
        grace: Duration::from_secs(5),
        max_in_flight: 4,
    };
    let payloads = Payloads::cycle(vec![
        json!({"m": MARKER}).to_string().into_bytes(),
        json!({"fail": MARKER}).to_string().into_bytes(),
    ]);
    let (_tx, stop) = xinvoke::load::engine::stop_signal();
    let mut records: Vec<LoadRecord> = vec![LoadRecord::run(RunInfo {
        target: builtin::TARGET_FUNCTION_ARN.into(),
        via: "direct".into(),
        ..RunInfo::default()
    })];
    run_phase(0, &plan, target, &payloads, None, stop, &mut |r| {
        records.push(r.clone())
    })
    .await;
    let mut metrics = Metrics::new();
    for r in &records {
        metrics.add(r);
        texts.push(("load record".into(), serde_json::to_string(r).unwrap()));
    }
    let rep = metrics.finish();
    texts.push(("report JSON".into(), report::json(&rep)));
    texts.push(("report text".into(), report::text::render(&rep)));
    texts.push(("report HTML".into(), report::html::render(&rep)));

    let logs = captured.text();
    assert!(
        logs.lines().count() > 50,
        "the logs were captured ({} lines)",
        logs.lines().count()
    );
    texts.push(("logs".into(), logs));
    for (what, text) in &texts {
        assert_clean(what, text);
        assert!(
            !text.contains("c0ffee"),
            "{what} echoes a wrong secret or external id:\n{text}"
        );
    }
    server.shutdown().await;
}
