//! Nothing runs twice once deployed, counted: the deployed shape run locally, one test per cell
//! of docs/lambdas.md's table (trigger × outcome class → target runs at most, Invoke attempts at
//! most, where a failed message ends).
//!
//! The parts are real: the `invoker` binary under a Lambda Runtime API on loopback, the local
//! endpoint as account 2 (and as account 1's Lambda, hosting the invoker for async events with
//! the template's `EventInvokeConfig`), moto's SQS server with the template's queue settings
//! (its redrive policy to a dead-letter queue, and the failure queue), and an event-source
//! poller here that behaves as Lambda's (batch size, `ReportBatchItemFailures`: what
//! succeeded or was not handed back is deleted, the rest reappears after the visibility
//! timeout with its receive count risen). The target's executions and the Invoke attempts that
//! reached it are counted per message by the local endpoint (`GET /_local/executions`).
//!
//! Clocks are sped up: retry waits are the default policy's divided by 100 (the attempts are
//! the default policy's), the visibility timeout is 1 s instead of 360 s.
//!
//! moto comes from the venv `XINVOKE_VENV` names (scripts/test.sh passes it; it holds
//! scripts/requirements-e2e.txt): without it these tests fail, they never skip.

use crate::common::runtime_api::{Answer, RuntimeApi};
use crate::common::{control_client, fault, source_credentials, start_with};
use aws_sdk_lambda::config::{BehaviorVersion, Region};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use xinvoke::core::retry::RetryPolicy;
use xinvoke::core::Class;
use xinvoke::local::client::ControlClient;
use xinvoke::local::scenario::{AsyncInvoke, Behaviour, Function};
use xinvoke::local::{builtin, LocalServer, Scenario};

/// The failure destination's ARN in the local account 1 (Lambda's OnFailure for async events).
const FAILURE_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:111111111111:xinvoke-failure";
/// The hosted invoker function in account 1.
const INVOKER: &str = "xinvoke-invoker";

// ------------------------------------------------------------------ the documented bounds

/// An outcome class of the table, and how a test makes the target meet it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    FunctionError,
    TimeoutAfterSend,
    Throttle,
    Ec2Throttle,
    NotReady,
    AccessDenied,
}

impl Case {
    /// The class the invoker's record names.
    fn class(self) -> Class {
        match self {
            Case::FunctionError => Class::FunctionError,
            Case::TimeoutAfterSend => Class::Timeout,
            Case::Throttle => Class::Throttled,
            Case::Ec2Throttle => Class::Ec2Throttled,
            Case::NotReady => Class::NotReady,
            Case::AccessDenied => Class::AccessDenied,
        }
    }

    /// docs/lambdas.md: Invoke attempts at most per message (every layer counted). The same
    /// numbers as the default retry policy's `1 + max_retries` (checked below).
    fn attempts(self) -> u32 {
        match self {
            Case::FunctionError | Case::TimeoutAfterSend | Case::AccessDenied => 1,
            Case::Throttle => 4,
            Case::Ec2Throttle => 3,
            Case::NotReady => 6,
        }
    }

    /// Whether the target ran it (once): the classes that reached it.
    fn ran(self) -> bool {
        matches!(self, Case::FunctionError | Case::TimeoutAfterSend)
    }

    /// The direct event's payload: what makes the target fail or take too long.
    fn payload(self) -> Value {
        match self {
            Case::FunctionError => json!({"fail": "the target failed"}),
            // The attempt timeout is 1 s (XINVOKE_ATTEMPT_TIMEOUT_MS): the request was sent.
            Case::TimeoutAfterSend => json!({"sleep_ms": 3000}),
            _ => json!({"hello": "delivery"}),
        }
    }

    /// The fault that makes the target's Invoke meet the case, for every attempt.
    async fn inject(self, server: &LocalServer) {
        let error = match self {
            Case::FunctionError | Case::TimeoutAfterSend => return,
            Case::Throttle => "TooManyRequestsException",
            Case::Ec2Throttle => "EC2ThrottledException",
            Case::NotReady => "ResourceNotReadyException",
            Case::AccessDenied => "AccessDeniedException",
        };
        fault(
            server,
            json!({"function": "target", "error": error, "times": 1000, "retry_after_s": 0}),
        )
        .await;
    }
}

#[test]
fn the_documented_attempts_are_the_default_retry_policys() {
    let policy = RetryPolicy::default();
    for case in [
        Case::FunctionError,
        Case::TimeoutAfterSend,
        Case::Throttle,
        Case::Ec2Throttle,
        Case::NotReady,
        Case::AccessDenied,
    ] {
        assert_eq!(
            case.attempts(),
            1 + policy.class(case.class()).max_retries,
            "{case:?}: docs/lambdas.md's table and the default policy disagree"
        );
    }
}

