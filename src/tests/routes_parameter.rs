//! Routes without the 4 KB wall: the invoker reads its HTTP routes from an SSM parameter
//! (`XINVOKE_GATEWAY_CONFIG_SSM`) at cold start, through Systems Manager's GetParameter on the
//! local endpoint (which checks `ssm:GetParameter` as IAM does). A route table larger than all of
//! a function's variables may hold answers requests; a missing parameter or permission fails
//! the cold start with an error naming the parameter and the permission.

use crate::tests::common::*;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use std::collections::HashMap;
use xinvoke::adapters::config::{GatewaySource, Settings};
use xinvoke::domain::record::CLASS_HEADER;
use xinvoke::lambdas::{http, invoker};
use xinvoke::local::iam::{OneOrMany, Statement};
use xinvoke::local::scenario::accounts::Parameter;
use xinvoke::local::scenario::{ParameterType, Secret};
use xinvoke::local::Scenario;

const NAME: &str = "/xinvoke/routes";
const PARAMETER_ARN: &str = "arn:aws:ssm:us-east-1:111111111111:parameter/xinvoke/routes";

/// The example routes, padded past Lambda's 4 KB of variables with YAML comments.
fn big_routes() -> String {
    let mut text = include_str!("../../examples/gateway.yaml").to_string();
    while text.len() <= 5000 {
        text.push_str("# a route table grows with every upstream; comments stand in for them here\n");
    }
    text
}

/// The built-in scenario with the routes in account 1's parameter, readable by
/// `xinvoke-source` when `grant` (as is any name it starts: IAM decides before existence shows).
fn scenario(grant: bool) -> Scenario {
    let mut s = Scenario::builtin();
    let a1 = &mut s.accounts[0];
    a1.parameters.push(Parameter {
        name: NAME.into(),
        value: Secret(big_routes()),
        kind: ParameterType::SecureString,
    });
    if grant {
        let role = a1.roles.iter_mut().find(|r| r.name == "xinvoke-source").unwrap();
        let policy = role.policy.as_mut().unwrap();
        let statement: Statement = serde_json::from_value(
            json!({"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": format!("{PARAMETER_ARN}*")}),
        )
        .unwrap();
        let mut all = match policy.statement.clone() {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        all.push(statement);
        policy.statement = OneOrMany::Many(all);
    }
    s
}

async fn load(
    server: &xinvoke::local::LocalServer,
    name: &str,
) -> Result<Option<xinvoke::gateway::Gateway>, http::RoutesError> {
    let retry = fast_retry(2);
    let env = move |k: &str| (k == "XINVOKE_RETRY").then(|| retry.clone());
    let base = base(server, source_credentials(), Default::default()).await;
    http::load_routes(Some(&GatewaySource::Ssm(name.into())), &env, Some(&base)).await
}

#[tokio::test]
async fn routes_from_a_parameter_past_4_kb_answer_http_requests() {
    assert!(
        big_routes().len() > 4096,
        "more than all of a function's variables may hold"
    );
    let server = start_with(scenario(true)).await;
    let gateway = load(&server, NAME).await.expect("the routes load").expect("routes");
    let svc = resource_service(&server, &[]).await;
    let event = LambdaEvent {
        payload: serde_json::from_str::<Value>(include_str!("../../events/apigw-http-api.json")).unwrap(),
        context: Context::default(),
    };
    let a = invoker::handle_with_routes(&svc, Some(&gateway), event).await.unwrap();
    assert_eq!(a["statusCode"], 200, "{a}");
    assert_eq!(a["headers"][CLASS_HEADER], "ok", "{a}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_parameter_the_role_may_not_read_or_that_does_not_exist_is_named_with_the_fix() {
    let server = start_with(scenario(false)).await;
    let e = load(&server, NAME).await.err().expect("refused").to_string();
    assert!(
        e.starts_with("XINVOKE_GATEWAY_CONFIG_SSM (/xinvoke/routes): the invoker's role may not read it (AccessDeniedException): allow ssm:GetParameter on arn:aws:ssm:us-east-1:111111111111:parameter/xinvoke/routes"),
        "{e}"
    );
    assert!(!e.contains("upstream"), "the value never shows: {e}");
    server.shutdown().await;

    let server = start_with(scenario(true)).await;
    let e = load(&server, "/xinvoke/routes-old")
        .await
        .err()
        .expect("not found")
        .to_string();
    assert!(
        e.starts_with("XINVOKE_GATEWAY_CONFIG_SSM (/xinvoke/routes-old): no such parameter in us-east-1"),
        "{e}"
    );
    server.shutdown().await;
}

#[test]
fn one_source_of_routes_at_most_and_empty_ones_are_unset() {
    let settings = |vars: &[(&str, &str)]| {
        let mut map: HashMap<String, String> = HashMap::from([(
            "XINVOKE_TARGET_ARN".to_string(),
            xinvoke::local::builtin::TARGET_ALIAS_ARN.to_string(),
        )]);
        map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Settings::from_lookup(|k| map.get(k).cloned())
    };
    let s = settings(&[
        ("XINVOKE_GATEWAY_CONFIG_SSM", NAME),
        ("XINVOKE_GATEWAY_CONFIG_TEXT", ""),
    ])
    .unwrap();
    assert_eq!(s.gateway.as_deref(), Some(&GatewaySource::Ssm(NAME.into())));
    // What the template passes when no routes are configured: every variable empty.
    let s = settings(&[
        ("XINVOKE_GATEWAY_CONFIG", ""),
        ("XINVOKE_GATEWAY_CONFIG_SSM", ""),
        ("XINVOKE_GATEWAY_CONFIG_TEXT", ""),
    ])
    .unwrap();
    assert_eq!(s.gateway, None);
    let e = settings(&[
        ("XINVOKE_GATEWAY_CONFIG_SSM", NAME),
        ("XINVOKE_GATEWAY_CONFIG_TEXT", "routes: []"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("XINVOKE_GATEWAY_CONFIG_TEXT") && e.contains("XINVOKE_GATEWAY_CONFIG_SSM") && e.contains("keep one"),
        "{e}"
    );
}
