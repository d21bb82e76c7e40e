//! The invoker Lambda's handler over the wire: events from `events/` decoded and answered,
//! SQS partial batch failures, malformed events, and logs that carry no secret or payload.

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
async fn an_sqs_batch_reports_only_the_failed_records() {
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
        assert_eq!(
            failed,
            vec![
                "2e1424d4-f796-459a-8184-9c92662be6da",
                "d3b0a0a2-5d0c-4a51-9c36-0c4b1b9d2c11"
            ],
            "the function-error record and the malformed record fail; the good one does not"
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
    let answer = invoker::handle(&svc, event(fixture(include_str!("../../events/load.json"))))
        .await
        .unwrap();
    let sent = answer["sent"].as_u64().unwrap();
    assert!((30..=41).contains(&sent), "20/s for 2 s: {sent}");
    assert_eq!(server.stats().invokes, sent, "every request reached the target once");
    let bad = invoker::handle(&svc, event(json!({"load": {"name": "x"}})))
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
async fn a_batch_slower_than_the_time_left_answers_in_time_with_exactly_the_unfinished_records() {
    // The Lambda guide ("Handling errors for an SQS event source"): a function that times out
    // makes the whole batch visible again, successes included. The invoker must answer before
    // its deadline, listing only what did not finish. Margin 500 ms of a 3 s invocation.
    let server = start().await;
    let batch = |sleeps: &[u64]| {
        let records: Vec<Value> = sleeps
            .iter()
            .enumerate()
            .map(|(i, ms)| sqs_record(&format!("m{i}"), json!({"sleep_ms": ms})))
            .collect();
        json!({ "Records": records })
    };
    // All at once (the default): the two slow ones are cut at the deadline.
    let svc = resource_service(&server, &[("XINVOKE_DEADLINE_MARGIN_MS", "500")]).await;
    let started = std::time::Instant::now();
    let answer = invoker::handle(&svc, event_due_in(batch(&[100, 100, 6000, 6000, 100]), 3000))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(failed_ids(&answer), vec!["m2", "m3"]);
    assert!(took < std::time::Duration::from_millis(2900), "answered after {took:?}");
    assert!(
        took >= std::time::Duration::from_millis(2400),
        "cut before the margin: {took:?}"
    );
    // Two at a time: m0, m1 finish; m2, m3 are cut; m4 never starts.
    let svc = resource_service(
        &server,
        &[("XINVOKE_DEADLINE_MARGIN_MS", "500"), ("XINVOKE_SQS_CONCURRENCY", "2")],
    )
    .await;
    let started = std::time::Instant::now();
    let answer = invoker::handle(&svc, event_due_in(batch(&[1500, 1500, 1500, 1500, 1500]), 3000))
        .await
        .unwrap();
    assert_eq!(failed_ids(&answer), vec!["m2", "m3", "m4"]);
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
    // runs in order; its third record is not invoked once the second failed.
    let before = server.stats().invokes;
    let answer = invoker::handle(&svc, event(fixture(include_str!("../../events/sqs-fifo-batch.json"))))
        .await
        .unwrap();
    assert_eq!(
        failed_ids(&answer),
        vec![
            "6b0f0c0e-0a1d-4c6e-9a51-5f0b5a6c0002",
            "6b0f0c0e-0a1d-4c6e-9a51-5f0b5a6c0003"
        ]
    );
    assert_eq!(
        server.stats().invokes - before,
        3,
        "the record after the failure is not invoked"
    );
    server.shutdown().await;
}
