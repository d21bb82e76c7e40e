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
[[accounts.roles]]
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
    let out = call("dead").await.unwrap();
    assert_eq!(out.function_error(), Some("Unhandled"));
    let v: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(v["errorType"], "Upstream.Unreachable");
}
