//! The invoker's logs: one JSON line per invoke, and never a secret key, session token,
//! external id or payload. Its own test binary, so the process-wide subscriber sees every line.

mod common;

use common::*;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use xinvoke::lambdas::invoker;
use xinvoke::local::builtin;

fn event(v: Value) -> LambdaEvent<Value> {
    LambdaEvent {
        payload: v,
        context: Context::default(),
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_one_line_per_invoke_and_no_secret_or_payload() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO) // the invoker's default level
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");

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
        event(serde_json::from_str(include_str!("../events/sqs-batch.json")).unwrap()),
    )
    .await;
    invokes += 2; // two of the three SQS records reach the target
    server.shutdown().await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let invoke_lines = text.lines().filter(|l| l.contains("\"message\":\"invoke\"")).count();
    assert_eq!(invoke_lines, invokes, "one log line per invoke:\n{text}");
    // Session tokens of the local account 2 start with IQoJ, as AWS's do.
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
