//! `xinvoke demo --delivery`: docs/lambdas.md's delivery table, measured here. For each
//! trigger (direct sync, direct async, schedule, SQS, HTTP route) and each outcome class the
//! table has, one message goes through the invoker's handler as that trigger's layers deliver
//! it, and the built-in local endpoint counts how often the target ran it and how many Invoke
//! attempts reached it (by the message's idempotency key).
//!
//! The layers are played as the template deploys them: Lambda runs an async event or a
//! schedule once (`MaximumRetryAttempts: 0`); the SQS event source redelivers what the handler
//! hands back with its receive count risen, up to `maxReceiveCount` (5), then the dead-letter
//! queue. SQS runs with no retry budget, so every retry of a class that never reached the
//! target is a redelivery: the attempts then span receives. Waits are the defaults / 100.
//! `tests/it/delivery.rs` runs the same cells on real parts (the invoker binary, moto's SQS).

use crate::adapters::clients;
use crate::adapters::config::{Context, GatewaySource, Given, Settings, Timeouts};
use crate::cli::{print_json, CliError, Output};
use crate::core::classify::Class;
use crate::core::retry::RetryPolicy;
use crate::gateway::Gateway;
use crate::invoke::service::Service;
use crate::lambdas::invoker::{self, Extras};
use crate::local::client::ControlClient;
use crate::local::{builtin, LocalServer, Scenario};
use aws_credential_types::Credentials;
use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use serde_json::{json, Value};

/// SQS's `maxReceiveCount` in the template.
const MAX_RECEIVE_COUNT: u32 = 5;

/// The routes of the HTTP row: `POST /target` to the target's `live` alias.
const ROUTES: &str = r#"{"upstreams": [{"name": "account2", "region": "us-east-1", "awsAccountId": "222222222222",
  "lambdaFunctions": [{"lambdaFunctionName": "target", "logicalName": "target-live", "qualifier": "live"}]}],
 "routes": [{"name": "target", "matchers": [{"exact": "/target", "methods": ["POST"]}], "upstream": "account2",
  "logicalName": "target-live", "timeout": "15s"}]}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    DirectSync,
    DirectAsync,
    Schedule,
    Sqs,
    Http,
}

impl Trigger {
    const ALL: [Trigger; 5] = [
        Trigger::DirectSync,
        Trigger::DirectAsync,
        Trigger::Schedule,
        Trigger::Sqs,
        Trigger::Http,
    ];

    fn name(self) -> &'static str {
        match self {
            Trigger::DirectSync => "direct sync",
            Trigger::DirectAsync => "direct async",
            Trigger::Schedule => "schedule",
            Trigger::Sqs => "SQS",
            Trigger::Http => "HTTP route",
        }
    }
}

/// An outcome class of the table: its class, the attempts it may take, how it is provoked.
struct Case {
    class: Class,
    /// docs/lambdas.md: Invoke attempts at most.
    attempts: u32,
    payload: Value,
    /// The error every Invoke of the target answers, if any.
    fault: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let case = |class, attempts, payload, fault| Case {
        class,
        attempts,
        payload,
        fault,
    };
    let plain = || json!({"hello": "delivery"});
    vec![
        case(Class::FunctionError, 1, json!({"fail": "the target failed"}), None),
        // The attempt timeout is 1 s here: the request was sent, the target is running.
        case(Class::Timeout, 1, json!({"sleep_ms": 1500}), None),
        case(Class::Throttled, 4, plain(), Some("TooManyRequestsException")),
        case(Class::Ec2Throttled, 3, plain(), Some("EC2ThrottledException")),
        case(Class::NotReady, 6, plain(), Some("ResourceNotReadyException")),
        case(Class::AccessDenied, 1, plain(), Some("AccessDeniedException")),
    ]
}

/// What one message came to.
struct Measured {
    runs: u64,
    attempts: u64,
    receives: u32,
    ends: String,
}

