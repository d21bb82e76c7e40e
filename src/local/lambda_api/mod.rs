//! The Lambda REST API as the SDKs see it: `Invoke` (sync, Event, DryRun) with its limits,
//! authorization, lifecycle states, throttles and VPC failures, and the read calls
//! `GetFunctionConfiguration`, `GetPolicy`, `GetAlias`, `ListFunctions` and `ListAliases`.

use crate::local::errors::{headers, lambda_error_index, ApiError};
use crate::local::function::{FunctionRuntime, Resolved, UpdateStatus};
use crate::local::iam::{self, Caller, Query, Requester};
use crate::local::scenario::FunctionStateName;
use crate::local::sigv4::{AuthFailure, ReceivedRequest};
use crate::local::world::{request_id, World};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use std::collections::HashMap;
use std::sync::Arc;

mod invoke;
mod list;
mod permissions;

use invoke::invoke;
pub use invoke::run_event;
use permissions::{add_permission, remove_permission};

/// Largest synchronous request payload.
pub(crate) const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// Largest asynchronous (`Event`) request payload.
pub(crate) const MAX_EVENT_PAYLOAD: usize = 1024 * 1024;
/// Largest `X-Amz-Client-Context` (base64).
pub(crate) const MAX_CLIENT_CONTEXT: usize = 3583;

/// The Lambda error for an authentication failure.
pub(crate) fn auth_error(f: &AuthFailure) -> ApiError {
    let name = match f {
        AuthFailure::Missing => "MissingAuthenticationTokenException",
        AuthFailure::UnknownKey => "UnrecognizedClientException",
        AuthFailure::Malformed(_) | AuthFailure::BadSignature | AuthFailure::SignatureExpired(_) => {
            "InvalidSignatureException"
        }
        AuthFailure::ExpiredToken => "ExpiredTokenException",
    };
    ApiError::new(name, f.to_string())
}

/// A function reference parsed from the path: account, name, qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionRef {
    pub account: String,
    pub name: String,
    /// Qualifier (from the name's suffix or `?Qualifier=`).
    pub qualifier: Option<String>,
}

fn invalid_name(name: &str) -> ApiError {
    ApiError::new(
        "InvalidParameterValueException",
        format!("1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"),
    )
}

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Parse `FunctionName` (name, partial ARN or full ARN, with an optional `:qualifier`) and
/// the `Qualifier` query parameter. A bare name lives in the caller's account.
fn parse_function_ref(
    raw: &str,
    query_qualifier: Option<&str>,
    caller_account: &str,
    region: &str,
) -> Result<FunctionRef, ApiError> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (account, name, suffix) = match parts.as_slice() {
        [name] => (caller_account, *name, None),
        [name, q] => (caller_account, *name, Some(*q)),
        [acct, "function", name] => (*acct, *name, None),
        [acct, "function", name, q] => (*acct, *name, Some(*q)),
        ["arn", partition, "lambda", r, acct, "function", name, rest @ ..]
            if partition.starts_with("aws") && rest.len() <= 1 =>
        {
            if *r != region {
                return Err(ApiError::new(
                    "ResourceNotFoundException",
                    format!("Function not found: {raw}"),
                ));
            }
            (*acct, *name, rest.first().copied())
        }
        _ => return Err(invalid_name(raw)),
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) || !valid_part(name) {
        return Err(invalid_name(raw));
    }
    if let Some(q) = suffix {
        if q != "$LATEST" && !valid_part(q) {
            return Err(invalid_name(raw));
        }
    }
    let qualifier = match (suffix, query_qualifier) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::new(
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.",
            ))
        }
        (a, b) => a.or(b).map(str::to_string),
    };
    Ok(FunctionRef {
        account: account.to_string(),
        name: name.to_string(),
        qualifier,
    })
}

impl FunctionRef {
    /// The ARN, qualified when a qualifier was given.
    pub fn arn(&self, region: &str) -> String {
        match &self.qualifier {
            Some(q) => format!("arn:aws:lambda:{region}:{}:function:{}:{q}", self.account, self.name),
            None => format!("arn:aws:lambda:{region}:{}:function:{}", self.account, self.name),
        }
    }
}

fn with_request_id(mut resp: Response, rid: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(rid) {
        resp.headers_mut().insert(headers::REQUEST_ID, v);
    }
    resp
}

