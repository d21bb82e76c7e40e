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
//! moto comes from the test venv (`XINVOKE_VENV`, which scripts/test.sh passes, else `.venv`;
//! scripts/requirements-test.txt pins it): without it these tests fail, they never skip.

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
    for case in [Case::Throttle, Case::Ec2Throttle, Case::NotReady, Case::AccessDenied] {
        assert_eq!(
            case.attempts(),
            1 + policy.class(case.class()).max_retries,
            "{case:?}: docs/lambdas.md's table and the default policy disagree"
        );
    }
    // A target that may have run is never run again: one attempt, whatever the policy allows
    // a target declared idempotent.
    for case in [Case::FunctionError, Case::TimeoutAfterSend] {
        assert!(case.ran());
        assert_eq!(case.attempts(), 1, "{case:?}");
    }
}

#[test]
fn the_template_deploys_the_delivery_settings_the_table_assumes() {
    let t = template();
    let r = &t["Resources"];
    let invoker = &r["InvokerFunction"]["Properties"];
    // Lambda never re-runs an event the invoker answered; what fails goes to the failure queue.
    let config = &invoker["EventInvokeConfig"];
    assert_eq!(config["MaximumRetryAttempts"], 0);
    let age = config["MaximumEventAgeInSeconds"].as_u64().unwrap();
    assert!((60..=21_600).contains(&age), "{age}");
    assert_eq!(config["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(
        config["DestinationConfig"]["OnFailure"]["Destination"],
        json!("FailureQueue.Arn")
    );
    let env = &invoker["Environment"]["Variables"];
    assert_eq!(env["XINVOKE_FAILURE_QUEUE_URL"], "FailureQueue", "!Ref FailureQueue");
    assert_eq!(env["XINVOKE_LOAD_WORKER"], "LoadWorker", "!Ref LoadWorker");
    assert_eq!(
        t["Parameters"]["LoadWorker"]["Default"], "false",
        "not a load worker unless asked"
    );
    // The invoker may send to the failure queue, and only there.
    let policies = invoker_policies(&t);
    assert!(
        policies.contains(&("sqs:SendMessage".to_string(), json!("FailureQueue.Arn"))),
        "{policies:?}"
    );
    // SQS: AWS's advice for Lambda event sources, retention stated, an alarm on the DLQ's depth.
    let queue = &r["InvokerQueue"]["Properties"];
    assert!(queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap() >= 5);
    for q in ["InvokerQueue", "InvokerDeadLetterQueue", "FailureQueue"] {
        assert!(
            r[q]["Properties"]["MessageRetentionPeriod"].as_u64().is_some(),
            "{q} states its retention"
        );
    }
    for (queue, alarm) in [
        ("InvokerDeadLetterQueue", "InvokerDeadLetterQueueAlarm"),
        ("FailureQueue", "FailureQueueAlarm"),
    ] {
        let a = &r[alarm]["Properties"];
        assert_eq!(a["MetricName"], "ApproximateNumberOfMessagesVisible", "{alarm}");
        assert_eq!(
            a["Dimensions"][0]["Value"],
            json!(format!("{queue}.QueueName")),
            "{alarm}"
        );
        assert_eq!(
            (a["Threshold"].as_u64(), a["ComparisonOperator"].as_str()),
            (Some(0), Some("GreaterThanThreshold"))
        );
    }
    // Reserved concurrency, and the queue's maximum concurrency below its least value.
    assert_eq!(invoker["ReservedConcurrentExecutions"], "InvokerReservedConcurrency");
    let least = t["Parameters"]["InvokerReservedConcurrency"]["MinValue"]
        .as_u64()
        .unwrap();
    let maximum = invoker["Events"]["Queue"]["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        .as_u64()
        .unwrap();
    assert!(
        maximum < least,
        "MaximumConcurrency {maximum} below the reserved concurrency (at least {least})"
    );
    assert!(
        t["Parameters"]["TargetReservedConcurrency"].is_object(),
        "the target stack documents one"
    );
    // START and REPORT lines (Max Memory Used, Init Duration) stay in the logs.
    assert_eq!(t["Globals"]["Function"]["LoggingConfig"]["SystemLogLevel"], "INFO");
    // The URL's callers may invoke only through the URL.
    let grant = &r["UrlCallerInvokePermission"]["Properties"];
    assert_eq!(grant["Action"], "lambda:InvokeFunction");
    assert_eq!(grant["InvokedViaFunctionUrl"], true);
    assert_eq!(
        r["UrlCallerInvokeUrlPermission"]["Properties"]["FunctionUrlAuthType"],
        "AWS_IAM"
    );
}

/// Every (action, resource) the invoker's role allows, as the YAML reader gives them.
fn invoker_policies(t: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for p in t["Resources"]["InvokerRole"]["Properties"]["Policies"]
        .as_array()
        .unwrap()
    {
        for s in p["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
            let actions = match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
                _ => vec![],
            };
            for a in actions {
                out.push((a, s["Resource"].clone()));
            }
        }
    }
    out
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
    let max_age = config["MaximumEventAgeInSeconds"]
        .as_u64()
        .expect("the template sets MaximumEventAgeInSeconds");
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
        ("AWS_SESSION_TOKEN", builtin::SOURCE_SESSION_TOKEN),
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

// ------------------------------------------------------------------ SQS

/// moto's server (its SQS), from the venv `XINVOKE_VENV` names; stopped when dropped.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Moto {
    async fn start() -> Moto {
        // The test venv, as tests/it/deploy_metadata.rs finds cargo-lambda: XINVOKE_VENV
        // (scripts/test.sh passes it), else the repository's .venv.
        let venv = std::env::var_os("XINVOKE_VENV")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
        let bin = venv.join("bin/moto_server");
        assert!(
            bin.is_file(),
            "{} is missing: the SQS delivery tests need moto's server; run scripts/test.sh (it installs scripts/requirements-test.txt into the venv), or set XINVOKE_VENV to a venv with moto[server]==5.2.5",
            bin.display()
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let until = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < until, "moto_server did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        moto
    }

    fn sqs(&self) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new(builtin::REGION))
            .endpoint_url(&self.url)
            .credentials_provider(source_credentials())
            .http_client(xinvoke::adapters::transport::sdk_http_client())
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The template's queues on moto: the invoker queue (its redrive policy to the dead-letter
/// queue, its visibility timeout sped up from 360 s to 1 s) and the failure queue.
struct Queues {
    main: String,
    main_arn: String,
    dead_letter: String,
    failure: String,
    /// The event source mapping's batch size, from the template.
    batch_size: i32,
}

async fn template_queues(sqs: &aws_sdk_sqs::Client) -> Queues {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let t = template();
    let queue = &t["Resources"]["InvokerQueue"]["Properties"];
    let max_receive = queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap();
    assert!(
        max_receive >= 5,
        "AWS's advice for Lambda event sources: maxReceiveCount >= 5"
    );
    let batch_size = t["Resources"]["InvokerFunction"]["Properties"]["Events"]["Queue"]["Properties"]["BatchSize"]
        .as_i64()
        .unwrap() as i32;
    let create = |name: &'static str, attributes: Vec<(A, String)>| async move {
        let mut req = sqs.create_queue().queue_name(name);
        for (k, v) in attributes {
            req = req.attributes(k, v);
        }
        req.send().await.expect("moto creates the queue").queue_url.unwrap()
    };
    let arn_of = |url: String| async move {
        sqs.get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&A::QueueArn]
            .clone()
    };
    let dead_letter = create("xinvoke-dlq", vec![]).await;
    let dlq_arn = arn_of(dead_letter.clone()).await;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive.to_string()});
    let main = create(
        "xinvoke-queue",
        vec![
            (A::VisibilityTimeout, "1".into()),
            (A::RedrivePolicy, redrive.to_string()),
        ],
    )
    .await;
    let main_arn = arn_of(main.clone()).await;
    let failure = create("xinvoke-failure", vec![]).await;
    Queues {
        main,
        main_arn,
        dead_letter,
        failure,
        batch_size,
    }
}

