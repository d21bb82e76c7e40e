//! Least-privilege IAM documents for the two cross-account set-ups, and the caller's role ARN
//! from its session ARN. `xinvoke policy` prints them; `xinvoke doctor` prints the one a failed
//! check needs. Pure: ARNs in, JSON documents and command lines out. Never `*` for an action or
//! a resource: every statement names exactly one action and exactly the ARN the invoker uses.
//!
//! Who is granted is either named roles (one trust entry or resource statement each, so the
//! documents grow with every source account until a size quota stops them) or an organization
//! ([`OrgGrant`]): one statement whose `Principal` is `*`, narrowed by `aws:PrincipalOrgID` and,
//! where the policy language allows it, the OU path and a role-name pattern. A function's
//! resource policy can hold only the first (Lambda's AddPermission takes `PrincipalOrgID` and no
//! other condition: botocore `lambda/2015-03-31/service-2.json`, `AddPermissionRequest`); a
//! role's trust policy holds all three.

use crate::core::arn::{FunctionArn, RoleArn};
use serde_json::{json, Value};

/// The IAM principal behind a caller ARN, as policies name it: an assumed-role session
/// `arn:PART:sts::ACCT:assumed-role/ROLE/SESSION` becomes `arn:PART:iam::ACCT:role/ROLE`; an IAM
/// role or user ARN is kept; anything else is `None`.
///
/// A session ARN does not carry the role's path: a role with a path (`role/team/name`) must be
/// named with its path in policies, which only its owner knows.
pub(crate) fn principal_arn(caller_arn: &str) -> Option<String> {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    let [arn, partition, service, _region, account, resource] = parts.as_slice() else {
        return None;
    };
    if *arn != "arn" || partition.is_empty() || account.len() != 12 {
        return None;
    }
    match *service {
        "sts" => {
            let rest = resource.strip_prefix("assumed-role/")?;
            let (role, session) = rest.split_once('/')?;
            (!role.is_empty() && !session.is_empty()).then(|| format!("arn:{partition}:iam::{account}:role/{role}"))
        }
        "iam" if resource.starts_with("role/") || resource.starts_with("user/") => Some(caller_arn.to_string()),
        _ => None,
    }
}

/// The last segment of a principal ARN (`role/a/b` -> `b`), for statement ids.
fn principal_name(principal: &str) -> &str {
    principal.rsplit(['/', ':']).next().unwrap_or(principal)
}

/// A statement id for the resource-policy statement: `xinvoke-<principal name>[-<qualifier>]`,
/// limited to what `add-permission` accepts (letters, digits, `-`, `_`; at most 100).
pub fn statement_id(principal: &str, target: &FunctionArn) -> String {
    let mut id = format!("xinvoke-{}", principal_name(principal));
    if let Some(q) = &target.qualifier {
        id.push('-');
        id.push_str(q.as_str());
    }
    let mut id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    id.truncate(100);
    id
}

/// A policy document around statements.
pub fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Identity statement: `lambda:InvokeFunction` on exactly the target ARN, qualifier included.
pub(crate) fn invoke_identity_statement(target: &FunctionArn) -> Value {
    json!({
        "Sid": "XinvokeInvokeTarget",
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": target.to_string(),
    })
}

/// Resource-policy statement on the target: `principal` may invoke exactly the target ARN.
pub(crate) fn invoke_resource_statement(target: &FunctionArn, principal: &str) -> Value {
    json!({
        "Sid": statement_id(principal, target),
        "Effect": "Allow",
        "Principal": { "AWS": principal },
        "Action": "lambda:InvokeFunction",
        "Resource": target.to_string(),
    })
}

/// The `aws lambda add-permission` command equivalent to [`invoke_resource_statement`], run in
/// the target's account. The qualified ARN puts the statement on the alias or version's policy.
pub fn add_permission_command(target: &FunctionArn, principal: &str) -> String {
    format!(
        "aws lambda add-permission --function-name {target} --statement-id {} --action lambda:InvokeFunction --principal {principal}",
        statement_id(principal, target)
    )
}

