//! Gloo Edge's resources (`gloo.solo.io/v1` Upstream, `gateway.solo.io/v1` VirtualService),
//! honoured or refused by name. A Gloo user migrating a route must never get a wider one: every
//! field of a document is either honoured (the [`UPSTREAM`] and [`VIRTUAL_SERVICE`] schemas
//! below), changes nothing about who can reach what (metadata, status, `displayName`: accepted
//! and ignored), or refused at load, naming the field and the resource, because the route would
//! be served without it (extauth, rate limits, WAF, JWT, transformations, `unwrapAsAlb`,
//! `destinationOverrides`, TLS settings, and anything else xinvoke does not know). The field
//! lists follow Gloo's protos (`projects/gloo/api/v1/options/aws/aws.proto`,
//! `core/matchers/matchers.proto`, `route_options.proto`, `virtual_host_options.proto`,
//! `projects/gateway/api/v1/virtual_service.proto`).

use crate::gateway::config::file::{
    CorsSpec, FunctionSpec, HeaderManipulationSpec, HeaderSpec, MatcherSpec, QuerySpec, RegexRewriteSpec, RetriesSpec,
    RouteSpec, SecretRef, UpstreamSpec,
};
use serde::Deserialize;
use serde_json::Value;

/// A field as xinvoke reads it.
#[derive(Clone, Copy)]
enum Field {
    /// Honoured: its value is read (and its type checked) when the resource is.
    Read,
    /// Accepted and ignored: it changes nothing about who can reach what.
    Ignored,
    /// An object of these fields.
    Object(&'static [(&'static str, Field)]),
    /// A list of objects of these fields.
    List(&'static [(&'static str, Field)]),
}

use Field::{Ignored, List, Object, Read};

const REF: &[(&str, Field)] = &[("name", Read), ("namespace", Ignored)];
const HEADER_MATCHER: &[(&str, Field)] = &[("name", Read), ("value", Read), ("regex", Read), ("invertMatch", Read)];
const QUERY_MATCHER: &[(&str, Field)] = &[("name", Read), ("value", Read), ("regex", Read)];
const MATCHER: &[(&str, Field)] = &[
    ("prefix", Read),
    ("exact", Read),
    ("regex", Read),
    ("caseSensitive", Read),
    ("methods", Read),
    ("headers", List(HEADER_MATCHER)),
    ("queryParameters", List(QUERY_MATCHER)),
];
const HEADER_VALUE_OPTION: &[(&str, Field)] =
    &[("header", Object(&[("key", Read), ("value", Read)])), ("append", Read)];