/// Every message now on `queue` (their bodies), taken off it.
async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            let body = m.body.unwrap_or_default();
            out.push(serde_json::from_str(&body).unwrap_or(Value::String(body)));
            let _ = sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await;
        }
    }
}

/// Lambda's SQS event source mapping, as far as delivery goes: receive up to the batch size,
/// invoke the function with the batch, delete what it did not hand back
/// (`ReportBatchItemFailures`), leave the rest to reappear after the visibility timeout; a
/// function error returns the whole batch. Until the queue is empty. Receives per message id.
async fn poll(sqs: &aws_sdk_sqs::Client, queues: &Queues, function: &RuntimeApi) -> BTreeMap<String, u32> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut receives: BTreeMap<String, u32> = BTreeMap::new();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < until, "the queue did not drain: {receives:?}");
        let got = sqs
            .receive_message()
            .queue_url(&queues.main)
            .max_number_of_messages(queues.batch_size)
            .wait_time_seconds(1)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            let a = sqs
                .get_queue_attributes()
                .queue_url(&queues.main)
                .attribute_names(A::All)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap_or_default();
            let n = |k: A| a.get(&k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            if n(A::ApproximateNumberOfMessages) + n(A::ApproximateNumberOfMessagesNotVisible) == 0 {
                return receives;
            }
            continue;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let id = m.message_id.clone().unwrap_or_default();
                *receives.entry(id.clone()).or_default() += 1;
                let attributes: BTreeMap<String, String> = m
                    .attributes
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), v))
                    .collect();
                json!({
                    "messageId": id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body,
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queues.main_arn,
                    "awsRegion": builtin::REGION,
                })
            })
            .collect();
        let answer = function
            .invoke(json!({ "Records": records }), Duration::from_secs(5))
            .await;
        let handed_back: Vec<String> = match &answer {
            Answer::Ok(v) => v["batchItemFailures"]
                .as_array()
                .unwrap_or(&Vec::new())
                .iter()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                .collect(),
            Answer::Error { .. } => messages.iter().filter_map(|m| m.message_id.clone()).collect(),
        };
        for m in &messages {
            if !handed_back.contains(m.message_id.as_ref().unwrap()) {
                sqs.delete_message()
                    .queue_url(&queues.main)
                    .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// Where an SQS message ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Deleted from the queue as done (the target answered, or already had its execution).
    Delivered,
    FailureQueue,
    DeadLetterQueue,
}

/// One message of the case through the queue, the poller and the invoker (retry budget as
/// given: `0` leaves every retry to SQS's redelivery). The invoker's record, the receives and
/// where the message ended.
async fn through_sqs(case: Case, budget: &str, durable: bool) -> (Value, u32, End, LocalServer) {
    through_sqs_with(case, budget, durable, None).await
}

/// [`through_sqs`], the case's fault limited to its first `times` attempts when given.
async fn through_sqs_with(
    case: Case,
    budget: &str,
    durable: bool,
    times: Option<u64>,
) -> (Value, u32, End, LocalServer) {
    let moto = Moto::start().await;
    let sqs = moto.sqs();
    let queues = template_queues(&sqs).await;
    let server = endpoint(None, durable).await;
    case.inject(&server).await;
    if let Some(times) = times {
        control_client(&server).clear_faults().await.unwrap();
        let error = "TooManyRequestsException";
        assert_eq!(case, Case::Throttle, "a limited fault is a throttle here");
        fault(
            &server,
            json!({"function": "target", "error": error, "times": times, "retry_after_s": 0}),
        )
        .await;
    }
    let durable_flag = if durable { "true" } else { "false" };
    let function = invoker(
        &server,
        &[
            ("AWS_ENDPOINT_URL_SQS", moto.url.as_str()),
            ("XINVOKE_FAILURE_QUEUE_URL", queues.failure.as_str()),
            ("XINVOKE_RETRY_BUDGET", budget),
            ("XINVOKE_DURABLE", durable_flag),
        ],
    )
    .await;
    let sent = sqs
        .send_message()
        .queue_url(&queues.main)
        .message_body(json!({"payload": case.payload()}).to_string())
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap();
    let receives = poll(&sqs, &queues, &function).await;
    let failed = drain(&sqs, &queues.failure).await;
    let dead = drain(&sqs, &queues.dead_letter).await;
    let received = receives.get(&sent).copied().unwrap_or(0);
    let (record, end) = match (failed.as_slice(), dead.as_slice()) {
        ([final_record], []) => {
            assert_eq!(final_record["message_id"], sent.as_str(), "{final_record}");
            assert_eq!(final_record["receive_count"], received, "{final_record}");
            (final_record["record"].clone(), End::FailureQueue)
        }
        ([], dead) if dead.len() <= 1 => {
            // The last receive's record, from the invoker's log line of that invoke.
            let last = function
                .json_lines()
                .into_iter()
                .rfind(|l| l["message"] == "invoke" && l["idempotency_key"] == sent.as_str())
                .expect("the invoker logged the invoke");
            let end = if dead.is_empty() {
                End::Delivered
            } else {
                End::DeadLetterQueue
            };
            (last, end)
        }
        other => panic!("{case:?}: the message must end in exactly one place, got {other:?}"),
    };
    (record, received, end, server)
}

/// A final SQS record: on the failure queue after `receives` receives, its attempts the bound.
async fn sqs_final(case: Case, budget: &str, receives: u32) {
    let (record, received, end, server) = through_sqs(case, budget, false).await;
    assert_eq!(end, End::FailureQueue, "{case:?}");
    assert_eq!(received, receives, "{case:?}: receives");
    check_counts(&control_client(&server), &record, case, case.attempts()).await;
}

#[tokio::test]
async fn delivery_sqs_function_error_runs_once_ends_on_the_failure_queue_not_redelivered() {
    sqs_final(Case::FunctionError, "500", 1).await;
}
#[tokio::test]
async fn delivery_sqs_timeout_after_send_runs_once_ends_on_the_failure_queue_not_redelivered() {
    sqs_final(Case::TimeoutAfterSend, "500", 1).await;
}
#[tokio::test]
async fn delivery_sqs_throttle_takes_4_attempts_across_4_receives_ends_on_the_failure_queue() {
    // No budget: every retry is SQS's redelivery; the 4th receive spends the last attempt.
    sqs_final(Case::Throttle, "0", 4).await;
}
#[tokio::test]
async fn delivery_sqs_throttle_retried_by_the_invoker_takes_4_attempts_in_one_receive() {
    sqs_final(Case::Throttle, "500", 1).await;
}
#[tokio::test]
async fn delivery_sqs_ec2_throttle_takes_3_attempts_across_3_receives_ends_on_the_failure_queue() {
    sqs_final(Case::Ec2Throttle, "0", 3).await;
}
#[tokio::test]
async fn delivery_sqs_access_denied_takes_1_attempt_ends_on_the_failure_queue() {
    sqs_final(Case::AccessDenied, "0", 1).await;
}
#[tokio::test]
async fn delivery_sqs_not_ready_handed_back_ends_in_the_dead_letter_queue_after_5_attempts() {
    // The allowance is 6 attempts, SQS's maxReceiveCount 5 comes first: 5 receives of one
    // attempt each, then the dead-letter queue.
    let (record, received, end, server) = through_sqs(Case::NotReady, "0", false).await;
    assert_eq!((end, received), (End::DeadLetterQueue, 5));
    assert_eq!(record["class"], "not_ready", "{record}");
    let key = record["idempotency_key"].as_str().unwrap();
    assert_eq!(counts(&control_client(&server), key).await, (5, 0));
}
#[tokio::test]
async fn delivery_sqs_not_ready_retried_by_the_invoker_takes_6_attempts_ends_on_the_failure_queue() {
    sqs_final(Case::NotReady, "500", 1).await;
}
#[tokio::test]
async fn delivery_sqs_durable_target_timeout_after_send_is_redelivered_and_still_runs_once() {
    // A durable target dedupes by the message id as execution name: running it again is safe,
    // so the invoker hands the record back (no budget for a retry of its own), and the
    // redelivery finds the execution already started: delivered, the target ran once.
    let (record, received, end, server) = through_sqs(Case::TimeoutAfterSend, "0", true).await;
    assert_eq!((end, received), (End::Delivered, 2), "{record}");
    assert_eq!(record["class"], "already_done", "{record}");
    let rows = control_client(&server).executions().await.unwrap();
    let target: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["function"] == "target")
        .collect();
    assert_eq!(target.len(), 1, "{rows}");
    assert_eq!(target[0]["executions"], 1, "{rows}");
}
#[tokio::test]
async fn delivery_sqs_durable_target_timeout_after_send_is_tried_again_at_once_and_still_runs_once() {
    // With a retry budget the invoker tries again itself (running it again is safe): the
    // second attempt finds the execution started.
    let (record, received, end, server) = through_sqs(Case::TimeoutAfterSend, "500", true).await;
    assert_eq!((end, received), (End::Delivered, 1), "{record}");
    assert_eq!(
        (record["class"].as_str(), record["attempts"].as_u64()),
        (Some("already_done"), Some(2))
    );
    let key = record["idempotency_key"].as_str().unwrap();
    assert_eq!(counts(&control_client(&server), key).await, (2, 1));
}

