//! One Lambda API request from path to answer: authenticate the caller, read the query, pick
//! the operation by method and path, and count what Invoke answered.

use crate::local::errors::{headers, lambda_error_index, ApiError};
use crate::local::function::RevisionOf;
use crate::local::ids::request_id;
use crate::local::lambda_api::configuration::{configuration, UpdateConfiguration};
use crate::local::lambda_api::invoke::{self, invoke};
use crate::local::lambda_api::list;
use crate::local::lambda_api::permissions::{self, add_permission, remove_permission};
use crate::local::lambda_api::request::{
    auth_error, authorize, json_response, no_such_resource, parse_function_ref, with_request_id, FunctionRef,
};
use crate::local::lambda_api::validate::{self, Violations};
use crate::local::sigv4::ReceivedRequest;
use crate::local::world::World;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use std::collections::HashMap;
use std::sync::Arc;

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
