//! The Lambda REST API as the SDKs see it: `Invoke` (sync, Event, DryRun) with its limits,
//! authorization, lifecycle states, throttles and VPC failures, and the read calls
//! `GetFunctionConfiguration`, `GetPolicy`, `GetAlias`, `ListFunctions` and `ListAliases`.

use crate::local::errors::{headers, lambda_error_index, ApiError};
use crate::local::function::{FunctionRuntime, NetConfig, Resolved, RevisionOf, Settings, UpdateStatus};
use crate::local::iam::{self, Caller, Query, Requester};
use crate::local::ids::request_id;
use crate::local::scenario::FunctionStateName;
use crate::local::sigv4::{AuthFailure, ReceivedRequest};
use crate::local::world::World;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use std::collections::HashMap;
use std::sync::Arc;

mod invoke;
mod list;
mod permissions;
mod validate;

use invoke::invoke;
pub use invoke::run_event;
pub(crate) use invoke::sync_too_large;
use permissions::{add_permission, remove_permission};
use validate::Violations;

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

/// Parse `FunctionName` (name, partial ARN or full ARN, with an optional `:qualifier`) and
/// the `Qualifier` query parameter, after the model's checks of both and of whatever else
/// the operation found wrong (`violations`): one ValidationException for them all, before
/// anything is looked up. A name without an account lives in the caller's; a name of another
/// region is not reachable from this one.
fn parse_function_ref(
    raw: &str,
    query_qualifier: Option<&str>,
    caller_account: &str,
    region: &str,
    mut violations: Violations,
) -> Result<FunctionRef, ApiError> {
    if let Some(q) = query_qualifier {
        violations.qualifier(q);
    }
    violations.pattern("functionName", raw, &validate::FUNCTION_NAME);
    violations.check()?;
    let Some(parts) = validate::name_parts(raw) else {
        // The pattern passed, so the name splits: this is a bug of `validate`, not of the caller.
        return Err(ApiError::named("ServiceException"));
    };
    if let Some(other) = parts.region.filter(|r| *r != region) {
        return Err(ApiError::new(
            "ResourceNotFoundException",
            format!("Functions from '{other}' are not reachable in this region ('{region}')"),
        ));
    }
    let qualifier = match (parts.qualifier, query_qualifier) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::new(
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.",
            ))
        }
        (a, b) => a.or(b).map(str::to_string),
    };
    Ok(FunctionRef {
        account: parts.account.unwrap_or(caller_account).to_string(),
        name: parts.name.to_string(),
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
    let checked_name_of = |seg: &str, violations: Violations| {
        parse_function_ref(
            &decode(seg),
            query_qualifier.as_deref(),
            &caller.account,
            &world.region,
            violations,
        )
    };
    let name_of = |seg: &str| checked_name_of(seg, Violations::default());
    match (req.method, segments) {
        ("GET", [""]) => list::list_functions(world, &caller, &query, rid),
        ("GET", [name, "aliases"]) => {
            let mut v = Violations::default();
            let version = list::alias_version_filter(&query, &mut v);
            list::list_aliases(world, &caller, checked_name_of(name, v)?, version, &query, rid)
        }
        ("POST", [name, "invocations"]) => {
            let mut v = Violations::default();
            let headers = invoke::InvokeHeaders::checked(req, &mut v);
            invoke(world, &caller, checked_name_of(name, v)?, headers, req, rid).await
        }
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
                return Err(no_such_resource());
            };
            let body = serde_json::json!({
                "Policy": permissions::policy_text(policy),
                "RevisionId": f.revisions.of(resolved),
            });
            Ok(json_response(&body, rid))
        }
        ("POST", [name, "policy"]) => {
            let mut v = Violations::default();
            let request = permissions::AddPermissionRequest::checked(&req.body, &mut v)?;
            let fref = checked_name_of(name, v)?;
            let (f, resolved) = authorize(world, &caller, &fref, "lambda:AddPermission")?;
            let statement = add_permission(f, resolved, &fref.arn(&world.region), request)?;
            let body = serde_json::json!({ "Statement": statement });
            let mut resp = json_response(&body, rid);
            *resp.status_mut() = StatusCode::CREATED;
            Ok(resp)
        }
        ("DELETE", [name, "policy", sid]) => {
            let sid = decode(sid);
            let mut v = Violations::default();
            v.pattern("statementId", &sid, &validate::NAMESPACED_STATEMENT_ID);
            let fref = checked_name_of(name, v)?;
            let (f, resolved) = authorize(world, &caller, &fref, "lambda:RemovePermission")?;
            remove_permission(f, resolved, &sid, query.get("RevisionId").map(String::as_str))?;
            Ok(with_request_id(StatusCode::NO_CONTENT.into_response(), rid))
        }
        ("PUT", [name, "configuration"]) => {
            let mut v = Violations::default();
            let update = UpdateConfiguration::checked(&req.body, &mut v)?;
            let fref = checked_name_of(name, v)?;
            if fref.qualifier.is_some() {
                return Err(ApiError::new(
                    "InvalidParameterValueException",
                    "Cannot update the configuration of a qualified function: name the function without a qualifier.",
                ));
            }
            let (f, resolved) = authorize(world, &caller, &fref, "lambda:UpdateFunctionConfiguration")?;
            update.check_runtime()?;
            f.revisions
                .check(resolved, update.revision_id.as_deref(), RevisionOf::Configuration)?;
            f.begin_update(|current| update.apply(current), world.clock.now_ms())?;
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
            let Some(a) = f.live_aliases().find(|a| Some(&a.name) == fref.qualifier.as_ref()) else {
                return Err(ApiError::new(
                    "ResourceNotFoundException",
                    format!("Alias not found: {arn}"),
                ));
            };
            Ok(json_response(&list::alias_json(f, a), rid))
        }
        _ => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation {} {}", req.method, req.raw_path),
        )),
    }
}

