//! The Lambda REST API as the SDKs see it: `Invoke` (sync, Event, DryRun) with its limits,
//! authorization, lifecycle states, throttles and VPC failures, and the read calls
//! `GetFunctionConfiguration`, `GetPolicy` and `GetAlias`.

use crate::core::behaviour;
use crate::local::async_invoke::{self, Next, Outcome, QueuedEvent};
use crate::local::errors::{headers, lambda_error_index, ApiError};
use crate::local::faults::Phase;
use crate::local::function::{FunctionRuntime, Resolved, UpdateStatus};
use crate::local::iam::{self, Caller, Query};
use crate::local::scenario::{Behaviour, FunctionStateName};
use crate::local::sigv4::{AuthFailure, ReceivedRequest};
use crate::local::vpc::Environment;
use crate::local::world::{request_id, World};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use percent_encoding::percent_decode_str;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Largest synchronous request payload.
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// Largest asynchronous (`Event`) request payload.
pub const MAX_EVENT_PAYLOAD: usize = 1024 * 1024;
/// Largest `X-Amz-Client-Context` (base64).
pub const MAX_CLIENT_CONTEXT: usize = 3583;

/// The Lambda error for an authentication failure.
pub fn auth_error(f: &AuthFailure) -> ApiError {
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
pub struct FunctionRef {
    /// Account id.
    pub account: String,
    /// Function name.
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
pub fn parse_function_ref(
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
    let query_qualifier = form_urlencoded::parse(req.raw_query.as_bytes())
        .find(|(k, _)| k == "Qualifier")
        .map(|(_, v)| v.into_owned());
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let name_of =
        |seg: &str| parse_function_ref(&decode(seg), query_qualifier.as_deref(), &caller.account, &world.region);
    match (req.method, segments) {
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
            let body = serde_json::json!({
                "AliasArn": arn,
                "Name": a.name,
                "FunctionVersion": a.version,
                "Description": "",
                "RevisionId": a.revision_id,
            });
            Ok(json_response(&body, rid))
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

/// The body of AddPermission (botocore's `AddPermissionRequest`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddPermissionRequest {
    statement_id: String,
    action: String,
    principal: String,
    #[serde(default)]
    source_arn: Option<String>,
    #[serde(default)]
    source_account: Option<String>,
    #[serde(rename = "PrincipalOrgID", default)]
    principal_org_id: Option<String>,
}

/// AddPermission: one statement in the policy of the calls `resolved` names (the function,
/// an alias or a version), as Lambda writes it; its JSON text.
fn add_permission(f: &FunctionRuntime, resolved: Resolved<'_>, arn: &str, body: &[u8]) -> Result<String, ApiError> {
    let invalid = |m: String| ApiError::new("InvalidParameterValueException", m);
    let req: AddPermissionRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            "InvalidRequestContentException",
            format!("Could not parse request body into json: {e}"),
        )
    })?;
    if matches!(resolved, Resolved::Latest) && arn.ends_with(":$LATEST") {
        return Err(invalid(
            "We currently do not support adding policies for $LATEST.".into(),
        ));
    }
    if req.statement_id.is_empty()
        || !req
            .statement_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(format!(
            "1 validation error detected: Value '{}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
            req.statement_id
        )));
    }
    let principal = if req.principal == "*" {
        serde_json::json!("*")
    } else if req.principal.len() == 12 && req.principal.bytes().all(|b| b.is_ascii_digit()) {
        serde_json::json!({ "AWS": format!("arn:aws:iam::{}:root", req.principal) })
    } else if req.principal.starts_with("arn:") {
        serde_json::json!({ "AWS": req.principal })
    } else {
        serde_json::json!({ "Service": req.principal })
    };
    let mut statement = serde_json::json!({
        "Sid": req.statement_id,
        "Effect": "Allow",
        "Principal": principal,
        "Action": req.action,
        "Resource": arn,
    });
    let mut condition = serde_json::Map::new();
    if let Some(org) = req.principal_org_id {
        condition.insert("StringEquals".into(), serde_json::json!({ "aws:PrincipalOrgID": org }));
    }
    if let Some(account) = req.source_account {
        condition
            .entry("StringEquals")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .map(|m| m.insert("AWS:SourceAccount".into(), account.into()));
    }
    if let Some(source) = req.source_arn {
        condition.insert("ArnLike".into(), serde_json::json!({ "AWS:SourceArn": source }));
    }
    if !condition.is_empty() {
        statement["Condition"] = condition.into();
    }
    let parsed: iam::Statement = serde_json::from_value(statement.clone())
        .map_err(|e| invalid(format!("The statement is not a valid policy statement: {e}")))?;
    let mut policies = f.policies.write().unwrap_or_else(|p| p.into_inner());
    policies.edit(resolved, |doc| {
        let doc = doc.get_or_insert_with(|| iam::PolicyDocument {
            version: "2012-10-17".into(),
            statement: iam::OneOrMany::Many(Vec::new()),
        });
        let mut statements = doc.statement.as_slice().to_vec();
        if statements.iter().any(|s| s.sid.as_deref() == Some(req.statement_id.as_str())) {
            return Err(ApiError::new(
                "ResourceConflictException",
                format!(
                    "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                    req.statement_id
                ),
            ));
        }
        statements.push(parsed);
        doc.statement = iam::OneOrMany::Many(statements);
        Ok(statement.to_string())
    })
}