// ------------------------------------------------------------------ the deployed shape

/// template.yaml as JSON (CloudFormation's short tags dropped, their operand kept).
fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// The retry policy of the tests: the default's attempts, its waits divided by 100.
fn fast_default_policy() -> String {
    let policy = RetryPolicy::default();
    let classes: BTreeMap<&str, Value> = Class::ALL
        .iter()
        .map(|&c| {
            let mut p = serde_json::to_value(policy.class(c)).unwrap();
            p["interval_s"] = json!(p["interval_s"].as_f64().unwrap() / 100.0);
            p["max_delay_s"] = json!(p["max_delay_s"].as_f64().unwrap() / 100.0);
            (c.name(), p)
        })
        .collect();
    json!({ "classes": classes }).to_string()
}

/// The local endpoint with the built-in scenario, plus account 1's invoker function forwarding
/// to `upstream` with the template's `EventInvokeConfig`, and the target durable or not.
async fn endpoint(upstream: Option<&str>, durable_target: bool) -> LocalServer {
    let mut scenario = Scenario::builtin();
    let t = template();
    let config = &t["Resources"]["InvokerFunction"]["Properties"]["EventInvokeConfig"];
    let retries = config["MaximumRetryAttempts"]
        .as_u64()
        .expect("the template sets MaximumRetryAttempts");
    let max_age = t["Parameters"][config["MaximumEventAgeInSeconds"].as_str().unwrap()]["Default"]
        .as_u64()
        .expect("the template's MaximumEventAgeInSeconds parameter has a default");
    assert_eq!(
        config["DestinationConfig"]["OnFailure"]["Type"], "SQS",
        "the template's failure destination is a queue"
    );
    if let Some(url) = upstream {
        let mut invoker = Function::named(INVOKER);
        invoker.behaviour = Behaviour::Upstream {
            upstream: url.to_string(),
        };
        invoker.async_invoke = AsyncInvoke {
            maximum_retry_attempts: retries as u32,
            maximum_event_age_s: max_age as u32,
            on_failure: Some(FAILURE_QUEUE_ARN.into()),
            dead_letter_target: None,
        };
        scenario.accounts[0].functions.push(invoker);
    }
    for f in scenario.accounts.iter_mut().flat_map(|a| a.functions.iter_mut()) {
        if f.name == "target" {
            f.durable = durable_target;
        }
    }
    start_with(scenario).await
}

/// The invoker binary as Lambda runs it, pointed at the local endpoint (and moto's SQS).
async fn invoker(server: &LocalServer, extra: &[(&str, &str)]) -> RuntimeApi {
    let url = server.url();
    let retry = fast_default_policy();
    let mut env = vec![
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_REGION", builtin::REGION),
        ("AWS_ACCESS_KEY_ID", builtin::SOURCE_ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", builtin::SOURCE_SECRET_KEY),
        ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
        ("XINVOKE_RETRY", retry.as_str()),
        ("XINVOKE_ATTEMPT_TIMEOUT_MS", "1000"),
        ("XINVOKE_DEADLINE_MARGIN_MS", "200"),
        ("XINVOKE_METRICS", "off"),
    ];
    env.extend_from_slice(extra);
    RuntimeApi::start(env!("CARGO_BIN_EXE_invoker"), &env).await
}

/// The target's counts for the message `key`: (Invoke attempts that reached it, executions).
async fn counts(control: &ControlClient, key: &str) -> (u64, u64) {
    let rows = control.executions().await.unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["function"] == "target" && r["key"] == key)
        .map(|r| (r["invokes"].as_u64().unwrap(), r["executions"].as_u64().unwrap()))
        .unwrap_or((0, 0))
}

/// A record as the invoker answered it: the answer itself, or a failure's `errorMessage`.
fn record_of(answer: &Answer) -> Value {
    match answer {
        Answer::Ok(v) => v.clone(),
        Answer::Error { message, .. } => serde_json::from_str(message).unwrap_or(Value::Null),
    }
}

/// What the message's record, the target's counts and the documented bound say together:
/// attempts (the record's, and those that reached the target) and executions.
async fn check_counts(control: &ControlClient, record: &Value, case: Case, attempts: u32) {
    let key = record["idempotency_key"].as_str().expect("the record carries the key");
    assert_eq!(record["class"], case.class().name(), "{record}");
    let total = record["attempts"].as_u64().unwrap() + record["earlier_attempts"].as_u64().unwrap_or(0);
    assert_eq!(total, u64::from(attempts), "attempts of the message: {record}");
    let (reached, executions) = counts(control, key).await;
    let want_reached = if case == Case::AccessDenied {
        0
    } else {
        u64::from(attempts)
    };
    // An AccessDenied fault answers before the function: it reached it, as a real refusal
    // would not; either way the target did not run.
    assert!(
        reached == want_reached || (case == Case::AccessDenied && reached == 1),
        "{case:?}: {reached} attempts reached the target, want {want_reached}"
    );
    assert_eq!(
        executions,
        u64::from(case.ran()),
        "{case:?}: the target ran {executions} times"
    );
}

