//! Doctor's judgement of an organization grant (`xinvoke doctor --org ...`): which of the
//! grant's three conditions (organization id, OU path, role-name pattern) left the caller out,
//! from what the caller can see of itself. Its organization comes from Organizations'
//! DescribeOrganization; its role name from its own ARN; its OU path a member account cannot
//! read (ListParents answers the management account only), so the path is blamed only when the
//! other two hold.

use crate::domain::arn::{FunctionArn, RoleArn};
use crate::domain::diagnosis::check::{pretty, Check, Status};
use crate::domain::policy::{self, wildcard_match, OrgGrant};

/// The caller's organization, as far as the caller can see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerOrg {
    /// DescribeOrganization answered this id.
    Member(String),
    /// DescribeOrganization answered AWSOrganizationsNotInUseException.
    NotInOrganization,
    /// Not visible: why (the error's code, e.g. AccessDeniedException).
    Unknown(String),
}

impl CallerOrg {
    /// For the caller_identity line.
    pub(crate) fn describe(&self) -> String {
        match self {
            CallerOrg::Member(id) => format!("organization {id}"),
            CallerOrg::NotInOrganization => "in no organization".into(),
            CallerOrg::Unknown(why) => format!("organization not visible ({why})"),
        }
    }
}

/// Which condition of a grant leaves the caller out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// The caller's organization is not the granted one (or it is in none).
    OrgId { have: Option<String> },
    /// The caller's role name does not match the pattern.
    RolePattern { role: String },
    /// Organization and role name match: the OU path is what is left.
    OrgPath,
    /// The organization is not visible and the role name matches: either the id or the path.
    OrgIdOrPath,
}

/// The role name of a principal ARN (`arn:P:iam::A:role/NAME` or a session's
/// `arn:P:sts::A:assumed-role/NAME/SESSION`).
fn role_name(principal: &str) -> Option<&str> {
    let resource = principal.splitn(6, ':').nth(5)?;
    resource
        .strip_prefix("role/")
        .map(|r| r.rsplit('/').next().unwrap_or(r))
        .or_else(|| resource.strip_prefix("assumed-role/").and_then(|r| r.split('/').next()))
}

/// Which condition of `grant` excludes `principal` (the caller's role ARN) of organization
/// `org`; `None` when all the caller can see matches and the grant has no OU path to blame.
pub fn exclusion(grant: &OrgGrant, org: &CallerOrg, principal: &str) -> Option<Exclusion> {
    match org {
        CallerOrg::Member(id) if *id != grant.org_id => return Some(Exclusion::OrgId { have: Some(id.clone()) }),
        CallerOrg::NotInOrganization => return Some(Exclusion::OrgId { have: None }),
        _ => {}
    }
    if let (Some(pattern), Some(role)) = (&grant.role_pattern, role_name(principal)) {
        let leaf = pattern.rsplit('/').next().unwrap_or(pattern);
        if !wildcard_match(leaf, role, false) {
            return Some(Exclusion::RolePattern { role: role.to_string() });
        }
    }
    match org {
        CallerOrg::Unknown(_) => Some(Exclusion::OrgIdOrPath),
        _ if !grant.org_paths.is_empty() => Some(Exclusion::OrgPath),
        _ => None,
    }
}

/// The `organization` check: the caller's organization against the grant's.
pub fn organization_check(grant: &OrgGrant, org: &CallerOrg) -> Check {
    let name = "organization";
    match org {
        CallerOrg::Member(id) if *id == grant.org_id => Check::new(
            name,
            Status::Pass,
            format!("the caller's account is in {id}, the organization granted"),
        ),
        CallerOrg::Member(id) => Check::fail(
            name,
            None,
            format!("the caller's account is in {id}, the grant names {}", grant.org_id),
            format!(
                "Check the organization id: `aws organizations describe-organization` in the caller's account shows {id}; grant that organization (xinvoke policy --org {id} ...) or call from an account of {}.",
                grant.org_id
            ),
        ),
        CallerOrg::NotInOrganization => Check::fail(
            name,
            None,
            format!(
                "the caller's account is in no organization (AWSOrganizationsNotInUseException); the grant names {}",
                grant.org_id
            ),
            format!(
                "Only accounts of {} pass aws:PrincipalOrgID: invite the caller's account into the organization, or grant its role by name (--source-role).",
                grant.org_id
            ),
        ),
        CallerOrg::Unknown(why) => Check::new(
            name,
            Status::Info,
            format!(
                "the caller's organization is not visible ({why}): allow organizations:DescribeOrganization to let doctor compare it with {}",
                grant.org_id
            ),
        ),
    }
}

