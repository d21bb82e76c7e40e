//! Fifty accounts, one grant: `scenarios/organization.toml` (four accounts, three of them in an
//! organization with two OUs) holds exactly what `xinvoke policy --org` prints, and the real
//! binaries and SDK clients show what IAM would decide: through `xinvoke invoke` the three
//! members are allowed and the outsider refused with AWS's message; through the invoke role
//! (trust on aws:PrincipalOrgID, aws:PrincipalOrgPaths with ForAnyValue:StringLike and
//! aws:PrincipalArn with ArnLike) a member with a matching role passes and the same role name
//! outside the organization, a member outside the OU and a member with another role name are
//! each refused; `xinvoke doctor --org ...` says which condition left each out.

use crate::common::organization::*;
use serde_json::Value;
use std::process::{Command, Output};
use xinvoke::local::LocalServer;

/// `xinvoke invoke` as one of the scenario's callers.
async fn invoke_as(server: &LocalServer, who: (&str, &str, &str), env: &[(&str, &str)]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xinvoke"));
    cmd.args(["invoke", "--no-retry", "--payload", r#"{"hello":"org"}"#])
        .env_clear()
        .env("AWS_ENDPOINT_URL", server.url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", who.1)
        .env("AWS_SECRET_ACCESS_KEY", who.2)
        // The scenario's roles act through sessions (ASIA keys with a token, the test
        // scenarios' convention: the secret and `-token`).
        .env("AWS_SESSION_TOKEN", format!("{}-token", who.2))
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("XINVOKE_TARGET_ARN", TARGET);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = tokio::task::spawn_blocking(move || cmd.output().expect("xinvoke runs"))
        .await
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: stdout is not a record ({e}): {}\n{}",
            who.0,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test]
async fn resource_grant_lets_the_three_members_invoke_and_refuses_the_outsider() {
    let server = start().await;
    for who in [MEMBER, TARGET_SIDE, SANDBOX] {
        let r = invoke_as(&server, who, &[]).await;
        assert_eq!(r["class"], "ok", "{}: {r}", who.0);
        assert_eq!(r["payload"]["hello"], "org", "{}: {r}", who.0);
    }
    let r = invoke_as(&server, OUTSIDER, &[]).await;
    assert_eq!(r["class"], "access_denied_resource", "{r}");
    assert_eq!(r["attempts"], 1, "{r}");
    let text = r.to_string();
    assert!(
        text.contains(&format!("User: arn:aws:sts::444444444444:assumed-role/xinvoke-invoker-us-east-1/xinvoke-local is not authorized to perform: lambda:InvokeFunction on resource: {TARGET} because no resource-based policy allows the lambda:InvokeFunction action")),
        "AWS's message: {r}"
    );

    server.shutdown().await;
}

#[tokio::test]
async fn role_grant_checks_organization_ou_path_and_role_name() {
    let server = start().await;
    let r = invoke_as(&server, MEMBER, ROLE_ENV).await;
    assert_eq!(r["class"], "ok", "{r}");
    let refused = [
        (
            OUTSIDER,
            "the organization id excluded the caller: its account is in o-b2c3d4e5f6",
        ),
        (SANDBOX, "the OU path excluded the caller"),
        (
            DEPLOYER,
            "the role pattern excluded the caller: its role deployer does not match xinvoke-invoker-*",
        ),
    ];
    for (who, _) in refused {
        let r = invoke_as(&server, who, ROLE_ENV).await;
        assert_eq!(r["class"], "credentials", "{}: {r}", who.0);
        let text = r.to_string();
        assert!(
            text.contains("is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/xinvoke-invoke"),
            "{}: AWS's message: {r}",
            who.0
        );
    }
    server.shutdown().await;
}

/// `xinvoke policy` as a user runs it: the organization form, and its refusal in resource mode.
#[test]
fn the_policy_command_prints_the_organization_form() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xinvoke"))
            .arg("policy")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--mode", "resource", "--org", ORG, "--target", TARGET, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["organization"]["org_id"], ORG);
    assert_eq!(
        v["resource_statements"][0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        ORG
    );
    let out = run(&[
        "--mode",
        "resource",
        "--org",
        ORG,
        "--role-pattern",
        PATTERN,
        "--target",
        TARGET,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AddPermission takes PrincipalOrgID"));
    let out = run(&[
        "--mode",
        "role",
        "--org",
        ORG,
        "--org-path",
        WORKLOADS,
        "--role-pattern",
        PATTERN,
        "--external-id",
        EXTERNAL_ID,
        "--target",
        TARGET,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"aws:PrincipalArn\": \"arn:aws:iam::*:role/xinvoke-invoker-*\""),
        "{text}"
    );
}