const HEADER_MANIPULATION: &[(&str, Field)] = &[
    ("requestHeadersToAdd", List(HEADER_VALUE_OPTION)),
    ("requestHeadersToRemove", Read),
    ("responseHeadersToAdd", List(HEADER_VALUE_OPTION)),
    ("responseHeadersToRemove", Read),
];
const CORS: &[(&str, Field)] = &[
    ("allowOrigin", Read),
    ("allowOriginRegex", Read),
    ("allowMethods", Read),
    ("allowHeaders", Read),
    ("exposeHeaders", Read),
    ("maxAge", Read),
    ("allowCredentials", Read),
    ("disableForRoute", Read),
];
const RETRIES: &[(&str, Field)] = &[
    ("retryOn", Read),
    ("numRetries", Read),
    ("perTryTimeout", Read),
    ("retriableStatusCodes", Read),
];
const ROUTE_OPTIONS: &[(&str, Field)] = &[
    ("timeout", Read),
    ("retries", Object(RETRIES)),
    ("prefixRewrite", Read),
    (
        "regexRewrite",
        Object(&[("pattern", Object(&[("regex", Read)])), ("substitution", Read)]),
    ),
    ("headerManipulation", Object(HEADER_MANIPULATION)),
    ("cors", Object(CORS)),
];
const VIRTUAL_HOST_OPTIONS: &[(&str, Field)] = &[
    ("retries", Object(RETRIES)),
    ("headerManipulation", Object(HEADER_MANIPULATION)),
    ("cors", Object(CORS)),
];
const AWS_DESTINATION: &[(&str, Field)] = &[
    ("logicalName", Read),
    ("invocationStyle", Read),
    ("unwrapAsApiGateway", Read),
    ("wrapAsApiGateway", Read),
];
const ROUTE: &[(&str, Field)] = &[
    ("name", Read),
    ("matchers", List(MATCHER)),
    (
        "routeAction",
        Object(&[(
            "single",
            Object(&[
                ("upstream", Object(REF)),
                ("destinationSpec", Object(&[("aws", Object(AWS_DESTINATION))])),
            ]),
        )]),
    ),
    ("options", Object(ROUTE_OPTIONS)),
];
const RESOURCE: [(&str, Field); 4] = [
    ("apiVersion", Ignored),
    ("kind", Ignored),
    ("metadata", Ignored),
    ("status", Ignored),
];
/// A `VirtualService`, as xinvoke reads it.
const VIRTUAL_SERVICE: &[(&str, Field)] = &[
    RESOURCE[0],
    RESOURCE[1],
    RESOURCE[2],
    RESOURCE[3],
    (
        "spec",
        Object(&[
            (
                "virtualHost",
                Object(&[
                    ("domains", Read),
                    ("routes", List(ROUTE)),
                    ("options", Object(VIRTUAL_HOST_OPTIONS)),
                ]),
            ),
            ("displayName", Ignored),
            ("namespacedStatuses", Ignored),
        ]),
    ),
];
/// An `Upstream`, as xinvoke reads it.
const UPSTREAM: &[(&str, Field)] = &[
    RESOURCE[0],
    RESOURCE[1],
    RESOURCE[2],
    RESOURCE[3],
    (
        "spec",
        Object(&[
            (
                "aws",
                Object(&[
                    ("region", Read),
                    ("secretRef", Object(REF)),
                    (
                        "lambdaFunctions",
                        List(&[("logicalName", Read), ("lambdaFunctionName", Read), ("qualifier", Read)]),
                    ),
                    ("roleArn", Read),
                    ("awsAccountId", Read),
                ]),
            ),
            ("discoveryMetadata", Ignored),
            ("namespacedStatuses", Ignored),
        ]),
    ),
];