/// What to say under a denial of an organization grant: why the caller is out, and the
/// statement to change (the trust statement in role mode, the resource statement otherwise).
pub fn exclusion_fix(
    grant: &OrgGrant,
    org: &CallerOrg,
    principal: &str,
    target: &FunctionArn,
    invoke_role: Option<&RoleArn>,
) -> Option<(String, String)> {
    let why = match exclusion(grant, org, principal)? {
        Exclusion::OrgId { have: Some(have) } => format!(
            "the organization id excluded the caller: its account is in {have}, aws:PrincipalOrgID requires {}",
            grant.org_id
        ),
        Exclusion::OrgId { have: None } => format!(
            "the organization id excluded the caller: its account is in no organization, aws:PrincipalOrgID requires {}",
            grant.org_id
        ),
        Exclusion::RolePattern { role } => format!(
            "the role pattern excluded the caller: its role {role} does not match {} (aws:PrincipalArn, ArnLike)",
            grant.role_pattern.as_deref().unwrap_or_default()
        ),
        Exclusion::OrgPath => format!(
            "the OU path excluded the caller: its organization and role name match, so its account is outside {} (aws:PrincipalOrgPaths; the management account sees the path: aws organizations list-parents --child-id ACCOUNT)",
            grant.org_paths.join(" and ")
        ),
        Exclusion::OrgIdOrPath => "the organization id or the OU path excluded the caller (its role name matches; its organization is not visible to it)".to_string(),
    };
    let statement = match invoke_role {
        Some(role) => format!(
            "In account {}, the invoke role's trust statement to change (or move the caller to match it):\n{}",
            role.account,
            pretty(&policy::org_trust_statement(&target.partition, grant, "EXTERNAL_ID"))
        ),
        None => format!(
            "In account {}, the resource-policy statement to change (or move the caller to match it):\n{}",
            target.account,
            pretty(&policy::org_resource_statement(target, grant))
        ),
    };
    Some((why, statement))
}

/// Add to a failed check (a denied DryRun Invoke or AssumeRole) why the organization grant
/// left the caller out, and the statement to change, first.
pub fn annotate_denial(
    check: &mut Check,
    grant: &OrgGrant,
    org: &CallerOrg,
    principal: &str,
    target: &FunctionArn,
    invoke_role: Option<&RoleArn>,
) {
    let Some((why, statement)) = exclusion_fix(grant, org, principal, target, invoke_role) else {
        return;
    };
    check.summary = format!("{}; {why}", check.summary);
    check.fix = Some(match check.fix.take() {
        Some(rest) => format!("{statement}\n{rest}"),
        None => statement,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> OrgGrant {
        OrgGrant {
            org_id: "o-a1b2c3d4e5".into(),
            org_paths: vec!["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*".into()],
            role_pattern: Some("xinvoke-invoker-*".into()),
        }
    }

    #[test]
    fn the_first_condition_that_fails_is_named() {
        let member = CallerOrg::Member("o-a1b2c3d4e5".into());
        let ok_role = "arn:aws:sts::111111111111:assumed-role/xinvoke-invoker-us-east-1/s";
        let cases = [
            (
                CallerOrg::Member("o-zzzzzzzzzz".into()),
                ok_role,
                Some(Exclusion::OrgId {
                    have: Some("o-zzzzzzzzzz".into()),
                }),
            ),
            (
                CallerOrg::NotInOrganization,
                ok_role,
                Some(Exclusion::OrgId { have: None }),
            ),
            (
                member.clone(),
                "arn:aws:iam::111111111111:role/deployer",
                Some(Exclusion::RolePattern {
                    role: "deployer".into(),
                }),
            ),
            (member.clone(), ok_role, Some(Exclusion::OrgPath)),
            (
                CallerOrg::Unknown("AccessDeniedException".into()),
                ok_role,
                Some(Exclusion::OrgIdOrPath),
            ),
        ];
        for (org, principal, want) in cases {
            assert_eq!(exclusion(&grant(), &org, principal), want, "{org:?} {principal}");
        }
        let no_path = OrgGrant {
            org_paths: Vec::new(),
            ..grant()
        };
        assert_eq!(exclusion(&no_path, &member, ok_role), None);
    }
}
