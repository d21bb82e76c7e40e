//! The invoker Lambda's handler over the wire: events from `events/` decoded and answered,
//! SQS partial batch failures, malformed events, logs that carry no secret or payload, and
//! HTTP API / Function URL requests routed by a gateway file to the target.

use crate::tests::common::*;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use xinvoke::domain::record::{ATTEMPTS_HEADER, CLASS_HEADER};
use xinvoke::lambdas::invoker;
use xinvoke::local::builtin;

fn event(v: Value) -> LambdaEvent<Value> {
    LambdaEvent {
        payload: v,
        context: Context::default(),
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

#[tokio::test]
async fn direct_events_answer_the_record_and_failures_are_diagnostics_named_by_class() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    let ok = invoker::handle(&svc, event(fixture(include_str!("../../events/direct-sync.json"))))
        .await
        .unwrap();
    assert_eq!(ok["class"], "ok");
    assert_eq!(ok["payload"], json!({"hello": "from account 1"}));
    assert_eq!(ok["attempts"], 1);
    let async_ok = invoker::handle(&svc, event(fixture(include_str!("../../events/direct-async.json"))))
        .await
        .unwrap();
    assert_eq!(
        (async_ok["status"].clone(), async_ok["invocation_type"].clone()),
        (json!(202), json!("Event"))
    );
    let dry = invoker::handle(&svc, event(fixture(include_str!("../../events/direct-dryrun.json"))))
        .await
        .unwrap();
    assert_eq!(dry["status"], 204);
    let sched = invoker::handle(&svc, event(fixture(include_str!("../../events/schedule.json"))))
        .await
        .unwrap();
    assert_eq!(
        (sched["class"].clone(), sched["payload"].clone()),
        (json!("ok"), json!({}))
    );

    let failed = invoker::handle(&svc, event(json!({"payload": {"fail": "no"}})))
        .await
        .unwrap_err();
    assert_eq!(failed.error_type, "function_error");
    let record: Value = serde_json::from_str(&failed.error_message).expect("the message is the record");
    assert_eq!(record["attempts"], 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_named_target_event_picks_its_target() {
    let server = start().await;
    let targets = json!({
        "target": {"arn": builtin::TARGET_FUNCTION_ARN},
        "other": {"arn": "arn:aws:lambda:us-east-1:222222222222:function:target:nope"}
    })
    .to_string();
    let svc = service(&server, source_credentials(), &[("XINVOKE_TARGETS", &targets)]).await;
    let ok = invoker::handle(&svc, event(fixture(include_str!("../../events/named-target.json"))))
        .await
        .unwrap();
    assert_eq!(
        ok["function"],
        builtin::TARGET_ALIAS_ARN,
        "the event's qualifier replaces the ARN's"
    );
    let missing = invoker::handle(&svc, event(json!({"target": "other", "payload": {}})))
        .await
        .unwrap_err();
    assert_eq!(missing.error_type, "not_found");
    let unknown = invoker::handle(&svc, event(json!({"target": "nope", "payload": {}})))
        .await
        .unwrap_err();
    assert_eq!(unknown.error_type, "invalid_event");
    assert!(
        unknown.error_message.contains("\"other\", \"target\""),
        "{}",
        unknown.error_message
    );
    let no_default = invoker::handle(&svc, event(json!({"payload": {}}))).await.unwrap_err();
    assert!(no_default.error_message.contains("XINVOKE_DEFAULT_TARGET"));
    server.shutdown().await;
}

#[tokio::test]
async fn an_sqs_batch_hands_back_nothing_final_so_sqs_runs_nothing_twice() {
    // One good record, one whose target fails (it ran: final), one malformed (final): none
    // goes back to SQS; without a failure queue they leave as ERROR lines (tests/it/delivery.rs
    // follows them onto a real queue).
    let server = start().await;
    for svc in [resource_service(&server, &[]).await, role_service(&server, &[]).await] {
        let answer = invoker::handle(&svc, event(fixture(include_str!("../../events/sqs-batch.json"))))
            .await
            .unwrap();
        let failed: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap())
            .collect();
        assert!(
            failed.is_empty(),
            "the function-error record and the malformed record are final, never handed back: {failed:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_events_are_invalid_event_diagnostics_that_show_a_valid_shape() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    for bad in [
        json!("text"),
        json!({"nope": 1}),
        json!({"payload": {}, "invocation_type": "Later"}),
        json!({"payload": {}, "qualifier": "a b"}),
    ] {
        let d = invoker::handle(&svc, event(bad.clone())).await.unwrap_err();
        assert_eq!(d.error_type, "invalid_event", "{bad}");
        assert!(
            d.error_message.contains("expected a direct event"),
            "{bad}: {}",
            d.error_message
        );
    }
    assert_eq!(server.stats().invokes, 0, "nothing malformed reached the target");
    server.shutdown().await;
}

#[tokio::test]
async fn a_load_event_runs_a_bounded_load_and_answers_its_counts() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    // Not deployed as a load worker (the default): refused, nothing sent.
    let refused = invoker::handle(&svc, event(fixture(include_str!("../../events/load.json"))))
        .await
        .unwrap_err();
    assert_eq!(refused.error_type, "invalid_event");
    assert!(
        refused.error_message.contains("XINVOKE_LOAD_WORKER"),
        "{}",
        refused.error_message
    );
    assert_eq!(server.stats().invokes, 0);
    let worker = invoker::Extras {
        load_worker: true,
        ..invoker::Extras::default()
    };
    let answer = invoker::handle_with(&svc, worker, event(fixture(include_str!("../../events/load.json"))))
        .await
        .unwrap();
    let sent = answer["sent"].as_u64().unwrap();
    assert!((30..=41).contains(&sent), "20/s for 2 s: {sent}");
    assert_eq!(server.stats().invokes, sent, "every request reached the target once");
    let bad = invoker::handle_with(&svc, worker, event(json!({"load": {"name": "x"}})))
        .await
        .unwrap_err();
    assert_eq!(bad.error_type, "invalid_event");
    assert!(bad.error_message.contains("invalid load job"), "{}", bad.error_message);
    server.shutdown().await;
}

/// An SQS record whose body is a direct event with `payload`.
fn sqs_record(id: &str, payload: Value) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": json!({"payload": payload}).to_string(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:111111111111:xinvoke-requests",
        "awsRegion": "us-east-1"
    })
}