/// The invoker's service for one cell: the target's `live` alias, the default policy with its
/// waits / 100, `budget` retry tokens, the schedule's payload, a 1 s attempt timeout.
async fn service(server: &LocalServer, budget: u32, scheduled: &Value) -> Result<Service, CliError> {
    let given = Given {
        target_arn: Some(builtin::TARGET_ALIAS_ARN.parse().expect("the built-in ARN is valid")),
        budget_capacity: Some(budget),
        attempt_timeout: Some(std::time::Duration::from_secs(1)),
        scheduled_payload: Some(scheduled.to_string().into_bytes()),
        ..Given::default()
    };
    let mut settings = Settings::resolve(given, Context::Cli)?;
    settings.retry = RetryPolicy::defaults_shortened(100.0);
    let base = clients::endpoint_config(Timeouts::default(), server.url(), source_credentials(), builtin::REGION).await;
    Ok(invoker::service(settings, &base).await)
}

fn source_credentials() -> Credentials {
    Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        builtin::SOURCE_SECRET_KEY,
        Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
        None,
        "demo",
    )
}

/// One event to the handler, with `request_id` as Lambda gives it.
async fn handle(
    service: &Service,
    routes: Option<&Gateway>,
    request_id: &str,
    event: Value,
) -> Result<Value, lambda_runtime::Diagnostic> {
    let mut context = LambdaContext::default();
    context.request_id = request_id.to_string();
    let extras = Extras {
        routes,
        ..Extras::default()
    };
    invoker::handle_with(service, extras, LambdaEvent::new(event, context)).await
}

/// Deliver one message of `case` as `trigger` does; `key` names it.
async fn deliver(
    server: &LocalServer,
    routes: &Gateway,
    trigger: Trigger,
    case: &Case,
    key: &str,
) -> Result<(u32, String), CliError> {
    let direct = json!({"payload": case.payload});
    let budget = if trigger == Trigger::Sqs { 0 } else { 500 };
    let svc = service(server, budget, &case.payload).await?;
    Ok(match trigger {
        Trigger::DirectSync | Trigger::DirectAsync => {
            let answer = handle(&svc, None, key, direct).await;
            let failed = if trigger == Trigger::DirectSync {
                "caller"
            } else {
                // Lambda runs the event once and sends the failure to the OnFailure destination.
                "failure queue (OnFailure)"
            };
            (
                1,
                if answer.is_ok() {
                    "delivered".into()
                } else {
                    failed.into()
                },
            )
        }
        Trigger::Schedule => {
            let mut event: Value = serde_json::from_str(include_str!("../../events/schedule.json")).unwrap_or_default();
            event["id"] = json!(key);
            let answer = handle(&svc, None, key, event).await;
            let ends = if answer.is_ok() {
                "delivered"
            } else {
                "failure queue (OnFailure)"
            };
            (1, ends.into())
        }
        Trigger::Http => {
            let mut event: Value =
                serde_json::from_str(include_str!("../../events/apigw-http-api.json")).unwrap_or_default();
            event["requestContext"]["requestId"] = json!(key);
            event["body"] = json!(case.payload.to_string());
            let answer = handle(&svc, Some(routes), key, event).await.unwrap_or_default();
            (1, format!("caller ({})", answer["statusCode"]))
        }
        Trigger::Sqs => {
            for receive in 1..=MAX_RECEIVE_COUNT {
                let record = json!({
                    "messageId": key,
                    "receiptHandle": format!("{key}-{receive}"),
                    "body": direct.to_string(),
                    "attributes": {"ApproximateReceiveCount": receive.to_string()},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:111111111111:xinvoke-queue",
                    "awsRegion": builtin::REGION,
                });
                let answer = handle(&svc, None, &format!("{key}-{receive}"), json!({"Records": [record]}))
                    .await
                    .unwrap_or_default();
                let handed_back = answer["batchItemFailures"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f["itemIdentifier"] == key));
                if !handed_back {
                    // Not handed back: delivered, or final (the invoker sent it to the failure
                    // queue; here, without one, its ERROR line).
                    let (_, runs) = counts(server, key).await?;
                    let last_ok = runs > 0 && case.class != Class::FunctionError && case.class != Class::Timeout;
                    let ends = if last_ok { "delivered" } else { "failure queue" };
                    return Ok((receive, ends.into()));
                }
            }
            (MAX_RECEIVE_COUNT, "dead-letter queue".into())
        }
    })
}