/// The body of UpdateFunctionConfiguration: the members the endpoint models (the others are
/// accepted and not modelled, as docs/local.md says).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateConfiguration {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    timeout: Option<i64>,
    #[serde(default)]
    memory_size: Option<i64>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    runtime: Option<String>,
    #[serde(default)]
    handler: Option<String>,
    #[serde(default)]
    vpc_config: Option<VpcConfigUpdate>,
    #[serde(default)]
    revision_id: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VpcConfigUpdate {
    #[serde(default)]
    subnet_ids: Option<Vec<String>>,
    #[serde(default)]
    security_group_ids: Option<Vec<String>>,
}

/// The runtimes UpdateFunctionConfiguration accepts, in the order AWS lists them when it
/// refuses another (LocalStack's recorded test_update_lambda_exceptions, January 2026): the
/// supported ones, fewer than the model's enum, which keeps deprecated names.
const RUNTIMES: [&str; 25] = [
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
];

impl UpdateConfiguration {
    /// The body, its model constraints checked into `v` (Role's pattern, Timeout's and
    /// MemorySize's ranges, Description's length).
    fn checked(body: &[u8], v: &mut Violations) -> Result<UpdateConfiguration, ApiError> {
        let update: UpdateConfiguration = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                "InvalidRequestContentException",
                format!("Could not parse request body into json: {e}"),
            )
        })?;
        if let Some(role) = &update.role {
            v.pattern("role", role, &validate::ROLE_ARN);
        }
        v.range("timeout", update.timeout, 1, 900);
        v.range("memorySize", update.memory_size, 128, 10_240);
        if let Some(d) = update.description.as_deref().filter(|d| d.chars().count() > 256) {
            v.too_long("description", d, 256);
        }
        Ok(update)
    }

    /// A runtime Lambda does not support answers InvalidParameterValueException with AWS's
    /// list (not the model's ValidationException).
    fn check_runtime(&self) -> Result<(), ApiError> {
        match self.runtime.as_deref() {
            Some(r) if !RUNTIMES.contains(&r) => Err(ApiError::new(
                "InvalidParameterValueException",
                format!(
                    "Value {r} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}] or be a valid ARN",
                    RUNTIMES.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The configuration `current` becomes.
    fn apply(&self, current: &Settings) -> Settings {
        let vpc = match &self.vpc_config {
            None => current.vpc.clone(),
            Some(v) => Some(NetConfig {
                subnet_ids: v
                    .subnet_ids
                    .clone()
                    .unwrap_or_else(|| current.vpc.as_ref().map(|c| c.subnet_ids.clone()).unwrap_or_default()),
                security_group_ids: v.security_group_ids.clone().unwrap_or_else(|| {
                    current
                        .vpc
                        .as_ref()
                        .map(|c| c.security_group_ids.clone())
                        .unwrap_or_default()
                }),
            }),
        };
        let pick = |new: &Option<String>, old: &String| new.clone().unwrap_or_else(|| old.clone());
        Settings {
            description: pick(&self.description, &current.description),
            timeout_s: self.timeout.map_or(current.timeout_s, |t| t as u32),
            memory_mb: self.memory_size.map_or(current.memory_mb, |m| m as u32),
            runtime: pick(&self.runtime, &current.runtime),
            role: pick(&self.role, &current.role),
            handler: pick(&self.handler, &current.handler),
            vpc,
        }
    }
}

/// GetPolicy's answer for a function, version or policy that does not exist.
fn no_such_resource() -> ApiError {
    ApiError::new(
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    )
}

/// The 404 of a lookup that found nothing, worded as Lambda words it per operation
/// (LocalStack's recorded answers): Invoke names an unqualified function `ARN:$LATEST`;
/// GetPolicy never says what is missing; AddPermission / RemovePermission name a missing
/// alias ("Cannot find alias arn: ..."), and RemovePermission a missing function by its
/// policy; the others name the ARN as given.
fn not_found(action: &str, fref: &FunctionRef, region: &str, function_exists: bool) -> ApiError {
    let arn = fref.arn(region);
    let alias_like = fref
        .qualifier
        .as_deref()
        .is_some_and(|q| !q.bytes().all(|b| b.is_ascii_digit()) && validate::ALIAS.matches(q));
    let message = match action {
        "lambda:GetPolicy" => return no_such_resource(),
        "lambda:RemovePermission" if !function_exists => {
            let unqualified = FunctionRef {
                qualifier: None,
                ..fref.clone()
            };
            format!("No policy found for: {}", unqualified.arn(region))
        }
        "lambda:AddPermission" | "lambda:RemovePermission" if function_exists && alias_like => {
            format!("Cannot find alias arn: {arn}")
        }
        "lambda:InvokeFunction" if fref.qualifier.is_none() => format!("Function not found: {arn}:$LATEST"),
        _ => format!("Function not found: {arn}"),
    };
    ApiError::new("ResourceNotFoundException", message)
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
    let f = world
        .function(&fref.account, &fref.name)
        .ok_or_else(|| not_found(action, fref, &world.region, false))?;
    let resolved = f
        .resolve(fref.qualifier.as_deref())
        .ok_or_else(|| not_found(action, fref, &world.region, true))?;
    let resource = {
        let policies = f.policies.read().unwrap_or_else(|p| p.into_inner());
        iam::evaluate(policies.of(resolved), &q, true)
    };
    iam::authorize(identity, resource, same_account).map_err(denied)?;
    Ok((f, resolved))
}

fn configuration(world: &World, f: &FunctionRuntime, fref: &FunctionRef, resolved: Resolved<'_>) -> serde_json::Value {
    let life = f.lifecycle(world.clock.now_ms());
    let shown = life.shown();
    let version = resolved.executed_version();
    // A create is the first update: InProgress while the function is Pending (Creating), and
    // Failed with the state's reason when the function Failed. AWS reports an update in
    // progress with the reason code `Creating` too, a value the model's
    // LastUpdateStatusReasonCode does not list (LocalStack's recorded test_function_lifecycle:
    // UpdateFunctionConfiguration answers "InProgress", "The function is being created.",
    // "Creating").
    let (update_status, update_code, update_reason) =
        match (life.state, life.reason_code.as_deref(), life.update.status) {
            (FunctionStateName::Pending, Some("Creating"), _) => (
                UpdateStatus::InProgress,
                None,
                Some("The function is being created.".to_string()),
            ),
            (_, _, UpdateStatus::InProgress) => (
                UpdateStatus::InProgress,
                Some("Creating".to_string()),
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
        "Runtime": shown.runtime,
        "Role": shown.role,
        "Handler": shown.handler,
        "CodeSize": 1_048_576,
        "Description": shown.description,
        "Timeout": shown.timeout_s,
        "MemorySize": shown.memory_mb,
        "LastModified": "2026-01-01T00:00:00.000+0000",
        "CodeSha256": "eHhpbnZva2UtbG9jYWwtY29kZS1zaGEyNTYtMDAwMDA=",
        "Version": version,
        "TracingConfig": { "Mode": "PassThrough" },
        "RevisionId": f.revisions.of(resolved),
        "State": state_name(life.state),
        "LastUpdateStatus": update_status.name(),
        "PackageType": "Zip",
        "Architectures": ["arm64"],
        "EphemeralStorage": { "Size": 512 },
        // What AWS returns for a function that set none of them (LocalStack's recorded
        // test_function_lifecycle and test_list_functions).
        "LoggingConfig": { "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", f.def.name) },
        "SnapStart": { "ApplyOn": "None", "OptimizationStatus": "Off" },
        "RuntimeVersionConfig": { "RuntimeVersionArn": runtime_version_arn(&world.region, &shown.runtime) },
    });
    if let (Some(def), Some(net)) = (&f.def.vpc, &shown.vpc) {
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

/// The ARN of the runtime version a function runs (`arn:aws:lambda:REGION::runtime:HASH`, as
/// AWS writes it: no account), one per runtime.
fn runtime_version_arn(region: &str, runtime: &str) -> String {
    let hash = crate::local::sigv4::sha256_hex(runtime.as_bytes());
    format!("arn:aws:lambda:{region}::runtime:{}", &hash[..64])
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
            let f = parse_function_ref(raw, q, me, r, Violations::default()).unwrap();
            assert_eq!(
                (f.account.as_str(), f.name.as_str(), f.qualifier.as_deref()),
                (acct, name, qual),
                "{raw}"
            );
        }
    }

    #[test]
    fn bad_function_names_are_refused_before_any_lookup() {
        let cases = [
            ("", None, "ValidationException"),
            ("a:b:c", None, "ValidationException"),
            ("12:function:target", None, "ValidationException"),
            ("target", Some("a-b?"), "ValidationException"),
            (
                "arn:aws:lambda:eu-west-1:222222222222:function:target",
                None,
                "ResourceNotFoundException",
            ),
            ("target:live", Some("1"), "InvalidParameterValueException"),
        ];
        for (raw, q, name) in cases {
            let e = parse_function_ref(raw, q, "111111111111", "us-east-1", Violations::default()).unwrap_err();
            assert_eq!(e.name(), name, "{raw}");
        }
        let e = parse_function_ref(
            "arn:aws:lambda:eu-central-1:222222222222:function:target",
            None,
            "111111111111",
            "us-east-1",
            Violations::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')"
        );
    }

    #[test]
    fn arn_includes_the_qualifier() {
        let f = parse_function_ref("target:live", None, "222222222222", "us-east-1", Violations::default()).unwrap();
        assert_eq!(
            f.arn("us-east-1"),
            "arn:aws:lambda:us-east-1:222222222222:function:target:live"
        );
    }
}
