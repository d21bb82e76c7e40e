//! The invoker's logs: one JSON line per invoke, and never a secret key, session token,
//! external id or payload. In the `logs` binary, so the process-wide subscriber sees every line.

use crate::common::*;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use xinvoke::lambdas::invoker;
use xinvoke::local::builtin;

fn event(v: Value) -> LambdaEvent<Value> {
    LambdaEvent {
        payload: v,
        context: Context::default(),
    }
}

#[tokio::test]
async fn logs_carry_one_line_per_invoke_and_no_secret_or_payload() {
    let captured = crate::capture().await;

    let server = start().await;
    let marker = "payload-marker-7f3a";
    let role = role_service(&server, &[("XINVOKE_RETRY", &fast_retry(1))]).await;
    let resource = resource_service(&server, &[]).await;
    let mut invokes = 0;
    for svc in [&role, &resource] {
        for payload in [json!({"secret": marker}), json!({"fail": marker})] {
            let _ = invoker::handle(svc, event(json!({"payload": payload}))).await;
            invokes += 1;
        }
        fault(
            &server,
            json!({"function": "target", "error": "EC2ThrottledException", "times": 1}),
        )
        .await;
        let _ = invoker::handle(svc, event(json!({"payload": {"m": marker}}))).await;
        invokes += 1;
    }
    let _ = invoker::handle(
        &resource,
        event(serde_json::from_str(include_str!("../../events/sqs-batch.json")).unwrap()),
    )
    .await;
    invokes += 2; // two of the three SQS records reach the target
    server.shutdown().await;

    let text = captured.text();
    let invoke_lines = text.lines().filter(|l| l.contains("\"message\":\"invoke\"")).count();
    assert_eq!(invoke_lines, invokes, "one log line per invoke:\n{text}");
    // Session tokens of the local endpoint start with IQoJ, as AWS's do.
    for secret in [
        "IQoJ",
        builtin::SOURCE_SECRET_KEY,
        builtin::EXTERNAL_ID,
        marker,
        "SessionToken",
        "session_token",
        "x-amz-security-token",
    ] {
        assert!(
            !text.to_ascii_lowercase().contains(&secret.to_ascii_lowercase()),
            "the logs contain {secret:?}:\n{text}"
        );
    }
    assert!(
        text.contains("\"class\":\"function_error\""),
        "failures are logged with their class:\n{text}"
    );
    assert!(
        text.contains("\"attempts\":2"),
        "the retried invoke logs its attempts:\n{text}"
    );
}

