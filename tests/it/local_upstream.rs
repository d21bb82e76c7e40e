//! The `upstream` behaviour forwards payloads to a real HTTP process and maps its answers.

use crate::common::*;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use std::path::Path;
use xinvoke::local::Scenario;

async fn upstream() -> std::net::SocketAddr {
    let app = axum::Router::new()
        .route("/ok", post(|body: Bytes| async move { body }))
        // Answers the trace header it was given, as a function would read it from its context.
        .route(
            "/trace",
            post(|h: HeaderMap| async move {
                let trace = h.get("x-amzn-trace-id").and_then(|v| v.to_str().ok()).unwrap_or("none");
                serde_json::json!({ "trace": trace }).to_string()
            }),
        )
        // Answers the client context it was given, as a function reads it from its context
        // (a Runtime API hands it over as Lambda-Runtime-Client-Context).
        .route(
            "/context",
            post(|h: HeaderMap| async move {
                let cc = h
                    .get("x-amz-client-context")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none");
                serde_json::json!({ "client_context": cc }).to_string()
            }),
        )
        .route(
            "/fail",
            post(|| async {
                let mut h = HeaderMap::new();
                h.insert("X-Amz-Function-Error", "Unhandled".parse().unwrap());
                (h, r#"{"errorType":"X","errorMessage":"upstream failed"}"#)
            }),
        )
        .route(
            "/throttle",
            post(|| async {
                let mut h = HeaderMap::new();
                h.insert("x-amzn-ErrorType", "TooManyRequestsException".parse().unwrap());
                (StatusCode::TOO_MANY_REQUESTS, h, r#"{"message":"Rate exceeded"}"#)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn upstream_answers_are_mapped_onto_lambdas() {
    let up = upstream().await;
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let text = format!(
        r#"
region = "us-east-1"
[[accounts]]
id = "222222222222"
[[accounts.users]]
name = "operator"
credentials = {{ access_key_id = "AKIAXINVOKEOPERATOR1", secret_access_key = "operator-secret" }}
policy = {{ Statement = [{{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "*" }}] }}
[[accounts.functions]]
name = "ok"
behaviour = {{ upstream = "http://{up}/ok" }}
[[accounts.functions]]
name = "fail"
behaviour = {{ upstream = "http://{up}/fail" }}
[[accounts.functions]]
name = "throttle"
behaviour = {{ upstream = "http://{up}/throttle" }}
[[accounts.functions]]
name = "trace"
behaviour = {{ upstream = "http://{up}/trace" }}
[[accounts.functions]]
name = "dead"
behaviour = {{ upstream = "http://{dead}/x" }}
"#
    );
    let server = start_with(Scenario::from_toml_str(&text, Path::new("upstream.toml")).unwrap()).await;
    let client = lambda(&server, "AKIAXINVOKEOPERATOR1", "operator-secret");
    let call = |name: &'static str| {
        client
            .invoke()
            .function_name(name)
            .payload(Blob::new(r#"{"a":1}"#))
            .send()
    };
    let out = call("ok").await.unwrap();
    assert_eq!(out.payload().unwrap().as_ref(), br#"{"a":1}"#);
    assert_eq!(out.function_error(), None);
    let out = call("fail").await.unwrap();
    assert_eq!(out.function_error(), Some("Unhandled"));
    let err = call("throttle").await.unwrap_err();
    assert_eq!(err.code(), Some("TooManyRequestsException"));
    // The caller's trace reaches the function it runs (the SDK sends `_X_AMZN_TRACE_ID` as
    // X-Amzn-Trace-Id inside a Lambda; here it is set on the request).
    let trace = "Root=1-65f1a2b3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";
    let out = client
        .invoke()
        .function_name("trace")
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert("x-amzn-trace-id", trace);
        })
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(v["trace"], trace);
    let received = control_client(&server).invocations().await.unwrap();
    assert_eq!(received.as_array().unwrap().last().unwrap()["trace_id"], trace);
    let out = call("dead").await.unwrap();
    assert_eq!(out.function_error(), Some("Unhandled"));
    let v: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(v["errorType"], "Upstream.Unreachable");
}

/// ClientContext: up to 3,583 bytes of base64-encoded JSON (the Invoke API reference), handed
/// to the function for synchronous invokes; anything else answers 400
/// InvalidRequestContentException "Client context must be a valid Base64-encoded JSON object."
/// (the answer SDK users report, aws/aws-sdk-js#1388).
#[tokio::test]
async fn client_context_is_checked_and_reaches_the_function() {
    use base64::Engine as _;
    let up = upstream().await;
    let text = format!(
        r#"
region = "us-east-1"
[[accounts]]
id = "222222222222"
[[accounts.users]]
name = "operator"
credentials = {{ access_key_id = "AKIAXINVOKEOPERATOR1", secret_access_key = "operator-secret" }}
policy = {{ Statement = [{{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "*" }}] }}
[[accounts.functions]]
name = "context"
behaviour = {{ upstream = "http://{up}/context" }}
"#
    );
    let server = start_with(Scenario::from_toml_str(&text, Path::new("context.toml")).unwrap()).await;
    let client = lambda(&server, "AKIAXINVOKEOPERATOR1", "operator-secret");
    let encoded = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"tenant":"t1"}}"#);
    let out = client
        .invoke()
        .function_name("context")
        .client_context(&encoded)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        v["client_context"],
        encoded.as_str(),
        "the function gets the context as sent"
    );

    let not_json = base64::engine::general_purpose::STANDARD.encode("not json");
    for bad in ["not base64!", not_json.as_str(), "WzEsMl0="] {
        let err = client
            .invoke()
            .function_name("context")
            .client_context(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidRequestContentException"), "{bad}");
        assert_eq!(
            err.message(),
            Some("Client context must be a valid Base64-encoded JSON object."),
            "{bad}"
        );
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    }
    let big =
        base64::engine::general_purpose::STANDARD.encode(format!(r#"{{"custom":{{"k":"{}"}}}}"#, "v".repeat(2700)));
    assert!(big.len() > 3583);
    let err = client
        .invoke()
        .function_name("context")
        .client_context(&big)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValueException"));
    server.shutdown().await;
}

/// A caller that gives up does not stop the function: the upstream it runs on still gets the
/// invoke and finishes it (its side effect happens), and the endpoint counts it when it ends.
#[tokio::test]
async fn an_upstream_runs_to_its_end_when_the_caller_gives_up() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let done = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&done);
    let app = axum::Router::new().route(
        "/slow",
        post(move || {
            let seen = Arc::clone(&seen);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(600)).await;
                seen.fetch_add(1, Ordering::SeqCst);
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let text = format!(
        r#"
region = "us-east-1"
[[accounts]]
id = "222222222222"
[[accounts.users]]
name = "operator"
credentials = {{ access_key_id = "AKIAXINVOKEOPERATOR1", secret_access_key = "operator-secret" }}
policy = {{ Statement = [{{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "*" }}] }}
[[accounts.functions]]
name = "slow"
behaviour = {{ upstream = "http://{up}/slow" }}
"#
    );
    let server = start_with(Scenario::from_toml_str(&text, Path::new("slow.toml")).unwrap()).await;
    let conf = aws_sdk_lambda::config::Builder::new()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .credentials_provider(credentials("AKIAXINVOKEOPERATOR1", "operator-secret"))
        .endpoint_url(server.url())
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .operation_timeout(std::time::Duration::from_millis(150))
                .build(),
        )
        .build();
    let err = aws_sdk_lambda::Client::from_conf(conf)
        .invoke()
        .function_name("slow")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, aws_sdk_lambda::error::SdkError::TimeoutError(_)),
        "{err:?}"
    );
    for _ in 0..100 {
        if server.stats().invokes_by_status.get("200") == Some(&1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(done.load(Ordering::SeqCst), 1, "the upstream ran the invoke to its end");
    assert_eq!(server.stats().invokes_by_status.get("200"), Some(&1));
    assert_eq!(server.stats().concurrency, 0);
    server.shutdown().await;
}