// ------------------------------------------------------------------ direct sync

async fn direct_sync(case: Case) {
    let server = endpoint(None, false).await;
    let control = control_client(&server);
    case.inject(&server).await;
    let function = invoker(&server, &[]).await;
    let answer = function
        .invoke(json!({"payload": case.payload()}), Duration::from_secs(20))
        .await;
    let Answer::Error { error_type, .. } = &answer else {
        panic!("{case:?}: a failure is answered as an error: {answer:?}");
    };
    assert_eq!(error_type, case.class().name());
    // Returned to the caller: the record is the answer.
    check_counts(&control, &record_of(&answer), case, case.attempts()).await;
}

#[tokio::test]
async fn delivery_direct_sync_function_error_runs_once_returned_to_the_caller() {
    direct_sync(Case::FunctionError).await;
}
#[tokio::test]
async fn delivery_direct_sync_timeout_after_send_runs_once_returned_to_the_caller() {
    direct_sync(Case::TimeoutAfterSend).await;
}
#[tokio::test]
async fn delivery_direct_sync_throttle_takes_4_attempts_returned_to_the_caller() {
    direct_sync(Case::Throttle).await;
}
#[tokio::test]
async fn delivery_direct_sync_ec2_throttle_takes_3_attempts_returned_to_the_caller() {
    direct_sync(Case::Ec2Throttle).await;
}
#[tokio::test]
async fn delivery_direct_sync_not_ready_takes_6_attempts_returned_to_the_caller() {
    direct_sync(Case::NotReady).await;
}
#[tokio::test]
async fn delivery_direct_sync_access_denied_takes_1_attempt_returned_to_the_caller() {
    direct_sync(Case::AccessDenied).await;
}

// ------------------------------------------------------------------ direct async, schedule

/// The invoker process behind the hosted function, set once it is started (it needs the
/// endpoint's URL, the endpoint needs the front's).
type Slot = Arc<tokio::sync::OnceCell<Arc<RuntimeApi>>>;

/// An HTTP front for the invoker process: the local endpoint's `upstream` behaviour POSTs the
/// event here and gets the answer back as a Runtime API emulator gives it (a failure as 500
/// with the error object, which the endpoint takes as a function error).
async fn front(slot: Slot) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/invoke", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let slot = Arc::clone(&slot);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let slot = Arc::clone(&slot);
                    async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let function = slot.get().expect("the invoker process is started before any event");
                        let (status, answer) = match function.invoke(event, Duration::from_secs(20)).await {
                            Answer::Ok(v) => (200, v),
                            Answer::Error { error_type, message } => {
                                (500, json!({"errorType": error_type, "errorMessage": message}))
                            }
                        };
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from(answer.to_string())))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

/// The endpoint hosting the invoker process as account 1's function.
struct Hosted {
    server: LocalServer,
    _function: Arc<RuntimeApi>,
}

async fn hosted(extra: &[(&str, &str)]) -> Hosted {
    let slot: Slot = Arc::new(tokio::sync::OnceCell::new());
    let url = front(Arc::clone(&slot)).await;
    let server = endpoint(Some(&url), false).await;
    let function = Arc::new(invoker(&server, extra).await);
    let _ = slot.set(Arc::clone(&function));
    Hosted {
        server,
        _function: function,
    }
}