/// Identity statement of the caller in account 1: `sts:AssumeRole` on the invoke role only.
pub(crate) fn assume_role_identity_statement(role: &RoleArn) -> Value {
    json!({
        "Sid": "XinvokeAssumeInvokeRole",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": role.to_string(),
    })
}

/// Trust statement of the invoke role: `principal` may assume it with this external id only.
pub(crate) fn trust_statement(principal: &str, external_id: &str) -> Value {
    trust_statement_for(principal.into(), external_id)
}

/// [`trust_statement`] for one principal or a list of them.
fn trust_statement_for(principal: Value, external_id: &str) -> Value {
    json!({
        "Sid": "XinvokeTrustSource",
        "Effect": "Allow",
        "Principal": { "AWS": principal },
        "Action": "sts:AssumeRole",
        "Condition": { "StringEquals": { "sts:ExternalId": external_id } },
    })
}

/// IAM's wildcards in a string: `*` matches any run, `?` one character.
pub(crate) fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    // Most patterns are literal ARNs and actions: compared whole.
    if !pattern.bytes().any(|b| b == b'*' || b == b'?') {
        return if case_insensitive {
            pattern.eq_ignore_ascii_case(text)
        } else {
            pattern == text
        };
    }
    let eq = |a: u8, b: u8| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || (p[pi] != b'*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// An organization-wide grant: every principal of the organization, optionally only in OU
/// paths and only roles whose name matches a pattern. The condition keys are IAM's global ones
/// (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:PrincipalArn`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrgGrant {
    /// `o-` and 10-32 lowercase letters or digits.
    pub org_id: String,
    /// OU paths, `o-ID/r-ROOT/ou-.../` with `*` wildcards (`ForAnyValue:StringLike`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub org_paths: Vec<String>,
    /// A role-name pattern (`xinvoke-invoker-*`), tested on `aws:PrincipalArn` with `ArnLike`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_pattern: Option<String>,
}

impl OrgGrant {
    /// `arn:PARTITION:iam::*:role/PATTERN`: the role pattern as `aws:PrincipalArn` is compared
    /// (a role session's `aws:PrincipalArn` is its role's ARN, path included).
    pub fn principal_arn_pattern(&self, partition: &str) -> Option<String> {
        self.role_pattern
            .as_ref()
            .map(|p| format!("arn:{partition}:iam::*:role/{p}"))
    }

    /// The condition block of a statement granting this organization (and `extra`, e.g. the
    /// external id, under `StringEquals`).
    fn condition(&self, partition: &str, extra: &[(&str, &str)]) -> Value {
        let mut equals = serde_json::Map::new();
        equals.insert("aws:PrincipalOrgID".into(), self.org_id.clone().into());
        for (k, v) in extra {
            equals.insert((*k).into(), (*v).into());
        }
        let mut condition = serde_json::Map::new();
        condition.insert("StringEquals".into(), equals.into());
        if !self.org_paths.is_empty() {
            condition.insert(
                "ForAnyValue:StringLike".into(),
                json!({ "aws:PrincipalOrgPaths": self.org_paths }),
            );
        }
        if let Some(arn) = self.principal_arn_pattern(partition) {
            condition.insert("ArnLike".into(), json!({ "aws:PrincipalArn": arn }));
        }
        condition.into()
    }
}

/// Resource-policy statement on the target granting an organization: what
/// `add-permission --principal '*' --principal-org-id ID` writes (the Lambda guide's
/// "Granting function access to an organization").
pub(crate) fn org_resource_statement(target: &FunctionArn, org: &OrgGrant) -> Value {
    json!({
        "Sid": statement_id(&org.org_id, target),
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:InvokeFunction",
        "Resource": target.to_string(),
        "Condition": org.condition(&target.partition, &[]),
    })
}

