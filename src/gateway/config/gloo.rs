//! Gloo Edge's resources (`gloo.solo.io/v1` Upstream, `gateway.solo.io/v1` VirtualService),
//! the fields the gateway uses; others (labels, status, ...) are ignored as Gloo's own
//! controllers would not reject them either.

use super::file::{FunctionSpec, HeaderSpec, MatcherSpec, RouteSpec, SecretRef, UpstreamSpec};
use serde::Deserialize;

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
    pub aws_account_id: Option<super::file::AccountId>,
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
    pub routes: Vec<GlooRoute>,
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
    pub options: Option<RouteOptions>,
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
    pub methods: Vec<String>,
    #[serde(default)]
    pub headers: Vec<HeaderSpec>,
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteOptions {
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub retries: Option<GlooRetries>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlooRetries {
    #[serde(default)]
    pub num_retries: Option<u32>,
}

impl VirtualService {
    pub fn into_routes(self, at: &dyn Fn(String) -> String) -> Vec<(String, RouteSpec)> {
        self.spec
            .virtual_host
            .routes
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let d = r.route_action.single.destination_spec.aws;
                let options = r.options.unwrap_or(RouteOptions {
                    timeout: None,
                    retries: None,
                });
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
                            })
                            .collect(),
                        upstream: r.route_action.single.upstream.name,
                        logical_name: d.logical_name,
                        invocation_style: d.invocation_style,
                        unwrap_as_api_gateway: d.unwrap_as_api_gateway,
                        wrap_as_api_gateway: d.wrap_as_api_gateway,
                        timeout: options.timeout,
                        retries: options
                            .retries
                            .and_then(|r| r.num_retries)
                            .map(|n| super::file::RetriesSpec::Attempts(n + 1)),
                        tenant_header: None,
                    },
                )
            })
            .collect()
    }
}