/// RemovePermission: the statement `sid` leaves the policy of the calls `resolved` names.
fn remove_permission(f: &FunctionRuntime, resolved: Resolved<'_>, sid: &str) -> Result<(), ApiError> {
    let mut policies = f.policies.write().unwrap_or_else(|p| p.into_inner());
    policies.edit(resolved, |doc| {
        let Some(d) = doc else {
            return Err(ApiError::new(
                "ResourceNotFoundException",
                "No policy is associated with the given resource.",
            ));
        };
        let mut statements = d.statement.as_slice().to_vec();
        let before = statements.len();
        statements.retain(|s| s.sid.as_deref() != Some(sid));
        if statements.len() == before {
            return Err(ApiError::new(
                "ResourceNotFoundException",
                format!("Statement {sid} is not found in resource policy."),
            ));
        }
        if statements.is_empty() {
            *doc = None;
        } else {
            d.statement = iam::OneOrMany::Many(statements);
        }
        Ok(())
    })
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
        caller,
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
pub fn state_name(state: FunctionStateName) -> &'static str {
    match state {
        FunctionStateName::Active => "Active",
        FunctionStateName::Pending => "Pending",
        FunctionStateName::Inactive => "Inactive",
        FunctionStateName::Failed => "Failed",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

async fn invoke(
    world: &Arc<World>,
    caller: &Caller,
    fref: FunctionRef,
    req: &ReceivedRequest<'_>,
    rid: &str,
) -> Result<Response, ApiError> {
    let header = |name: HeaderName| req.headers.get(name).and_then(|v| v.to_str().ok());
    let kind = match header(headers::INVOCATION_TYPE) {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(ApiError::new(
                "InvalidParameterValueException",
                format!("1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"),
            ))
        }
    };
    let (f, resolved) = authorize(world, caller, &fref, "lambda:InvokeFunction")?;
    f.invokes.fetch_add(1, Ordering::Relaxed);
    let tail = header(headers::LOG_TYPE) == Some("Tail");
    // AWS refuses log tails across accounts; its exact status and code are not documented,
    // so this answers 403 AccessDeniedException (permanent, like a missing permission) with
    // AWS's message.
    if tail && caller.account != f.account {
        return Err(ApiError::new(
            "AccessDeniedException",
            "Cross-account log access is not allowed",
        ));
    }
    let limit = if kind == InvocationType::Event {
        MAX_EVENT_PAYLOAD
    } else {
        MAX_SYNC_PAYLOAD
    };
    if req.body.len() > limit {
        return Err(ApiError::new(
            "RequestTooLargeException",
            format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
        ));
    }
    if header(headers::CLIENT_CONTEXT).is_some_and(|c| c.len() > MAX_CLIENT_CONTEXT) {
        return Err(ApiError::new(
            "InvalidParameterValueException",
            format!("Client context must be smaller than {MAX_CLIENT_CONTEXT} bytes."),
        ));
    }
    if !req.body.is_empty() {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&req.body) {
            return Err(ApiError::new(
                "InvalidRequestContentException",
                format!("Could not parse request body into json: Could not parse payload into json: {e}"),
            ));
        }
    }
    let executed = resolved.executed_version().to_string();
    if kind == InvocationType::DryRun {
        return Ok(with_request_id(StatusCode::NO_CONTENT.into_response(), rid));
    }
    if kind == InvocationType::Event {
        // What Lambda checks before queueing was checked above (existence, permission, size,
        // JSON); what it meets when running the event (state, throttles, network, 5xx) the
        // queue meets and retries (`async_invoke`).
        inject(world, Phase::Accept, f, fref.qualifier.as_deref()).await?;
        let now = world.clock.now_ms();
        world.events.push(QueuedEvent {
            request_id: rid.to_string(),
            function: format!("{}:{}", f.account, f.def.name),
            qualifier: fref.qualifier.clone(),
            function_arn: fref.arn(&world.region),
            payload: req.body.clone(),
            received_ms: now,
            due_ms: now,
            invokes: 0,
            function_errors: 0,
            system_errors: 0,
        });
        return Ok(with_request_id(StatusCode::ACCEPTED.into_response(), rid));
    }
    f.check_ready(world.clock.now_ms())?;
    inject(world, Phase::Sync, f, fref.qualifier.as_deref()).await?;
    let (status, payload, function_error) = execute(world, f, req.body.clone(), rid).await?;
    let mut resp = (status, payload).into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&executed) {
        h.insert(headers::EXECUTED_VERSION, v);
    }
    if let Some(fe) = function_error {
        h.insert(headers::FUNCTION_ERROR, fe);
    }
    if tail {
        let log = format!(
            "START RequestId: {rid} Version: {executed}\nEND RequestId: {rid}\nREPORT RequestId: {rid}\tDuration: 1.00 ms\n"
        );
        use base64::Engine as _;
        if let Ok(v) = HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(log)) {
            h.insert(headers::LOG_RESULT, v);
        }
    }
    Ok(with_request_id(resp, rid))
}