/// The `aws lambda add-permission` command equivalent to [`org_resource_statement`].
pub fn org_add_permission_command(target: &FunctionArn, org: &OrgGrant) -> String {
    format!(
        "aws lambda add-permission --function-name {target} --statement-id {} --action lambda:InvokeFunction --principal '*' --principal-org-id {}",
        statement_id(&org.org_id, target),
        org.org_id
    )
}

/// Trust statement of the invoke role granting an organization's matching roles, with the
/// external id.
pub(crate) fn org_trust_statement(partition: &str, org: &OrgGrant, external_id: &str) -> Value {
    json!({
        "Sid": "XinvokeTrustOrganization",
        "Effect": "Allow",
        "Principal": { "AWS": "*" },
        "Action": "sts:AssumeRole",
        "Condition": org.condition(partition, &[("sts:ExternalId", external_id)]),
    })
}

/// Who may invoke: named roles, or an organization's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Grantee {
    /// Each role needs its own trust entry or resource statement.
    Roles(Vec<RoleArn>),
    /// One statement for every matching principal of the organization.
    Organization(OrgGrant),
}

/// IAM's default quota on a role trust policy's length, in characters without whitespace (IAM
/// and STS quotas: "Role trust policy length", 2,048, adjustable to 4,096).
pub const TRUST_POLICY_QUOTA: usize = 2048;

/// Lambda's quota on a function's resource-based policy, bytes (Lambda quotas: "Function
/// resource-based policy", 20 KB), shared by every statement on the function and its aliases.
pub const FUNCTION_POLICY_QUOTA: usize = 20 * 1024;

/// A warning is printed from this share of a quota on.
const QUOTA_WARNING_SHARE: f64 = 0.8;

/// Everything one set-up needs, per account.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolicySet {
    /// `resource` or `role`.
    pub mode: &'static str,
    /// The source roles granted by name (empty with an organization grant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_roles: Vec<String>,
    /// The organization granted, instead of named roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrgGrant>,
    pub target: String,
    /// Every source account: attach to the source role(s).
    pub source_identity_policy: Value,
    /// Resource mode: the statements on the target's (alias's or version's) resource policy,
    /// one a named role, or one for the organization.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_statements: Vec<Value>,
    /// Resource mode: the same as AWS CLI commands for the target's account.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_permission_commands: Vec<String>,
    /// Role mode: the target account's role to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_role: Option<String>,
    /// Role mode: the invoke role's trust policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<Value>,
    /// Role mode: the invoke role's permission policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_permission_policy: Option<Value>,
    /// Documents near or over a size quota, and what to do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why the documents look as they do.
    pub notes: Vec<String>,
}

const NOTE_EXACT_ARN: &str = "lambda:InvokeFunction covers sync, async (Event) and DryRun invokes; the Resource is exactly the ARN the invoker calls, qualifier included: an alias or version ARN matches only calls with that qualifier, the unqualified ARN only unqualified calls. To invoke another alias or version (--qualifier), add its ARN explicitly rather than a wildcard.";

const NOTE_TENANT: &str = "A target in tenant-isolation mode (TenancyConfig PER_TENANT) refuses every invoke without a tenant id, and one without isolation every invoke with one (InvalidParameterValueException): give the invoker the tenant (XINVOKE_TENANT_ID, an event's tenant_id, a route's tenantHeader). The policies do not change.";

const NOTE_ORG: &str = "The Principal \"*\" is narrowed by the conditions: aws:PrincipalOrgID, and where given the OU paths (ForAnyValue:StringLike on the multivalued aws:PrincipalOrgPaths) and the role pattern (ArnLike on aws:PrincipalArn, a session's role ARN). These compare names, not IAM's unique ids, so a role deleted and created again under the same name keeps working; a policy naming a role ARN as Principal does not.";

/// The length IAM counts for a policy: its JSON without whitespace outside strings.
fn policy_length(v: &Value) -> usize {
    serde_json::to_string(v).map(|s| s.len()).unwrap_or(0)
}