/// The target's (attempts that reached it, executions) for the message `key`.
async fn counts(server: &LocalServer, key: &str) -> Result<(u64, u64), CliError> {
    let rows = ControlClient::new(server.addr()).executions().await?;
    Ok(rows
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["function"] == "target" && r["key"] == key)
        .map(|r| {
            (
                r["invokes"].as_u64().unwrap_or(0),
                r["executions"].as_u64().unwrap_or(0),
            )
        })
        .unwrap_or((0, 0)))
}

/// Run every cell; exit code 0 when each measured as the table says.
pub async fn run(output: Output) -> Result<u8, CliError> {
    let server = LocalServer::start(Scenario::builtin(), ([127, 0, 0, 1], 0).into()).await?;
    let control = ControlClient::new(server.addr());
    // The routes' upstreams read their settings as the invoker would from its environment:
    // the same waits and attempt timeout as the other rows, the source role's credentials.
    let retry = serde_json::to_string(&RetryPolicy::defaults_shortened(100.0)).unwrap_or_default();
    let env = move |k: &str| match k {
        "XINVOKE_RETRY" => Some(retry.clone()),
        "XINVOKE_ATTEMPT_TIMEOUT_MS" => Some("1000".to_string()),
        _ => None,
    };
    let base = clients::endpoint_config(Timeouts::default(), server.url(), source_credentials(), builtin::REGION).await;
    let routes = crate::lambdas::http::load_routes(Some(&GatewaySource::Text(ROUTES.to_string())), &env, Some(&base))
        .await?
        .ok_or_else(|| CliError::flag("--delivery", "the demo's routes did not load"))?;
    let text = output == Output::Text;
    if text {
        println!("xinvoke demo --delivery: each trigger x class, one message, counted by the local endpoint");
        println!("(SQS with no retry budget: every retry is a redelivery; waits are the defaults / 100)");
        println!();
        println!(
            "{:<13} {:<15} {:>11} {:>9} {:>9}  ends",
            "trigger", "class", "target runs", "attempts", "receives"
        );
    }
    let mut rows = Vec::new();
    let mut unexpected = 0;
    for trigger in Trigger::ALL {
        for (n, case) in cases().iter().enumerate() {
            control.clear_faults().await?;
            if let Some(error) = case.fault {
                control
                    .fault(&json!({"function": "target", "error": error, "times": 1000, "retry_after_s": 0}))
                    .await?;
            }
            let key = format!("demo-{}-{n}", trigger.name().replace(' ', "-").to_lowercase());
            let (receives, ends) = deliver(&server, &routes, trigger, case, &key).await?;
            let (attempts, runs) = counts(&server, &key).await?;
            let m = Measured {
                runs,
                attempts,
                receives,
                ends,
            };
            // What the table says: at most once, the class's attempts (not ready's 6 meet SQS's
            // 5 receives first).
            let ran = matches!(case.class, Class::FunctionError | Class::Timeout);
            let want_attempts = match (trigger, case.class) {
                (Trigger::Sqs, Class::NotReady) => u64::from(MAX_RECEIVE_COUNT),
                _ => u64::from(case.attempts),
            };
            let as_table = m.runs == u64::from(ran) && m.attempts == want_attempts;
            if !as_table {
                unexpected += 1;
            }
            if text {
                let mark = if as_table { "" } else { " !" };
                println!(
                    "{:<13} {:<15} {:>11} {:>9} {:>9}  {}{mark}",
                    trigger.name(),
                    case.class.name(),
                    if m.runs == 1 {
                        "once".to_string()
                    } else {
                        m.runs.to_string()
                    },
                    m.attempts,
                    if trigger == Trigger::Sqs {
                        m.receives.to_string()
                    } else {
                        "-".into()
                    },
                    m.ends
                );
            } else {
                rows.push(json!({
                    "trigger": trigger.name(),
                    "class": case.class.name(),
                    "target_runs": m.runs,
                    "attempts": m.attempts,
                    "receives": m.receives,
                    "ends": m.ends,
                    "as_documented": as_table,
                }));
            }
        }
    }
    server.shutdown().await;
    if !text {
        print_json(&json!({"cells": rows, "unexpected": unexpected}));
    } else if unexpected > 0 {
        println!("{unexpected} cell(s) measured differently than docs/lambdas.md says (marked !)");
    } else {
        println!();
        println!("every cell as docs/lambdas.md's table says: nothing ran twice");
    }
    Ok(u8::from(unexpected > 0))
}
