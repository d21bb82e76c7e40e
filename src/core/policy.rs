//! Least-privilege IAM documents for the two cross-account set-ups, and the caller's role ARN
//! from its session ARN. `xinvoke policy` prints them; `xinvoke doctor` prints the one a failed
//! check needs. Pure: ARNs in, JSON documents and command lines out. Never `*` for an action or
//! a resource: every statement names exactly one action and exactly the ARN the invoker uses.

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
    json!({
        "Sid": "XinvokeTrustSource",
        "Effect": "Allow",
        "Principal": { "AWS": principal },
        "Action": "sts:AssumeRole",
        "Condition": { "StringEquals": { "sts:ExternalId": external_id } },
    })
}

/// Everything one set-up needs, per account.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolicySet {
    /// `resource` or `role`.
    pub mode: &'static str,
    pub source_role: String,
    pub target: String,
    /// Account 1: attach to the source role.
    pub source_identity_policy: Value,
    /// Resource mode: the statement on the target's (alias's or version's) resource policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_statement: Option<Value>,
    /// Resource mode: the same as an AWS CLI command for account 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_permission_command: Option<String>,
    /// Role mode: the account-2 role to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_role: Option<String>,
    /// Role mode: the invoke role's trust policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<Value>,
    /// Role mode: the invoke role's permission policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_permission_policy: Option<Value>,
    /// Why the documents look as they do.
    pub notes: Vec<String>,
}

const NOTE_EXACT_ARN: &str = "lambda:InvokeFunction covers sync, async (Event) and DryRun invokes; the Resource is exactly the ARN the invoker calls, qualifier included: an alias or version ARN matches only calls with that qualifier, the unqualified ARN only unqualified calls. To invoke another alias or version (--qualifier), add its ARN explicitly rather than a wildcard.";

/// Resource-based set-up: the source role's identity policy and the target's resource policy.
fn resource_mode(source_role: &RoleArn, target: &FunctionArn) -> PolicySet {
    let principal = source_role.to_string();
    PolicySet {
        mode: "resource",
        source_role: principal.clone(),
        target: target.to_string(),
        source_identity_policy: document(vec![invoke_identity_statement(target)]),
        resource_statement: Some(invoke_resource_statement(target, &principal)),
        add_permission_command: Some(add_permission_command(target, &principal)),
        invoke_role: None,
        trust_policy: None,
        role_permission_policy: None,
        notes: vec![
            NOTE_EXACT_ARN.into(),
            "Cross-account invokes need both: the identity policy in account 1 and the resource-policy statement in account 2.".into(),
        ],
    }
}

/// Role-chaining set-up: the source role may assume the invoke role, which trusts it with the
/// external id and may invoke exactly the target ARN.
fn role_mode(source_role: &RoleArn, target: &FunctionArn, invoke_role: &RoleArn, external_id: &str) -> PolicySet {
    let principal = source_role.to_string();
    PolicySet {
        mode: "role",
        source_role: principal.clone(),
        target: target.to_string(),
        source_identity_policy: document(vec![assume_role_identity_statement(invoke_role)]),
        resource_statement: None,
        add_permission_command: None,
        invoke_role: Some(invoke_role.to_string()),
        trust_policy: Some(document(vec![trust_statement(&principal, external_id)])),
        role_permission_policy: Some(document(vec![invoke_identity_statement(target)])),
        notes: vec![
            NOTE_EXACT_ARN.into(),
            "The trust policy names the source role itself (not the account root) and requires the external id: the confused-deputy guard.".into(),
            "No resource-policy statement is needed: the invoke role is in the target's account. Chaining from a Lambda's temporary credentials caps a session at 1 hour.".into(),
        ],
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
    #[error("--target: {0}")]
    Target(crate::core::arn::ArnError),
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
    pub source_role: String,
    pub target: String,
    pub role_arn: Option<String>,
    pub role_name: Option<String>,
    pub external_id: Option<String>,
}

/// The role `xinvoke policy --mode role` names when given no `--role-name` / `--role-arn`.
const DEFAULT_INVOKE_ROLE: &str = "xinvoke-invoke";

/// Validate a request and build its documents.
pub fn build(req: &PolicyRequest) -> Result<PolicySet, PolicyError> {
    let mode: Mode = req.mode.parse()?;
    let source: RoleArn = req.source_role.parse().map_err(PolicyError::SourceRole)?;
    let target: FunctionArn = req.target.parse().map_err(PolicyError::Target)?;
    match mode {
        Mode::Resource => {
            if req.role_arn.is_some() || req.role_name.is_some() || req.external_id.is_some() {
                return Err(PolicyError::RoleOptionsInResourceMode);
            }
            Ok(resource_mode(&source, &target))
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
            Ok(role_mode(&source, &target, &role, external_id))
        }
    }
}

impl PolicySet {
    /// The documents as text, one section per account and document, ready to paste.
    pub fn render(&self) -> String {
        let doc = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let source_account = self.source_role.split(':').nth(4).unwrap_or_default();
        let target_account = self.target.split(':').nth(4).unwrap_or_default();
        let mut out = format!(
            "# xinvoke policy --mode {}: {} invokes {}\n\n",
            self.mode, self.source_role, self.target
        );
        out.push_str(&format!(
            "## Account {source_account}: identity policy of the source role {}\n{}\n\n",
            self.source_role,
            doc(&self.source_identity_policy)
        ));
        if let Some(s) = &self.resource_statement {
            out.push_str(&format!(
                "## Account {target_account}: resource-policy statement of {}\n{}\n\n",
                self.target,
                doc(s)
            ));
        }
        if let Some(c) = &self.add_permission_command {
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
        for set in [resource_mode(&src, &t), role_mode(&src, &t, &role, "ext-id-1")] {
            let text = serde_json::to_string(&set).unwrap();
            assert!(!text.contains('*'), "{text}");
        }
    }
}