/// The first field of `doc` that xinvoke neither honours nor may ignore, as its path
/// (`spec.virtualHost.options.extauth`).
fn unsupported(doc: &Value, schema: &[(&str, Field)]) -> Option<String> {
    fn walk(v: &Value, fields: &[(&str, Field)], at: &str) -> Option<String> {
        let Value::Object(map) = v else { return None };
        for (key, value) in map {
            let here = match at.is_empty() {
                true => key.clone(),
                false => format!("{at}.{key}"),
            };
            let Some((_, field)) = fields.iter().find(|(name, _)| name == key) else {
                // Written but not set (`unwrapAsAlb: false`, `extauth: {}`): nothing to honour.
                if unset(value) {
                    continue;
                }
                return Some(here);
            };
            let found = match (field, value) {
                (Object(inner), v) => walk(v, inner, &here),
                (List(inner), Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| walk(item, inner, &format!("{here}[{i}]"))),
                _ => None,
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
    walk(doc, schema, "")
}

/// A value that sets nothing: null, false, 0, empty.
fn unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Why a resource cannot be loaded as written.
pub struct Refused {
    pub field: String,
    pub problem: String,
    pub fix: &'static str,
}

/// Refuse a document with a field that is neither honoured nor harmless.
pub fn refuse_unsupported(doc: &Value, kind: &str) -> Result<(), Refused> {
    let (schema, what) = match kind {
        "Upstream" => (UPSTREAM, "upstream"),
        _ => (VIRTUAL_SERVICE, "route"),
    };
    let Some(field) = unsupported(doc, schema) else {
        return Ok(());
    };
    let name = doc["metadata"]["name"].as_str().unwrap_or("(no name)");
    let last = field.rsplit('.').next().unwrap_or(&field).to_string();
    Err(Refused {
        problem: format!("{last} is not supported: this {what} would be served without it ({kind} {name:?})"),
        field,
        fix: "remove the field and guard the route another way, or keep serving it with Gloo (docs/gateway.md lists what xinvoke honours)",
    })
}

#[derive(Debug, Deserialize)]
pub struct Upstream {
    pub metadata: Metadata,
    pub spec: UpstreamBody,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct UpstreamBody {
    pub aws: Aws,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Aws {
    pub region: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub aws_account_id: Option<crate::gateway::config::file::AccountId>,
    #[serde(default)]
    pub secret_ref: Option<SecretRef>,
    #[serde(default)]
    pub lambda_functions: Vec<FunctionSpec>,
}

impl Upstream {
    pub fn into_file(self, at: &str) -> (String, UpstreamSpec) {
        let a = self.spec.aws;
        (
            at.to_string(),
            UpstreamSpec {
                name: self.metadata.name,
                region: a.region,
                role_arn: a.role_arn,
                external_id: None,
                session_name: None,
                aws_account_id: a.aws_account_id,
                secret_ref: a.secret_ref,
                profile: None,
                lambda_functions: a.lambda_functions,
                discovery: None,
                gloo: true,
            },
        )
    }
}

#[derive(Debug, Deserialize)]
pub struct VirtualService {
    pub spec: VsBody,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsBody {
    pub virtual_host: VirtualHost,
}

#[derive(Debug, Deserialize)]
pub struct VirtualHost {
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub routes: Vec<GlooRoute>,
    #[serde(default)]
    pub options: Option<Options>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlooRoute {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub matchers: Vec<GlooMatcher>,
    pub route_action: RouteAction,
    #[serde(default)]
    pub options: Option<Options>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlooMatcher {
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub exact: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub case_sensitive: Option<bool>,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub headers: Vec<HeaderSpec>,
    #[serde(default)]
    pub query_parameters: Vec<QuerySpec>,
}

#[derive(Debug, Deserialize)]
pub struct RouteAction {
    pub single: Single,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Single {
    pub upstream: Ref,
    pub destination_spec: DestinationSpec,
}

#[derive(Debug, Deserialize)]
pub struct Ref {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct DestinationSpec {
    pub aws: AwsDestination,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsDestination {
    pub logical_name: String,
    #[serde(default)]
    pub invocation_style: Option<String>,
    #[serde(default)]
    pub unwrap_as_api_gateway: bool,
    #[serde(default)]
    pub wrap_as_api_gateway: bool,
}

/// A route's or a virtual host's options (a virtual host has no timeout nor rewrites; the
/// schema above refuses them there).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub retries: Option<GlooRetries>,
    #[serde(default)]
    pub prefix_rewrite: Option<String>,
    #[serde(default)]
    pub regex_rewrite: Option<RegexRewriteSpec>,
    #[serde(default)]
    pub header_manipulation: Option<HeaderManipulationSpec>,
    #[serde(default)]
    pub cors: Option<CorsSpec>,
}

/// Gloo's `RetryPolicy` (Envoy's, per route).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlooRetries {
    #[serde(default)]
    pub retry_on: Option<String>,
    #[serde(default)]
    pub num_retries: Option<u32>,
    #[serde(default)]
    pub per_try_timeout: Option<String>,
    #[serde(default)]
    pub retriable_status_codes: Vec<u16>,
}

impl VirtualService {
    /// The virtual host's routes in xinvoke's spelling, each with the host's domains, and its
    /// options where the route sets none (a route's CORS policy and retries replace the host's;
    /// header edits apply the host's, then the route's).
    pub fn into_routes(self, at: &dyn Fn(String) -> String) -> Vec<(String, RouteSpec)> {
        let host = self.spec.virtual_host;
        let host_options = host.options.unwrap_or_default();
        let domains = host.domains;
        host.routes
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let d = r.route_action.single.destination_spec.aws;
                let options = r.options.unwrap_or_default();
                let retries = options.retries.or_else(|| host_options.retries.clone());
                let headers = match (host_options.header_manipulation.clone(), options.header_manipulation) {
                    (Some(h), Some(r)) => Some(h.and_then(r)),
                    (h, r) => r.or(h),
                };
                (
                    at(format!("spec.virtualHost.routes[{i}]")),
                    RouteSpec {
                        name: r.name,
                        matchers: r
                            .matchers
                            .into_iter()
                            .map(|m| MatcherSpec {
                                prefix: m.prefix,
                                exact: m.exact,
                                regex: m.regex,
                                methods: m.methods,
                                headers: m.headers,
                                case_sensitive: m.case_sensitive,
                                query_parameters: m.query_parameters,
                            })
                            .collect(),
                        upstream: r.route_action.single.upstream.name,
                        logical_name: d.logical_name,
                        invocation_style: d.invocation_style,
                        unwrap_as_api_gateway: d.unwrap_as_api_gateway,
                        wrap_as_api_gateway: d.wrap_as_api_gateway,
                        timeout: options.timeout,
                        // Envoy retries once when a policy gives no number.
                        retries: retries
                            .as_ref()
                            .map(|r| RetriesSpec::Attempts(r.num_retries.unwrap_or(1) + 1)),
                        retry_on: retries.as_ref().and_then(|r| r.retry_on.clone()),
                        retriable_status_codes: retries
                            .as_ref()
                            .map(|r| r.retriable_status_codes.clone())
                            .unwrap_or_default(),
                        per_try_timeout: retries.and_then(|r| r.per_try_timeout),
                        domains: domains.clone(),
                        prefix_rewrite: options.prefix_rewrite,
                        regex_rewrite: options.regex_rewrite,
                        header_manipulation: headers,
                        cors: options.cors.or_else(|| host_options.cors.clone()),
                        tenant_header: None,
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn every_field_is_honoured_ignored_or_named() {
        let vs = yaml(
            "kind: VirtualService\nmetadata: {name: r, labels: {a: b}, annotations: {x: y}}\nspec:\n  displayName: shown\n  virtualHost:\n    domains: ['*']\n    options: {cors: {allowOrigin: [a]}}\n    routes:\n    - matchers: [{prefix: /, queryParameters: [{name: q}]}]\n      routeAction: {single: {upstream: {name: u, namespace: n}, destinationSpec: {aws: {logicalName: f}}}}\n      options: {retries: {retryOn: 5xx, numRetries: 2}}\n",
        );
        assert!(unsupported(&vs, VIRTUAL_SERVICE).is_none());
        for (field, path) in [
            ("extauth", "spec.virtualHost.options.extauth"),
            ("ratelimitBasic", "spec.virtualHost.options.ratelimitBasic"),
            ("waf", "spec.virtualHost.options.waf"),
            ("jwt", "spec.virtualHost.options.jwt"),
            ("transformations", "spec.virtualHost.options.transformations"),
        ] {
            let mut v = vs.clone();
            v["spec"]["virtualHost"]["options"][field] = Value::Bool(true);
            assert_eq!(unsupported(&v, VIRTUAL_SERVICE).as_deref(), Some(path));
        }
        let mut v = vs.clone();
        v["spec"]["virtualHost"]["routes"][0]["routeAction"]["single"]["destinationSpec"]["aws"]["unwrapAsAlb"] =
            Value::Bool(true);
        assert_eq!(
            unsupported(&v, VIRTUAL_SERVICE).as_deref(),
            Some("spec.virtualHost.routes[0].routeAction.single.destinationSpec.aws.unwrapAsAlb")
        );
        let mut v = vs.clone();
        v["spec"]["virtualHost"]["routes"][0]["routeAction"]["single"]["destinationSpec"]["aws"]["unwrapAsAlb"] =
            Value::Bool(false);
        v["spec"]["virtualHost"]["options"]["extauth"] = serde_json::json!({});
        assert!(unsupported(&v, VIRTUAL_SERVICE).is_none(), "written but not set");
        let up = yaml("kind: Upstream\nmetadata: {name: u}\nspec:\n  aws: {region: us-east-1, roleArn: r, destinationOverrides: {logicalName: x}}\n");
        assert_eq!(
            unsupported(&up, UPSTREAM).as_deref(),
            Some("spec.aws.destinationOverrides")
        );
    }
}
