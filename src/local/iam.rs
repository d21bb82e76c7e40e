//! A small IAM policy evaluator: enough of the policy language to decide the cross-account
//! questions xinvoke meets (identity policy, resource policy, role trust with ExternalId,
//! organization conditions, web identity federation through an OIDC provider), with IAM's rule
//! that an explicit Deny wins. Pure and table-tested.

use crate::domain::policy::wildcard_match;
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

/// `Principal`: `"*"`, `{"AWS": ...}` (roles and accounts) or `{"Federated": ...}` (an OIDC
/// provider's ARN, matched by web identities of that provider only); other keys, such as
/// `Service`, never match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// `"*"`.
    Any(String),
    /// `{"AWS": "arn:aws:iam::ACCT:role/NAME" | "arn:aws:iam::ACCT:root" | "ACCT" | "*"}` or
    /// `{"Federated": "arn:aws:iam::ACCT:oidc-provider/HOST/PATH"}`.
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
    /// `{"StringEquals": {"sts:ExternalId": "..."}}` and the like; a web identity's claims are
    /// `{"StringEquals": {"HOST/PATH:sub": "...", "HOST/PATH:aud": "..."}}`.
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

/// Condition operators this evaluator understands (IAM's "Condition operators": the string and
/// ARN families), each also with the `ForAnyValue:` set qualifier.
const SUPPORTED_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnNotEquals",
    "ArnLike",
    "ArnNotLike",
];

/// The set qualifier IAM applies to multivalued keys: true when any of the request's values
/// satisfies the operator (IAM's "Set operators for multivalued context keys").
const FOR_ANY_VALUE: &str = "ForAnyValue:";

/// Condition keys this evaluator understands, besides a web identity's claims
/// ([`WEB_IDENTITY_CLAIMS`]).
const SUPPORTED_KEYS: &[&str] = &[
    "sts:ExternalId",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
];

/// The multivalued keys among them: IAM's condition-key reference gives
/// `aws:PrincipalOrgPaths` as "Multivalued" and tests it with `ForAnyValue:StringLike`; a plain
/// operator on it is refused here rather than given a meaning IAM does not document.
const MULTIVALUED_KEYS: &[&str] = &["aws:PrincipalOrgPaths"];

/// A condition operator, parsed: its family, whether it is negated, and its set qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    /// `Arn*` compares the six colon-separated parts of an ARN one by one.
    arn: bool,
    /// `*Like` matches `*` and `?` wildcards.
    like: bool,
    /// `*Not*`.
    negated: bool,
    /// `ForAnyValue:`.
    any_value: bool,
}

impl Operator {
    fn parse(op: &str) -> Option<Operator> {
        let (any_value, base) = match op.strip_prefix(FOR_ANY_VALUE) {
            Some(base) => (true, base),
            None => (false, op),
        };
        if !SUPPORTED_OPERATORS.contains(&base) {
            return None;
        }
        Some(Operator {
            arn: base.starts_with("Arn"),
            like: base.ends_with("Like"),
            negated: base.contains("Not"),
            any_value,
        })
    }

    /// Whether one request value matches one policy value, before negation.
    fn matches(self, wanted: &str, have: &str) -> bool {
        match (self.arn, self.like) {
            (false, false) => wanted == have,
            (false, true) => wildcard_match(wanted, have, false),
            (true, like) => arn_match(wanted, have, like),
        }
    }

    /// IAM's evaluation of one key: a negated operator holds when no policy value matches, so
    /// it also holds for a key the request lacks; `ForAnyValue:` needs at least one request
    /// value, any of which may satisfy it.
    fn holds(self, wanted: &[String], have: &[&str]) -> bool {
        let one = |h: &str| {
            let hit = wanted.iter().any(|w| self.matches(w, h));
            hit != self.negated
        };
        if self.any_value {
            return have.iter().any(|h| one(h));
        }
        match have {
            [] => self.negated,
            [h] => one(h),
            // Only multivalued keys have several values, and validation refuses them here.
            _ => false,
        }
    }
}

