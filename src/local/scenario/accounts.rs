//! An account as a scenario declares it: its roles and users with their keys and policies, its
//! OIDC providers, SSM parameters and Hyperplane networking, and the organization it sits in.

use crate::local::iam::PolicyDocument;
use crate::local::scenario::functions::Function;
use serde::Deserialize;
use std::fmt;

/// A secret string (a secret key, a minted token): never shown by `Debug`.
/// [`ControlClient`](crate::local::ControlClient)'s example gets one.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An organization's tree: its root and organizational units.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// `o-` and 10-32 lowercase letters or digits.
    pub id: String,
    /// The root's id, `r-` and 4-32 lowercase letters or digits.
    pub root: String,
    /// The management account, when the scenario names it (DescribeOrganization's
    /// `MasterAccountId`).
    #[serde(default)]
    pub management_account: Option<String>,
    /// The OUs; each names its parent (the root or an OU listed before it).
    #[serde(default)]
    pub units: Vec<OrganizationalUnit>,
}

/// One organizational unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationalUnit {
    /// `ou-` + the root's suffix + `-` + 8-32 lowercase letters or digits.
    pub id: String,
    /// The root's id or an earlier OU's.
    pub parent: String,
}

impl Organization {
    /// The path IAM gives `aws:PrincipalOrgPaths` for an account in `ou` (the root when
    /// `None`): `o-ID/r-ROOT/ou-A/ou-B/`, from the root down, ending in `/`. `None` when the OU
    /// is not in this organization.
    pub(crate) fn path_of(&self, ou: Option<&str>) -> Option<String> {
        let mut chain = Vec::new();
        let mut at = ou;
        while let Some(id) = at.filter(|id| *id != self.root) {
            if chain.len() > self.units.len() {
                return None;
            }
            let unit = self.units.iter().find(|u| u.id == id)?;
            chain.push(unit.id.as_str());
            at = Some(unit.parent.as_str());
        }
        chain.reverse();
        let mut path = format!("{}/{}/", self.id, self.root);
        for id in chain {
            path.push_str(id);
            path.push('/');
        }
        Some(path)
    }
}

/// An account's Hyperplane networking (today's VPC model): its ENI quota, what one ENI
/// carries, and the pace of the EC2 calls Lambda makes for it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// Hyperplane ENIs the account may hold (AWS: 250 per VPC by default).
    pub hyperplane_eni_quota: u32,
    /// Executions one Hyperplane ENI carries (AWS documents 65,000 connections).
    pub connections_per_eni: u32,
    /// EC2 API calls per second for ENIs, and their burst.
    pub ec2_api_rate: f64,
    pub ec2_api_burst: u32,
    /// How long making one ENI takes, ms (the function is Pending, or its update
    /// InProgress, meanwhile).
    pub eni_create_ms: u64,
    /// How long after the last function or version using an ENI is deleted the ENI is
    /// released, s on the endpoint's clock (AWS releases it some minutes later; modelled).
    pub eni_release_s: u64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            hyperplane_eni_quota: 250,
            connections_per_eni: 65_000,
            ec2_api_rate: 5.0,
            ec2_api_burst: 10,
            eni_create_ms: 1000,
            eni_release_s: 1200,
        }
    }
}

/// One account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// 12-digit account id.
    pub id: String,
    /// Organization id, for `aws:PrincipalOrgID` conditions.
    #[serde(default)]
    pub org_id: Option<String>,
    /// The account's OU in its organization (declared in `organizations`), for
    /// `aws:PrincipalOrgPaths`; the root when absent.
    #[serde(default)]
    pub ou: Option<String>,
    /// Account-wide concurrent executions.
    #[serde(default = "default_concurrency")]
    pub concurrency_limit: u32,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// IAM users (long-term keys).
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub functions: Vec<Function>,
    /// Hyperplane networking of the account's VPC functions.
    #[serde(default)]
    pub network: Network,
    /// IAM OIDC identity providers (IAM's CreateOpenIDConnectProvider): the issuers whose
    /// tokens AssumeRoleWithWebIdentity accepts for this account's roles.
    #[serde(default)]
    pub oidc_providers: Vec<OidcProvider>,
    /// Systems Manager parameters (GetParameter), e.g. the invoker's routes.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}

/// One SSM parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// `/xinvoke/routes` or `routes`.
    pub name: String,
    /// Its value (never shown by `Debug`).
    pub value: Secret,
    #[serde(rename = "type", default)]
    pub kind: ParameterType,
}

/// `String` or `SecureString` (decrypted only when asked with WithDecryption).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum ParameterType {
    String,
    #[default]
    SecureString,
}

/// An IAM OIDC identity provider. Its ARN is `arn:aws:iam::ACCOUNT:oidc-provider/` followed by
/// the issuer without `https://`; trust policies name it as `Principal: {"Federated": ARN}`
/// with conditions on `HOST/PATH:sub` and `HOST/PATH:aud`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// The issuer URL, `https://...`: a token's `iss`.
    pub issuer: String,
    /// Client ids (IAM's ClientIDList): a token's `aud` must hold one.
    pub audiences: Vec<String>,
    /// The issuer's public keys, for tokens the endpoint does not mint itself (e.g. a real
    /// cluster's service-account tokens, RS256): its JWKS, `{ keys = [...] }`. Tokens minted by
    /// the endpoint (`POST /_local/oidc/token`) verify without it.
    #[serde(default)]
    pub jwks: Option<Jwks>,
}

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One key of a JWKS: `{"kty":"RSA","kid","n","e"}` or `{"kty":"EC","crv":"P-256","kid","x","y"}`
/// (other members, such as `use`, `alg` or `x5c`, are ignored).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

fn default_concurrency() -> u32 {
    1000
}

/// Static credentials of a role (as an execution role's would be).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticCredentials {
    /// `ASIA...` for a role's session, `AKIA...` for a user's long-term key.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: Secret,
    /// The session token a role's session carries (`X-Amz-Security-Token`); a user's
    /// long-term key has none.
    #[serde(default)]
    pub session_token: Option<Secret>,
}

/// One IAM user: long-term `AKIA` keys, reported by GetCallerIdentity as
/// `arn:aws:iam::ACCOUNT:user/NAME`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub credentials: StaticCredentials,
    /// Identity policy.
    #[serde(default)]
    pub policy: Option<PolicyDocument>,
}

/// One IAM role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    /// A session of this role with fixed credentials (`ASIA...` and a session token), as
    /// Lambda hands its execution role's to a function.
    #[serde(default)]
    pub credentials: Option<StaticCredentials>,
    /// The session name a static key reports (`assumed-role/NAME/SESSION`).
    #[serde(default = "default_session_name")]
    pub session_name: String,
    /// Longest AssumeRole session for this role, in seconds.
    #[serde(default = "default_max_session")]
    pub max_session_s: u32,
    /// Identity policy.
    #[serde(default)]
    pub policy: Option<PolicyDocument>,
    /// Trust policy.
    #[serde(default)]
    pub trust: Option<PolicyDocument>,
}

fn default_session_name() -> String {
    "xinvoke-local".to_string()
}

fn default_max_session() -> u32 {
    3600
}
