//! The file's shapes, with Gloo's field names.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub upstreams: Vec<UpstreamSpec>,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamSpec {
    pub name: String,
    pub region: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub session_name: Option<String>,
    #[serde(default)]
    pub aws_account_id: Option<AccountId>,
    /// An AWS profile's name (Gloo: a Kubernetes secret's name).
    #[serde(default)]
    pub secret_ref: Option<SecretRef>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub lambda_functions: Vec<FunctionSpec>,
    #[serde(default)]
    pub discovery: Option<DiscoverySpec>,
}

/// An account id, written as a string or (unquoted in YAML) a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AccountId {
    Text(String),
    Number(u64),
}

impl AccountId {
    pub fn text(&self) -> String {
        match self {
            AccountId::Text(s) => s.clone(),
            AccountId::Number(n) => format!("{n:012}"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecretRef {
    pub name: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FunctionSpec {
    pub lambda_function_name: String,
    #[serde(default)]
    pub logical_name: Option<String>,
    #[serde(default)]
    pub qualifier: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscoverySpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub refresh: Option<String>,
    #[serde(default)]
    pub route_prefix: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub matchers: Vec<MatcherSpec>,
    pub upstream: String,
    pub logical_name: String,
    #[serde(default)]
    pub invocation_style: Option<String>,
    #[serde(default)]
    pub unwrap_as_api_gateway: bool,
    #[serde(default)]
    pub wrap_as_api_gateway: bool,
    #[serde(default)]
    pub timeout: Option<String>,
    /// `off`, or a number of attempts.
    #[serde(default)]
    pub retries: Option<RetriesSpec>,
    /// The request header whose value is the tenant to invoke as (`X-Amz-Tenant-Id`), for a
    /// function in tenant-isolation mode.
    #[serde(default)]
    pub tenant_header: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RetriesSpec {
    Attempts(u32),
    Word(String),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatcherSpec {
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub exact: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub headers: Vec<HeaderSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HeaderSpec {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub regex: bool,
    #[serde(default)]
    pub invert_match: bool,
}