fn json_response(value: &serde_json::Value, rid: &str) -> Response {
    let mut resp = (StatusCode::OK, serde_json::to_vec(value).unwrap_or_default()).into_response();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    with_request_id(resp, rid)
}

/// Answer one request under `/2015-03-31/functions/`.
pub async fn handle(world: Arc<World>, req: ReceivedRequest<'_>) -> Response {
    let rid = request_id();
    let rest = req.raw_path.strip_prefix("/2015-03-31/functions/").unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    let is_invoke = req.method == "POST" && matches!(segments.as_slice(), [_, "invocations"]);
    let result = answer(&world, &req, &segments, &rid).await;
    let resp = match result {
        Ok(resp) => resp,
        Err(e) => e.into_response_with(&rid),
    };
    if is_invoke {
        let error = resp
            .headers()
            .get(headers::ERROR_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(lambda_error_index);
        let function_error = resp.headers().contains_key(headers::FUNCTION_ERROR);
        world
            .counters
            .invoke_answered(resp.status().as_u16(), error, function_error);
    }
    resp
}

async fn answer(
    world: &Arc<World>,
    req: &ReceivedRequest<'_>,
    segments: &[&str],
    rid: &str,
) -> Result<Response, ApiError> {
    let caller = world.authenticate(req, "lambda").map_err(|f| auth_error(&f))?;
    let query: HashMap<String, String> = if req.raw_query.is_empty() {
        HashMap::new()
    } else {
        form_urlencoded::parse(req.raw_query.as_bytes()).into_owned().collect()
    };
    let query_qualifier = query.get("Qualifier").cloned();
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let name_of =
        |seg: &str| parse_function_ref(&decode(seg), query_qualifier.as_deref(), &caller.account, &world.region);
    match (req.method, segments) {
        ("GET", [""]) => list::list_functions(world, &caller, &query, rid),
        ("GET", [name, "aliases"]) => list::list_aliases(world, &caller, name_of(name)?, &query, rid),
        ("POST", [name, "invocations"]) => invoke(world, &caller, name_of(name)?, req, rid).await,
        ("GET", [name, "configuration"]) => {
            let fref = name_of(name)?;
            let (f, resolved) = authorize(world, &caller, &fref, "lambda:GetFunctionConfiguration")?;
            Ok(json_response(&configuration(world, f, &fref, resolved), rid))
        }
        ("GET", [name, "policy"]) => {
            let fref = name_of(name)?;
            let (f, resolved) = authorize(world, &caller, &fref, "lambda:GetPolicy")?;
            let policies = f.policies.read().unwrap_or_else(|p| p.into_inner());
            let Some(policy) = policies.of(resolved) else {
                return Err(ApiError::new(
                    "ResourceNotFoundException",
                    "The resource you requested does not exist.",
                ));
            };
            let body = serde_json::json!({
                "Policy": serde_json::to_string(policy).unwrap_or_default(),
                "RevisionId": f.revision_id,
            });
            Ok(json_response(&body, rid))
        }
        ("POST", [name, "policy"]) => {
            let fref = name_of(name)?;
            let (f, resolved) = authorize(world, &caller, &fref, "lambda:AddPermission")?;
            let statement = add_permission(f, resolved, &fref.arn(&world.region), &req.body)?;
            let body = serde_json::json!({ "Statement": statement });
            let mut resp = json_response(&body, rid);
            *resp.status_mut() = StatusCode::CREATED;
            Ok(resp)
        }
        ("DELETE", [name, "policy", sid]) => {
            let fref = name_of(name)?;
            let (f, resolved) = authorize(world, &caller, &fref, "lambda:RemovePermission")?;
            remove_permission(f, resolved, &decode(sid))?;
            Ok(with_request_id(StatusCode::NO_CONTENT.into_response(), rid))
        }
        ("PUT", [name, "configuration"]) => {
            let fref = name_of(name)?;
            if fref.qualifier.is_some() {
                return Err(ApiError::new(
                    "InvalidParameterValueException",
                    "Cannot update the configuration of a qualified function: name the function without a qualifier.",
                ));
            }
            let (f, resolved) = authorize(world, &caller, &fref, "lambda:UpdateFunctionConfiguration")?;
            let update: UpdateConfiguration = serde_json::from_slice(&req.body).map_err(|e| {
                ApiError::new(
                    "InvalidRequestContentException",
                    format!("Could not parse request body into json: {e}"),
                )
            })?;
            let now = world.clock.now_ms();
            let current = f.lifecycle(now).vpc;
            let next = update.vpc_config.map(|v| crate::local::function::NetConfig {
                subnet_ids: v
                    .subnet_ids
                    .unwrap_or_else(|| current.as_ref().map(|c| c.subnet_ids.clone()).unwrap_or_default()),
                security_group_ids: v.security_group_ids.unwrap_or_else(|| {
                    current
                        .as_ref()
                        .map(|c| c.security_group_ids.clone())
                        .unwrap_or_default()
                }),
            });
            f.begin_update(next, now)?;
            Ok(json_response(&configuration(world, f, &fref, resolved), rid))
        }
        ("GET", [name, "aliases", alias]) => {
            let mut fref = name_of(name)?;
            fref.qualifier = Some(decode(alias));
            let arn = fref.arn(&world.region);
            let unqualified = FunctionRef {
                qualifier: None,
                ..fref.clone()
            };
            let (f, _) = authorize(world, &caller, &unqualified, "lambda:GetAlias")?;
            let Some(a) = f.aliases.iter().find(|a| Some(&a.name) == fref.qualifier.as_ref()) else {
                return Err(ApiError::new(
                    "ResourceNotFoundException",
                    format!("Alias not found: {arn}"),
                ));
            };
            Ok(json_response(&list::alias_json(&f.arn, a), rid))
        }
        _ => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation {} {}", req.method, req.raw_path),
        )),
    }
}