fn failed_ids(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

/// An event whose context's deadline is `ms` from now, as Lambda gives it.
fn event_due_in(v: Value, ms: u64) -> LambdaEvent<Value> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut context = Context::default();
    context.deadline = now_ms + ms;
    LambdaEvent { payload: v, context }
}

#[tokio::test]
async fn a_batch_slower_than_the_time_left_answers_in_time_handing_back_only_what_never_started() {
    // The Lambda guide ("Handling errors for an SQS event source"): a function that times out
    // makes the whole batch visible again, successes included. The invoker must answer before
    // its deadline. What was cut at the deadline may be running at the target: final, never
    // handed back; what never started goes back to SQS. Margin 500 ms of a 3 s invocation.
    let server = start().await;
    let batch = |sleeps: &[u64]| {
        let records: Vec<Value> = sleeps
            .iter()
            .enumerate()
            .map(|(i, ms)| sqs_record(&format!("m{i}"), json!({"sleep_ms": ms})))
            .collect();
        json!({ "Records": records })
    };
    // All at once (the default): the two slow ones are cut at the deadline, after they were
    // sent: final.
    let svc = resource_service(&server, &[("XINVOKE_DEADLINE_MARGIN_MS", "500")]).await;
    let started = std::time::Instant::now();
    let answer = invoker::handle(&svc, event_due_in(batch(&[100, 100, 6000, 6000, 100]), 3000))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert!(took < std::time::Duration::from_millis(2900), "answered after {took:?}");
    assert!(
        took >= std::time::Duration::from_millis(2400),
        "cut before the margin: {took:?}"
    );
    // Two at a time: m0, m1 finish; m2, m3 are cut (final); m4 never starts (handed back).
    let svc = resource_service(
        &server,
        &[("XINVOKE_DEADLINE_MARGIN_MS", "500"), ("XINVOKE_SQS_CONCURRENCY", "2")],
    )
    .await;
    let started = std::time::Instant::now();
    let answer = invoker::handle(&svc, event_due_in(batch(&[1500, 1500, 1500, 1500, 1500]), 3000))
        .await
        .unwrap();
    assert_eq!(failed_ids(&answer), vec!["m4"]);
    assert!(started.elapsed() < std::time::Duration::from_millis(2900));
    server.shutdown().await;
}

