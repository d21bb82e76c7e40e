//! The delivery table (`xinvoke demo --delivery`): docs/lambdas.md's table, measured here. For each
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

use super::error::DemoError;
use super::world;
use crate::adapters::config::{Context, GatewaySource, Given, Settings};
use crate::domain::class::Class;
use crate::domain::retry::RetryPolicy;
use crate::gateway::Gateway;
use crate::invoke::service::Service;
use crate::lambdas::invoker::{self, Extras};
use crate::local::client::ControlClient;
use crate::local::{builtin, LocalServer};
use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use serde_json::{json, Value};

/// SQS's `maxReceiveCount` in the template.
const MAX_RECEIVE_COUNT: u32 = 5;

/// The routes of the HTTP row: `POST /target` to the target's `live` alias.
const ROUTES: &str = r#"{"upstreams": [{"name": "account2", "region": "us-east-1", "awsAccountId": "222222222222",
  "lambdaFunctions": [{"lambdaFunctionName": "target", "logicalName": "target-live", "qualifier": "live"}]}],
 "routes": [{"name": "target", "matchers": [{"exact": "/target", "methods": ["POST"]}], "upstream": "account2",
  "logicalName": "target-live", "timeout": "15s"}]}"#;

/// How a message reaches the invoker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
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

    /// The table's name for it.
    pub(crate) fn name(self) -> &'static str {
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
#[derive(Clone)]
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

/// The invoker's service for one cell: the target's `live` alias, the default policy with its
/// waits / 100, `budget` retry tokens, the schedule's payload, a 1 s attempt timeout.
async fn service(server: &LocalServer, budget: u32, scheduled: &Value) -> Result<Service, DemoError> {
    let given = Given {
        target_arn: Some(builtin::TARGET_ALIAS_ARN.parse().expect("the built-in ARN is valid")),
        budget_capacity: Some(budget),
        attempt_timeout: Some(std::time::Duration::from_secs(1)),
        scheduled_payload: Some(scheduled.to_string().into_bytes()),
        ..Given::default()
    };
    let mut settings = Settings::resolve(given, Context::Cli)?;
    settings.retry = RetryPolicy::defaults_shortened(100.0);
    Ok(invoker::service(settings, &world::caller(server, world::source_credentials()).await).await)
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
) -> Result<(u32, String), DemoError> {
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
async fn counts(server: &LocalServer, key: &str) -> Result<(u64, u64), DemoError> {
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

/// What one message of one cell came to.
pub(crate) struct Cell {
    pub(crate) trigger: Trigger,
    pub(crate) class: Class,
    /// How often the target ran it.
    pub(crate) runs: u64,
    /// The Invoke attempts that reached the target.
    pub(crate) attempts: u64,
    /// SQS: the receives it took (1 for the other triggers).
    pub(crate) receives: u32,
    /// Where it ended.
    pub(crate) ends: String,
    /// At most once, the class's attempts, as the table says.
    pub(crate) as_documented: bool,
}

/// The table, running: the endpoint, the HTTP row's routes, the cells still to go.
pub(crate) struct Delivery {
    server: LocalServer,
    control: ControlClient,
    routes: Gateway,
    cells: std::vec::IntoIter<(Trigger, usize, Case)>,
}

impl Delivery {
    /// Start the endpoint and load the HTTP row's routes.
    pub(crate) async fn start() -> Result<Delivery, DemoError> {
        let server = world::start().await?;
        // The routes' upstreams read their settings as the invoker would from its environment:
        // the same waits and attempt timeout as the other rows, the source role's credentials.
        let retry = serde_json::to_string(&RetryPolicy::defaults_shortened(100.0)).unwrap_or_default();
        let env = move |k: &str| match k {
            "XINVOKE_RETRY" => Some(retry.clone()),
            "XINVOKE_ATTEMPT_TIMEOUT_MS" => Some("1000".to_string()),
            _ => None,
        };
        let base = world::caller(&server, world::source_credentials()).await;
        let routes =
            crate::lambdas::http::load_routes(Some(&GatewaySource::Text(ROUTES.to_string())), &env, Some(&base))
                .await?
                .ok_or(DemoError::NoRoutes)?;
        let cells: Vec<(Trigger, usize, Case)> = Trigger::ALL
            .into_iter()
            .flat_map(|trigger| cases().into_iter().enumerate().map(move |(n, case)| (trigger, n, case)))
            .collect();
        Ok(Delivery {
            control: ControlClient::new(server.addr()),
            server,
            routes,
            cells: cells.into_iter(),
        })
    }

    /// Measure the next cell: one message, its faults in place, counted by the endpoint. None
    /// when every cell is done.
    pub(crate) async fn next(&mut self) -> Result<Option<Cell>, DemoError> {
        let Some((trigger, n, case)) = self.cells.next() else {
            return Ok(None);
        };
        self.control.clear_faults().await?;
        if let Some(error) = case.fault {
            self.control
                .fault(&json!({"function": "target", "error": error, "times": 1000, "retry_after_s": 0}))
                .await?;
        }
        let key = format!("demo-{}-{n}", trigger.name().replace(' ', "-").to_lowercase());
        let (receives, ends) = deliver(&self.server, &self.routes, trigger, &case, &key).await?;
        let (attempts, runs) = counts(&self.server, &key).await?;
        // What the table says: at most once, the class's attempts (not ready's 6 meet SQS's 5
        // receives first).
        let ran = matches!(case.class, Class::FunctionError | Class::Timeout);
        let want_attempts = match (trigger, case.class) {
            (Trigger::Sqs, Class::NotReady) => u64::from(MAX_RECEIVE_COUNT),
            _ => u64::from(case.attempts),
        };
        Ok(Some(Cell {
            trigger,
            class: case.class,
            runs,
            attempts,
            receives,
            ends,
            as_documented: runs == u64::from(ran) && attempts == want_attempts,
        }))
    }

    /// Stop the endpoint.
    pub(crate) async fn finish(self) {
        self.server.shutdown().await;
    }
}