// ------------------------------------------------------------------ HTTP route

/// The invoker's HTTP routes: `POST /target` to the target's `live` alias.
const ROUTES: &str = r#"
upstreams:
  - name: account2
    region: us-east-1
    awsAccountId: "222222222222"
    lambdaFunctions:
      - { lambdaFunctionName: target, logicalName: target-live, qualifier: live }
routes:
  - name: target
    matchers: [{ exact: /target, methods: [POST] }]
    upstream: account2
    logicalName: target-live
    timeout: 15s
"#;

/// An HTTP API request (payload format 2.0) through the invoker's routes: answered to the
/// caller in proxy format, its status by class, never a Lambda error. The key is the request id.
async fn http_route(case: Case, status: u16) {
    let server = endpoint(None, false).await;
    let control = control_client(&server);
    case.inject(&server).await;
    let function = invoker(&server, &[("XINVOKE_GATEWAY_CONFIG_TEXT", ROUTES)]).await;
    let mut event: Value = serde_json::from_str(include_str!("../../events/apigw-http-api.json")).unwrap();
    let request_id = format!("http-{:08x}", fastrand::u32(..));
    event["requestContext"]["requestId"] = json!(request_id);
    event["body"] = json!(case.payload().to_string());
    let answer = function.invoke(event, Duration::from_secs(20)).await;
    let Answer::Ok(proxy) = &answer else {
        panic!("{case:?}: an HTTP request is answered in proxy format: {answer:?}");
    };
    let header = |name: &str| proxy["headers"][name].as_str().unwrap_or_default().to_string();
    assert_eq!(proxy["statusCode"], status, "{proxy}");
    assert_eq!(header("x-xinvoke-class"), case.class().name(), "{proxy}");
    assert_eq!(header("x-xinvoke-attempts"), case.attempts().to_string(), "{proxy}");
    let (reached, executions) = counts(&control, &request_id).await;
    assert_eq!(
        executions,
        u64::from(case.ran()),
        "{case:?}: the target ran {executions} times"
    );
    if case != Case::AccessDenied {
        assert_eq!(reached, u64::from(case.attempts()), "{case:?}");
    }
}

