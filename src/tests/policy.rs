//! `xinvoke policy` end to end: what it prints (its `--json`) is loaded into a local endpoint
//! built from nothing else, an invoke through the core succeeds, and removing any one statement
//! makes `xinvoke doctor` fail the check that names it, with that very statement as the fix.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use xinvoke::adapters::config::{Settings, Timeouts};
use xinvoke::domain::class::Class;
use xinvoke::domain::diagnosis::Diagnosis;
use xinvoke::domain::policy::{self, PolicyError, PolicyRequest};
use xinvoke::invoke::doctor::diagnose;
use xinvoke::invoke::service::Call;
use xinvoke::local::{builtin, LocalServer, Scenario};

const INVOKE_ROLE: &str = "arn:aws:iam::222222222222:role/xinvoke-invoke";
const EXTERNAL_ID: &str = "policy-test-external-id";

fn request(mode: &str, target: &str) -> PolicyRequest {
    PolicyRequest {
        mode: mode.into(),
        source_roles: vec![builtin::SOURCE_ROLE_ARN.into()],
        target: target.into(),
        external_id: (mode == "role").then(|| EXTERNAL_ID.into()),
        ..Default::default()
    }
}

/// What `xinvoke policy --json` prints.
fn printed(req: &PolicyRequest) -> Value {
    serde_json::to_value(policy::build(req).expect("valid request")).unwrap()
}

/// Which statement to leave out of the generated scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Drop {
    Nothing,
    SourceIdentity,
    Resource,
    Trust,
    RolePermission,
}

fn policy_without(doc: &Value, drop: bool) -> Value {
    let mut doc = doc.clone();
    if drop {
        doc["Statement"] = json!([]);
    }
    doc
}

/// A local endpoint made only of the printed documents (and the built-in keys of account 1).
fn scenario_from(printed: &Value, drop: Drop) -> Scenario {
    let target: xinvoke::domain::arn::FunctionArn = printed["target"].as_str().unwrap().parse().unwrap();
    let mut function = json!({"name": target.name, "versions": ["1"], "aliases": [{"name": "live", "version": "1"}]});
    if let Some(statement) = printed.get("resource_statements").map(|s| &s[0]) {
        let doc = policy_without(&policy::document(vec![statement.clone()]), drop == Drop::Resource);
        match &target.qualifier {
            Some(_) => function["aliases"][0]["resource_policy"] = doc,
            None => function["resource_policy"] = doc,
        }
    }
    let mut account2 = json!({"id": "222222222222", "functions": [function], "roles": []});
    if let Some(role) = printed.get("invoke_role") {
        let name = role.as_str().unwrap().rsplit('/').next().unwrap();
        account2["roles"] = json!([{
            "name": name,
            "trust": policy_without(&printed["trust_policy"], drop == Drop::Trust),
            "policy": policy_without(&printed["role_permission_policy"], drop == Drop::RolePermission),
        }]);
    }
    let v = json!({
        "region": "us-east-1",
        "accounts": [
            {"id": "111111111111", "roles": [{
                "name": "xinvoke-source",
                "credentials": {"access_key_id": builtin::SOURCE_ACCESS_KEY, "secret_access_key": builtin::SOURCE_SECRET_KEY, "session_token": builtin::SOURCE_SESSION_TOKEN},
                "policy": policy_without(&printed["source_identity_policy"], drop == Drop::SourceIdentity),
            }]},
            account2,
        ],
    });
    let scenario: Scenario = serde_json::from_value(v).expect("the printed documents load as a scenario");
    scenario.validate(Path::new("generated.json")).expect("valid scenario");
    scenario
}

fn vars(printed: &Value) -> Vec<(&'static str, String)> {
    let mut v = vec![("XINVOKE_TARGET_ARN", printed["target"].as_str().unwrap().to_string())];
    if let Some(role) = printed.get("invoke_role") {
        v.push(("XINVOKE_ROLE_ARN", role.as_str().unwrap().to_string()));
        v.push(("XINVOKE_EXTERNAL_ID", EXTERNAL_ID.to_string()));
    }
    v
}