/// Apply the fault rules of `phase` for an invoke of `f`: a delay, then maybe an error.
async fn inject(world: &World, phase: Phase, f: &FunctionRuntime, qualifier: Option<&str>) -> Result<(), ApiError> {
    if let Some(inj) = world.faults.check_in(phase, &f.def.name, qualifier) {
        if !inj.latency.is_zero() {
            tokio::time::sleep(inj.latency).await;
        }
        if let Some(e) = inj.error {
            return Err(e);
        }
    }
    Ok(())
}

/// Run one queued event as Lambda's async poller does, then retry it, finish it, or send it
/// where failed events go (`async_invoke::next`).
pub async fn run_event(world: Arc<World>, mut ev: QueuedEvent) {
    let Some(f) = world.functions.get(&ev.function).cloned() else {
        return;
    };
    ev.invokes += 1;
    let executed_version = f
        .resolve(ev.qualifier.as_deref())
        .map(|r| r.executed_version().to_string())
        .unwrap_or_else(|| "$LATEST".into());
    let ran = async {
        f.check_ready(world.clock.now_ms())?;
        inject(&world, Phase::Execute, &f, ev.qualifier.as_deref()).await?;
        execute(&world, &f, ev.payload.clone(), &ev.request_id).await
    }
    .await;
    let outcome = match ran {
        Ok((_, payload, Some(_))) => {
            ev.function_errors += 1;
            Outcome::FunctionError {
                executed_version,
                payload: serde_json::from_slice(&payload).unwrap_or(serde_json::Value::Null),
            }
        }
        Ok(_) => Outcome::Succeeded,
        Err(e) => {
            ev.system_errors += 1;
            Outcome::SystemError {
                code: e.name().to_string(),
                message: e.message.to_string(),
            }
        }
    };
    let now = world.clock.now_ms();
    let cfg = &f.def.async_invoke;
    match async_invoke::next(&ev, &outcome, now, cfg.maximum_retry_attempts, cfg.maximum_event_age_s) {
        Next::Done => {
            world.events.succeeded.fetch_add(1, Ordering::Relaxed);
        }
        Next::RetryAt(at) => {
            ev.due_ms = at;
            world.events.retry(ev);
        }
        Next::GiveUp { condition } => {
            let stamp = crate::core::utc::iso8601(now.div_euclid(1000));
            world.events.fail(
                &ev,
                condition,
                &outcome,
                cfg.on_failure.as_deref(),
                cfg.dead_letter_target.as_deref(),
                &stamp,
            );
        }
    }
}

/// Holds one execution's concurrency slot; gives it back when dropped (also when the client
/// goes away mid-invoke).
struct Slot {
    world: Arc<World>,
    f: Arc<FunctionRuntime>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.f.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(a) = self.world.accounts.get(&self.f.account) {
            a.in_flight.fetch_sub(1, Ordering::Relaxed);
            if self.f.def.reserved_concurrency.is_none() {
                a.unreserved_in_flight.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.world.counters.execution_finished();
    }
}

/// A concurrency slot: within the function's reserved concurrency, or else within the
/// account's unreserved pool, which only unreserved functions' executions hold.
fn acquire_slot(world: &Arc<World>, f: &Arc<FunctionRuntime>) -> Result<Slot, ApiError> {
    let Some(account) = world.accounts.get(&f.account) else {
        return Err(ApiError::named("ServiceException"));
    };
    let in_fn = f.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    account.in_flight.fetch_add(1, Ordering::Relaxed);
    let over = match f.def.reserved_concurrency {
        Some(r) if in_fn > r => Some("ReservedFunctionConcurrentInvocationLimitExceeded"),
        Some(_) => None,
        None => {
            let unreserved = account.unreserved_in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            (unreserved > account.unreserved_limit).then(|| {
                account.unreserved_in_flight.fetch_sub(1, Ordering::Relaxed);
                "ConcurrentInvocationLimitExceeded"
            })
        }
    };
    if let Some(reason) = over {
        f.in_flight.fetch_sub(1, Ordering::Relaxed);
        account.in_flight.fetch_sub(1, Ordering::Relaxed);
        return Err(ApiError::throttle(reason, 1));
    }
    world.counters.execution_started();
    Ok(Slot {
        world: Arc::clone(world),
        f: Arc::clone(f),
    })
}

/// One execution's connection through its function's Hyperplane ENIs; given back when dropped.
struct Connection {
    f: Arc<FunctionRuntime>,
    key: String,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(h) = &self.f.hyperplane {
            h.disconnect(&self.key);
        }
    }
}