#[tokio::test]
async fn records_run_concurrently_and_a_fifo_group_in_order_stopping_at_its_first_failure() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    // A standard batch of five 300 ms records takes about 300 ms, not 1.5 s.
    let records: Vec<Value> = (0..5)
        .map(|i| sqs_record(&format!("s{i}"), json!({"sleep_ms": 300})))
        .collect();
    let started = std::time::Instant::now();
    let answer = invoker::handle(&svc, event(json!({ "Records": records })))
        .await
        .unwrap();
    assert!(failed_ids(&answer).is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );

    // FIFO (events/sqs-fifo-batch.json): group a is [sleep, fail, ok], group b is [ok]. Group a
    // runs in order; the second record's target ran and failed (final, not handed back); the
    // third is not invoked and goes back to SQS, so the group stays in order.
    let before = server.stats().invokes;
    let answer = invoker::handle(&svc, event(fixture(include_str!("../../events/sqs-fifo-batch.json"))))
        .await
        .unwrap();
    assert_eq!(failed_ids(&answer), vec!["6b0f0c0e-0a1d-4c6e-9a51-5f0b5a6c0003"]);
    assert_eq!(
        server.stats().invokes - before,
        3,
        "the record after the failure is not invoked"
    );
    server.shutdown().await;
}

/// The example gateway file (`examples/gateway.yaml`: `POST /target` to target:live with the
/// invoker's own credentials, `POST /target-role` through account 2's xinvoke-invoke role,
/// `/apigw/` wrapped and unwrapped as API Gateway does, `/target-async` queued) plus `extra`
/// routes, as the invoker reads it at cold start (`XINVOKE_GATEWAY_CONFIG`).
async fn routes(server: &xinvoke::local::LocalServer, dir: &std::path::Path, extra: &str) -> xinvoke::gateway::Gateway {
    let file = dir.join("gateway.yaml");
    std::fs::write(&file, format!("{}{extra}", include_str!("../../examples/gateway.yaml"))).unwrap();
    let retry = fast_retry(2);
    let env = move |k: &str| (k == "XINVOKE_RETRY").then(|| retry.clone());
    let base = base(server, source_credentials(), Default::default()).await;
    xinvoke::lambdas::http::load_routes(
        Some(&xinvoke::adapters::config::GatewaySource::File(file)),
        &env,
        Some(&base),
    )
    .await
    .expect("the example routes load")
    .expect("routes")
}

