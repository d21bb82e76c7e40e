//! The one call of AWS Organizations a member account's principal makes to learn its
//! organization: `DescribeOrganization` (JSON 1.1 protocol, `X-Amz-Target:
//! AWSOrganizationsV20161128.DescribeOrganization`, signing name `organizations`). `xinvoke
//! doctor` asks it so that a denial of an organization grant can name the organization the
//! caller is in. Answers as the service model writes them: the organization of the caller's
//! account, `AWSOrganizationsNotInUseException` outside one, `AccessDeniedException` when the
//! caller's identity policy does not allow `organizations:DescribeOrganization`.

use crate::local::iam::{self, Query, Requester, Verdict};
use crate::local::sigv4::ReceivedRequest;
use crate::local::world::{request_id, World};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The `X-Amz-Target` prefix of the service's operations.
pub const TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";

/// A JSON 1.1 answer.
fn answer(status: StatusCode, body: serde_json::Value, rid: &str) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(rid) {
        h.insert(crate::local::errors::headers::REQUEST_ID, v);
    }
    resp
}

fn error(code: &str, message: &str, rid: &str) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({ "__type": code, "Message": message }),
        rid,
    )
}

/// Answer one Organizations request whose `X-Amz-Target` is `target`.
pub fn handle(world: &World, req: &ReceivedRequest<'_>, target: &str) -> Response {
    let rid = request_id();
    let caller = match world.authenticate(req, "organizations") {
        Ok(c) => c,
        Err(f) => {
            let code = match f {
                crate::local::sigv4::AuthFailure::UnknownKey => "UnrecognizedClientException",
                crate::local::sigv4::AuthFailure::ExpiredToken => "ExpiredTokenException",
                _ => "InvalidSignatureException",
            };
            return error(code, &f.to_string(), &rid);
        }
    };
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    if operation != "DescribeOrganization" {
        return error(
            "UnknownOperationException",
            &format!("The local endpoint answers DescribeOrganization only, not {operation}"),
            &rid,
        );
    }
    let q = Query {
        requester: Requester::Role(&caller),
        action: "organizations:DescribeOrganization",
        resource: "*",
        external_id: None,
    };
    if iam::evaluate(world.identity_policy(&caller), &q, false) != Verdict::Allow {
        return error(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
            &rid,
        );
    }
    let Some(org_id) = &caller.org_id else {
        return error(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
            &rid,
        );
    };
    let mut org = json!({ "Id": org_id, "FeatureSet": "ALL" });
    let declared = world.scenario.organizations.iter().find(|o| &o.id == org_id);
    if let Some(mgmt) = declared.and_then(|o| o.management_account.as_ref()) {
        org["Arn"] = format!("arn:aws:organizations::{mgmt}:organization/{org_id}").into();
        org["MasterAccountId"] = mgmt.clone().into();
        org["MasterAccountArn"] = format!("arn:aws:organizations::{mgmt}:account/{org_id}/{mgmt}").into();
    }
    answer(StatusCode::OK, json!({ "Organization": org }), &rid)
}