/// A warning when `used` approaches or passes `quota`.
fn quota_warning(what: &str, used: usize, quota: usize, quota_name: &str, org: bool) -> Option<String> {
    if (used as f64) < quota as f64 * QUOTA_WARNING_SHARE {
        return None;
    }
    let state = if used > quota { "over" } else { "close to" };
    let fix = if org {
        "split the grant, or ask for the quota to be raised"
    } else {
        "grant the organization instead (one statement however many accounts): --org o-ID [--org-path PATH] [--role-pattern NAME-*]"
    };
    Some(format!(
        "{what} is {used} characters, {state} {quota_name} of {quota}: {fix}"
    ))
}

/// The set-up's identity policy, for every source role.
fn source_identity(mode: Mode, target: &FunctionArn, invoke_role: Option<&RoleArn>) -> Value {
    match (mode, invoke_role) {
        (Mode::Role, Some(role)) => document(vec![assume_role_identity_statement(role)]),
        _ => document(vec![invoke_identity_statement(target)]),
    }
}

/// Resource-based set-up: the source roles' identity policy and the target's resource policy.
fn resource_mode(grantee: &Grantee, target: &FunctionArn) -> PolicySet {
    let (statements, commands, org, roles) = match grantee {
        Grantee::Roles(roles) => (
            roles
                .iter()
                .map(|r| invoke_resource_statement(target, &r.to_string()))
                .collect::<Vec<_>>(),
            roles
                .iter()
                .map(|r| add_permission_command(target, &r.to_string()))
                .collect(),
            None,
            roles.iter().map(ToString::to_string).collect(),
        ),
        Grantee::Organization(org) => (
            vec![org_resource_statement(target, org)],
            vec![org_add_permission_command(target, org)],
            Some(org.clone()),
            Vec::new(),
        ),
    };
    let mut notes = vec![
        NOTE_EXACT_ARN.to_string(),
        "Cross-account invokes need both: the identity policy in the source account and the resource-policy statement in the target's.".into(),
        NOTE_TENANT.into(),
    ];
    if org.is_some() {
        notes.push(NOTE_ORG.into());
        notes.push("A function's resource policy takes aws:PrincipalOrgID only (AddPermission's PrincipalOrgID): which roles of the organization may invoke is then decided by the identity policies the source accounts attach; to narrow on the target's side too, use --mode role.".into());
    }
    let used = policy_length(&document(statements.clone()));
    let warnings = quota_warning(
        "the function policy these statements make",
        used,
        FUNCTION_POLICY_QUOTA,
        "Lambda's function policy quota (20 KB, shared with every other statement on the function)",
        org.is_some(),
    )
    .into_iter()
    .collect();
    PolicySet {
        mode: "resource",
        source_roles: roles,
        organization: org,
        target: target.to_string(),
        source_identity_policy: source_identity(Mode::Resource, target, None),
        resource_statements: statements,
        add_permission_commands: commands,
        invoke_role: None,
        trust_policy: None,
        role_permission_policy: None,
        warnings,
        notes,
    }
}