async fn start(scenario: Scenario) -> LocalServer {
    LocalServer::start(scenario, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("local endpoint starts")
}

async fn doctor(server: &LocalServer, printed: &Value) -> Diagnosis {
    let map: HashMap<&str, String> = vars(printed).into_iter().collect();
    let settings = Settings::from_lookup(|k| map.get(k).cloned()).unwrap();
    let target = settings.target(None).unwrap().clone();
    let base =
        crate::tests::common::base(server, crate::tests::common::source_credentials(), Timeouts::default()).await;
    diagnose(&target, &base).await
}

async fn invoke_ok(server: &LocalServer, printed: &Value) {
    let v = vars(printed);
    let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let service = crate::tests::common::service(server, crate::tests::common::source_credentials(), &refs).await;
    let record = service
        .invoke(
            Call {
                target: None,
                payload: br#"{"hello": "policy"}"#.to_vec(),
                invocation_type: None,
                qualifier: None,
                client_context: None,
                ..Call::default()
            },
            None,
        )
        .await
        .unwrap();
    assert!(record.is_ok(), "{record:?}");
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn json_text(v: &Value) -> String {
    compact(&serde_json::to_string(v).unwrap())
}

const TARGETS: [&str; 2] = [builtin::TARGET_ALIAS_ARN, builtin::TARGET_FUNCTION_ARN];

#[tokio::test]
async fn resource_mode_documents_invoke_and_each_missing_one_is_named_by_doctor() {
    for target in TARGETS {
        let p = printed(&request("resource", target));
        let server = start(scenario_from(&p, Drop::Nothing)).await;
        invoke_ok(&server, &p).await;
        let r = doctor(&server, &p).await;
        assert!(r.ok, "{}", r.render());

        // Without the identity statement: the fix is the printed identity policy.
        let server = start(scenario_from(&p, Drop::SourceIdentity)).await;
        let r = doctor(&server, &p).await;
        assert_eq!(r.failed(), vec!["invoke_permission"], "{}", r.render());
        let c = r.check("invoke_permission").unwrap();
        assert_eq!(c.class, Some(Class::AccessDeniedIdentity));
        assert!(
            compact(c.fix.as_deref().unwrap()).contains(&json_text(&p["source_identity_policy"])),
            "{target}: {}",
            r.render()
        );

        // Without the resource statement: the fix is the printed command and statement.
        let server = start(scenario_from(&p, Drop::Resource)).await;
        let r = doctor(&server, &p).await;
        assert_eq!(r.failed(), vec!["invoke_permission"], "{}", r.render());
        let c = r.check("invoke_permission").unwrap();
        assert_eq!(c.class, Some(Class::AccessDeniedResource));
        let fix = c.fix.as_deref().unwrap();
        assert!(fix.contains(p["add_permission_commands"][0].as_str().unwrap()), "{fix}");
        assert!(compact(fix).contains(&json_text(&p["resource_statements"][0])), "{fix}");
    }
}

#[tokio::test]
async fn role_mode_documents_invoke_and_each_missing_one_is_named_by_doctor() {
    for target in TARGETS {
        let p = printed(&request("role", target));
        let server = start(scenario_from(&p, Drop::Nothing)).await;
        invoke_ok(&server, &p).await;
        let r = doctor(&server, &p).await;
        assert!(r.ok, "{}", r.render());

        let trust = &p["trust_policy"]["Statement"][0];
        let trust_placeholder = json_text(trust).replace(EXTERNAL_ID, "EXTERNAL_ID");
        for drop in [Drop::SourceIdentity, Drop::Trust] {
            let server = start(scenario_from(&p, drop)).await;
            let r = doctor(&server, &p).await;
            assert_eq!(r.failed(), vec!["assume_role"], "{drop:?}: {}", r.render());
            let fix = compact(r.check("assume_role").unwrap().fix.as_deref().unwrap());
            assert!(fix.contains(&trust_placeholder), "{drop:?}: {fix}");
            assert!(
                fix.contains(&json_text(&p["source_identity_policy"]["Statement"][0])),
                "{drop:?}: {fix}"
            );
        }

        let server = start(scenario_from(&p, Drop::RolePermission)).await;
        let r = doctor(&server, &p).await;
        assert_eq!(r.failed(), vec!["invoke_permission"], "{}", r.render());
        let c = r.check("invoke_permission").unwrap();
        assert_eq!(c.class, Some(Class::AccessDeniedIdentity));
        assert!(
            compact(c.fix.as_deref().unwrap()).contains(&json_text(&p["role_permission_policy"])),
            "{}",
            r.render()
        );
        assert!(c.fix.as_deref().unwrap().contains(INVOKE_ROLE));
    }
}

#[tokio::test]
async fn role_mode_trust_without_the_external_id_is_named_by_doctor() {
    let p = printed(&request("role", builtin::TARGET_ALIAS_ARN));
    let mut loose = p.clone();
    loose["trust_policy"]["Statement"][0]
        .as_object_mut()
        .unwrap()
        .remove("Condition");
    let server = start(scenario_from(&loose, Drop::Nothing)).await;
    let r = doctor(&server, &p).await;
    assert_eq!(r.failed(), vec!["trust_external_id"], "{}", r.render());
}

#[test]
fn documents_name_exact_arns_and_never_a_wildcard() {
    for mode in ["resource", "role"] {
        for target in TARGETS {
            let set = policy::build(&request(mode, target)).unwrap();
            let json = serde_json::to_string(&set).unwrap();
            assert!(!json.contains('*'), "{json}");
            assert!(!set.render().contains('*'), "{}", set.render());
            let p = serde_json::to_value(&set).unwrap();
            let resource = if mode == "resource" {
                &p["source_identity_policy"]["Statement"][0]["Resource"]
            } else {
                &p["role_permission_policy"]["Statement"][0]["Resource"]
            };
            assert_eq!(resource, target);
        }
    }
    let role = serde_json::to_value(policy::build(&request("role", builtin::TARGET_ALIAS_ARN)).unwrap()).unwrap();
    assert_eq!(role["source_identity_policy"]["Statement"][0]["Resource"], INVOKE_ROLE);
    assert_eq!(
        role["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        EXTERNAL_ID
    );
    assert_eq!(
        role["trust_policy"]["Statement"][0]["Principal"]["AWS"],
        builtin::SOURCE_ROLE_ARN
    );
}

#[test]
fn role_name_and_role_arn_choose_the_invoke_role() {
    let mut req = request("role", builtin::TARGET_ALIAS_ARN);
    req.role_name = Some("other-invoke".into());
    let set = policy::build(&req).unwrap();
    assert_eq!(
        set.invoke_role.as_deref(),
        Some("arn:aws:iam::222222222222:role/other-invoke")
    );
    req.role_name = None;
    req.role_arn = Some("arn:aws:iam::222222222222:role/team/x".into());
    assert_eq!(
        policy::build(&req).unwrap().invoke_role.as_deref(),
        Some("arn:aws:iam::222222222222:role/team/x")
    );
    req.role_arn = Some("arn:aws:iam::333333333333:role/x".into());
    assert!(matches!(policy::build(&req), Err(PolicyError::RoleAccount { .. })));
}

#[test]
fn bad_requests_say_which_flag_to_fix() {
    let mut req = request("role", builtin::TARGET_ALIAS_ARN);
    req.external_id = None;
    let e = policy::build(&req).unwrap_err();
    assert_eq!(e, PolicyError::ExternalIdMissing);
    assert!(e.to_string().contains("--external-id is required with --mode role"));
    req.external_id = Some("x".into());
    assert_eq!(policy::build(&req).unwrap_err(), PolicyError::ExternalIdInvalid);

    let mut req = request("resource", builtin::TARGET_ALIAS_ARN);
    req.external_id = Some("abc".into());
    assert_eq!(policy::build(&req).unwrap_err(), PolicyError::RoleOptionsInResourceMode);

    let e = policy::build(&request("both", builtin::TARGET_ALIAS_ARN)).unwrap_err();
    assert!(e.to_string().starts_with("--mode \"both\""), "{e}");
    let e = policy::build(&request(
        "resource",
        "arn:aws:lambda:us-east-1:222222222222:function:t:$LATEST",
    ))
    .unwrap_err();
    assert!(e.to_string().starts_with("--target: "), "{e}");
    let mut req = request("resource", builtin::TARGET_ALIAS_ARN);
    req.source_roles = vec!["arn:aws:sts::111111111111:assumed-role/r/s".into()];
    assert!(policy::build(&req)
        .unwrap_err()
        .to_string()
        .starts_with("--source-role: "));
}

#[test]
fn text_output_has_a_section_per_account_and_document() {
    let text = policy::build(&request("resource", builtin::TARGET_ALIAS_ARN))
        .unwrap()
        .render();
    assert!(
        text.contains("## Account 111111111111: identity policy of the source role"),
        "{text}"
    );
    assert!(
        text.contains("## Account 222222222222: resource-policy statement of"),
        "{text}"
    );
    assert!(text.contains("aws lambda add-permission --function-name arn:aws:lambda:us-east-1:222222222222:function:target:live --statement-id xinvoke-xinvoke-source-live --action lambda:InvokeFunction --principal arn:aws:iam::111111111111:role/xinvoke-source"), "{text}");
    let text = policy::build(&request("role", builtin::TARGET_ALIAS_ARN))
        .unwrap()
        .render();
    assert!(
        text.contains("## Account 222222222222: trust policy of the invoke role"),
        "{text}"
    );
    assert!(
        text.contains("## Account 222222222222: permission policy of the invoke role"),
        "{text}"
    );
    assert!(
        text.contains("aws iam create-role --role-name xinvoke-invoke"),
        "{text}"
    );
}
