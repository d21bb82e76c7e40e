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
    /// Read from a Gloo `Upstream`, whose role chaining has no external id.
    #[serde(skip)]
    pub gloo: bool,
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
    /// Most functions one listing takes (default 10,000).
    #[serde(default)]
    pub max_functions: Option<usize>,
    /// How discovered functions are invoked, as a route's fields say it.
    #[serde(default)]
    pub invocation_style: Option<String>,
    #[serde(default)]
    pub wrap_as_api_gateway: bool,
    #[serde(default)]
    pub unwrap_as_api_gateway: bool,
    #[serde(default)]
    pub timeout: Option<String>,
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
    /// Envoy's `retry_on` conditions (`5xx`, `gateway-error`, `connect-failure`, ...).
    #[serde(default)]
    pub retry_on: Option<String>,
    #[serde(default)]
    pub retriable_status_codes: Vec<u16>,
    #[serde(default)]
    pub per_try_timeout: Option<String>,
    /// The `Host` values this route answers (Gloo's virtual host `domains`); any when empty.
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub prefix_rewrite: Option<String>,
    #[serde(default)]
    pub regex_rewrite: Option<RegexRewriteSpec>,
    #[serde(default)]
    pub header_manipulation: Option<HeaderManipulationSpec>,
    #[serde(default)]
    pub cors: Option<CorsSpec>,
}

/// Envoy's `RegexMatchAndSubstitute`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexRewriteSpec {
    pub pattern: RegexSpec,
    pub substitution: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexSpec {
    pub regex: String,
}

/// Gloo's `HeaderManipulation`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HeaderManipulationSpec {
    #[serde(default)]
    pub request_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default)]
    pub request_headers_to_remove: Vec<String>,
    #[serde(default)]
    pub response_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default)]
    pub response_headers_to_remove: Vec<String>,
}

impl HeaderManipulationSpec {
    /// `self`'s edits, then `then`'s (a virtual host's, then its route's).
    pub fn and_then(mut self, then: HeaderManipulationSpec) -> HeaderManipulationSpec {
        self.request_headers_to_add.extend(then.request_headers_to_add);
        self.request_headers_to_remove.extend(then.request_headers_to_remove);
        self.response_headers_to_add.extend(then.response_headers_to_add);
        self.response_headers_to_remove.extend(then.response_headers_to_remove);
        self
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValueOption {
    pub header: HeaderKeyValue,
    /// Envoy's default: append to a header the request already has.
    #[serde(default)]
    pub append: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderKeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// Gloo's `CorsPolicy`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CorsSpec {
    #[serde(default)]
    pub allow_origin: Vec<String>,
    #[serde(default)]
    pub allow_origin_regex: Vec<String>,
    #[serde(default)]
    pub allow_methods: Vec<String>,
    #[serde(default)]
    pub allow_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    #[serde(default)]
    pub max_age: Option<String>,
    #[serde(default)]
    pub allow_credentials: bool,
    #[serde(default)]
    pub disable_for_route: bool,
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
    /// Prefix and exact paths compared case-insensitively when `false` (Envoy's default: true).
    #[serde(default)]
    pub case_sensitive: Option<bool>,
    #[serde(default)]
    pub query_parameters: Vec<QuerySpec>,
}

/// Gloo's `QueryParameterMatcher`: present when `value` is empty, else equal to it (or matching
/// it as a pattern).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QuerySpec {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub regex: bool,
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
