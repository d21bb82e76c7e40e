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
pub fn principal_arn(caller_arn: &str) -> Option<String> {
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
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    id.truncate(100);
    id
}

/// A policy document around statements.
pub fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Identity statement: `lambda:InvokeFunction` on exactly the target ARN, qualifier included.
pub fn invoke_identity_statement(target: &FunctionArn) -> Value {
    json!({
        "Sid": "XinvokeInvokeTarget",
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": target.to_string(),
    })
}

/// Resource-policy statement on the target: `principal` may invoke exactly the target ARN.
pub fn invoke_resource_statement(target: &FunctionArn, principal: &str) -> Value {
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
pub fn assume_role_identity_statement(role: &RoleArn) -> Value {
    json!({
        "Sid": "XinvokeAssumeInvokeRole",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": role.to_string(),
    })
}

/// Trust statement of the invoke role: `principal` may assume it with this external id only.
pub fn trust_statement(principal: &str, external_id: &str) -> Value {
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
pub fn resource_mode(source_role: &RoleArn, target: &FunctionArn) -> PolicySet {
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
pub fn role_mode(source_role: &RoleArn, target: &FunctionArn, invoke_role: &RoleArn, external_id: &str) -> PolicySet {
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
