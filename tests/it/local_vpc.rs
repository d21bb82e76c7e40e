//! Concurrency and per-environment VPC failures emerge from load, not from scripts: 50
//! concurrent invokes against small limits meet each failure of the mission.

use crate::common::*;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use std::collections::BTreeMap;

const OPERATOR_KEY: &str = "AKIAXINVOKEOPERATOR1";
const OPERATOR_SECRET: &str = "operator-secret";

/// Fire `n` concurrent `{"sleep_ms":200}` invokes of `function`; count outcomes by code.
async fn burst(client: &aws_sdk_lambda::Client, function: &str, n: usize) -> BTreeMap<String, usize> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let client = client.clone();
        let function = function.to_string();
        tasks.push(tokio::spawn(async move {
            client
                .invoke()
                .function_name(function)
                .payload(Blob::new(r#"{"sleep_ms":200}"#))
                .send()
                .await
        }));
    }
    let mut counts = BTreeMap::new();
    for t in tasks {
        let key = match t.await.unwrap() {
            Ok(out) => format!("ok{}", out.status_code()),
            Err(e) => {
                if let Some(InvokeError::TooManyRequestsException(t)) = e.as_service_error() {
                    // A concurrency limit has no Retry-After: it ends when an execution does
                    // (LocalStack's recorded concurrency throttles carry Reason and message only).
                    assert_eq!(t.retry_after_seconds(), None);
                    format!("429:{}", t.reason().map(|r| r.as_str().to_string()).unwrap_or_default())
                } else {
                    format!(
                        "{}:{}",
                        e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
                        e.code().unwrap_or("?")
                    )
                }
            }
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn per_environment_spike_meets_ec2_throttling_eni_quota_and_subnet_exhaustion() {
    let server = start_with(scenario_file("per_environment.toml")).await;
    let client = lambda(&server, OPERATOR_KEY, OPERATOR_SECRET);
    let cases = [
        ("eni-throttled", "502:EC2ThrottledException", 5),
        ("eni-quota", "502:ENILimitReachedException", 10),
        ("subnet-full", "502:SubnetIPAddressLimitReachedException", 8),
    ];
    for (function, failure, capacity) in cases {
        let counts = burst(&client, function, 50).await;
        assert_eq!(counts.get("ok200"), Some(&capacity), "{function}: {counts:?}");
        assert_eq!(counts.get(failure), Some(&(50 - capacity)), "{function}: {counts:?}");
    }
    let stats = server.stats();
    assert_eq!(stats.enis_in_use, 5 + 10 + 8);
    assert_eq!(stats.cold_starts, 5 + 10 + 8);
    assert!(stats.concurrency_peak >= 10);
    assert_eq!(stats.concurrency, 0);
}

#[tokio::test]
async fn warm_environments_are_reused_without_new_enis() {
    let server = start_with(scenario_file("per_environment.toml")).await;
    let client = lambda(&server, OPERATOR_KEY, OPERATOR_SECRET);
    let first = burst(&client, "eni-quota", 10).await;
    assert_eq!(first.get("ok200"), Some(&10));
    let again = burst(&client, "eni-quota", 10).await;
    assert_eq!(again.get("ok200"), Some(&10), "{again:?}");
    assert_eq!(server.stats().cold_starts, 10);
}

#[tokio::test]
async fn concurrency_limits_throttle_with_their_reasons() {
    let server = start_with(scenario_file("concurrency.toml")).await;
    let client = lambda(&server, OPERATOR_KEY, OPERATOR_SECRET);
    let open = burst(&client, "open", 50).await;
    assert_eq!(open.get("ok200"), Some(&5), "{open:?}");
    assert_eq!(open.get("429:ConcurrentInvocationLimitExceeded"), Some(&45), "{open:?}");
    let capped = burst(&client, "capped", 50).await;
    assert_eq!(capped.get("ok200"), Some(&5), "{capped:?}");
    assert_eq!(
        capped.get("429:ReservedFunctionConcurrentInvocationLimitExceeded"),
        Some(&45),
        "{capped:?}"
    );
    assert_eq!(server.stats().concurrency_peak, 5);
}
