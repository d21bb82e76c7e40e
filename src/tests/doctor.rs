//! `xinvoke doctor` against the local endpoint: the built-in scenario passes, and each
//! scenario of `tests/scenarios/broken/` (one thing wrong) fails exactly the check that names
//! that thing, with the statement or command that fixes it, and nothing else.

use aws_credential_types::Credentials;
use std::collections::HashMap;
use std::path::Path;
use xinvoke::adapters::config::{Settings, Timeouts};
use xinvoke::domain::class::Class;
use xinvoke::domain::diagnosis::{Diagnosis, Status};
use xinvoke::invoke::doctor::diagnose;
use xinvoke::local::{builtin, LocalServer, Scenario};

const SOURCE_ROLE: &str = builtin::SOURCE_ROLE_ARN;

async fn start(scenario: Option<&str>) -> LocalServer {
    let scenario = match scenario {
        None => Scenario::builtin(),
        Some(name) => {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/scenarios/broken/{name}.toml"));
            Scenario::from_path(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
        }
    };
    LocalServer::start(scenario, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("local endpoint starts")
}

async fn doctor_as(server: &LocalServer, creds: Credentials, vars: &[(&str, &str)]) -> Diagnosis {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = Settings::from_lookup(|k| map.get(k).cloned()).expect("valid settings");
    let target = settings.target(None).expect("one target").clone();
    let base = crate::tests::common::base(server, creds, Timeouts::default()).await;
    diagnose(&target, &base).await
}

async fn doctor(server: &LocalServer, vars: &[(&str, &str)]) -> Diagnosis {
    doctor_as(server, crate::tests::common::source_credentials(), vars).await
}

const RESOURCE_LIVE: &[(&str, &str)] = &[("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN)];
const ROLE: &[(&str, &str)] = &[
    ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
    ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
    ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
];
const ROLE_LIVE: &[(&str, &str)] = &[
    ("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN),
    ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
    ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
];

fn statuses(r: &Diagnosis) -> Vec<(&'static str, Status)> {
    r.checks.iter().map(|c| (c.name, c.status)).collect()
}

/// The one failed check, its class and fix; panics with the rendered report otherwise.
fn only_failure<'r>(r: &'r Diagnosis, name: &str) -> (&'r xinvoke::domain::diagnosis::Check, &'r str) {
    assert_eq!(r.failed(), vec![name], "\n{}", r.render());
    assert!(!r.ok);
    assert_eq!(r.exit_code(), 1);
    let c = r.check(name).unwrap();
    (c, c.fix.as_deref().expect("a failed check has a fix"))
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[tokio::test]
async fn builtin_resource_based_alias_passes_with_reads_as_neutral_notes() {
    let server = start(None).await;
    let r = doctor(&server, RESOURCE_LIVE).await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.auth, "resource");
    assert_eq!(
        statuses(&r),
        vec![
            ("caller_identity", Status::Pass),
            ("assume_role", Status::Skip),
            ("invoke_permission", Status::Pass),
            ("function", Status::Info),
            ("alias", Status::Pass),
        ]
    );
    assert!(r.check("function").unwrap().summary.contains("not visible"));
}

#[tokio::test]
async fn builtin_role_chaining_passes_every_check_and_reads_the_configuration() {
    let server = start(None).await;
    let r = doctor(&server, ROLE_LIVE).await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(
        statuses(&r),
        vec![
            ("caller_identity", Status::Pass),
            ("assume_role", Status::Pass),
            ("trust_external_id", Status::Pass),
            ("invoke_permission", Status::Pass),
            ("function", Status::Pass),
            ("alias", Status::Pass),
        ]
    );
    assert!(r.check("function").unwrap().summary.contains("is Active"));
    assert!(r.check("function").unwrap().summary.contains("VPC vpc-"));
    assert!(r.check("alias").unwrap().summary.contains("points at version 1"));
}

#[tokio::test]
async fn unqualified_target_with_the_grant_on_the_alias_says_grant_unqualified_or_invoke_the_alias() {
    let server = start(None).await;
    let r = doctor(&server, &[("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN)]).await;
    let (c, fix) = only_failure(&r, "invoke_permission");
    assert_eq!(c.class, Some(Class::AccessDeniedResource));
    assert!(fix.contains(&format!(
        "aws lambda add-permission --function-name {} --statement-id xinvoke-xinvoke-source --action lambda:InvokeFunction --principal {SOURCE_ROLE}",
        builtin::TARGET_FUNCTION_ARN
    )), "{fix}");
    assert!(
        fix.contains("grant on the unqualified ARN or invoke the alias"),
        "{fix}"
    );
    assert_eq!(r.check("alias").unwrap().status, Status::Skip);
}

#[tokio::test]
async fn no_identity_permission_names_the_identity_side_and_the_statement_to_attach() {
    let server = start(Some("no_identity_permission")).await;
    let r = doctor(&server, RESOURCE_LIVE).await;
    let (c, fix) = only_failure(&r, "invoke_permission");
    assert_eq!(c.class, Some(Class::AccessDeniedIdentity));
    assert!(fix.contains(SOURCE_ROLE), "{fix}");
    assert!(
        compact(fix).contains(&compact(&format!(
            r#""Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": "{}""#,
            builtin::TARGET_ALIAS_ARN
        ))),
        "{fix}"
    );
}

#[tokio::test]
async fn missing_resource_policy_names_the_resource_side_and_add_permission_on_the_alias() {
    for scenario in ["resource_policy_missing", "resource_policy_wrong_qualifier"] {
        let server = start(Some(scenario)).await;
        let r = doctor(&server, RESOURCE_LIVE).await;
        let (c, fix) = only_failure(&r, "invoke_permission");
        assert_eq!(c.class, Some(Class::AccessDeniedResource), "{scenario}");
        assert!(fix.contains(&format!(
            "aws lambda add-permission --function-name {} --statement-id xinvoke-xinvoke-source-live --action lambda:InvokeFunction --principal {SOURCE_ROLE}",
            builtin::TARGET_ALIAS_ARN
        )), "{scenario}: {fix}");
        assert!(
            !fix.contains("unqualified"),
            "{scenario}: the target is qualified: {fix}"
        );
    }
}

#[tokio::test]
async fn missing_alias_fails_the_alias_check_only() {
    let server = start(Some("alias_missing")).await;
    let r = doctor(&server, RESOURCE_LIVE).await;
    let (c, fix) = only_failure(&r, "alias");
    assert_eq!(c.class, Some(Class::NotFound));
    assert!(c.summary.contains("alias live does not exist"), "{}", c.summary);
    assert!(
        fix.contains(
            "aws lambda create-alias --function-name arn:aws:lambda:us-east-1:222222222222:function:target --name live"
        ),
        "{fix}"
    );
    assert_eq!(r.check("invoke_permission").unwrap().status, Status::Skip);

    // Role chaining reads the alias itself.
    let r = doctor(&server, ROLE_LIVE).await;
    let (c, _) = only_failure(&r, "alias");
    assert_eq!(
        c.summary,
        "alias live does not exist on arn:aws:lambda:us-east-1:222222222222:function:target"
    );
}

fn assert_trust_fix(fix: &str) {
    let trust = compact(&format!(
        r#""Action": "sts:AssumeRole", "Condition": {{"StringEquals": {{"sts:ExternalId": "EXTERNAL_ID"}}}}, "Effect": "Allow", "Principal": {{"AWS": "{SOURCE_ROLE}"}}"#
    ));
    assert!(compact(fix).contains(&trust), "{fix}");
}

#[tokio::test]
async fn trust_refusing_the_caller_fails_assume_role_with_the_trust_and_identity_statements() {
    for scenario in [
        "trust_other_external_id",
        "trust_not_naming_caller",
        "no_assume_permission",
    ] {
        let server = start(Some(scenario)).await;
        let r = doctor(&server, ROLE).await;
        let (c, fix) = only_failure(&r, "assume_role");
        assert_eq!(c.class, Some(Class::Credentials), "{scenario}");
        assert_trust_fix(fix);
        assert!(
            compact(fix).contains(&compact(&format!(
                r#""Action": "sts:AssumeRole", "Effect": "Allow", "Resource": "{}""#,
                builtin::INVOKE_ROLE_ARN
            ))),
            "{scenario}: {fix}"
        );
        assert!(
            !fix.contains(builtin::EXTERNAL_ID),
            "the external id stays secret: {fix}"
        );
        for later in ["trust_external_id", "invoke_permission", "function", "alias"] {
            assert_eq!(r.check(later).unwrap().status, Status::Skip, "{scenario}: {later}");
        }
    }
}

#[tokio::test]
async fn trust_without_external_id_condition_fails_trust_external_id() {
    let server = start(Some("trust_without_external_id")).await;
    let r = doctor(&server, ROLE).await;
    let (c, fix) = only_failure(&r, "trust_external_id");
    assert!(c.summary.contains("does not require sts:ExternalId"), "{}", c.summary);
    assert_trust_fix(fix);
    assert_eq!(r.check("invoke_permission").unwrap().status, Status::Pass);
}

#[tokio::test]
async fn invoke_role_without_permission_names_the_assumed_role() {
    let server = start(Some("invoke_role_no_permission")).await;
    let r = doctor(&server, ROLE).await;
    let (c, fix) = only_failure(&r, "invoke_permission");
    assert_eq!(c.class, Some(Class::AccessDeniedIdentity));
    assert!(
        fix.contains("the assumed role arn:aws:iam::222222222222:role/xinvoke-invoke"),
        "{fix}"
    );
    assert!(compact(fix).contains(&compact(&format!(r#""Resource": "{}""#, builtin::TARGET_FUNCTION_ARN))));
}

#[tokio::test]
async fn failed_and_pending_functions_name_the_vpc_reason() {
    let cases = [
        (
            "function_failed_eni_limit",
            Class::EniLimit,
            "EniLimitExceeded",
            "network-interface quota",
        ),
        (
            "function_pending_subnet_ips",
            Class::SubnetIpLimit,
            "SubnetOutOfIPAddresses",
            "subnets",
        ),
    ];
    for (scenario, class, reason, hint) in cases {
        let server = start(Some(scenario)).await;
        let r = doctor(&server, ROLE).await;
        let (c, fix) = only_failure(&r, "function");
        assert_eq!(c.class, Some(class), "{scenario}");
        assert!(c.summary.contains(reason), "{scenario}: {}", c.summary);
        assert!(fix.contains(hint), "{scenario}: {fix}");
        assert_eq!(
            r.check("invoke_permission").unwrap().status,
            Status::Pass,
            "DryRun ignores state"
        );

        // Resource-based callers cannot read the configuration: a neutral note, no failure.
        let r = doctor(&server, RESOURCE_LIVE).await;
        assert!(r.ok, "{}", r.render());
    }
}

#[tokio::test]
async fn state_set_through_the_control_api_is_named() {
    let server = start(None).await;
    crate::tests::common::control_client(&server)
        .state(&serde_json::json!({"function": "target", "state": "Failed", "reason_code": "EC2RequestLimitExceeded"}))
        .await
        .expect("state accepted");
    let r = doctor(&server, ROLE).await;
    let (c, _) = only_failure(&r, "function");
    assert_eq!(c.class, Some(Class::Ec2RequestLimit));
}

#[tokio::test]
async fn unknown_key_fails_caller_identity_and_skips_the_rest() {
    let server = start(None).await;
    let creds = Credentials::new("AKIANOBODY0000000000", "nope", None, None, "test");
    let r = doctor_as(&server, creds, ROLE).await;
    let (c, _) = only_failure(&r, "caller_identity");
    assert_eq!(c.class, Some(Class::Credentials));
    assert_eq!(r.checks.len(), 6);
    assert!(r.checks[1..].iter().all(|c| c.status == Status::Skip));
}

#[tokio::test]
async fn missing_function_fails_the_function_check_when_the_caller_may_look() {
    let server = start(None).await;
    // Lambda refuses on the identity side before it looks for the function: the source role's
    // identity policy covers only `target`, so that is what account 1 is told.
    let r = doctor(
        &server,
        &[(
            "XINVOKE_TARGET_ARN",
            "arn:aws:lambda:us-east-1:222222222222:function:nothing:live",
        )],
    )
    .await;
    let (c, _) = only_failure(&r, "invoke_permission");
    assert_eq!(c.class, Some(Class::AccessDeniedIdentity));
    // The invoke role in account 2 may look: the function is named missing, nothing else fails.
    let r = doctor(
        &server,
        &[
            (
                "XINVOKE_TARGET_ARN",
                "arn:aws:lambda:us-east-1:222222222222:function:nothing",
            ),
            ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
            ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
        ],
    )
    .await;
    let (c, fix) = only_failure(&r, "function");
    assert_eq!(c.class, Some(Class::NotFound));
    assert!(fix.contains("XINVOKE_TARGET_ARN"));
    assert_eq!(r.check("invoke_permission").unwrap().status, Status::Skip);
}

#[tokio::test]
async fn json_report_has_the_documented_fields() {
    let server = start(Some("no_identity_permission")).await;
    let r = doctor(&server, RESOURCE_LIVE).await;
    let v = serde_json::to_value(&r).unwrap();
    for key in ["target", "auth", "caller", "ok", "checks"] {
        assert!(v.get(key).is_some(), "{key}: {v}");
    }
    let failed = &v["checks"][2];
    assert_eq!(failed["name"], "invoke_permission");
    assert_eq!(failed["status"], "fail");
    assert_eq!(failed["class"], "access_denied_identity");
    assert!(failed["fix"].as_str().unwrap().contains("lambda:InvokeFunction"));
    assert_eq!(v["checks"][1]["status"], "skip");
    assert!(v["checks"][1].get("fix").is_none());
    let text = r.render();
    assert!(text.contains("✗ invoke_permission"), "{text}");
    assert!(text.contains("    fix: Attach to"), "{text}");
    assert!(text.contains("✓ caller_identity"), "{text}");
}

#[tokio::test]
async fn version_qualified_targets_check_the_version() {
    let server = start(None).await;
    let role = |arn: &'static str| {
        [
            ("XINVOKE_TARGET_ARN", arn),
            ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
            ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
        ]
    };
    let r = doctor(
        &server,
        &role("arn:aws:lambda:us-east-1:222222222222:function:target:1"),
    )
    .await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.check("version").unwrap().status, Status::Pass);
    let r = doctor(
        &server,
        &role("arn:aws:lambda:us-east-1:222222222222:function:target:7"),
    )
    .await;
    let (c, fix) = only_failure(&r, "version");
    assert!(c.summary.contains("version 7"), "{}", c.summary);
    assert!(fix.contains("publish-version"), "{fix}");
}

#[test]
fn every_broken_scenario_has_its_test() {
    let tested = [
        "alias_missing",
        "function_failed_eni_limit",
        "function_pending_subnet_ips",
        "invoke_role_no_permission",
        "no_assume_permission",
        "no_identity_permission",
        "resource_policy_missing",
        "resource_policy_wrong_qualifier",
        "trust_not_naming_caller",
        "trust_other_external_id",
        "trust_without_external_id",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/broken");
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, tested);
}
