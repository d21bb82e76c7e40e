//! A small IAM policy evaluator: enough of the policy language to decide the cross-account
//! questions xinvoke meets (identity policy, resource policy, role trust with ExternalId,
//! organization conditions), with IAM's rule that an explicit Deny wins. Pure and table-tested.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One value or a list of values, as IAM allows for Action, Resource and principals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values as a slice.
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    /// Refuses, and wins over any Allow.
    Deny,
}

/// `Principal`: `"*"` or `{"AWS": ...}` (other keys, such as `Service`, never match a role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// `"*"`.
    Any(String),
    /// `{"AWS": "arn:aws:iam::ACCT:role/NAME" | "arn:aws:iam::ACCT:root" | "ACCT" | "*"}`.
    Map(BTreeMap<String, OneOrMany<String>>),
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Statement id.
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Allow or Deny.
    #[serde(rename = "Effect")]
    pub effect: Effect,
    /// Who (resource policies and trust policies only).
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// Actions, `service:Name`, `*` and `?` allowed, case-insensitive.
    #[serde(rename = "Action")]
    pub action: OneOrMany<String>,
    /// Resources (ARN patterns); absent in trust policies, where it means the role itself.
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    /// `{"StringEquals": {"sts:ExternalId": "..."}}` and the like.
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<BTreeMap<String, BTreeMap<String, OneOrMany<String>>>>,
}

/// A policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// Policy language version.
    #[serde(rename = "Version", default = "default_version")]
    pub version: String,
    #[serde(rename = "Statement")]
    pub statement: OneOrMany<Statement>,
}

fn default_version() -> String {
    "2012-10-17".to_string()
}

/// Condition operators this evaluator understands.
const SUPPORTED_OPERATORS: &[&str] = &["StringEquals", "StringLike", "StringNotEquals"];

/// Condition keys this evaluator understands.
const SUPPORTED_KEYS: &[&str] = &[
    "sts:ExternalId",
    "aws:PrincipalOrgID",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
];

impl PolicyDocument {
    /// Check that every condition uses an operator and key this evaluator supports, so a
    /// scenario never silently means something else than it says.
    pub fn validate(&self) -> Result<(), String> {
        for st in self.statement.as_slice() {
            for (op, keys) in st.condition.iter().flatten() {
                if !SUPPORTED_OPERATORS.contains(&op.as_str()) {
                    return Err(format!(
                        "condition operator {op:?} is not supported; use one of {}",
                        SUPPORTED_OPERATORS.join(", ")
                    ));
                }
                for key in keys.keys() {
                    if !SUPPORTED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                        return Err(format!(
                            "condition key {key:?} is not supported; use one of {}",
                            SUPPORTED_KEYS.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The principal making a request: a role, possibly through an STS session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    /// `arn:aws:iam::ACCT:role/NAME`.
    pub role_arn: String,
    /// `arn:aws:sts::ACCT:assumed-role/NAME/SESSION`: what AWS names in messages.
    pub session_arn: String,
    /// `AROA...:SESSION`.
    pub user_id: String,
    /// The caller account's organization, if any.
    pub org_id: Option<String>,
}

/// One authorization question.
#[derive(Debug, Clone)]
pub(crate) struct Query<'a> {
    /// Who asks.
    pub caller: &'a Caller,
    /// `lambda:InvokeFunction`.
    pub action: &'a str,
    /// The resource ARN.
    pub resource: &'a str,
    /// `sts:ExternalId` of an AssumeRole call.
    pub external_id: Option<&'a str>,
}

impl Query<'_> {
    fn context_value(&self, key: &str) -> Option<&str> {
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "sts:externalid" => self.external_id,
            "aws:principalorgid" => self.caller.org_id.as_deref(),
            "aws:principalaccount" => Some(&self.caller.account),
            "aws:principalarn" => Some(&self.caller.role_arn),
            _ => None,
        }
    }
}

/// The outcome of evaluating one set of policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// At least one Allow and no Deny.
    Allow,
    /// A Deny statement matched.
    ExplicitDeny,
    /// Nothing matched.
    ImplicitDeny,
}

/// `*` matches any run, `?` one character.
fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
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

fn principal_matches(principal: &Principal, caller: &Caller) -> bool {
    let matches_one = |p: &str| {
        p == "*"
            || p == caller.account
            || p == caller.role_arn
            || p == caller.session_arn
            || p.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")) == Some(caller.account.as_str())
    };
    match principal {
        Principal::Any(s) => s == "*",
        Principal::Map(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() == "AWS")
            .any(|(_, v)| v.as_slice().iter().any(|p| matches_one(p))),
    }
}

fn conditions_hold(st: &Statement, q: &Query<'_>) -> bool {
    st.condition.iter().flatten().all(|(op, keys)| {
        keys.iter().all(|(key, wanted)| {
            let have = q.context_value(key);
            let wanted = wanted.as_slice();
            match op.as_str() {
                "StringEquals" => have.is_some_and(|h| wanted.iter().any(|w| w == h)),
                "StringLike" => have.is_some_and(|h| wanted.iter().any(|w| wildcard_match(w, h, false))),
                "StringNotEquals" => have.is_none_or(|h| wanted.iter().all(|w| w != h)),
                _ => false,
            }
        })
    })
}

fn statement_applies(st: &Statement, q: &Query<'_>, with_principal: bool) -> bool {
    if with_principal {
        match &st.principal {
            Some(p) if principal_matches(p, q.caller) => {}
            _ => return false,
        }
    }
    st.action.as_slice().iter().any(|a| wildcard_match(a, q.action, true))
        && st
            .resource
            .as_ref()
            .is_none_or(|r| r.as_slice().iter().any(|r| wildcard_match(r, q.resource, false)))
        && conditions_hold(st, q)
}

/// Evaluate `policies` for `q`. `with_principal` is true for resource and trust policies,
/// whose statements must also name the caller.
pub(crate) fn evaluate<'p>(
    policies: impl IntoIterator<Item = &'p PolicyDocument>,
    q: &Query<'_>,
    with_principal: bool,
) -> Verdict {
    let mut decision = Verdict::ImplicitDeny;
    for doc in policies {
        for st in doc.statement.as_slice() {
            if statement_applies(st, q, with_principal) {
                match st.effect {
                    Effect::Deny => return Verdict::ExplicitDeny,
                    Effect::Allow => decision = Verdict::Allow,
                }
            }
        }
    }
    decision
}

/// Why a request was refused, in the words AWS uses after "... on resource: ARN".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    /// "because no identity-based policy allows the ACTION action".
    NoIdentityAllow,
    /// "because no resource-based policy allows the ACTION action".
    NoResourceAllow,
    /// "with an explicit deny in an identity-based policy".
    IdentityDeny,
    /// "with an explicit deny in a resource-based policy".
    ResourceDeny,
}

