//! The one call of AWS Organizations a member account's principal makes to learn its
//! organization: `DescribeOrganization` (`X-Amz-Target:
//! AWSOrganizationsV20161128.DescribeOrganization`, signing name `organizations`). `xinvoke
//! doctor` asks it so that a denial of an organization grant can name the organization the
//! caller is in. Answers as the service model writes them: the organization of the caller's
//! account, `AWSOrganizationsNotInUseException` outside one, `AccessDeniedException` when the
//! caller's identity policy does not allow `organizations:DescribeOrganization`.

use crate::local::iam::{self, Caller, Query, Requester, Verdict};
use crate::local::json_answer::{answer, error};
use crate::local::world::World;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

/// The `X-Amz-Target` prefix of the service's operations.
pub const TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";

/// Answer `operation` for `caller`.
pub(crate) fn handle(world: &World, caller: &Caller, operation: &str, rid: &str) -> Response {
    if operation != "DescribeOrganization" {
        return error(
            "UnknownOperationException",
            &format!("The local endpoint answers DescribeOrganization only, not {operation}"),
            rid,
        );
    }
    let q = Query {
        requester: Requester::Role(caller),
        action: "organizations:DescribeOrganization",
        resource: "*",
        external_id: None,
    };
    if iam::evaluate(world.identity_policy(caller), &q, false) != Verdict::Allow {
        return error(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
            rid,
        );
    }
    let Some(org_id) = &caller.org_id else {
        return error(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
            rid,
        );
    };
    let mut org = json!({ "Id": org_id, "FeatureSet": "ALL" });
    let declared = world.scenario.organizations.iter().find(|o| &o.id == org_id);
    if let Some(mgmt) = declared.and_then(|o| o.management_account.as_ref()) {
        org["Arn"] = format!("arn:aws:organizations::{mgmt}:organization/{org_id}").into();
        org["MasterAccountId"] = mgmt.clone().into();
        org["MasterAccountArn"] = format!("arn:aws:organizations::{mgmt}:account/{org_id}/{mgmt}").into();
    }
    answer(StatusCode::OK, json!({ "Organization": org }), rid)
}