#[tokio::test]
async fn delivery_http_route_function_error_runs_once_answered_502() {
    http_route(Case::FunctionError, 502).await;
}
#[tokio::test]
async fn delivery_http_route_timeout_after_send_runs_once_answered_504() {
    http_route(Case::TimeoutAfterSend, 504).await;
}
#[tokio::test]
async fn delivery_http_route_throttle_takes_4_attempts_answered_429() {
    http_route(Case::Throttle, 429).await;
}
#[tokio::test]
async fn delivery_http_route_ec2_throttle_takes_3_attempts_answered_503() {
    http_route(Case::Ec2Throttle, 503).await;
}
#[tokio::test]
async fn delivery_http_route_not_ready_takes_6_attempts_answered_503() {
    http_route(Case::NotReady, 503).await;
}
#[tokio::test]
async fn delivery_http_route_access_denied_takes_1_attempt_answered_502() {
    http_route(Case::AccessDenied, 502).await;
}
#[tokio::test]
async fn delivery_sqs_throttle_that_clears_on_the_last_allowed_receive_runs_the_target_once() {
    // Three throttles, no budget: receives 1-3 hand it back, the 4th (the last attempt the
    // allowance has) gets through: delivered, the target ran once.
    let (record, received, end, server) = through_sqs_with(Case::Throttle, "0", false, Some(3)).await;
    assert_eq!((end, received), (End::Delivered, 4), "{record}");
    assert_eq!(
        (record["class"].as_str(), record["earlier_attempts"].as_u64()),
        (Some("ok"), Some(3))
    );
    let key = record["idempotency_key"].as_str().unwrap();
    assert_eq!(counts(&control_client(&server), key).await, (4, 1));
}