impl Denial {
    /// AWS's AccessDenied message.
    pub fn message(self, caller: &Caller, action: &str, resource: &str) -> String {
        let why = match self {
            Denial::NoIdentityAllow => {
                format!("because no identity-based policy allows the {action} action")
            }
            Denial::NoResourceAllow => {
                format!("because no resource-based policy allows the {action} action")
            }
            Denial::IdentityDeny => "with an explicit deny in an identity-based policy".into(),
            Denial::ResourceDeny => "with an explicit deny in a resource-based policy".into(),
        };
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
            caller.session_arn
        )
    }
}

/// Combine identity and resource decisions as IAM does: any explicit Deny refuses; within
/// one account either side's Allow suffices; across accounts both must allow.
pub(crate) fn authorize(identity: Verdict, resource: Verdict, same_account: bool) -> Result<(), Denial> {
    match (identity, resource) {
        (Verdict::ExplicitDeny, _) => Err(Denial::IdentityDeny),
        (_, Verdict::ExplicitDeny) => Err(Denial::ResourceDeny),
        (Verdict::Allow, Verdict::Allow) => Ok(()),
        (Verdict::Allow, _) if same_account => Ok(()),
        (_, Verdict::Allow) if same_account => Ok(()),
        (Verdict::ImplicitDeny, _) => Err(Denial::NoIdentityAllow),
        (Verdict::Allow, Verdict::ImplicitDeny) => Err(Denial::NoResourceAllow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(account: &str, role: &str) -> Caller {
        Caller {
            account: account.into(),
            role_arn: format!("arn:aws:iam::{account}:role/{role}"),
            session_arn: format!("arn:aws:sts::{account}:assumed-role/{role}/s"),
            user_id: "AROAX:s".into(),
            org_id: Some("o-abc".into()),
        }
    }

    fn doc(json: &str) -> PolicyDocument {
        serde_json::from_str(json).unwrap()
    }

    const FN: &str = "arn:aws:lambda:us-east-1:222222222222:function:target";

    #[test]
    fn wildcards_match_like_iam() {
        let cases = [
            ("*", "anything", false, true),
            ("lambda:Invoke*", "lambda:InvokeFunction", false, true),
            ("lambda:invokefunction", "lambda:InvokeFunction", true, true),
            ("lambda:invokefunction", "lambda:InvokeFunction", false, false),
            ("arn:*:function:target:*", "arn:x:function:target:live", false, true),
            ("arn:*:function:target:*", "arn:x:function:target", false, false),
            ("a?c", "abc", false, true),
            ("a?c", "ac", false, false),
            ("*a*b", "xxaxxb", false, true),
            ("", "", false, true),
        ];
        for (p, t, ci, want) in cases {
            assert_eq!(wildcard_match(p, t, ci), want, "{p} vs {t}");
        }
    }

    #[test]
    fn identity_policy_decisions() {
        let allow = doc(&format!(
            r#"{{"Statement":[{{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":["{FN}","{FN}:*"]}}]}}"#
        ));
        let deny = doc(r#"{"Statement":{"Effect":"Deny","Action":"lambda:*","Resource":"*"}}"#);
        let c = caller("111111111111", "src");
        let q = |resource: &'static str, action: &'static str| Query {
            caller: &c,
            action,
            resource,
            external_id: None,
        };
        let live = "arn:aws:lambda:us-east-1:222222222222:function:target:live";
        let other = "arn:aws:lambda:us-east-1:222222222222:function:other";
        assert_eq!(
            evaluate([&allow], &q(FN, "lambda:InvokeFunction"), false),
            Verdict::Allow
        );
        assert_eq!(
            evaluate([&allow], &q(live, "lambda:InvokeFunction"), false),
            Verdict::Allow
        );
        assert_eq!(
            evaluate([&allow], &q(other, "lambda:InvokeFunction"), false),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            evaluate([&allow], &q(FN, "lambda:GetPolicy"), false),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            evaluate([&allow, &deny], &q(FN, "lambda:InvokeFunction"), false),
            Verdict::ExplicitDeny
        );
    }

    #[test]
    fn principals_match_role_account_root_and_star() {
        let c = caller("111111111111", "src");
        let cases = [
            (r#""*""#, true),
            (r#"{"AWS":"*"}"#, true),
            (r#"{"AWS":"111111111111"}"#, true),
            (r#"{"AWS":"arn:aws:iam::111111111111:root"}"#, true),
            (
                r#"{"AWS":["arn:aws:iam::9:root","arn:aws:iam::111111111111:role/src"]}"#,
                true,
            ),
            (r#"{"AWS":"arn:aws:iam::111111111111:role/other"}"#, false),
            (r#"{"AWS":"333333333333"}"#, false),
            (r#"{"Service":"lambda.amazonaws.com"}"#, false),
        ];
        for (principal, want) in cases {
            let d = doc(&format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"lambda:InvokeFunction","Resource":"{FN}"}}]}}"#
            ));
            let q = Query {
                caller: &c,
                action: "lambda:InvokeFunction",
                resource: FN,
                external_id: None,
            };
            assert_eq!(evaluate([&d], &q, true) == Verdict::Allow, want, "{principal}");
        }
    }

    #[test]
    fn trust_policy_requires_the_external_id() {
        let trust = doc(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/src"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"xid"}}}]}"#,
        );
        trust.validate().unwrap();
        let c = caller("111111111111", "src");
        let role = "arn:aws:iam::222222222222:role/invoke";
        for (ext, want) in [
            (Some("xid"), Verdict::Allow),
            (Some("nope"), Verdict::ImplicitDeny),
            (None, Verdict::ImplicitDeny),
        ] {
            let q = Query {
                caller: &c,
                action: "sts:AssumeRole",
                resource: role,
                external_id: ext,
            };
            assert_eq!(evaluate([&trust], &q, true), want, "{ext:?}");
        }
    }

    #[test]
    fn org_condition_matches_the_callers_organization() {
        let d = doc(&format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"{FN}","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-abc"}}}}}}]}}"#
        ));
        let mut c = caller("333333333333", "x");
        let q = |c: &Caller| {
            evaluate(
                [&d],
                &Query {
                    caller: c,
                    action: "lambda:InvokeFunction",
                    resource: FN,
                    external_id: None,
                },
                true,
            )
        };
        assert_eq!(q(&c), Verdict::Allow);
        c.org_id = Some("o-other".into());
        assert_eq!(q(&c), Verdict::ImplicitDeny);
        c.org_id = None;
        assert_eq!(q(&c), Verdict::ImplicitDeny);
    }

    #[test]
    fn unsupported_conditions_fail_validation() {
        let d = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4"}}}]}"#,
        );
        assert!(d.validate().unwrap_err().contains("IpAddress"));
    }

    #[test]
    fn authorize_combines_sides_like_iam() {
        use Verdict::*;
        let cases = [
            (Allow, Allow, false, Ok(())),
            (Allow, ImplicitDeny, false, Err(Denial::NoResourceAllow)),
            (ImplicitDeny, Allow, false, Err(Denial::NoIdentityAllow)),
            (ImplicitDeny, ImplicitDeny, false, Err(Denial::NoIdentityAllow)),
            (Allow, ImplicitDeny, true, Ok(())),
            (ImplicitDeny, Allow, true, Ok(())),
            (ImplicitDeny, ImplicitDeny, true, Err(Denial::NoIdentityAllow)),
            (Allow, ExplicitDeny, true, Err(Denial::ResourceDeny)),
            (ExplicitDeny, Allow, false, Err(Denial::IdentityDeny)),
        ];
        for (i, r, same, want) in cases {
            assert_eq!(authorize(i, r, same), want, "{i:?} {r:?} {same}");
        }
    }

    #[test]
    fn denial_messages_use_aws_wording() {
        let c = caller("111111111111", "xinvoke-source");
        assert_eq!(
            Denial::NoResourceAllow.message(&c, "lambda:InvokeFunction", FN),
            format!("User: arn:aws:sts::111111111111:assumed-role/xinvoke-source/s is not authorized to perform: lambda:InvokeFunction on resource: {FN} because no resource-based policy allows the lambda:InvokeFunction action")
        );
    }
}