/// Role-chaining set-up: the source roles may assume the invoke role, which trusts them with
/// the external id and may invoke exactly the target ARN.
fn role_mode(grantee: &Grantee, target: &FunctionArn, invoke_role: &RoleArn, external_id: &str) -> PolicySet {
    let (trust, org, roles) = match grantee {
        Grantee::Roles(roles) => {
            let names: Vec<String> = roles.iter().map(ToString::to_string).collect();
            let principal = match names.as_slice() {
                [one] => one.as_str().into(),
                many => json!(many),
            };
            (trust_statement_for(principal, external_id), None, names)
        }
        Grantee::Organization(org) => (
            org_trust_statement(&target.partition, org, external_id),
            Some(org.clone()),
            Vec::new(),
        ),
    };
    let trust = document(vec![trust]);
    let mut notes = vec![
        NOTE_EXACT_ARN.to_string(),
        "The trust policy names the source (its roles, or its organization's matching roles; never an account root) and requires the external id: the confused-deputy guard.".into(),
        "No resource-policy statement is needed: the invoke role is in the target's account. Chaining from a Lambda's temporary credentials caps a session at 1 hour.".into(),
        NOTE_TENANT.into(),
    ];
    if let Some(o) = &org {
        notes.push(NOTE_ORG.into());
        if o.role_pattern.is_none() {
            notes.push("Without --role-pattern any role of the organization whose own identity policy allows sts:AssumeRole on the invoke role, and that knows the external id, may assume it.".into());
        }
    }
    let warnings = quota_warning(
        "the trust policy",
        policy_length(&trust),
        TRUST_POLICY_QUOTA,
        "IAM's role trust policy quota (characters without whitespace; adjustable to 4,096)",
        org.is_some(),
    )
    .into_iter()
    .collect();
    PolicySet {
        mode: "role",
        source_roles: roles,
        organization: org,
        target: target.to_string(),
        source_identity_policy: source_identity(Mode::Role, target, Some(invoke_role)),
        resource_statements: Vec::new(),
        add_permission_commands: Vec::new(),
        invoke_role: Some(invoke_role.to_string()),
        trust_policy: Some(trust),
        role_permission_policy: Some(document(vec![invoke_identity_statement(target)])),
        warnings,
        notes,
    }
}

/// The two ways of granting a cross-account invoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The target's resource policy names the source role.
    Resource,
    /// The source role assumes a role in the target's account.
    Role,
}

impl std::str::FromStr for Mode {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Mode, PolicyError> {
        match s {
            "resource" => Ok(Mode::Resource),
            "role" => Ok(Mode::Role),
            other => Err(PolicyError::Mode(other.to_string())),
        }
    }
}

/// Why `xinvoke policy` cannot print documents; each message says what to pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("--mode {0:?}: use resource (the target's resource policy names the source role) or role (the source role assumes a role in the target's account)")]
    Mode(String),
    #[error("--source-role: {0}")]
    SourceRole(crate::core::arn::ArnError),
    #[error("give who may invoke: --source-role ARN (one or more roles) or --org ID (an organization's roles)")]
    GranteeMissing,
    #[error("--source-role and --org exclude each other: name roles, or grant an organization")]
    GranteeBoth,
    #[error("--org {0:?} is not an organization id: o- and 10-32 lowercase letters or digits, as `aws organizations describe-organization` shows it")]
    OrgId(String),
    #[error("--org-path {path:?} {problem}: give the OU's path as IAM sees it, the org id, the root id and the OU ids each followed by /, e.g. o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/* (`*` also matches the OUs below)")]
    OrgPath { path: String, problem: &'static str },
    #[error("--role-pattern {0:?} is not a role-name pattern: 1-64 of letters, digits, +=,.@_- and the wildcards * and ?, e.g. xinvoke-invoker-* (the name only, not an ARN)")]
    RolePattern(String),
    #[error("--org-path and --role-pattern narrow an organization grant: give --org too")]
    NarrowingWithoutOrg,
    #[error("--org-path and --role-pattern need --mode role: a function's resource policy can test the organization id only (Lambda's AddPermission takes PrincipalOrgID and no other condition), so it cannot test aws:PrincipalOrgPaths or aws:PrincipalArn; the invoke role's trust policy (--mode role) tests all three")]
    NarrowingInResourceMode,
    #[error("--target: {0}")]
    Target(crate::core::arn::ArnError),
    #[error("--target: {0}")]
    TargetPartition(crate::core::arn::PartitionMismatch),
    #[error("--role-arn: {0}")]
    RoleArn(crate::core::arn::ArnError),
    #[error("--role-name {0:?} is not a role name: 1-64 of letters, digits and +=,.@_-")]
    RoleName(String),
    #[error("--role-arn {role} is in account {role_account}, the target in {target_account}: the invoke role must be in the target's account")]
    RoleAccount {
        role: String,
        role_account: String,
        target_account: String,
    },
    #[error("--source-role {role} is in partition {role_partition}, the target in {target_partition}: IAM grants no principal of another partition")]
    Partition {
        role: String,
        role_partition: String,
        target_partition: String,
    },
    #[error("--external-id is required with --mode role: the trust policy requires it (sts:ExternalId) as the confused-deputy guard; pick a random value of 2-1224 characters and give the same to the invoker (XINVOKE_EXTERNAL_ID)")]
    ExternalIdMissing,
    #[error("--external-id must be 2-1224 of letters, digits and +=,.@:/-_")]
    ExternalIdInvalid,
    #[error("--role-name, --role-arn and --external-id apply to --mode role only")]
    RoleOptionsInResourceMode,
}