#[tokio::test]
async fn delivery_an_async_invoke_of_a_target_that_opted_in_carries_the_key_in_the_envelope() {
    // Lambda passes no client context to an async invoke: the key rides in the envelope, which
    // the target (here the endpoint's built-in behaviour, the sample target's code) opens.
    let server = endpoint(None, false).await;
    let control = control_client(&server);
    let function = invoker(&server, &[("XINVOKE_ENVELOPE", "true")]).await;
    let answer = function
        .invoke(
            json!({"payload": {"order": 7}, "invocation_type": "Event"}),
            Duration::from_secs(20),
        )
        .await;
    let record = record_of(&answer);
    assert_eq!(
        (record["class"].as_str(), record["status"].as_u64()),
        (Some("ok"), Some(202)),
        "{record}"
    );
    let key = record["idempotency_key"].as_str().unwrap().to_string();
    let until = Instant::now() + Duration::from_secs(20);
    while counts(&control, &key).await != (1, 1) {
        assert!(
            Instant::now() < until,
            "the queued event ran once under its key: {:?}",
            counts(&control, &key).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_durable_function_runs_one_execution_per_name_as_invoke_documents() {
    // botocore's lambda service-2.json, Invoke's DurableExecutionName: the same name and
    // payload return the existing execution; another payload is
    // DurableExecutionAlreadyStartedException. Through the real SDK, on the wire.
    let server = endpoint(None, true).await;
    let lambda = lambda_client(&server);
    let invoke = |payload: &'static str| {
        lambda
            .invoke()
            .function_name(builtin::TARGET_ALIAS_ARN)
            .durable_execution_name("order-7")
            .payload(aws_smithy_types::Blob::new(payload))
            .send()
    };
    let first = invoke(r#"{"n": 1}"#)
        .await
        .expect("the first invoke starts the execution");
    let again = invoke(r#"{"n": 1}"#)
        .await
        .expect("the same name and payload answer again");
    let arn = first
        .durable_execution_arn()
        .expect("the answer names the execution")
        .to_string();
    assert!(
        arn.starts_with("arn:aws:lambda:us-east-1:222222222222:function:target:1/durable-execution/order-7/"),
        "{arn}"
    );
    assert_eq!(again.durable_execution_arn(), Some(arn.as_str()));
    assert_eq!(again.payload.unwrap().into_inner(), br#"{"n": 1}"#);
    let other = invoke(r#"{"n": 2}"#)
        .await
        .expect_err("another payload under the name is refused");
    let service = other.into_service_error();
    assert!(service.is_durable_execution_already_started_exception(), "{service:?}");
    assert_eq!(
        counts(&control_client(&server), "order-7").await,
        (3, 1),
        "one execution"
    );
    // The invoker's record of a durable target carries the execution's ARN.
    let function = invoker(&server, &[("XINVOKE_DURABLE", "true")]).await;
    let record = record_of(
        &function
            .invoke(json!({"payload": {"n": 3}}), Duration::from_secs(20))
            .await,
    );
    assert_eq!(record["class"], "ok", "{record}");
    let key = record["idempotency_key"].as_str().unwrap();
    assert!(
        record["durable_execution_arn"]
            .as_str()
            .is_some_and(|a| a.contains(&format!("/durable-execution/{key}/"))),
        "{record}"
    );
}