/// The `invoker` binary as Lambda runs it (a Runtime API on loopback), pointed at the local
/// endpoint with the source role's credentials, plus `extra`.
async fn invoker_process(server: &xinvoke::local::LocalServer, extra: &[(&str, &str)]) -> runtime_api::RuntimeApi {
    let url = server.url();
    let retry = fast_retry(1);
    let mut env = vec![
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_REGION", builtin::REGION),
        ("AWS_ACCESS_KEY_ID", builtin::SOURCE_ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", builtin::SOURCE_SECRET_KEY),
        ("AWS_SESSION_TOKEN", builtin::SOURCE_SESSION_TOKEN),
        ("XINVOKE_RETRY", retry.as_str()),
    ];
    env.extend_from_slice(extra);
    runtime_api::RuntimeApi::start(env!("CARGO_BIN_EXE_invoker"), &env).await
}

#[tokio::test]
async fn no_line_but_xinvokes_own_reaches_warn_when_aws_answers_5xx() {
    let _one_at_a_time = crate::capture().await;
    // Every 5xx of the table, through the invoker binary (the signed path; AssumeRole through
    // the SDK), in both auth modes. The SDK's connection-poisoning interceptor logs an ERROR for
    // each transient answer unless the transport lets it reach the connection; lambda_runtime
    // logs every failed event's Diagnostic at ERROR. Neither may reach a user's log (and its
    // error alarms).
    let server = start().await;
    let resource = invoker_process(&server, &[("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)]).await;
    let role = invoker_process(
        &server,
        &[
            ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
            ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
            ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
        ],
    )
    .await;
    let five_xx: Vec<_> = xinvoke::core::errors::answered_by(false)
        .filter(|r| r.status >= 500)
        .collect();
    assert!(five_xx.len() >= 15);
    for process in [&resource, &role] {
        for row in &five_xx {
            fault(&server, json!({"function": "target", "error": row.code, "times": 2})).await;
            let answer = process
                .invoke(json!({"payload": {}}), std::time::Duration::from_secs(30))
                .await;
            let runtime_api::Answer::Error { error_type, .. } = &answer else {
                panic!("{}: {answer:?}", row.code);
            };
            // An injected EC2UnexpectedException carries EC2ErrorCode Client.RequestLimitExceeded.
            let class = match row.code {
                "EC2UnexpectedException" => "ec2_request_limit",
                _ => row.class.name(),
            };
            assert_eq!(error_type, class, "{}", row.code);
            control_client(&server).clear_faults().await.unwrap();
        }
        let lines = process.json_lines();
        let loud: Vec<_> = lines
            .iter()
            .filter(|l| matches!(l["level"].as_str(), Some("WARN" | "ERROR")))
            .collect();
        let invokes = loud.iter().filter(|l| l["message"] == "invoke").count();
        assert_eq!(
            invokes,
            five_xx.len(),
            "one WARN line per failed invoke:\n{}",
            process.log()
        );
        for l in &loud {
            assert!(
                l["target"].as_str().is_some_and(|t| t.starts_with("xinvoke")),
                "a line that is not xinvoke's reached WARN: {l}\n{}",
                process.log()
            );
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_panicking_handler_is_a_function_error_and_the_runtime_serves_the_next_event() {
    let _one_at_a_time = crate::capture().await;
    // The target binary panics on {"panic": ...}. lambda_runtime catches it when the profile
    // unwinds (Cargo.toml; check-template.sh checks the release build sam deploys), answers
    // the event as a function error with the panic's message, and polls for the next event.
    let target = runtime_api::RuntimeApi::start(env!("CARGO_BIN_EXE_target"), &[]).await;
    let answer = target
        .invoke(
            json!({"panic": "boom in the handler"}),
            std::time::Duration::from_secs(10),
        )
        .await;
    assert_eq!(
        answer,
        runtime_api::Answer::Error {
            error_type: xinvoke::core::behaviour::PANIC_ERROR_TYPE.into(),
            message: "Lambda panicked: boom in the handler".into()
        }
    );
    let next = target
        .invoke(json!({"after": 1}), std::time::Duration::from_secs(10))
        .await;
    assert_eq!(next, runtime_api::Answer::Ok(json!({"after": 1})));
    let panics: Vec<_> = target
        .json_lines()
        .into_iter()
        .filter(|l| l["message"] == "panic")
        .collect();
    assert_eq!(panics.len(), 1, "{}", target.log());
    assert_eq!(panics[0]["level"], "ERROR");
    assert_eq!(panics[0]["panic"], "boom in the handler");
    assert!(panics[0]["target"].as_str().unwrap().starts_with("xinvoke"));
}

#[tokio::test]
async fn http_requests_through_the_binarys_routes_log_one_access_line_and_no_secret_or_payload() {
    let _one_at_a_time = crate::capture().await;
    // The invoker binary reads its routes at cold start from XINVOKE_GATEWAY_CONFIG_TEXT: the
    // example file, whose role upstream carries the external id.
    let server = start().await;
    let routes = include_str!("../../examples/gateway.yaml");
    assert!(routes.contains(builtin::EXTERNAL_ID));
    let with_routes = invoker_process(
        &server,
        &[
            ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
            ("XINVOKE_GATEWAY_CONFIG_TEXT", routes),
        ],
    )
    .await;
    let without_routes = invoker_process(&server, &[("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)]).await;
    let marker = "http-marker-5e1f";
    let mut request: Value = serde_json::from_str(include_str!("../../events/function-url.json")).unwrap();
    request["body"] = json!(json!({"secret": marker}).to_string());
    request["isBase64Encoded"] = json!(false);
    request["cookies"] = json!([format!("session={marker}")]);
    request["headers"]["authorization"] = json!(format!("AWS4-HMAC-SHA256 Credential={marker}"));
    request["rawQueryString"] = json!(format!("token={marker}"));
    let time_left = std::time::Duration::from_secs(20);

    let answer = with_routes.invoke(request.clone(), time_left).await;
    let runtime_api::Answer::Ok(ok) = answer else {
        panic!("{answer:?}\n{}", with_routes.log())
    };
    assert_eq!(
        (ok["statusCode"].clone(), ok["headers"]["x-xinvoke-class"].clone()),
        (json!(200), json!("ok")),
        "{ok}"
    );
    assert_eq!(ok["body"], json!({"secret": marker}).to_string(), "the target's echo");
    let mut lost = request.clone();
    lost["rawPath"] = json!("/nowhere");
    let answer = with_routes.invoke(lost, time_left).await;
    assert!(
        matches!(&answer, runtime_api::Answer::Ok(a) if a["statusCode"] == 404),
        "{answer:?}"
    );
    let answer = without_routes.invoke(request, time_left).await;
    assert!(
        matches!(&answer, runtime_api::Answer::Ok(a) if a["statusCode"] == 500 && a["headers"]["x-xinvoke-class"] == "not_configured"),
        "{answer:?}"
    );
    server.shutdown().await;

    let access: Vec<Value> = with_routes
        .json_lines()
        .into_iter()
        .filter(|l| l["target"] == "xinvoke::gateway::access")
        .collect();
    let routes: Vec<_> = access.iter().map(|l| l["route"].as_str().unwrap_or("?")).collect();
    assert_eq!(routes, ["target-role", "no_route"], "{}", with_routes.log());
    assert_eq!(access[0]["class"], "ok");
    assert_eq!(access[0]["source"], "function_url");
    let unrouted: Vec<Value> = without_routes
        .json_lines()
        .into_iter()
        .filter(|l| l["level"] == "ERROR")
        .collect();
    assert_eq!(unrouted.len(), 1, "{}", without_routes.log());
    assert!(
        unrouted[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("XINVOKE_GATEWAY_CONFIG_TEXT")),
        "{}",
        without_routes.log()
    );
    let text = format!("{}{}", with_routes.log(), without_routes.log());
    for secret in ["IQoJ", builtin::SOURCE_SECRET_KEY, builtin::EXTERNAL_ID, marker] {
        assert!(!text.contains(secret), "the logs contain {secret:?}:\n{text}");
    }
}

/// The rules of CloudWatch's Embedded Metric Format specification a document breaks (none
/// for a valid one): <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.
fn emf_problems(doc: &Value) -> Vec<String> {
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];
    let mut p = Vec::new();
    if doc.to_string().len() > 1_000_000 {
        p.push("a document is at most 1 MB".to_string());
    }
    let Some(aws) = doc["_aws"].as_object() else {
        return vec!["_aws is a required object".into()];
    };
    let timestamp = aws.get("Timestamp").and_then(Value::as_i64);
    if timestamp.is_none_or(|ms| ms <= 1_600_000_000_000) {
        p.push("_aws.Timestamp is required: epoch milliseconds".into());
    }
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        p.push("_aws.CloudWatchMetrics is a required array".into());
        return p;
    };
    for d in directives {
        let ns = d["Namespace"].as_str().unwrap_or("");
        if ns.is_empty() || ns.len() > 255 {
            p.push(format!("Namespace is a required string of 1-255 characters: {d}"));
        }
        match d["Dimensions"].as_array() {
            None => p.push(format!("Dimensions is a required array of dimension sets: {d}")),
            Some(sets) => {
                for set in sets {
                    let names = set.as_array().cloned().unwrap_or_default();
                    if names.len() > 30 || set.as_array().is_none() {
                        p.push(format!("a dimension set is an array of at most 30 names: {set}"));
                    }
                    for n in names {
                        let value = n.as_str().map(|n| &doc[n]);
                        if !value.is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 1024)) {
                            p.push(format!(
                                "dimension {n} must name a member whose value is a string of 1-1024 characters"
                            ));
                        }
                    }
                }
            }
        }
        match d["Metrics"].as_array() {
            Some(metrics) if metrics.len() <= 100 => {
                for m in metrics {
                    let name = m["Name"].as_str().unwrap_or("");
                    if name.is_empty() || name.len() > 1024 {
                        p.push(format!(
                            "a metric's Name is a required string of 1-1024 characters: {m}"
                        ));
                    }
                    if m.get("Unit")
                        .is_some_and(|u| !u.as_str().is_some_and(|u| UNITS.contains(&u)))
                    {
                        p.push(format!("{name}: Unit must be one of CloudWatch's units"));
                    }
                    let v = &doc[name];
                    let numeric = v.is_number()
                        || v.as_array()
                            .is_some_and(|a| a.len() <= 100 && a.iter().all(Value::is_number));
                    if !numeric {
                        p.push(format!(
                            "metric {name} must name a member holding a number (or up to 100)"
                        ));
                    }
                }
            }
            _ => p.push(format!("Metrics is a required array of at most 100 definitions: {d}")),
        }
    }
    p
}

/// What a Powertools user expects of the deployed invoker, as Lambda runs it: every log line
/// carries Powertools' Logger fields (the invocation's request id, trace, cold start inside
/// an invocation); each invoke writes one valid EMF document (each SQS record's too) and a
/// cold start one more; and the Invoke carries the invocation's trace (an SQS record's own
/// `AWSTraceHeader` when it has one) to the endpoint, which records it.
#[tokio::test]
async fn the_invoker_logs_like_powertools_writes_one_emf_document_per_invoke_and_passes_its_trace_on() {
    let _one_at_a_time = crate::capture().await;
    let server = start().await;
    let process = invoker_process(
        &server,
        &[
            ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
            ("POWERTOOLS_METRICS_NAMESPACE", "Team/Invoker"),
            ("POWERTOOLS_SERVICE_NAME", "orders-bridge"),
        ],
    )
    .await;
    let long = std::time::Duration::from_secs(30);
    assert!(matches!(
        process.invoke(json!({"payload": {"n": 1}}), long).await,
        runtime_api::Answer::Ok(_)
    ));
    fault(&server, json!({"function": "target", "error": "TooManyRequestsException", "reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "times": 2})).await;
    let throttled = process.invoke(json!({"payload": {"n": 2}}), long).await;
    assert!(
        matches!(&throttled, runtime_api::Answer::Error { error_type, .. } if error_type == "throttled"),
        "{throttled:?}"
    );
    let sender_trace = "Root=1-65f1a2b3-0123456789abcdef01234567;Parent=1111222233334444;Sampled=1";
    let batch = json!({"Records": [
        {"messageId": "m-1", "body": "{\"payload\":{\"n\":3}}", "attributes": {"AWSTraceHeader": sender_trace}, "eventSource": "aws:sqs"},
        {"messageId": "m-2", "body": "{\"payload\":{\"n\":4}}", "attributes": {}, "eventSource": "aws:sqs"},
    ]});
    assert!(matches!(process.invoke(batch, long).await, runtime_api::Answer::Ok(_)));

    let lines = process.json_lines();
    let (emf, logs): (Vec<&Value>, Vec<&Value>) = lines.iter().partition(|l| l.get("_aws").is_some());
    // Logs: Powertools' fields on every line, the invocation's within one.
    for l in &logs {
        for field in [
            "level",
            "message",
            "timestamp",
            "service",
            "function_name",
            "function_memory_size",
            "target",
        ] {
            assert!(l.get(field).is_some(), "{field} missing: {l}");
        }
        assert_eq!(l["service"], "orders-bridge");
    }
    let invokes: Vec<&&Value> = logs.iter().filter(|l| l["message"] == "invoke").collect();
    assert_eq!(invokes.len(), 4, "{}", process.log());
    let traces: Vec<&str> = invokes
        .iter()
        .map(|l| l["xray_trace_id"].as_str().unwrap_or("-"))
        .collect();
    let (t1, t2, t3) = (
        runtime_api::RuntimeApi::trace_id(1),
        runtime_api::RuntimeApi::trace_id(2),
        runtime_api::RuntimeApi::trace_id(3),
    );
    assert_eq!(
        traces[..2],
        [t1.as_str(), t2.as_str()],
        "each invocation's lines carry its trace"
    );
    assert_eq!(invokes[0]["cold_start"], true);
    assert!(
        invokes[1..].iter().all(|l| l["cold_start"] == false),
        "warm after the first"
    );
    assert!(invokes.iter().all(|l| l["function_request_id"]
        .as_str()
        .is_some_and(|r| r.ends_with("-aaaa-bbbb-cccc-dddddddddddd"))));
    assert_eq!(
        invokes[0]["function_arn"],
        "arn:aws:lambda:us-east-1:111111111111:function:xinvoke-invoker"
    );

    // Metrics: every document valid; one per invoke, one cold start.
    for d in &emf {
        assert_eq!(emf_problems(d), Vec::<String>::new(), "{d}");
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Team/Invoker");
    }
    let per_invoke: Vec<&&Value> = emf.iter().filter(|d| d.get("Invokes").is_some()).collect();
    assert_eq!(per_invoke.len(), 4, "one EMF document per invoke");
    assert_eq!(
        emf.iter().filter(|d| d.get("ColdStart").is_some()).count(),
        1,
        "one cold start"
    );
    let classes: Vec<(&str, f64, f64)> = per_invoke
        .iter()
        .map(|d| {
            (
                d["class"].as_str().unwrap(),
                d["Failed"].as_f64().unwrap(),
                d["Retries"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(classes[0], ("ok", 0.0, 0.0));
    assert_eq!(
        classes[1],
        ("throttled", 1.0, 1.0),
        "the throttled invoke, retried once"
    );
    assert_eq!(
        per_invoke[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["service", "target", "class"], ["service", "target", "stop"]])
    );

    // Traces: the endpoint received each invocation's (the first record its sender's).
    let received = control_client(&server).invocations().await.unwrap();
    let received: Vec<&str> = received
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["function_arn"] == builtin::TARGET_ALIAS_ARN)
        .map(|i| i["trace_id"].as_str().unwrap_or("-"))
        .collect();
    // Invocation 2 tried twice (throttled, then its retry was throttled too).
    let mut expected = vec![t1.as_str(), t2.as_str(), t2.as_str(), sender_trace, t3.as_str()];
    let mut got = received.clone();
    // The two SQS records run concurrently.
    expected[3..].sort_unstable();
    got[3..].sort_unstable();
    assert_eq!(got, expected);
    server.shutdown().await;
}

#[tokio::test]
async fn where_the_signed_path_cannot_be_built_the_invoker_says_so_once_and_uses_the_sdk() {
    let captured = crate::capture().await;
    let server = start().await;
    let targets = json!({
        "target": {"arn": builtin::TARGET_ALIAS_ARN},
        "other": {"arn": builtin::TARGET_FUNCTION_ARN}
    })
    .to_string();
    let map: std::collections::HashMap<String, String> =
        [("XINVOKE_TARGETS".to_string(), targets)].into_iter().collect();
    let settings =
        xinvoke::adapters::config::Settings::from_lookup(|k| map.get(k).cloned()).expect("valid test settings");
    // No credentials provider: the signed path has nothing to sign with.
    let mut no_credentials = base(&server, source_credentials(), settings.timeouts)
        .await
        .to_builder();
    no_credentials.set_credentials_provider(None);
    let svc = invoker::service(settings, &no_credentials.build()).await;
    assert_eq!(svc.path(), xinvoke::adapters::signed::InvokePath::Sdk);
    let answer = invoker::handle(&svc, event(json!({"payload": {}, "target": "other"}))).await;
    assert!(answer.is_err(), "without credentials the invoke fails: {answer:?}");
    let text = captured.text();
    let notes: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("the signed path is unavailable"))
        })
        .collect();
    assert_eq!(notes.len(), 1, "one line for both targets:\n{text}");
    assert_eq!(notes[0]["level"], "WARN");
    assert_eq!(notes[0]["fields"]["targets"], "other,target", "{text}");
    server.shutdown().await;
}
