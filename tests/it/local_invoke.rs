//! Invoke against the local endpoint with the real Rust SDK: statuses, headers, limits,
//! cross-account authorization and authentication failures, as AWS answers them.

use crate::common::*;
use aws_credential_types::Credentials;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use xinvoke::local::builtin;

fn status_of<E>(e: &aws_sdk_lambda::error::SdkError<E, aws_sdk_lambda::config::http::HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

#[tokio::test]
async fn sync_invoke_of_the_alias_answers_200_with_version_1() {
    let server = start().await;
    let out = source_lambda(&server)
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .payload(Blob::new(r#"{"hello":"world"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.executed_version(), Some("1"));
    assert_eq!(out.function_error(), None);
    assert_eq!(out.payload().unwrap().as_ref(), br#"{"hello":"world"}"#);
    server.shutdown().await;
}

#[tokio::test]
async fn qualifier_parameter_and_partial_arn_work_like_the_suffix() {
    let server = start().await;
    let client = source_lambda(&server);
    for (name, qualifier) in [
        (builtin::TARGET_FUNCTION_ARN, Some("live")),
        ("222222222222:function:target:live", None),
    ] {
        let out = client
            .invoke()
            .function_name(name)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await
            .unwrap();
        assert_eq!(out.executed_version(), Some("1"), "{name}");
    }
}

#[tokio::test]
async fn event_answers_202_and_dry_run_204_with_empty_bodies() {
    let server = start().await;
    let client = source_lambda(&server);
    for (kind, status) in [(InvocationType::Event, 202), (InvocationType::DryRun, 204)] {
        let out = client
            .invoke()
            .function_name(builtin::TARGET_ALIAS_ARN)
            .invocation_type(kind.clone())
            .payload(Blob::new(r#"{"sleep_ms":10}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(out.status_code(), status, "{kind:?}");
        assert!(out.payload().is_none_or(|p| p.as_ref().is_empty()));
    }
}

#[tokio::test]
async fn function_failure_is_200_with_unhandled_and_the_error_payload() {
    let server = start().await;
    let out = source_lambda(&server)
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .payload(Blob::new(r#"{"fail":"boom"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.function_error(), Some("Unhandled"));
    let v: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(v["errorType"], "TargetFailure");
    assert_eq!(v["errorMessage"], "boom");
    let stats = server.stats();
    assert_eq!(stats.invokes_by_error["Function.Unhandled"], 1);
}

/// AWS answers an oversize Invoke 413 `RequestEntityTooLargeException`, a code the model does
/// not list (it names RequestTooLargeException), with these messages: public reports from SDK
/// users (awslabs/aws-athena-query-federation#793: "Request must be smaller than 6291456 bytes
/// for the InvokeFunction operation (Service: AWSLambda; Status Code: 413; Error Code:
/// RequestEntityTooLargeException)"; ASFHyP3/hyp3#2241: "264496 byte payload is too large for
/// the Event invocation type (limit 262144 bytes)", before the async limit became 1 MB).
#[tokio::test]
async fn payloads_over_the_limits_are_413_request_entity_too_large_as_aws_sends_it() {
    let server = start().await;
    let client = source_lambda(&server);
    let cases = [
        (
            InvocationType::RequestResponse,
            6 * 1024 * 1024 + 1,
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation".to_string(),
        ),
        (
            InvocationType::Event,
            1024 * 1024 + 1,
            format!(
                "{} byte payload is too large for the Event invocation type (limit 1048576 bytes)",
                1024 * 1024 + 1
            ),
        ),
    ];
    for (kind, size, message) in cases {
        let mut payload = vec![b'x'; size];
        payload[0] = b'"';
        payload[size - 1] = b'"';
        let err = client
            .invoke()
            .function_name(builtin::TARGET_ALIAS_ARN)
            .invocation_type(kind.clone())
            .payload(Blob::new(payload))
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(413));
        assert_eq!(err.code(), Some("RequestEntityTooLargeException"), "{kind:?}");
        assert_eq!(err.message(), Some(message.as_str()), "{kind:?}");
    }
    // At the limit exactly, an Event is accepted.
    let out = client
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new({
            let mut p = vec![b'x'; 1024 * 1024];
            p[0] = b'"';
            p[1024 * 1024 - 1] = b'"';
            p
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 202);
}

#[tokio::test]
async fn unqualified_target_is_denied_on_the_resource_side_for_the_source_role() {
    let server = start().await;
    let err = source_lambda(&server)
        .invoke()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), Some(403));
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(
        err.message(),
        Some("User: arn:aws:sts::111111111111:assumed-role/xinvoke-source/xinvoke-local is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:222222222222:function:target because no resource-based policy allows the lambda:InvokeFunction action")
    );
}

#[tokio::test]
async fn stranger_is_denied_on_the_identity_side() {
    let server = start().await;
    let err = lambda(&server, builtin::STRANGER_ACCESS_KEY, builtin::STRANGER_SECRET_KEY)
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err
        .message()
        .unwrap()
        .contains("because no identity-based policy allows the lambda:InvokeFunction action"));
    assert!(err.message().unwrap().contains("xinvoke-stranger"));
}

#[tokio::test]
async fn unknown_qualifier_is_404_function_not_found() {
    let server = start().await;
    let err = source_lambda(&server)
        .invoke()
        .function_name(format!("{}:nope", builtin::TARGET_FUNCTION_ARN))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), Some(404));
    assert!(matches!(
        err.as_service_error(),
        Some(InvokeError::ResourceNotFoundException(_))
    ));
    assert_eq!(
        err.message(),
        Some("Function not found: arn:aws:lambda:us-east-1:222222222222:function:target:nope")
    );
}

#[tokio::test]
async fn log_tail_across_accounts_is_refused() {
    let server = start().await;
    let err = source_lambda(&server)
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(err.message(), Some("Cross-account log access is not allowed"));
    // Within account 2 the tail is given.
    let out = admin_lambda(&server)
        .invoke()
        .function_name("target")
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    assert!(out.log_result().is_some());
    assert_eq!(out.executed_version(), Some("$LATEST"));
}

#[tokio::test]
async fn assumed_invoke_role_may_invoke_the_unqualified_target() {
    let server = start().await;
    let creds = assumed_credentials(&server).await;
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(creds.access_key_id().len(), 20);
    let out = lambda_with(&server, creds)
        .invoke()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.executed_version(), Some("$LATEST"));
    assert_eq!(server.stats().sts_assume_role, 1);
}

#[tokio::test]
async fn assume_role_provider_of_aws_config_works_against_the_server() {
    let server = start().await;
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .region(aws_config::Region::new(builtin::REGION))
        .credentials_provider(Credentials::new(
            builtin::SOURCE_ACCESS_KEY,
            builtin::SOURCE_SECRET_KEY,
            Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
            None,
            "static",
        ))
        .endpoint_url(server.url())
        .load()
        .await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(builtin::INVOKE_ROLE_ARN)
        .session_name("provider-test")
        .external_id(builtin::EXTERNAL_ID)
        .configure(&base)
        .build()
        .await;
    let conf = aws_sdk_lambda::config::Builder::from(&base)
        .credentials_provider(provider)
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_lambda::Client::from_conf(conf);
    for _ in 0..3 {
        let out = client
            .invoke()
            .function_name(builtin::TARGET_FUNCTION_ARN)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status_code(), 200);
    }
    assert_eq!(server.stats().sts_assume_role, 1, "one STS call serves every invoke");
}

#[tokio::test]
async fn bad_secret_is_invalid_signature_and_unknown_key_unrecognized_client() {
    let server = start().await;
    let cases = [
        (builtin::SOURCE_ACCESS_KEY, "wrong-secret", "InvalidSignatureException"),
        ("AKIAUNKNOWNKEY000001", "whatever", "UnrecognizedClientException"),
    ];
    for (akid, secret, code) in cases {
        let err = lambda(&server, akid, secret)
            .invoke()
            .function_name(builtin::TARGET_ALIAS_ARN)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(403));
        assert_eq!(err.code(), Some(code));
    }
    let stats = server.stats();
    assert_eq!(stats.invokes_by_status["403"], 2);
}