/// The body of UpdateFunctionConfiguration (the part the endpoint models).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateConfiguration {
    #[serde(default)]
    vpc_config: Option<VpcConfigUpdate>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VpcConfigUpdate {
    #[serde(default)]
    subnet_ids: Option<Vec<String>>,
    #[serde(default)]
    security_group_ids: Option<Vec<String>>,
}

/// Identity side, existence, then resource side, as Lambda answers them.
fn authorize<'w>(
    world: &'w World,
    caller: &Caller,
    fref: &FunctionRef,
    action: &str,
) -> Result<(&'w Arc<FunctionRuntime>, Resolved<'w>), ApiError> {
    let arn = fref.arn(&world.region);
    let q = Query {
        requester: Requester::Role(caller),
        action,
        resource: &arn,
        external_id: None,
    };
    let same_account = caller.account == fref.account;
    let identity = iam::evaluate(world.identity_policy(caller), &q, false);
    let denied = |d: iam::Denial| ApiError::new("AccessDeniedException", d.message(caller, action, &arn));
    if identity != iam::Verdict::Allow && !same_account {
        return Err(denied(iam::Denial::NoIdentityAllow));
    }
    if identity == iam::Verdict::ExplicitDeny {
        return Err(denied(iam::Denial::IdentityDeny));
    }
    let not_found = || ApiError::new("ResourceNotFoundException", format!("Function not found: {arn}"));
    let f = world.function(&fref.account, &fref.name).ok_or_else(not_found)?;
    let resolved = f.resolve(fref.qualifier.as_deref()).ok_or_else(not_found)?;
    let resource = {
        let policies = f.policies.read().unwrap_or_else(|p| p.into_inner());
        iam::evaluate(policies.of(resolved), &q, true)
    };
    iam::authorize(identity, resource, same_account).map_err(denied)?;
    Ok((f, resolved))
}

