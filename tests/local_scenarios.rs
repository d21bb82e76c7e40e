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
        ("key.toml", "region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\n[[accounts.roles]]\nname = \"r\"\ncredentials = { access_key_id = \"ASIA0000000000000000\", secret_access_key = \"s\" }\n", "access_key_id"),
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
