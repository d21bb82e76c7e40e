//! The control API: injected faults reach the SDK exactly as AWS's would, lifecycle states
//! answer their errors, counters count and reset restores.

use crate::common::*;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use serde_json::json;
use std::time::{Duration, Instant};
use xinvoke::local::builtin;

async fn invoke(
    server: &xinvoke::local::LocalServer,
) -> Result<
    aws_sdk_lambda::operation::invoke::InvokeOutput,
    aws_sdk_lambda::error::SdkError<InvokeError, aws_sdk_lambda::config::http::HttpResponse>,
> {
    source_lambda(server)
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .payload(Blob::new("{}"))
        .send()
        .await
}

#[tokio::test]
async fn injected_ec2_throttle_fires_n_times_then_stops() {
    let server = start().await;
    let (status, _) = control(
        &server,
        "POST",
        "/_local/faults",
        json!({"function":"target","error":"EC2ThrottledException","times":2}),
    )
    .await;
    assert_eq!(status, 200);
    for _ in 0..2 {
        let err = invoke(&server).await.unwrap_err();
        assert!(matches!(
            err.as_service_error(),
            Some(InvokeError::Ec2ThrottledException(_))
        ));
        assert_eq!(err.raw_response().unwrap().status().as_u16(), 502);
        assert_eq!(
            err.message(),
            Some("Lambda was throttled while using the Lambda Execution Role to set up for the Lambda function.")
        );
    }
    assert!(invoke(&server).await.is_ok());
    let stats = server.stats();
    assert_eq!(stats.invokes_by_error["EC2ThrottledException"], 2);
    assert_eq!(stats.invokes_by_status["502"], 2);
    assert_eq!(stats.invokes_by_status["200"], 1);
    assert_eq!(stats.invokes_by_function["target"], 3);
}

#[tokio::test]
async fn injected_throttle_carries_reason_and_retry_after() {
    let server = start().await;
    control(&server, "POST", "/_local/faults", json!({"function":"target","error":"TooManyRequestsException","times":1,"reason":"ConcurrentInvocationLimitExceeded","retry_after_s":3})).await;
    let err = invoke(&server).await.unwrap_err();
    let Some(InvokeError::TooManyRequestsException(e)) = err.as_service_error() else {
        panic!("{err:?}");
    };
    assert_eq!(e.retry_after_seconds(), Some("3"));
    assert_eq!(
        e.reason().map(|r| r.as_str()),
        Some("ConcurrentInvocationLimitExceeded")
    );
    assert_eq!(e.message(), Some("Rate Exceeded."));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 429);
}

#[tokio::test]
async fn injected_ec2_unexpected_carries_the_ec2_error_code() {
    let server = start().await;
    control(&server, "POST", "/_local/faults", json!({"function":"target","error":"EC2UnexpectedException","times":1,"ec2_error_code":"Client.NetworkInterfaceLimitExceeded"})).await;
    let err = invoke(&server).await.unwrap_err();
    let Some(InvokeError::Ec2UnexpectedException(e)) = err.as_service_error() else {
        panic!("{err:?}");
    };
    assert_eq!(e.ec2_error_code(), Some("Client.NetworkInterfaceLimitExceeded"));
}

#[tokio::test]
async fn every_error_of_the_table_reaches_the_sdk_with_its_name_and_status() {
    let server = start().await;
    for spec in xinvoke::core::errors::answered_by(false) {
        control(
            &server,
            "POST",
            "/_local/faults",
            json!({"function":"target","error":spec.code,"times":1}),
        )
        .await;
        let err = invoke(&server).await.unwrap_err();
        assert_eq!(err.code(), Some(spec.code));
        assert_eq!(
            err.raw_response().unwrap().status().as_u16(),
            spec.status,
            "{}",
            spec.code
        );
        assert_eq!(err.message(), Some(spec.message), "{}", spec.code);
    }
}