/// What `xinvoke policy` was asked for, as given on its command line.
#[derive(Debug, Clone, Default)]
pub struct PolicyRequest {
    pub mode: String,
    /// `--source-role`, once per role.
    pub source_roles: Vec<String>,
    /// `--org`.
    pub org_id: Option<String>,
    /// `--org-path`, once per path.
    pub org_paths: Vec<String>,
    /// `--role-pattern`.
    pub role_pattern: Option<String>,
    pub target: String,
    pub role_arn: Option<String>,
    pub role_name: Option<String>,
    pub external_id: Option<String>,
}

/// The role `xinvoke policy --mode role` names when given no `--role-name` / `--role-arn`.
const DEFAULT_INVOKE_ROLE: &str = "xinvoke-invoke";

/// `o-[a-z0-9]{10,32}` (AWS Organizations' organization id).
pub fn valid_org_id(id: &str) -> bool {
    id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// An OU path of `org_id`: `o-ID/r-ROOT/` then OU ids, each ending in `/`, or a `*` at the end.
fn check_org_path(org_id: &str, path: &str) -> Result<(), &'static str> {
    let rest = path
        .strip_prefix(org_id)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or("does not start with the --org id and /")?;
    if !rest.starts_with("r-") {
        return Err("does not continue with the root id (r-...)");
    }
    let ok_chars = rest
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-/*?".contains(&b));
    if !ok_chars || !(rest.ends_with('/') || rest.ends_with('*')) {
        return Err("holds characters an OU path has not, or does not end in / or *");
    }
    Ok(())
}

/// A role-name pattern: a role name's characters (and a path's `/`) plus `*` and `?`.
fn valid_role_pattern(p: &str) -> bool {
    (1..=64).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-*?/".contains(&b))
        && !p.starts_with('/')
}

/// An organization grant from its flags, checked: `--org`, `--org-path`s, `--role-pattern`.
pub fn org_grant(org_id: &str, org_paths: &[String], role_pattern: Option<&str>) -> Result<OrgGrant, PolicyError> {
    if !valid_org_id(org_id) {
        return Err(PolicyError::OrgId(org_id.to_string()));
    }
    for path in org_paths {
        check_org_path(org_id, path).map_err(|problem| PolicyError::OrgPath {
            path: path.clone(),
            problem,
        })?;
    }
    if let Some(p) = role_pattern.filter(|p| !valid_role_pattern(p)) {
        return Err(PolicyError::RolePattern(p.to_string()));
    }
    Ok(OrgGrant {
        org_id: org_id.to_string(),
        org_paths: org_paths.to_vec(),
        role_pattern: role_pattern.map(str::to_string),
    })
}

/// Who the request grants, checked.
fn grantee(req: &PolicyRequest, mode: Mode, target: &FunctionArn) -> Result<Grantee, PolicyError> {
    let narrowed = !req.org_paths.is_empty() || req.role_pattern.is_some();
    match (&req.org_id, req.source_roles.is_empty()) {
        (Some(_), false) => Err(PolicyError::GranteeBoth),
        (None, true) if narrowed => Err(PolicyError::NarrowingWithoutOrg),
        (None, true) => Err(PolicyError::GranteeMissing),
        (None, false) if narrowed => Err(PolicyError::NarrowingWithoutOrg),
        (None, false) => {
            let mut roles = Vec::new();
            for r in &req.source_roles {
                let role: RoleArn = r.parse().map_err(PolicyError::SourceRole)?;
                if role.partition != target.partition {
                    return Err(PolicyError::Partition {
                        role: role.to_string(),
                        role_partition: role.partition.clone(),
                        target_partition: target.partition.clone(),
                    });
                }
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
            Ok(Grantee::Roles(roles))
        }
        (Some(org_id), true) => {
            let grant = org_grant(org_id, &req.org_paths, req.role_pattern.as_deref())?;
            if narrowed && mode == Mode::Resource {
                return Err(PolicyError::NarrowingInResourceMode);
            }
            Ok(Grantee::Organization(grant))
        }
    }
}

/// Validate a request and build its documents.
pub fn build(req: &PolicyRequest) -> Result<PolicySet, PolicyError> {
    let mode: Mode = req.mode.parse()?;
    let target: FunctionArn = req.target.parse().map_err(PolicyError::Target)?;
    target.check_partition().map_err(PolicyError::TargetPartition)?;
    let grantee = grantee(req, mode, &target)?;
    match mode {
        Mode::Resource => {
            if req.role_arn.is_some() || req.role_name.is_some() || req.external_id.is_some() {
                return Err(PolicyError::RoleOptionsInResourceMode);
            }
            Ok(resource_mode(&grantee, &target))
        }
        Mode::Role => {
            let role: RoleArn = match (&req.role_arn, &req.role_name) {
                (Some(arn), _) => arn.parse().map_err(PolicyError::RoleArn)?,
                (None, name) => {
                    let name = name.as_deref().unwrap_or(DEFAULT_INVOKE_ROLE);
                    format!("arn:{}:iam::{}:role/{name}", target.partition, target.account)
                        .parse()
                        .map_err(|_| PolicyError::RoleName(name.to_string()))?
                }
            };
            if role.account != target.account {
                return Err(PolicyError::RoleAccount {
                    role: role.to_string(),
                    role_account: role.account.clone(),
                    target_account: target.account.clone(),
                });
            }
            let external_id = req.external_id.as_deref().ok_or(PolicyError::ExternalIdMissing)?;
            let valid = (2..=1224).contains(&external_id.len())
                && external_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
            if !valid {
                return Err(PolicyError::ExternalIdInvalid);
            }
            Ok(role_mode(&grantee, &target, &role, external_id))
        }
    }
}

impl PolicySet {
    /// Who is granted, in words: the roles, or the organization and its narrowing.
    fn grantee_text(&self) -> String {
        match &self.organization {
            Some(o) => {
                let mut t = format!("the roles of organization {}", o.org_id);
                if !o.org_paths.is_empty() {
                    t.push_str(&format!(" under {}", o.org_paths.join(" or ")));
                }
                if let Some(p) = &o.role_pattern {
                    t.push_str(&format!(" named {p}"));
                }
                t
            }
            None => self.source_roles.join(", "),
        }
    }

    /// The documents as text, one section per account and document, ready to paste.
    pub fn render(&self) -> String {
        let doc = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let account_of = |arn: &str| arn.split(':').nth(4).unwrap_or_default().to_string();
        let target_account = account_of(&self.target);
        let mut out = format!(
            "# xinvoke policy --mode {}: {} invokes {}\n\n",
            self.mode,
            self.grantee_text(),
            self.target
        );
        for w in &self.warnings {
            out.push_str(&format!("WARNING: {w}\n\n"));
        }
        let identity_heading = match (self.source_roles.as_slice(), &self.organization) {
            ([one], _) => format!(
                "## Account {}: identity policy of the source role {one}",
                account_of(one)
            ),
            (_, Some(o)) => format!(
                "## Every source account: identity policy of its invoker role{}",
                o.role_pattern
                    .as_ref()
                    .map(|p| format!(" (named {p})"))
                    .unwrap_or_default()
            ),
            (many, None) => {
                let mut accounts: Vec<String> = many.iter().map(|r| account_of(r)).collect();
                accounts.dedup();
                format!(
                    "## Accounts {}: identity policy of each source role ({})",
                    accounts.join(", "),
                    many.join(", ")
                )
            }
        };
        out.push_str(&format!(
            "{identity_heading}\n{}\n\n",
            doc(&self.source_identity_policy)
        ));
        for (s, c) in self.resource_statements.iter().zip(&self.add_permission_commands) {
            out.push_str(&format!(
                "## Account {target_account}: resource-policy statement of {}\n{}\n\n",
                self.target,
                doc(s)
            ));
            out.push_str(&format!(
                "## Account {target_account}: the same statement with the AWS CLI\n{c}\n\n"
            ));
        }
        if let (Some(role), Some(trust)) = (&self.invoke_role, &self.trust_policy) {
            out.push_str(&format!(
                "## Account {target_account}: trust policy of the invoke role {role}\n{}\n\n",
                doc(trust)
            ));
        }
        if let (Some(role), Some(perms)) = (&self.invoke_role, &self.role_permission_policy) {
            out.push_str(&format!(
                "## Account {target_account}: permission policy of the invoke role {role}\n{}\n\n",
                doc(perms)
            ));
            let name = role.rsplit('/').next().unwrap_or(role);
            out.push_str(&format!(
                "## Account {target_account}: the role with the AWS CLI (the two documents above saved as trust.json and permissions.json)\naws iam create-role --role-name {name} --assume-role-policy-document file://trust.json\naws iam put-role-policy --role-name {name} --policy-name xinvoke-invoke-target --policy-document file://permissions.json\n\n"
            ));
        }
        out.push_str("## Notes\n");
        for n in &self.notes {
            out.push_str(&format!("- {n}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(s: &str) -> FunctionArn {
        s.parse().unwrap()
    }

    #[test]
    fn principal_of_an_assumed_role_session_is_the_role() {
        assert_eq!(
            principal_arn("arn:aws:sts::111111111111:assumed-role/xinvoke-source/xinvoke-local").as_deref(),
            Some("arn:aws:iam::111111111111:role/xinvoke-source")
        );
        assert_eq!(
            principal_arn("arn:aws-cn:sts::111111111111:assumed-role/r/s").as_deref(),
            Some("arn:aws-cn:iam::111111111111:role/r")
        );
        assert_eq!(
            principal_arn("arn:aws:iam::111111111111:user/alice").as_deref(),
            Some("arn:aws:iam::111111111111:user/alice")
        );
        assert_eq!(principal_arn("arn:aws:sts::111111111111:assumed-role/r"), None);
        assert_eq!(principal_arn("arn:aws:iam::111111111111:root"), None);
        assert_eq!(principal_arn("nonsense"), None);
    }

    #[test]
    fn add_permission_names_the_qualified_arn_and_the_role() {
        let t = target("arn:aws:lambda:us-east-1:222222222222:function:target:live");
        assert_eq!(
            add_permission_command(&t, "arn:aws:iam::111111111111:role/xinvoke-source"),
            "aws lambda add-permission --function-name arn:aws:lambda:us-east-1:222222222222:function:target:live --statement-id xinvoke-xinvoke-source-live --action lambda:InvokeFunction --principal arn:aws:iam::111111111111:role/xinvoke-source"
        );
    }

    #[test]
    fn no_statement_uses_a_wildcard() {
        let t = target("arn:aws:lambda:us-east-1:222222222222:function:target:live");
        let src: RoleArn = "arn:aws:iam::111111111111:role/xinvoke-source".parse().unwrap();
        let role: RoleArn = "arn:aws:iam::222222222222:role/xinvoke-invoke".parse().unwrap();
        let src = Grantee::Roles(vec![src]);
        for set in [resource_mode(&src, &t), role_mode(&src, &t, &role, "ext-id-1")] {
            let text = serde_json::to_string(&set).unwrap();
            assert!(!text.contains('*'), "{text}");
        }
    }
}
