//! Systems Manager's `GetParameter` (`X-Amz-Target: AmazonSSM.GetParameter`, signing name
//! `ssm`), for the invoker's routes kept in a parameter (`XINVOKE_GATEWAY_CONFIG_SSM`). The
//! scenario's accounts hold the parameters; a caller reads its own account's, by name or ARN, when
//! its identity policy allows `ssm:GetParameter` on the parameter's ARN
//! (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`). Answers as the service model writes them:
//! `ParameterNotFound`, and `AccessDeniedException` with IAM's wording.

use crate::local::iam::{self, Caller, Query, Requester, Verdict};
use crate::local::json_answer::{answer, error};
use crate::local::scenario::ParameterType;
use crate::local::world::World;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// The `X-Amz-Target` prefix of the service's operations.
pub const TARGET_PREFIX: &str = "AmazonSSM.";

/// Answer `operation` for `caller`.
pub(crate) fn handle(world: &World, caller: &Caller, operation: &str, body: &Value, rid: &str) -> Response {
    if operation != "GetParameter" {
        return error(
            "UnknownOperationException",
            &format!("The local endpoint answers GetParameter only, not {operation}"),
            rid,
        );
    }
    let Some(requested) = body["Name"].as_str().filter(|n| !n.is_empty()) else {
        return error(
            "ValidationException",
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null",
            rid,
        );
    };
    // A name or this account's ARN of it.
    let prefix = format!("arn:aws:ssm:{}:{}:parameter", world.region, caller.account);
    let name = match requested.strip_prefix(&prefix) {
        Some(rest) if rest.starts_with('/') => {
            let leaf = &rest[1..];
            if leaf.contains('/') {
                rest.to_string()
            } else {
                leaf.to_string()
            }
        }
        _ => requested.to_string(),
    };
    let arn = format!("{prefix}/{}", name.trim_start_matches('/'));
    let q = Query {
        requester: Requester::Role(caller),
        action: "ssm:GetParameter",
        resource: &arn,
        external_id: None,
    };
    if iam::evaluate(world.identity_policy(caller), &q, false) != Verdict::Allow {
        return error(
            "AccessDeniedException",
            &format!(
                "User: {} is not authorized to perform: ssm:GetParameter on resource: {arn} because no identity-based policy allows the ssm:GetParameter action",
                caller.session_arn
            ),
            rid,
        );
    }
    let parameter = world
        .scenario
        .accounts
        .iter()
        .find(|a| a.id == caller.account)
        .and_then(|a| a.parameters.iter().find(|p| p.name == name));
    let Some(p) = parameter else {
        return error("ParameterNotFound", "", rid);
    };
    let decrypt = body["WithDecryption"].as_bool().unwrap_or(false);
    let value = match p.kind {
        ParameterType::SecureString if !decrypt => "<ciphertext: ask WithDecryption>".to_string(),
        _ => p.value.0.clone(),
    };
    let kind = match p.kind {
        ParameterType::String => "String",
        ParameterType::SecureString => "SecureString",
    };
    answer(
        StatusCode::OK,
        json!({ "Parameter": {
            "Name": p.name,
            "Type": kind,
            "Value": value,
            "Version": 1,
            "ARN": arn,
            "DataType": "text",
        }}),
        rid,
    )
}