/// `ArnEquals` / `ArnLike`: each of the six colon-separated parts compared on its own, so a
/// `*` in the account part never spans into the resource (IAM: "Each of the six
/// colon-delimited components of the ARN is checked separately").
fn arn_match(pattern: &str, arn: &str, like: bool) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6
        && a.len() == 6
        && p.iter()
            .zip(&a)
            .all(|(p, a)| if like { wildcard_match(p, a, false) } else { p == a })
}

/// The claims of a web identity token a trust policy can test, as `HOST/PATH:CLAIM` (IAM's
/// "Available keys for OIDC federation": `aud`, `sub` and, for Amazon Cognito, `amr`; `amr` is
/// not modelled).
const WEB_IDENTITY_CLAIMS: &[&str] = &["sub", "aud"];

/// `HOST/PATH:sub` or `HOST/PATH:aud`: a provider's key (a host, so it holds a dot) and a claim.
fn web_identity_key(key: &str) -> Option<(&str, &str)> {
    let (provider, claim) = key.rsplit_once(':')?;
    (provider.contains('.') && WEB_IDENTITY_CLAIMS.iter().any(|c| c.eq_ignore_ascii_case(claim)))
        .then_some((provider, claim))
}

/// A condition the evaluator does not support: the scenario would mean something else than it
/// says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("condition operator {op:?} is not supported; use one of {}, each optionally prefixed with {FOR_ANY_VALUE}", SUPPORTED_OPERATORS.join(", "))]
    Operator { op: String },
    #[error("condition key {key:?} is multivalued: test it with a set operator, e.g. \"{FOR_ANY_VALUE}StringLike\" (as IAM's documentation does), not {op:?}")]
    Multivalued { key: String, op: String },
    #[error("condition key {key:?} is not supported; use one of {}, or an OIDC provider's HOST/PATH:{}", SUPPORTED_KEYS.join(", "), WEB_IDENTITY_CLAIMS.join(" or HOST/PATH:"))]
    Key { key: String },
}