/// A proxy response's status, class header and text body as JSON (`Null` when not JSON).
fn proxy(answer: &Value) -> (u64, &str, Value) {
    let body = answer["body"].as_str().expect("a body");
    assert_eq!(answer["isBase64Encoded"], false, "{answer}");
    (
        answer["statusCode"].as_u64().expect("a status"),
        answer["headers"][CLASS_HEADER].as_str().expect("the class header"),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

const HTTP_API: &str = include_str!("../../events/apigw-http-api.json");
const FUNCTION_URL: &str = include_str!("../../events/function-url.json");

/// The event with its path set to `path` (`rawPath` and `requestContext.http.path`).
fn at(event: &Value, path: &str) -> Value {
    let mut v = event.clone();
    v["rawPath"] = json!(path);
    v["requestContext"]["http"]["path"] = json!(path);
    v
}

/// The event with a JSON body (plain for an HTTP API sample, base64 for a Function URL one,
/// as each sample sends it).
fn with_body(event: &Value, body: &Value) -> Value {
    use base64::Engine;
    let mut v = event.clone();
    let text = body.to_string();
    v["body"] = match v["isBase64Encoded"].as_bool() == Some(true) {
        true => json!(base64::engine::general_purpose::STANDARD.encode(text)),
        false => json!(text),
    };
    v
}

#[tokio::test]
async fn http_api_and_function_url_requests_reach_the_target_by_either_route_in_proxy_format() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = routes(&server, dir.path(), "").await;
    let svc = resource_service(&server, &[]).await;
    let handle = |v: Value| invoker::handle_with_routes(&svc, Some(&gw), event(v));
    let (api, url) = (fixture(HTTP_API), fixture(FUNCTION_URL));
    assert_eq!(
        (api["rawPath"].as_str(), url["rawPath"].as_str()),
        (Some("/target"), Some("/target-role")),
        "the samples take the two routes"
    );

    // The samples as they are: the HTTP API's JSON body and the Function URL's base64 one
    // reach the target as the payload, which it echoes.
    let a = handle(api.clone())
        .await
        .expect("HTTP requests are always answered, never errors");
    assert_eq!(proxy(&a), (200, "ok", json!({"hello": "from an HTTP API"})), "{a}");
    assert_eq!(a["headers"][ATTEMPTS_HEADER], "1");
    assert_eq!(a["headers"]["content-type"], "application/json");
    assert_eq!(
        a["headers"]["x-request-id"], "TdL4fjPLIAMEVzA=",
        "requestContext.requestId"
    );
    assert_eq!(
        server.stats().sts_assume_role,
        0,
        "/target: the invoker's own credentials"
    );
    let a = handle(url.clone()).await.unwrap();
    assert_eq!(proxy(&a), (200, "ok", json!({"hello": "from a function URL"})), "{a}");
    assert_eq!(a["headers"]["x-request-id"], "e1506fd5-9e7b-434f-bd42-4f8fa224b599");
    assert_eq!(server.stats().sts_assume_role, 1, "/target-role: through the role");

    // Each shape by the other route.
    let a = handle(at(&api, "/target-role")).await.unwrap();
    assert_eq!(proxy(&a), (200, "ok", json!({"hello": "from an HTTP API"})), "{a}");
    let a = handle(at(&url, "/target")).await.unwrap();
    assert_eq!(proxy(&a), (200, "ok", json!({"hello": "from a function URL"})), "{a}");
    let stats = server.stats();
    assert_eq!(
        (stats.invokes, stats.sts_assume_role),
        (4, 1),
        "one session for the role route"
    );

    // No route takes the path (or the method): 404, nothing invoked.
    for lost in [at(&url, "/nowhere"), at(&api, "/target-rolex"), {
        let mut get = api.clone();
        get["requestContext"]["http"]["method"] = json!("GET");
        get
    }] {
        let a = handle(lost).await.unwrap();
        let (status, class, body) = proxy(&a);
        assert_eq!((status, class), (404, "no_route"), "{a}");
        assert_eq!(body["class"], "no_route");
    }
    assert_eq!(server.stats().invokes, 4);

    // An async route: 202 once the invoke is queued.
    let a = handle(at(&api, "/target-async")).await.unwrap();
    assert_eq!(proxy(&a), (202, "ok", json!({"status": "queued"})), "{a}");
    server.shutdown().await;
}

#[tokio::test]
async fn failures_answer_the_status_and_class_the_gateway_server_answers() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = routes(&server, dir.path(), "").await;
    let svc = resource_service(&server, &[]).await;
    let handle = |v: Value| invoker::handle_with_routes(&svc, Some(&gw), event(v));
    let (api, url) = (fixture(HTTP_API), fixture(FUNCTION_URL));

    // A fault injected on the target: 502 with its class, the account kept out of the body.
    fault(
        &server,
        json!({"function": "target", "error": "KMSAccessDeniedException", "times": 100}),
    )
    .await;
    for e in [&api, &url] {
        let a = handle(e.clone()).await.unwrap();
        let (status, class, body) = proxy(&a);
        assert_eq!((status, class), (502, "kms"), "{a}");
        assert_eq!(body["class"], "kms");
        assert!(!a["body"].as_str().unwrap().contains("222222222222"), "{a}");
    }
    // Throttled on every attempt: 429 and when to retry.
    control_client(&server).clear_faults().await.unwrap();
    fault(
        &server,
        json!({"function": "target", "error": "TooManyRequestsException", "times": 100}),
    )
    .await;
    let a = handle(url.clone()).await.unwrap();
    assert_eq!((proxy(&a).0, proxy(&a).1), (429, "throttled"), "{a}");
    assert_eq!(a["headers"][ATTEMPTS_HEADER], "3", "XINVOKE_RETRY's 2 retries");
    assert!(a["headers"]["retry-after"].as_str().is_some(), "{a}");
    control_client(&server).clear_faults().await.unwrap();

    // The target itself fails: 502 function_error, tried once.
    let before = server.stats().invokes;
    let a = handle(with_body(&url, &json!({"fail": "boom"}))).await.unwrap();
    let (status, class, body) = proxy(&a);
    assert_eq!((status, class), (502, "function_error"), "{a}");
    assert_eq!(
        (body["class"].as_str(), a["headers"][ATTEMPTS_HEADER].as_str()),
        (Some("function_error"), Some("1"))
    );
    assert_eq!(server.stats().invokes, before + 1, "a function error is not retried");

    // The invocation's deadline bounds the invoke (the route's own timeout is 10 s): a target
    // slower than the time left is cut, and the client gets 504 before the function times out.
    let svc = resource_service(&server, &[("XINVOKE_DEADLINE_MARGIN_MS", "500")]).await;
    let slow = with_body(&api, &json!({"sleep_ms": 5000}));
    let started = std::time::Instant::now();
    let a = invoker::handle_with_routes(&svc, Some(&gw), event_due_in(slow, 2000))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!((proxy(&a).0, proxy(&a).1), (504, "timeout"), "{a}");
    assert!(
        took < std::time::Duration::from_millis(1900) && took >= std::time::Duration::from_millis(1400),
        "answered after {took:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn wrapped_and_unwrapped_routes_speak_api_gateway_both_ways() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let unwrap_route = "\n  - name: unwrap\n    matchers: [{exact: /unwrap}]\n    upstream: account2\n    logicalName: target-live\n    unwrapAsApiGateway: true\n";
    let gw = routes(&server, dir.path(), unwrap_route).await;
    let svc = resource_service(&server, &[]).await;
    let handle = |v: Value| invoker::handle_with_routes(&svc, Some(&gw), event(v));

    // /apigw/: the target receives API Gateway's event (and echoes it, which, without a
    // statusCode, is the body): path, cookies, query and body as the client sent them.
    let a = handle(at(&fixture(HTTP_API), "/apigw/orders")).await.unwrap();
    let (status, class, echoed) = proxy(&a);
    assert_eq!((status, class), (200, "ok"), "{a}");
    assert_eq!(echoed["rawPath"], "/apigw/orders");
    assert_eq!(echoed["cookies"], json!(["session=3f9a1c", "theme=dark"]));
    assert_eq!(
        echoed["queryStringParameters"],
        json!({"source": "events", "tag": "a,b"})
    );
    assert_eq!(echoed["body"], r#"{"hello": "from an HTTP API"}"#);

    // A function answering in proxy format (the target echoes what it is sent): its status,
    // headers and cookies come back as the invoker's own proxy response, and a binary body
    // as base64.
    let function_answer = json!({
        "statusCode": 201,
        "headers": {"X-Made": "yes"},
        "cookies": ["s=1; Secure", "t=2"],
        "body": "AAEC/w==",
        "isBase64Encoded": true
    });
    let a = handle(with_body(&at(&fixture(FUNCTION_URL), "/unwrap"), &function_answer))
        .await
        .unwrap();
    assert_eq!(a["statusCode"], 201, "{a}");
    assert_eq!(a["headers"]["x-made"], "yes");
    assert_eq!(a["headers"][CLASS_HEADER], "ok");
    assert_eq!(a["cookies"], json!(["s=1; Secure", "t=2"]));
    assert_eq!(
        (a["body"].as_str(), a["isBase64Encoded"].as_bool()),
        (Some("AAEC/w=="), Some(true))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_http_request_without_routes_is_a_500_naming_the_variable_and_invokes_nothing() {
    let server = start().await;
    let svc = resource_service(&server, &[]).await;
    for sample in [HTTP_API, FUNCTION_URL] {
        let a = invoker::handle(&svc, event(fixture(sample)))
            .await
            .expect("answered, not a Lambda error");
        let (status, class, body) = proxy(&a);
        assert_eq!((status, class), (500, "not_configured"), "{a}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("XINVOKE_GATEWAY_CONFIG ") && message.contains("XINVOKE_GATEWAY_CONFIG_TEXT"),
            "{message}"
        );
    }
    assert_eq!(server.stats().invokes, 0);
    server.shutdown().await;
}

/// What an HTTP request's invoke came to (the invoker writes its EMF document from it) names
/// the invocation type its route used: `Event` for an async route, `RequestResponse` for a sync
/// one; nothing when no route took the request.
#[tokio::test]
async fn an_http_routes_emf_sample_names_its_invocation_type() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = routes(&server, dir.path(), "").await;
    let api = fixture(HTTP_API);
    let mut types = Vec::new();
    for path in ["/target-async", "/target", "/nowhere"] {
        let request = match xinvoke::lambdas::event::InvokerEvent::from_value(at(&api, path)).unwrap() {
            xinvoke::lambdas::event::InvokerEvent::Http(r) => r,
            other => panic!("not HTTP: {other:?}"),
        };
        let (_, observed) = xinvoke::lambdas::http::answer_observed(Some(&gw), &request, "rid", None, None).await;
        types.push(observed.map(|o| (o.invocation_type, o.class)));
    }
    assert_eq!(
        types,
        vec![Some(("Event", "ok")), Some(("RequestResponse", "ok")), None]
    );
    server.shutdown().await;
}
