//! What every Lambda API operation does with a request: name the function (every form the
//! API takes, checked before any lookup), authorize the caller against it, and frame the JSON
//! answer with its request id; the payload limits Invoke enforces.

use crate::local::errors::{headers, ApiError};
use crate::local::function::{FunctionRuntime, Resolved};
use crate::local::iam::{self, Caller, Query, Requester};
use crate::local::lambda_api::validate::{self, Violations};
use crate::local::sigv4::AuthFailure;
use crate::local::world::World;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

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
pub(super) fn parse_function_ref(
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

pub(super) fn with_request_id(mut resp: Response, rid: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(rid) {
        resp.headers_mut().insert(headers::REQUEST_ID, v);
    }
    resp
}

pub(super) fn json_response(value: &serde_json::Value, rid: &str) -> Response {
    let mut resp = (StatusCode::OK, serde_json::to_vec(value).unwrap_or_default()).into_response();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    with_request_id(resp, rid)
}

/// GetPolicy's answer for a function, version or policy that does not exist.
pub(super) fn no_such_resource() -> ApiError {
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
pub(super) fn not_found(action: &str, fref: &FunctionRef, region: &str, function_exists: bool) -> ApiError {
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
pub(super) fn authorize<'w>(
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
