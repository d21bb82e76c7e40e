//! The checked gateway configuration, whichever spelling it was read from: upstreams (an
//! account's functions in a region, and how the gateway may invoke them) and routes (matchers
//! to a function, with the route's options). What the router, the upstreams and the answers
//! read; built only by [`crate::gateway::config::check`].

use crate::adapters::config::{ExternalId, SessionName};
use crate::domain::arn::{FunctionArn, Qualifier, RoleArn};
use regex_lite::Regex;
use std::collections::BTreeMap;
use std::time::Duration;

/// The variable a role upstream's external id comes from when the file does not give one
/// (Gloo's resources have no such field; xinvoke assumes no role without one).
pub const EXTERNAL_ID_VAR: &str = "XINVOKE_EXTERNAL_ID";

/// A checked gateway configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub upstreams: Vec<Upstream>,
    pub routes: Vec<Route>,
}

/// One account's functions in one region, and how the gateway is allowed to invoke them.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    pub region: String,
    /// The account the functions live in.
    pub account: String,
    pub auth: UpstreamAuth,
    /// The AWS profile whose credentials sign (Gloo's `secretRef`); else the default chain.
    pub profile: Option<String>,
    pub functions: Vec<LambdaFunction>,
    pub discovery: Option<Discovery>,
}

/// How an upstream's invokes are allowed.
#[derive(Debug, Clone)]
pub enum UpstreamAuth {
    /// The gateway's own credentials; the functions' resource policies name them (Gloo's
    /// `awsAccountId`).
    Resource,
    /// A role in the functions' account (Gloo's `roleArn`), assumed with an external id, or
    /// without one where Gloo's resource has none (or xinvoke's file says `externalId: none`).
    Role {
        role: RoleArn,
        external_id: Option<ExternalId>,
        session_name: Option<SessionName>,
    },
}

/// What `--check` and the start say about a role assumed without an external id.
pub const NO_EXTERNAL_ID_NOTE: &str = "the role is assumed without an external id: a trust policy without sts:ExternalId is Gloo's guide's choice, fine between accounts of one organization, and a confused-deputy risk when a third party can assume roles on others' behalf (set externalId, or XINVOKE_EXTERNAL_ID, to the id the trust policy requires)";

impl Upstream {
    /// Whether the upstream assumes its role without an external id.
    pub fn assumes_without_external_id(&self) -> bool {
        matches!(&self.auth, UpstreamAuth::Role { external_id: None, .. })
    }
}

/// A function an upstream exposes under a logical name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaFunction {
    pub name: String,
    pub logical_name: String,
    /// `None`: the unqualified function (`$LATEST`).
    pub qualifier: Option<Qualifier>,
}

/// Listing an upstream's account for its functions and aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub refresh: Duration,
    /// Exposes `POST PREFIX/FUNCTION` and `PREFIX/FUNCTION/ALIAS` for what was found.
    pub route_prefix: Option<String>,
    /// Most functions one listing takes; past it the rest are left out and the log says so.
    pub max_functions: usize,
    /// How the functions found are invoked.
    pub style: InvocationStyle,
    pub wrap_as_api_gateway: bool,
    pub unwrap_as_api_gateway: bool,
    pub timeout: Duration,
}

/// The default of `discovery.maxFunctions`.
pub const DEFAULT_MAX_FUNCTIONS: usize = 10_000;

/// A route: the first whose matchers match a request takes it.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub matchers: Vec<Matcher>,
    pub upstream: String,
    pub logical_name: String,
    pub style: InvocationStyle,
    /// The function answers in API Gateway proxy format (status, headers, body).
    pub unwrap_as_api_gateway: bool,
    /// The function receives an API Gateway v2 (Function URL) event instead of the raw body.
    pub wrap_as_api_gateway: bool,
    /// No retry starts after this long; the request's deadline.
    pub timeout: Duration,
    pub retries: Retries,
    /// The request header (lower case) naming the tenant to invoke as (`X-Amz-Tenant-Id`).
    pub tenant_header: Option<String>,
    /// The classes retries may follow (Envoy's `retryOn`, by the status each is answered
    /// with); every class xinvoke's policy retries when `None`.
    pub retry_on: Option<Vec<crate::domain::class::Class>>,
    /// One attempt's time limit for this route (Gloo's `perTryTimeout`).
    pub per_try_timeout: Option<Duration>,
    /// The hosts this route answers (its virtual host's `domains`, lower-case); any when empty.
    pub domains: Vec<String>,
    /// The path the function is told (`rawPath` of a wrapped event).
    pub rewrite: Option<Rewrite>,
    pub headers: HeaderEdits,
    pub cors: Option<std::sync::Arc<Cors>>,
}

