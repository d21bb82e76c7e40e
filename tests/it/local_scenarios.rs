//! Every example scenario parses, and broken ones are reported with file, field and fix.

use std::path::Path;
use xinvoke::local::{LocalServer, Scenario, ScenarioError};

#[test]
fn every_example_scenario_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml" || e == "json") {
            Scenario::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn broken_scenarios_name_the_file_the_field_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("typo.toml", "region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\n[[accounts.functions]]\nnmae = \"f\"\n", "nmae"),
        ("policy.toml", "region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\n[[accounts.roles]]\nname = \"r\"\npolicy = { Statement = [{ Effect = \"Allow\", Action = \"*\", Condition = { IpAddress = { \"aws:SourceIp\" = \"1.2.3.4\" } } }] }\n", "accounts[0].roles[0].policy"),
        ("vpc.json", r#"{"region":"us-east-1","accounts":[{"id":"222222222222","functions":[{"name":"f","vpc":{"subnet_ids":[]}}]}]}"#, "accounts[0].functions[0].vpc.subnet_ids"),
        // A role's keys are a session's (ASIA + token); long-term AKIA keys are a user's.
        ("key.toml", "region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\n[[accounts.roles]]\nname = \"r\"\ncredentials = { access_key_id = \"AKIA0000000000000000\", secret_access_key = \"s\" }\n", "roles[0].credentials.access_key_id"),
        ("token.toml", "region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\n[[accounts.roles]]\nname = \"r\"\ncredentials = { access_key_id = \"ASIA0000000000000000\", secret_access_key = \"s\" }\n", "roles[0].credentials.session_token"),
        ("user.toml", "region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\n[[accounts.users]]\nname = \"u\"\ncredentials = { access_key_id = \"ASIA0000000000000000\", secret_access_key = \"s\", session_token = \"t\" }\n", "users[0].credentials"),
    ];
    for (file, text, field) in cases {
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        let err = Scenario::from_path(&path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(file) && msg.contains(field), "{msg}");
        if let ScenarioError::Invalid { fix, .. } = &err {
            assert!(!fix.is_empty());
        }
    }
}

#[tokio::test]
async fn start_reports_a_taken_address() {
    let first = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let err = LocalServer::start(Scenario::builtin(), first.addr()).await.unwrap_err();
    assert!(err.to_string().contains(&first.addr().to_string()), "{err}");
    first.shutdown().await;
}

/// `organization.json`: a resource policy granting the whole organization
/// (`--principal '*' --principal-org-id`) admits a member account and refuses an outsider.
#[tokio::test]
async fn organization_wide_resource_policy_admits_members_only() {
    use aws_credential_types::Credentials;
    use aws_sdk_lambda::error::ProvideErrorMetadata;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/organization.json");
    let server = LocalServer::start(Scenario::from_path(&path).unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = |akid: &str, secret: &str| {
        let conf = aws_sdk_lambda::config::Builder::new()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .region(aws_sdk_lambda::config::Region::new("us-east-1"))
            .http_client(xinvoke::adapters::transport::sdk_http_client())
            .credentials_provider(Credentials::new(akid, secret, None, None, "t"))
            .endpoint_url(server.url())
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        aws_sdk_lambda::Client::from_conf(conf)
    };
    let arn = "arn:aws:lambda:us-east-1:222222222222:function:shared";
    let out = client("AKIAXINVOKEMEMBER001", "member-secret")
        .invoke()
        .function_name(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    let err = client("AKIAXINVOKEOUTSIDER1", "outsider-secret")
        .invoke()
        .function_name(arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err.message().unwrap().contains("no resource-based policy"));
    server.shutdown().await;
}