fn configuration(world: &World, f: &FunctionRuntime, fref: &FunctionRef, resolved: Resolved<'_>) -> serde_json::Value {
    let life = f.lifecycle(world.clock.now_ms());
    let version = match resolved {
        Resolved::Latest => "$LATEST",
        other => other.executed_version(),
    };
    // A create is the first update: InProgress while the function is Pending (Creating), and
    // Failed with the state's reason when the function Failed.
    let (update_status, update_code, update_reason) =
        match (life.state, life.reason_code.as_deref(), life.update.status) {
            (FunctionStateName::Pending, Some("Creating"), _) => (
                UpdateStatus::InProgress,
                None,
                Some("The function is being created.".to_string()),
            ),
            (FunctionStateName::Failed, code, UpdateStatus::Successful) => {
                (UpdateStatus::Failed, code.map(str::to_string), life.reason())
            }
            _ => (
                life.update.status,
                life.update.reason_code.clone(),
                life.update_reason(),
            ),
        };
    let mut v = serde_json::json!({
        "FunctionName": f.def.name,
        "FunctionArn": fref.arn(&world.region),
        "Runtime": "provided.al2023",
        "Role": format!("arn:aws:iam::{}:role/{}-execution", f.account, f.def.name),
        "Handler": "bootstrap",
        "CodeSize": 1_048_576,
        "Description": "",
        "Timeout": f.def.timeout_s,
        "MemorySize": f.def.memory_mb,
        "LastModified": "2026-01-01T00:00:00.000+0000",
        "CodeSha256": "eHhpbnZva2UtbG9jYWwtY29kZS1zaGEyNTYtMDAwMDA=",
        "Version": version,
        "TracingConfig": { "Mode": "PassThrough" },
        "RevisionId": f.revision_id,
        "State": state_name(life.state),
        "LastUpdateStatus": update_status.name(),
        "PackageType": "Zip",
        "Architectures": ["arm64"],
        "EphemeralStorage": { "Size": 512 },
    });
    if let (Some(def), Some(net)) = (&f.def.vpc, &life.vpc) {
        v["VpcConfig"] = serde_json::json!({
            "SubnetIds": net.subnet_ids,
            "SecurityGroupIds": net.security_group_ids,
            "VpcId": def.vpc_id,
            "Ipv6AllowedForDualStack": false,
        });
    }
    if f.def.tenant_isolation.is_some() {
        v["TenancyConfig"] = serde_json::json!({ "TenantIsolationMode": "PER_TENANT" });
    }
    if let Some(reason) = life.reason() {
        v["StateReason"] = reason.into();
    }
    if let Some(code) = &life.reason_code {
        v["StateReasonCode"] = code.clone().into();
    }
    if let Some(reason) = update_reason {
        v["LastUpdateStatusReason"] = reason.into();
    }
    if let Some(code) = update_code {
        v["LastUpdateStatusReasonCode"] = code.into();
    }
    v
}

/// The model's `State` name.
fn state_name(state: FunctionStateName) -> &'static str {
    match state {
        FunctionStateName::Active => "Active",
        FunctionStateName::Pending => "Pending",
        FunctionStateName::Inactive => "Inactive",
        FunctionStateName::Failed => "Failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_in_every_form() {
        let r = "us-east-1";
        let me = "111111111111";
        let cases = [
            ("target", None, ("111111111111", "target", None)),
            ("target:live", None, ("111111111111", "target", Some("live"))),
            ("target", Some("live"), ("111111111111", "target", Some("live"))),
            ("222222222222:function:target", None, ("222222222222", "target", None)),
            (
                "222222222222:function:target:1",
                None,
                ("222222222222", "target", Some("1")),
            ),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:target",
                None,
                ("222222222222", "target", None),
            ),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:target:live",
                Some("live"),
                ("222222222222", "target", Some("live")),
            ),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:target:$LATEST",
                None,
                ("222222222222", "target", Some("$LATEST")),
            ),
        ];
        for (raw, q, (acct, name, qual)) in cases {
            let f = parse_function_ref(raw, q, me, r).unwrap();
            assert_eq!(
                (f.account.as_str(), f.name.as_str(), f.qualifier.as_deref()),
                (acct, name, qual),
                "{raw}"
            );
        }
    }

    #[test]
    fn bad_function_names_are_refused() {
        let cases = [
            ("", "InvalidParameterValueException"),
            ("a:b:c", "InvalidParameterValueException"),
            (
                "arn:aws:lambda:eu-west-1:222222222222:function:target",
                "ResourceNotFoundException",
            ),
            ("12:function:target", "InvalidParameterValueException"),
            ("target:live", "InvalidParameterValueException"),
        ];
        for (raw, name) in cases {
            let q = if raw == "target:live" { Some("1") } else { None };
            let e = parse_function_ref(raw, q, "111111111111", "us-east-1").unwrap_err();
            assert_eq!(e.name(), name, "{raw}");
        }
    }

    #[test]
    fn arn_includes_the_qualifier() {
        let f = parse_function_ref("target:live", None, "222222222222", "us-east-1").unwrap();
        assert_eq!(
            f.arn("us-east-1"),
            "arn:aws:lambda:us-east-1:222222222222:function:target:live"
        );
    }
}