/// How a route rewrites the path before the function sees it.
#[derive(Debug, Clone)]
pub enum Rewrite {
    /// The matched prefix (or exact path) replaced by this.
    Prefix(String),
    /// Every match of `pattern` replaced by `substitution` (`$1`: the first group).
    Regex { pattern: Regex, substitution: String },
}

/// Headers a route adds and removes: on the request (what a wrapped event carries) and on the
/// answer.
#[derive(Debug, Clone, Default)]
pub struct HeaderEdits {
    /// Lower-case name, value, and whether to keep a value the request already has.
    pub request_add: Vec<(String, String, bool)>,
    pub request_remove: Vec<String>,
    pub response_add: Vec<(String, String, bool)>,
    pub response_remove: Vec<String>,
}

/// A route's CORS policy (Gloo's `CorsPolicy`, as Envoy's CORS filter applies it).
#[derive(Debug, Clone)]
pub struct Cors {
    /// Exact origins (`*` for any).
    pub origins: Vec<String>,
    pub origin_patterns: Vec<Regex>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub expose: Vec<String>,
    pub max_age: Option<String>,
    pub credentials: bool,
}

impl Cors {
    /// Whether a request from `origin` may read the answer.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == "*" || o == origin) || self.origin_patterns.iter().any(|p| p.is_match(origin))
    }
}

/// Sync waits for the function's answer; async queues the event (202).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationStyle {
    Sync,
    Async,
}

/// A route's retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retries {
    /// xinvoke's policy as configured (`XINVOKE_RETRY` or its defaults).
    Policy,
    /// One attempt.
    Off,
    /// The policy, with at most this many attempts.
    MaxAttempts(u32),
}

/// What a request must look like.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub path: PathMatch,
    /// Upper-case methods; empty matches any.
    pub methods: Vec<String>,
    pub headers: Vec<HeaderMatcher>,
    /// Query parameters that must be present (with a value or a pattern).
    pub query: Vec<QueryMatcher>,
    /// `false`: prefix and exact paths compared without case (Envoy's `case_sensitive`).
    pub case_sensitive: bool,
}

/// A query parameter that must be present, with a value or a pattern (matching the decoded
/// value whole).
#[derive(Debug, Clone)]
pub struct QueryMatcher {
    pub name: String,
    pub value: HeaderValueMatch,
}

#[derive(Debug, Clone)]
pub enum PathMatch {
    Prefix(String),
    Exact(String),
    /// Matches the whole path.
    Regex(Regex),
}

/// A header that must (or, inverted, must not) be present, with a value or a pattern.
#[derive(Debug, Clone)]
pub struct HeaderMatcher {
    /// Lower-case.
    pub name: String,
    pub value: HeaderValueMatch,
    pub invert: bool,
}

#[derive(Debug, Clone)]
pub enum HeaderValueMatch {
    Present,
    Exact(String),
    Regex(Regex),
}

/// The default route timeout (Gloo's default route timeout is 15 s; Lambda's sync invokes
/// run up to 15 minutes, so a route that needs more says so).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

impl Upstream {
    /// The ARN a logical name invokes, or `None` if the upstream has no such function.
    pub fn function_arn(&self, logical_name: &str) -> Option<FunctionArn> {
        let f = self.functions.iter().find(|f| f.logical_name == logical_name)?;
        Some(self.arn_of(&f.name, f.qualifier.clone()))
    }

    /// The ARN of `name` (`:qualifier`) in this upstream's account and region.
    pub fn arn_of(&self, name: &str, qualifier: Option<Qualifier>) -> FunctionArn {
        FunctionArn {
            partition: partition_of(&self.region).to_string(),
            region: self.region.clone(),
            account: self.account.clone(),
            name: name.to_string(),
            qualifier,
        }
    }
}

fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Logical name → function, for the functions discovery found (name, and `name:alias` per alias).
pub type Discovered = BTreeMap<String, LambdaFunction>;