#[tokio::test]
async fn unknown_fault_names_are_refused_with_the_valid_ones() {
    let server = start().await;
    let (status, body) = control(
        &server,
        "POST",
        "/_local/faults",
        json!({"function":"target","error":"NoSuchError","times":1}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("ENILimitReachedException"));
    let (status, _) = control(
        &server,
        "POST",
        "/_local/faults",
        json!({"function":"nope","error":"ServiceException"}),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn fault_latency_delays_and_delete_clears() {
    let server = start().await;
    control(
        &server,
        "POST",
        "/_local/faults",
        json!({"function":"target","latency_ms":300,"times":1}),
    )
    .await;
    let t = Instant::now();
    assert!(invoke(&server).await.is_ok());
    assert!(t.elapsed() >= Duration::from_millis(300));
    control(
        &server,
        "POST",
        "/_local/faults",
        json!({"function":"target","error":"ServiceException","probability":1.0,"seed":1}),
    )
    .await;
    assert!(invoke(&server).await.is_err());
    let (status, _) = control(&server, "DELETE", "/_local/faults", json!({})).await;
    assert_eq!(status, 200);
    assert!(invoke(&server).await.is_ok());
}

#[tokio::test]
async fn pending_function_answers_409_resource_conflict() {
    let server = start().await;
    control(
        &server,
        "POST",
        "/_local/state",
        json!({"function":"target","state":"Pending","for_ms":300}),
    )
    .await;
    let err = invoke(&server).await.unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(InvokeError::ResourceConflictException(_))
    ));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 409);
    assert_eq!(
        err.message(),
        Some(
            "The operation cannot be performed at this time. The function is currently in the following state: Pending"
        )
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(invoke(&server).await.is_ok());
}

#[tokio::test]
async fn inactive_function_fails_once_then_is_pending_then_active() {
    let server = start().await;
    control(
        &server,
        "POST",
        "/_local/state",
        json!({"function":"target","state":"Inactive"}),
    )
    .await;
    let err = invoke(&server).await.unwrap_err();
    assert!(matches!(
        err.as_service_error(),
        Some(InvokeError::ResourceNotReadyException(_))
    ));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 502);
    let err = invoke(&server).await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceConflictException"));
    // The built-in target is Pending for 2 s; the server clock can skip that.
    control(&server, "POST", "/_local/clock", json!({"advance_s": 3})).await;
    assert!(invoke(&server).await.is_ok());
}

#[tokio::test]
async fn idle_hyperplane_function_goes_inactive_when_the_clock_jumps_15_days() {
    let server = start().await;
    assert!(invoke(&server).await.is_ok());
    control(&server, "POST", "/_local/clock", json!({"advance_s": 15 * 24 * 3600})).await;
    let err = invoke(&server).await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotReadyException"));
}

#[tokio::test]
async fn failed_function_answers_the_error_of_its_reason_code() {
    let server = start().await;
    let cases = [
        ("EniLimitExceeded", "ENILimitReachedException"),
        ("SubnetOutOfIPAddresses", "SubnetIPAddressLimitReachedException"),
        ("EC2RequestLimitExceeded", "EC2UnexpectedException"),
        ("InvalidSubnet", "InvalidSubnetIDException"),
    ];
    for (reason, code) in cases {
        control(
            &server,
            "POST",
            "/_local/state",
            json!({"function":"target","state":"Failed","reason_code":reason}),
        )
        .await;
        let err = invoke(&server).await.unwrap_err();
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.raw_response().unwrap().status().as_u16(), 502);
    }
    control(
        &server,
        "POST",
        "/_local/state",
        json!({"function":"target","state":"Active"}),
    )
    .await;
    assert!(invoke(&server).await.is_ok());
}

#[tokio::test]
async fn reset_restores_state_faults_and_counters() {
    let server = start().await;
    control(
        &server,
        "POST",
        "/_local/state",
        json!({"function":"target","state":"Pending"}),
    )
    .await;
    assert!(invoke(&server).await.is_err());
    let (_, stats) = control(&server, "GET", "/_local/stats", json!(null)).await;
    assert_eq!(stats["invokes"], 1);
    assert_eq!(stats["invokes_by_status"]["409"], 1);
    let (status, _) = control(&server, "POST", "/_local/reset", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(server.stats().invokes, 0);
    assert!(invoke(&server).await.is_ok());
}

#[tokio::test]
async fn unsigned_requests_are_missing_authentication_token() {
    let server = start().await;
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let req = axum::http::Request::post(format!("{}/2015-03-31/functions/target/invocations", server.url()))
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(
        resp.headers()["x-amzn-ErrorType"],
        "MissingAuthenticationTokenException"
    );
    assert!(resp.headers().contains_key("x-amzn-RequestId"));
    use http_body_util::BodyExt;
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        br#"{"Message":"Missing Authentication Token","Type":"User"}"#
    );
}

#[tokio::test]
async fn shutdown_finishes_in_flight_invokes_and_stops_accepting() {
    let server = start().await;
    control(
        &server,
        "POST",
        "/_local/faults",
        json!({"function":"target","latency_ms":400,"times":1}),
    )
    .await;
    let addr = server.addr();
    let client = source_lambda(&server);
    let in_flight = tokio::spawn(async move {
        client
            .invoke()
            .function_name(builtin::TARGET_ALIAS_ARN)
            .payload(Blob::new(&b"{}"[..]))
            .send()
            .await
    });
    // The invoke is now held by the latency fault; shut down underneath it.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let t = Instant::now();
    server.shutdown().await;
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "shutdown returned after {:?}, before the in-flight invoke (~250 ms left) was answered",
        t.elapsed()
    );
    let answer = in_flight.await.unwrap().expect("the in-flight invoke is answered");
    assert_eq!(answer.status_code(), 200);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the server still accepts connections after shutdown"
    );
}