#[tokio::test]
async fn session_expires_with_the_server_clock() {
    let server = start().await;
    let creds = assumed_credentials(&server).await;
    let client = lambda_with(&server, creds);
    client
        .invoke()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap();
    let (status, _) = control(&server, "POST", "/_local/clock", serde_json::json!({"advance_s": 3601})).await;
    assert_eq!(status, 200);
    let err = client
        .invoke()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ExpiredTokenException"));
    assert_eq!(
        err.message(),
        Some("The security token included in the request is expired")
    );
}

#[tokio::test]
async fn session_key_without_its_token_is_unrecognized() {
    let server = start().await;
    let creds = assumed_credentials(&server).await;
    let stripped = Credentials::new(creds.access_key_id(), creds.secret_access_key(), None, None, "x");
    let err = lambda_with(&server, stripped)
        .invoke()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
}

#[tokio::test]
async fn payload_that_is_not_json_is_invalid_request_content() {
    let server = start().await;
    let err = source_lambda(&server)
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .payload(Blob::new("not json"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), Some(400));
    assert!(matches!(
        err.as_service_error(),
        Some(InvokeError::InvalidRequestContentException(_))
    ));
    assert!(err
        .message()
        .unwrap()
        .starts_with("Could not parse request body into json"));
}

#[tokio::test]
async fn sleeping_past_the_function_timeout_is_an_unhandled_timeout() {
    let scenario = xinvoke::local::Scenario::from_toml_str(
        r#"
region = "us-east-1"
[[accounts]]
id = "222222222222"
[[accounts.users]]
name = "operator"
credentials = { access_key_id = "AKIAXINVOKEOPERATOR1", secret_access_key = "operator-secret" }
policy = { Statement = [{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "*" }] }
[[accounts.functions]]
name = "short"
timeout_s = 1
"#,
        std::path::Path::new("timeout.toml"),
    )
    .unwrap();
    let server = start_with(scenario).await;
    let t = std::time::Instant::now();
    let out = lambda(&server, "AKIAXINVOKEOPERATOR1", "operator-secret")
        .invoke()
        .function_name("short")
        .payload(Blob::new(r#"{"sleep_ms":5000}"#))
        .send()
        .await
        .unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(out.function_error(), Some("Unhandled"));
    let v: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(v["errorType"], "Sandbox.Timedout");
    assert!(v["errorMessage"]
        .as_str()
        .unwrap()
        .ends_with("Task timed out after 1.00 seconds"));
}

/// A synchronous caller that gives up (its client's timeout) does not stop the function, as on
/// AWS: the execution runs to its end holding its concurrency, and is counted as an invocation
/// answered 200 (before, the endpoint dropped it at once: concurrency back to 0, not counted,
/// so load runs with timeouts under-reported concurrency and throttles).
#[tokio::test]
async fn a_caller_that_gives_up_does_not_stop_the_function() {
    use aws_smithy_types::timeout::TimeoutConfig;
    let server = start().await;
    let conf = aws_sdk_lambda::config::Builder::new()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new(builtin::REGION))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .credentials_provider(credentials(builtin::ADMIN_ACCESS_KEY, builtin::ADMIN_SECRET_KEY))
        .endpoint_url(server.url())
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(std::time::Duration::from_millis(200))
                .build(),
        )
        .build();
    let impatient = aws_sdk_lambda::Client::from_conf(conf);
    let err = impatient
        .invoke()
        .function_name("target:live")
        .payload(Blob::new(r#"{"sleep_ms":2000}"#))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, aws_sdk_lambda::error::SdkError::TimeoutError(_)),
        "the caller gave up: {err:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let during = server.stats();
    assert_eq!(during.concurrency, 1, "the execution still holds its concurrency");
    let mut after = server.stats();
    for _ in 0..100 {
        if after.invokes_by_status.get("200") == Some(&1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        after = server.stats();
    }
    assert_eq!(
        after.invokes_by_status.get("200"),
        Some(&1),
        "counted when it ended: {after:?}"
    );
    assert_eq!(after.concurrency, 0);
    assert_eq!(after.concurrency_peak, 1);
}
