//! Fifty accounts, one grant: `scenarios/organization.toml` (four accounts, three of them in an
//! organization with two OUs) holds exactly what `xinvoke policy --org` prints, and the real
//! binaries and SDK clients show what IAM would decide: through `xinvoke invoke` the three
//! members are allowed and the outsider refused with AWS's message; through the invoke role
//! (trust on aws:PrincipalOrgID, aws:PrincipalOrgPaths with ForAnyValue:StringLike and
//! aws:PrincipalArn with ArnLike) a member with a matching role passes and the same role name
//! outside the organization, a member outside the OU and a member with another role name are
//! each refused; `xinvoke doctor --org ...` says which condition left each out.

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use xinvoke::adapters::config::{Settings, Timeouts};
use xinvoke::core::diagnosis::{Diagnosis, Status};
use xinvoke::core::policy::{self, PolicyError, PolicyRequest};
use xinvoke::invoke::doctor::diagnose_grant;
use xinvoke::local::{LocalServer, Scenario};

const TARGET: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";
const INVOKE_ROLE: &str = "arn:aws:iam::222222222222:role/xinvoke-invoke";
const ORG: &str = "o-a1b2c3d4e5";
const WORKLOADS: &str = "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*";
const PATTERN: &str = "xinvoke-invoker-*";
const EXTERNAL_ID: &str = "xinvoke-org-external-id";

/// The scenario's callers: (who, access key of a session of the role, secret).
const MEMBER: (&str, &str, &str) = (
    "111111111111 invoker",
    "ASIAXINVOKEORGMEMBER",
    "xinvoke-org-member-secret",
);
const DEPLOYER: (&str, &str, &str) = (
    "111111111111 deployer",
    "ASIAXINVOKEORGDEPLOY",
    "xinvoke-org-deployer-secret",
);
const TARGET_SIDE: (&str, &str, &str) = (
    "222222222222 invoker",
    "ASIAXINVOKEORGTARGET",
    "xinvoke-org-target-secret",
);
const SANDBOX: (&str, &str, &str) = (
    "333333333333 invoker",
    "ASIAXINVOKEORGSANDBX",
    "xinvoke-org-sandbox-secret",
);
const OUTSIDER: (&str, &str, &str) = (
    "444444444444 invoker",
    "ASIAXINVOKEORGOUTSDR",
    "xinvoke-org-outsider-secret",
);

fn scenario() -> Scenario {
    Scenario::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/organization.toml"))
        .expect("scenarios/organization.toml loads")
}