/// Connect an execution of a Hyperplane function, when its ENIs could run out of
/// connections: only when one ENI carries fewer than the account's concurrency limit (with
/// AWS's 65,000 it never does, and nothing is counted). A new ENI takes its creation time.
async fn connect(world: &Arc<World>, f: &Arc<FunctionRuntime>) -> Result<Option<Connection>, ApiError> {
    let (Some(h), Some(account)) = (&f.hyperplane, world.accounts.get(&f.account)) else {
        return Ok(None);
    };
    if h.connections_per_eni >= account.concurrency_limit {
        return Ok(None);
    }
    let now = world.clock.now_ms();
    let Some(key) = f.network_key(now) else {
        return Ok(None);
    };
    let made = h.connect(&key, now).map_err(|e| e.invoke_error())?;
    let conn = Connection { f: Arc::clone(f), key };
    if made {
        tokio::time::sleep(Duration::from_millis(h.eni_create_ms)).await;
    }
    Ok(Some(conn))
}

/// Holds an execution environment (per_environment VPC mode); returns it warm when dropped.
struct EnvLease {
    world: Arc<World>,
    f: Arc<FunctionRuntime>,
    env: Option<Environment>,
    ready: bool,
}

impl Drop for EnvLease {
    fn drop(&mut self) {
        if let (Some(pool), Some(env)) = (&self.f.pool, self.env.take()) {
            let mut pool = pool.lock().unwrap_or_else(|p| p.into_inner());
            if self.ready {
                pool.release(env, self.world.clock.now_ms());
            } else {
                pool.discard(env);
            }
        }
    }
}

async fn acquire_env(world: &Arc<World>, f: &Arc<FunctionRuntime>) -> Result<Option<EnvLease>, ApiError> {
    let Some(pool) = &f.pool else {
        return Ok(None);
    };
    let acquired = {
        let mut pool = pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.acquire(world.clock.now_ms())
    };
    let (env, cold) = acquired.map_err(|e| e.to_api_error())?;
    let mut lease = EnvLease {
        world: Arc::clone(world),
        f: Arc::clone(f),
        env: Some(env),
        ready: !cold,
    };
    if cold {
        let setup = f.def.vpc.as_ref().map(|v| v.eni_setup_ms).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(setup)).await;
        lease.ready = true;
    }
    Ok(Some(lease))
}

/// Run the function: take a concurrency slot and an environment, then the behaviour.
/// Returns the status, payload and `X-Amz-Function-Error`.
async fn execute(
    world: &Arc<World>,
    f: &Arc<FunctionRuntime>,
    payload: Bytes,
    rid: &str,
) -> Result<(StatusCode, Bytes, Option<HeaderValue>), ApiError> {
    let _slot = acquire_slot(world, f)?;
    let _env = acquire_env(world, f).await?;
    let _connection = connect(world, f).await?;
    match &f.def.behaviour {
        Behaviour::Named(_) => {
            let plan = behaviour::plan(&payload);
            let timeout = Duration::from_secs(u64::from(f.def.timeout_s));
            if plan.sleep >= timeout {
                tokio::time::sleep(timeout).await;
                let body = serde_json::json!({
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": format!("RequestId: {rid} Error: Task timed out after {}.00 seconds", f.def.timeout_s),
                });
                return Ok((
                    StatusCode::OK,
                    Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                    Some(HeaderValue::from_static("Unhandled")),
                ));
            }
            if !plan.sleep.is_zero() {
                tokio::time::sleep(plan.sleep).await;
            }
            Ok(match plan.result {
                Ok(body) if body.as_slice() == payload.as_ref() => (StatusCode::OK, payload, None),
                Ok(body) => (StatusCode::OK, Bytes::from(body), None),
                Err(failure) => (
                    StatusCode::OK,
                    Bytes::from(failure.to_payload()),
                    Some(HeaderValue::from_static("Unhandled")),
                ),
            })
        }
        Behaviour::Upstream { upstream } => crate::local::upstream::forward(upstream, payload).await,
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