impl PolicyDocument {
    /// Check that every condition uses an operator and key this evaluator supports, so a
    /// scenario never silently means something else than it says.
    pub fn validate(&self) -> Result<(), ConditionError> {
        for st in self.statement.as_slice() {
            for (op, keys) in st.condition.iter().flatten() {
                let Some(parsed) = Operator::parse(op) else {
                    return Err(ConditionError::Operator { op: op.clone() });
                };
                for key in keys.keys() {
                    if !parsed.any_value && MULTIVALUED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                        return Err(ConditionError::Multivalued {
                            key: key.clone(),
                            op: op.clone(),
                        });
                    }
                    if !SUPPORTED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) && web_identity_key(key).is_none() {
                        return Err(ConditionError::Key { key: key.clone() });
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
    /// `aws:PrincipalOrgPaths`: the account's path in its organization,
    /// `o-ID/r-ROOT/ou-.../`; empty outside an organization (or one the scenario does not lay
    /// out).
    pub org_paths: Vec<String>,
}

/// A web identity as a trust policy sees it: the OIDC provider that vouches for it and the
/// claims of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentity {
    /// `arn:aws:iam::ACCT:oidc-provider/HOST/PATH`: what `Principal: {"Federated": ...}` names.
    pub provider_arn: String,
    /// `HOST/PATH`: the prefix of its condition keys.
    pub provider_key: String,
    /// The token's `sub`.
    pub sub: String,
    /// The token's audience that is one of the provider's client ids.
    pub aud: String,
}

/// Who asks: a role (directly or through an STS session), or a web identity before it has a
/// session (AssumeRoleWithWebIdentity is unsigned: the token is all there is).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Requester<'a> {
    Role(&'a Caller),
    WebIdentity(&'a WebIdentity),
}

/// One authorization question.
#[derive(Debug, Clone)]
pub(crate) struct Query<'a> {
    /// Who asks.
    pub requester: Requester<'a>,
    /// `lambda:InvokeFunction`.
    pub action: &'a str,
    /// The resource ARN.
    pub resource: &'a str,
    /// `sts:ExternalId` of an AssumeRole call.
    pub external_id: Option<&'a str>,
}

impl Query<'_> {
    /// The request's values of a condition key (keys are case-insensitive, as in IAM); none
    /// when the request has the key not, as a web identity has no `aws:PrincipalArn`; several
    /// only for a multivalued key.
    fn context_values(&self, key: &str) -> Vec<&str> {
        if key.eq_ignore_ascii_case("sts:ExternalId") {
            return self.external_id.into_iter().collect();
        }
        match self.requester {
            Requester::Role(caller) => match key.to_ascii_lowercase().as_str() {
                "aws:principalorgid" => caller.org_id.as_deref().into_iter().collect(),
                "aws:principalorgpaths" => caller.org_paths.iter().map(String::as_str).collect(),
                "aws:principalaccount" => vec![&caller.account],
                "aws:principalarn" => vec![&caller.role_arn],
                _ => Vec::new(),
            },
            Requester::WebIdentity(wi) => {
                let Some((provider, claim)) = web_identity_key(key) else {
                    return Vec::new();
                };
                if !provider.eq_ignore_ascii_case(&wi.provider_key) {
                    return Vec::new();
                }
                match claim.to_ascii_lowercase().as_str() {
                    "sub" => vec![&wi.sub],
                    "aud" => vec![&wi.aud],
                    _ => Vec::new(),
                }
            }
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

/// Whether a statement's principal names the requester. A role matches `"*"` and `AWS`
/// entries; a web identity matches only a `Federated` entry naming its provider (the choice
/// here: IAM's documentation always names the provider for web identity federation).
fn principal_matches(principal: &Principal, requester: Requester<'_>) -> bool {
    let entries = |key: &'static str| {
        let map = match principal {
            Principal::Any(_) => None,
            Principal::Map(map) => Some(map),
        };
        map.into_iter()
            .flatten()
            .filter(move |(k, _)| k.as_str() == key)
            .flat_map(|(_, v)| v.as_slice().iter().map(String::as_str))
    };
    match requester {
        Requester::Role(caller) => {
            let matches_one = |p: &str| {
                p == "*"
                    || p == caller.account
                    || p == caller.role_arn
                    || p == caller.session_arn
                    || p.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root"))
                        == Some(caller.account.as_str())
            };
            matches!(principal, Principal::Any(s) if s == "*") || entries("AWS").into_iter().any(matches_one)
        }
        Requester::WebIdentity(wi) => entries("Federated").into_iter().any(|p| p == wi.provider_arn),
    }
}

/// Every operator's every key must hold (IAM ANDs them; the values listed for one key are
/// ORed). An operator the evaluator does not know never holds.
fn conditions_hold(st: &Statement, q: &Query<'_>) -> bool {
    st.condition.iter().flatten().all(|(op, keys)| {
        let Some(op) = Operator::parse(op) else {
            return false;
        };
        keys.iter()
            .all(|(key, wanted)| op.holds(wanted.as_slice(), &q.context_values(key)))
    })
}

fn statement_applies(st: &Statement, q: &Query<'_>, with_principal: bool) -> bool {
    if with_principal {
        match &st.principal {
            Some(p) if principal_matches(p, q.requester) => {}
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
            org_paths: vec!["o-abc/r-ab12/ou-ab12-11111111/".into()],
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
            requester: Requester::Role(&c),
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
                requester: Requester::Role(&c),
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
                requester: Requester::Role(&c),
                action: "sts:AssumeRole",
                resource: role,
                external_id: ext,
            };
            assert_eq!(evaluate([&trust], &q, true), want, "{ext:?}");
        }
    }

    #[test]
    fn web_identity_trust_needs_the_federated_provider_and_its_claims() {
        const KEY: &str = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
        let provider_arn = format!("arn:aws:iam::111111111111:oidc-provider/{KEY}");
        let trust = doc(&format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":["arn:aws:iam::111111111111:oidc-provider/other.example","{provider_arn}"]}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{KEY}:aud":"sts.amazonaws.com"}},"StringLike":{{"{KEY}:SUB":"system:serviceaccount:xinvoke:*"}}}}}}]}}"#
        ));
        trust.validate().unwrap();
        let wi = |arn: &str, sub: &str, aud: &str| WebIdentity {
            provider_arn: arn.into(),
            provider_key: arn.split_once("oidc-provider/").unwrap().1.into(),
            sub: sub.into(),
            aud: aud.into(),
        };
        let role = "arn:aws:iam::111111111111:role/web";
        let ask = |who: Requester<'_>, action: &'static str| {
            evaluate(
                [&trust],
                &Query {
                    requester: who,
                    action,
                    resource: role,
                    external_id: None,
                },
                true,
            )
        };
        let pod = wi(
            &provider_arn,
            "system:serviceaccount:xinvoke:gateway",
            "sts.amazonaws.com",
        );
        let other_ns = wi(
            &provider_arn,
            "system:serviceaccount:default:gateway",
            "sts.amazonaws.com",
        );
        let other_aud = wi(&provider_arn, "system:serviceaccount:xinvoke:gateway", "other");
        let other_provider = wi(
            "arn:aws:iam::111111111111:oidc-provider/elsewhere.example/id/X",
            "system:serviceaccount:xinvoke:gateway",
            "sts.amazonaws.com",
        );
        let cases = [
            (
                Requester::WebIdentity(&pod),
                "sts:AssumeRoleWithWebIdentity",
                Verdict::Allow,
            ),
            (Requester::WebIdentity(&pod), "sts:AssumeRole", Verdict::ImplicitDeny),
            (
                Requester::WebIdentity(&other_ns),
                "sts:AssumeRoleWithWebIdentity",
                Verdict::ImplicitDeny,
            ),
            (
                Requester::WebIdentity(&other_aud),
                "sts:AssumeRoleWithWebIdentity",
                Verdict::ImplicitDeny,
            ),
            (
                Requester::WebIdentity(&other_provider),
                "sts:AssumeRoleWithWebIdentity",
                Verdict::ImplicitDeny,
            ),
        ];
        for (who, action, want) in cases {
            assert_eq!(ask(who, action), want, "{who:?} {action}");
        }
        // A role never matches a Federated principal, and a web identity never an AWS one.
        let c = caller("111111111111", "web");
        assert_eq!(
            ask(Requester::Role(&c), "sts:AssumeRoleWithWebIdentity"),
            Verdict::ImplicitDeny
        );
        let aws_any = doc(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:*"}]}"#);
        let q = Query {
            requester: Requester::WebIdentity(&pod),
            action: "sts:AssumeRoleWithWebIdentity",
            resource: role,
            external_id: None,
        };
        assert_eq!(evaluate([&aws_any], &q, true), Verdict::ImplicitDeny);
    }

    #[test]
    fn web_identity_condition_keys_need_a_provider_host_and_a_known_claim() {
        let with_key = |key: &str| {
            doc(&format!(
                r#"{{"Statement":[{{"Effect":"Allow","Action":"*","Condition":{{"StringEquals":{{"{key}":"x"}}}}}}]}}"#
            ))
            .validate()
        };
        assert!(with_key("oidc.eks.us-east-1.amazonaws.com/id/X:sub").is_ok());
        assert!(with_key("token.actions.githubusercontent.com:aud").is_ok());
        assert!(with_key("oidc.eks.us-east-1.amazonaws.com/id/X:email")
            .unwrap_err()
            .to_string()
            .contains("HOST/PATH:sub"));
        assert!(with_key("nohost:sub").is_err());
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
                    requester: Requester::Role(c),
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

    /// The organization form `xinvoke policy --org ... --org-path ... --role-pattern ...` prints
    /// for a trust policy, checked against the three ways to miss it (IAM's condition-key
    /// reference: `aws:PrincipalOrgPaths` is multivalued, tested with `ForAnyValue:StringLike`;
    /// `aws:PrincipalArn` of a role session is the role's ARN, tested with `ArnLike`).
    #[test]
    fn organization_grants_check_org_ou_path_and_role_pattern() {
        let trust = doc(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{
                "StringEquals":{"aws:PrincipalOrgID":"o-abc"},
                "ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":["o-abc/r-ab12/ou-ab12-11111111/*"]},
                "ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/xinvoke-invoker-*"}}}]}"#,
        );
        trust.validate().unwrap();
        let ask = |c: &Caller| {
            evaluate(
                [&trust],
                &Query {
                    requester: Requester::Role(c),
                    action: "sts:AssumeRole",
                    resource: "arn:aws:iam::222222222222:role/xinvoke-invoke",
                    external_id: None,
                },
                true,
            )
        };
        let member = caller("333333333333", "xinvoke-invoker-us-east-1");
        assert_eq!(ask(&member), Verdict::Allow);
        let deeper = Caller {
            org_paths: vec!["o-abc/r-ab12/ou-ab12-11111111/ou-ab12-22222222/".into()],
            ..member.clone()
        };
        assert_eq!(ask(&deeper), Verdict::Allow, "a child OU is inside the path's wildcard");
        let outsider = Caller {
            org_id: Some("o-other".into()),
            org_paths: vec!["o-other/r-zz99/".into()],
            ..member.clone()
        };
        assert_eq!(
            ask(&outsider),
            Verdict::ImplicitDeny,
            "same role name, other organization"
        );
        let other_ou = Caller {
            org_paths: vec!["o-abc/r-ab12/ou-ab12-99999999/".into()],
            ..member.clone()
        };
        assert_eq!(ask(&other_ou), Verdict::ImplicitDeny, "a member outside the OU");
        let no_org = Caller {
            org_id: None,
            org_paths: Vec::new(),
            ..member.clone()
        };
        assert_eq!(
            ask(&no_org),
            Verdict::ImplicitDeny,
            "ForAnyValue on a missing key is false"
        );
        let other_name = caller("333333333333", "deployer");
        assert_eq!(ask(&other_name), Verdict::ImplicitDeny, "a role outside the pattern");
        // ArnLike compares part by part: a `*` in the account part never reaches the resource.
        let colon_trick = doc(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*"}}}]}"#,
        );
        let q = Query {
            requester: Requester::Role(&member),
            action: "sts:AssumeRole",
            resource: "r",
            external_id: None,
        };
        assert_eq!(evaluate([&colon_trick], &q, true), Verdict::ImplicitDeny);
    }

    #[test]
    fn negated_operators_hold_for_missing_keys_and_arn_operators_compare_parts() {
        let cases = [
            ("StringNotLike", "xinvoke-*", "deployer", true),
            ("StringNotLike", "xinvoke-*", "xinvoke-a", false),
            ("ArnEquals", "arn:aws:iam::1:role/a", "arn:aws:iam::1:role/a", true),
            ("ArnEquals", "arn:aws:iam::*:role/a", "arn:aws:iam::1:role/a", false),
            ("ArnLike", "arn:aws:iam::?:role/a*", "arn:aws:iam::1:role/ab", true),
            ("ArnLike", "arn:aws:iam::1:role/a", "not-an-arn", false),
            ("ArnNotLike", "arn:aws:iam::*:role/x-*", "arn:aws:iam::1:role/y", true),
        ];
        for (op, wanted, have, want) in cases {
            let op = Operator::parse(op).unwrap();
            assert_eq!(op.holds(&[wanted.to_string()], &[have]), want, "{op:?} {wanted} {have}");
        }
        let not_equals = Operator::parse("StringNotEquals").unwrap();
        assert!(not_equals.holds(&["x".into()], &[]));
        let any = Operator::parse("ForAnyValue:StringEquals").unwrap();
        assert!(!any.holds(&["x".into()], &[]));
        assert!(any.holds(&["x".into()], &["y", "x"]));
    }

    #[test]
    fn a_multivalued_key_needs_a_set_operator() {
        let d = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringLike":{"aws:PrincipalOrgPaths":"o-abc/*"}}}]}"#,
        );
        let err = d.validate().unwrap_err().to_string();
        assert!(
            err.contains("ForAnyValue:StringLike") && err.contains("multivalued"),
            "{err}"
        );
        let d = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"ForAllValues:StringLike":{"aws:PrincipalOrgPaths":"o-abc/*"}}}]}"#,
        );
        assert!(d
            .validate()
            .unwrap_err()
            .to_string()
            .contains("ForAllValues:StringLike"));
    }

    #[test]
    fn unsupported_conditions_fail_validation() {
        let d = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4"}}}]}"#,
        );
        assert!(d.validate().unwrap_err().to_string().contains("IpAddress"));
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