/// An account-1 caller's Lambda client (the source role may invoke the invoker function).
fn lambda_client(server: &LocalServer) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(builtin::REGION))
        .endpoint_url(server.url())
        .credentials_provider(source_credentials())
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// Wait for the endpoint's async queue to finish with every event.
async fn settled(control: &ControlClient) -> Value {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let s = control.stats().await.unwrap();
        let n = |k: &str| s[k].as_u64().unwrap_or(0);
        let finished =
            n("events_succeeded") + n("events_to_destination") + n("events_to_dead_letter_queue") + n("events_dropped");
        if n("events_queued") > 0 && finished == n("events_queued") && n("events_waiting") == 0 {
            return s;
        }
        assert!(Instant::now() < until, "the async queue did not settle: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How an async event reaches the hosted invoker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Async {
    /// A direct event invoked with InvocationType Event.
    Direct,
    /// An EventBridge scheduled event (of its own id); the invoker sends XINVOKE_PAYLOAD.
    Schedule,
}

/// An event invoked asynchronously on the hosted invoker, as a caller or EventBridge does.
/// Lambda runs the invoker once (the template's MaximumRetryAttempts 0), the invoker fails it,
/// and the on-failure destination gets Lambda's record, whose `responsePayload` is the
/// invoker's error (its message is the record).
async fn through_lambda_async(case: Case, how: Async) {
    let payload = case.payload().to_string();
    let (event, extra) = match how {
        Async::Direct => (json!({"payload": case.payload()}), vec![]),
        Async::Schedule => {
            let mut e: Value = serde_json::from_str(include_str!("../../events/schedule.json")).unwrap();
            e["id"] = json!(format!("{:08x}-5c9b-4b0e-9f3e-0123456789ab", fastrand::u32(..)));
            (e, vec![("XINVOKE_PAYLOAD", payload.as_str())])
        }
    };
    let hosted = hosted(&extra).await;
    let server = &hosted.server;
    let control = control_client(server);
    case.inject(server).await;
    lambda_client(server)
        .invoke()
        .function_name(INVOKER)
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .payload(aws_smithy_types::Blob::new(event.to_string()))
        .send()
        .await
        .expect("Lambda accepts the event (202)");
    let stats = settled(&control).await;
    assert_eq!(
        stats["events_retried"], 0,
        "Lambda never ran the invoker again: {stats}"
    );
    let invoker_runs: u64 = control
        .executions()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["function"] == INVOKER)
        .map(|r| r["executions"].as_u64().unwrap())
        .sum();
    assert_eq!(invoker_runs, 1, "the invoker ran once");
    let destinations = control.destinations().await.unwrap();
    let delivered = destinations[FAILURE_QUEUE_ARN].as_array().cloned().unwrap_or_default();
    assert_eq!(
        delivered.len(),
        1,
        "one record on the failure destination: {destinations}"
    );
    let on_failure = &delivered[0];
    assert_eq!(on_failure["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(on_failure["requestContext"]["approximateInvokeCount"], 1);
    let message = on_failure["responsePayload"]["errorMessage"].as_str().unwrap();
    let record: Value = serde_json::from_str(message).unwrap();
    if how == Async::Schedule {
        assert_eq!(
            record["idempotency_key"], event["id"],
            "the schedule's key is the event id"
        );
    }
    check_counts(&control, &record, case, case.attempts()).await;
}

async fn direct_async(case: Case) {
    through_lambda_async(case, Async::Direct).await;
}

async fn schedule(case: Case) {
    through_lambda_async(case, Async::Schedule).await;
}

#[tokio::test]
async fn delivery_direct_async_function_error_runs_once_ends_on_the_failure_destination() {
    direct_async(Case::FunctionError).await;
}
#[tokio::test]
async fn delivery_direct_async_timeout_after_send_runs_once_ends_on_the_failure_destination() {
    direct_async(Case::TimeoutAfterSend).await;
}
#[tokio::test]
async fn delivery_direct_async_throttle_takes_4_attempts_ends_on_the_failure_destination() {
    direct_async(Case::Throttle).await;
}
#[tokio::test]
async fn delivery_direct_async_ec2_throttle_takes_3_attempts_ends_on_the_failure_destination() {
    direct_async(Case::Ec2Throttle).await;
}
#[tokio::test]
async fn delivery_direct_async_not_ready_takes_6_attempts_ends_on_the_failure_destination() {
    direct_async(Case::NotReady).await;
}
#[tokio::test]
async fn delivery_direct_async_access_denied_takes_1_attempt_ends_on_the_failure_destination() {
    direct_async(Case::AccessDenied).await;
}

#[tokio::test]
async fn delivery_schedule_function_error_runs_once_ends_on_the_failure_destination() {
    schedule(Case::FunctionError).await;
}
#[tokio::test]
async fn delivery_schedule_timeout_after_send_runs_once_ends_on_the_failure_destination() {
    schedule(Case::TimeoutAfterSend).await;
}
#[tokio::test]
async fn delivery_schedule_throttle_takes_4_attempts_ends_on_the_failure_destination() {
    schedule(Case::Throttle).await;
}
#[tokio::test]
async fn delivery_schedule_ec2_throttle_takes_3_attempts_ends_on_the_failure_destination() {
    schedule(Case::Ec2Throttle).await;
}
#[tokio::test]
async fn delivery_schedule_not_ready_takes_6_attempts_ends_on_the_failure_destination() {
    schedule(Case::NotReady).await;
}
#[tokio::test]
async fn delivery_schedule_access_denied_takes_1_attempt_ends_on_the_failure_destination() {
    schedule(Case::AccessDenied).await;
}