async fn start() -> LocalServer {
    LocalServer::start(scenario(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("local endpoint starts")
}

fn resource_request() -> PolicyRequest {
    PolicyRequest {
        mode: "resource".into(),
        org_id: Some(ORG.into()),
        target: TARGET.into(),
        ..Default::default()
    }
}

fn role_request() -> PolicyRequest {
    PolicyRequest {
        mode: "role".into(),
        org_id: Some(ORG.into()),
        org_paths: vec![WORKLOADS.into()],
        role_pattern: Some(PATTERN.into()),
        external_id: Some(EXTERNAL_ID.into()),
        target: TARGET.into(),
        ..Default::default()
    }
}

fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn the_scenario_holds_exactly_what_xinvoke_policy_prints() {
    let s = scenario();
    let account = |id: &str| s.accounts.iter().find(|a| a.id == id).unwrap();
    let target_account = account("222222222222");
    let alias = &target_account.functions[0].aliases[0];
    let resource = policy::build(&resource_request()).unwrap();
    assert_eq!(
        json(&alias.resource_policy.as_ref().unwrap().statement),
        Value::Array(resource.resource_statements.clone())
    );
    let role = policy::build(&role_request()).unwrap();
    let invoke = target_account
        .roles
        .iter()
        .find(|r| r.name == "xinvoke-invoke")
        .unwrap();
    assert_eq!(json(invoke.trust.as_ref().unwrap()), role.trust_policy.unwrap());
    assert_eq!(
        json(invoke.policy.as_ref().unwrap()),
        role.role_permission_policy.unwrap()
    );
}

#[test]
fn an_organization_grant_is_one_statement_however_many_accounts() {
    let set = policy::build(&resource_request()).unwrap();
    assert_eq!(set.resource_statements.len(), 1);
    let st = &set.resource_statements[0];
    assert_eq!(st["Principal"], "*");
    assert_eq!(st["Resource"], TARGET);
    assert_eq!(st["Condition"]["StringEquals"]["aws:PrincipalOrgID"], ORG);
    assert_eq!(
        set.add_permission_commands,
        vec![format!("aws lambda add-permission --function-name {TARGET} --statement-id xinvoke-{ORG}-live --action lambda:InvokeFunction --principal '*' --principal-org-id {ORG}")]
    );
    let trust = &policy::build(&role_request()).unwrap().trust_policy.unwrap()["Statement"];
    assert_eq!(trust.as_array().unwrap().len(), 1);
    let c = &trust[0]["Condition"];
    assert_eq!(c["StringEquals"]["aws:PrincipalOrgID"], ORG);
    assert_eq!(c["StringEquals"]["sts:ExternalId"], EXTERNAL_ID);
    assert_eq!(c["ForAnyValue:StringLike"]["aws:PrincipalOrgPaths"][0], WORKLOADS);
    assert_eq!(
        c["ArnLike"]["aws:PrincipalArn"],
        "arn:aws:iam::*:role/xinvoke-invoker-*"
    );
}

#[test]
fn a_function_policy_cannot_hold_the_path_or_the_role_pattern() {
    // Lambda's AddPermission takes PrincipalOrgID and no other condition (botocore's
    // lambda/2015-03-31/service-2.json, AddPermissionRequest; aws-sdk-lambda's
    // AddPermissionInput likewise): such a statement could not be put on a function.
    let mut req = resource_request();
    req.role_pattern = Some(PATTERN.into());
    let e = policy::build(&req).unwrap_err();
    assert_eq!(e, PolicyError::NarrowingInResourceMode);
    assert!(e.to_string().contains("--mode role"), "{e}");
    let mut req = resource_request();
    req.org_paths = vec![WORKLOADS.into()];
    assert_eq!(policy::build(&req).unwrap_err(), PolicyError::NarrowingInResourceMode);
}

#[test]
fn bad_organization_flags_name_the_flag_and_the_form() {
    type Change = fn(&mut PolicyRequest);
    let cases: [(Change, &str); 5] = [
        (|r| r.org_id = Some("o-ABC".into()), "--org \"o-ABC\""),
        (|r| r.org_paths = vec!["o-zzzzzzzzzz/r-ab12/*".into()], "--org-path"),
        (
            |r| r.org_paths = vec!["o-a1b2c3d4e5/ou-ab12-11111111/".into()],
            "root id",
        ),
        (
            |r| r.role_pattern = Some("arn:aws:iam::*:role/x".into()),
            "--role-pattern",
        ),
        (
            |r| r.source_roles = vec!["arn:aws:iam::111111111111:role/a".into()],
            "--source-role and --org",
        ),
    ];
    for (change, text) in cases {
        let mut req = role_request();
        change(&mut req);
        let e = policy::build(&req).unwrap_err().to_string();
        assert!(e.contains(text), "{text}: {e}");
    }
    let none = PolicyRequest {
        mode: "resource".into(),
        target: TARGET.into(),
        ..Default::default()
    };
    assert_eq!(policy::build(&none).unwrap_err(), PolicyError::GranteeMissing);
}

/// Each named role costs a trust entry or a statement: xinvoke warns before the quota bites.
#[test]
fn named_roles_near_a_size_quota_are_warned_about_and_the_organization_form_suggested() {
    let roles = |n: usize| -> Vec<String> {
        (0..n)
            .map(|i| {
                format!(
                    "arn:aws:iam::{:012}:role/xinvoke-invoker-us-east-1",
                    100_000_000_000u64 + i as u64
                )
            })
            .collect()
    };
    let role_mode = |n| PolicyRequest {
        mode: "role".into(),
        source_roles: roles(n),
        external_id: Some(EXTERNAL_ID.into()),
        target: TARGET.into(),
        ..Default::default()
    };
    let few = policy::build(&role_mode(3)).unwrap();
    assert!(few.warnings.is_empty(), "{:?}", few.warnings);
    // Past 80 % of 2,048 characters (IAM counts no whitespace): about 25 role ARNs fit.
    let many = policy::build(&role_mode(40)).unwrap();
    let trust_len = serde_json::to_string(many.trust_policy.as_ref().unwrap())
        .unwrap()
        .len();
    assert!(trust_len > policy::TRUST_POLICY_QUOTA, "{trust_len}");
    assert_eq!(many.warnings.len(), 1, "{:?}", many.warnings);
    assert!(
        many.warnings[0].contains("over") && many.warnings[0].contains("--org"),
        "{}",
        many.warnings[0]
    );
    assert!(many.render().contains("WARNING: the trust policy"));
    let resource = PolicyRequest {
        mode: "resource".into(),
        source_roles: roles(80),
        target: TARGET.into(),
        ..Default::default()
    };
    let set = policy::build(&resource).unwrap();
    assert_eq!(set.resource_statements.len(), 80);
    assert!(set.warnings[0].contains("function policy"), "{:?}", set.warnings);
}

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

const ROLE_ENV: &[(&str, &str)] = &[("XINVOKE_ROLE_ARN", INVOKE_ROLE), ("XINVOKE_EXTERNAL_ID", EXTERNAL_ID)];

async fn doctor_as(
    server: &LocalServer,
    who: (&str, &str, &str),
    role: bool,
    grant: &policy::PolicyRequest,
) -> Diagnosis {
    let mut vars: HashMap<String, String> = HashMap::from([("XINVOKE_TARGET_ARN".to_string(), TARGET.to_string())]);
    if role {
        vars.extend(ROLE_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let target = settings.target(None).unwrap().clone();
    let creds = crate::common::credentials(who.1, who.2);
    let base = crate::common::base(server, creds, Timeouts::default()).await;
    let grant = policy::org_grant(
        grant.org_id.as_deref().unwrap(),
        &grant.org_paths,
        grant.role_pattern.as_deref(),
    )
    .unwrap();
    diagnose_grant(&target, &base, Some(&grant)).await
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

    // doctor names the organization as the reason, and the statement.
    let r = doctor_as(&server, OUTSIDER, false, &resource_request()).await;
    assert_eq!(r.failed(), vec!["organization", "invoke_permission"], "{}", r.render());
    assert!(r
        .check("caller_identity")
        .unwrap()
        .summary
        .contains("organization o-b2c3d4e5f6"));
    let c = r.check("invoke_permission").unwrap();
    assert!(
        c.summary.contains("the organization id excluded the caller: its account is in o-b2c3d4e5f6, aws:PrincipalOrgID requires o-a1b2c3d4e5"),
        "{}",
        r.render()
    );
    assert!(
        c.fix
            .as_deref()
            .unwrap()
            .contains("\"aws:PrincipalOrgID\": \"o-a1b2c3d4e5\""),
        "{}",
        r.render()
    );
    let r = doctor_as(&server, SANDBOX, false, &resource_request()).await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.check("organization").unwrap().status, Status::Pass);
    server.shutdown().await;
}

#[tokio::test]
async fn role_grant_checks_organization_ou_path_and_role_name_and_doctor_says_which() {
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
    for (who, why) in refused {
        let r = invoke_as(&server, who, ROLE_ENV).await;
        assert_eq!(r["class"], "credentials", "{}: {r}", who.0);
        let text = r.to_string();
        assert!(
            text.contains("is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/xinvoke-invoke"),
            "{}: AWS's message: {r}",
            who.0
        );
        let d = doctor_as(&server, who, true, &role_request()).await;
        assert!(d.failed().contains(&"assume_role"), "{}: {}", who.0, d.render());
        let c = d.check("assume_role").unwrap();
        assert!(c.summary.contains(why), "{}: {}", who.0, d.render());
        let fix = c.fix.as_deref().unwrap();
        assert!(
            fix.contains("trust statement to change") && fix.contains("aws:PrincipalOrgPaths"),
            "{fix}"
        );
    }
    let d = doctor_as(&server, MEMBER, true, &role_request()).await;
    assert!(d.ok, "{}", d.render());
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
