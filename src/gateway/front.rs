//! One request from route to answer, shared by the two fronts of the gateway: the HTTP server
//! (`xinvoke gateway`) and the invoker Lambda behind an HTTP API or a Function URL. A
//! [`Gateway`] holds a configuration, its router and its upstreams' services; [`Gateway::handle`]
//! picks the route, invokes its function (wrapping the request as an API Gateway event when
//! the route asks) and maps the record to the HTTP answer. What each front does around it
//! (reading the body, metrics, access logs, the proxy response) stays with the front.

use crate::domain::invocation::{InvocationType, TenantId};
use crate::gateway::answer::{self, Answer, Request, Shape};
use crate::gateway::config::{Cors, GatewayConfig, InvocationStyle, PathMatch, Rewrite, Route};
use crate::gateway::routes::{RouteRequest, Router};
use crate::gateway::upstreams::{UpstreamError, Upstreams};
use crate::invoke::service::{Call, Service};
use aws_config::SdkConfig;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;
use tokio::time::Instant;

/// The routes in service: a configuration, its router and its upstreams' services.
pub struct Gateway {
    config: GatewayConfig,
    router: Router,
    upstreams: Upstreams,
}

/// The answer to one request, and what took it (for access logs and metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub answer: Answer,
    /// The route's name; `no_route` when none took the request; `discovered:UPSTREAM` for a
    /// function found by discovery.
    pub route: String,
    /// The upstream; empty when nothing was invoked.
    pub upstream: String,
    /// The logical name of the function invoked; empty when nothing was invoked.
    pub function: String,
    /// How it was invoked; `None` when nothing was.
    pub style: Option<InvocationStyle>,
}

/// What a matched request invokes, and how.
struct Target<'a> {
    /// The configured route; `None` for a function discovery found.
    route: Option<&'a Route>,
    route_name: String,
    upstream: String,
    logical: String,
    service: std::sync::Arc<Service>,
    style: InvocationStyle,
    wrap: bool,
    unwrap: bool,
    timeout: Duration,
    /// The path the function is told (after the route's rewrite).
    path: String,
}

impl Gateway {
    /// Build every upstream's clients for `config` (no AWS call is made here). `env` gives the
    /// retry policy and timeouts; `base`, when given, is every upstream's AWS configuration in
    /// place of the standard chain and the upstreams' profiles.
    pub async fn build(
        config: GatewayConfig,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
        base: Option<&SdkConfig>,
    ) -> Result<Gateway, UpstreamError> {
        let upstreams = Upstreams::build(&config, env, base).await?;
        Ok(Gateway {
            router: Router::new(&config),
            config,
            upstreams,
        })
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    pub fn upstreams(&self) -> &Upstreams {
        &self.upstreams
    }

    /// Route `request`, invoke its function and answer. No retry starts after the route's
    /// timeout, nor after `deadline` when one is given (the invoker Lambda's own). The invoke
    /// joins the request's trace (its `X-Amzn-Trace-Id`).
    pub async fn handle(&self, request: &Request<'_>, deadline: Option<Instant>) -> Routed {
        self.handle_traced(request, deadline, None).await
    }

    /// [`Gateway::handle`] in the trace `trace_id` (the invoker Lambda's), else the request's.
    pub async fn handle_traced(
        &self,
        request: &Request<'_>,
        deadline: Option<Instant>,
        trace_id: Option<&str>,
    ) -> Routed {
        let header = |name: &str| request.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let trace_id = trace_id.or_else(|| header("x-amzn-trace-id"));
        let headers = header_map(request.headers);
        let query: Vec<(String, String)> = form_urlencoded::parse(request.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut route_request = RouteRequest {
            method: request.method,
            path: request.path,
            host: header("host").unwrap_or_default(),
            query: &query,
            headers: &headers,
        };
        let origin = header("origin");
        // A CORS preflight asks about the method it names: the route that would take that
        // method answers it from its policy, and nothing is invoked (Envoy's CORS filter).
        if let (true, Some(origin), Some(asked)) = (
            request.method == "OPTIONS",
            origin,
            header("access-control-request-method"),
        ) {
            let preflight = RouteRequest {
                method: asked,
                ..route_request
            };
            if let Some((route, _)) = self.router.route(&preflight) {
                if let Some(cors) = &route.cors {
                    return Routed {
                        answer: answer::preflight(cors_preflight_headers(cors, origin), request.request_id),
                        route: route.name.clone(),
                        upstream: String::new(),
                        function: String::new(),
                        style: None,
                    };
                }
            }
        }
        route_request.method = request.method;
        let target = match self.target(&route_request) {
            Ok(t) => t,
            Err(none) => {
                return Routed {
                    answer: answer::no_route(request.method, request.request_id),
                    route: none.to_string(),
                    upstream: String::new(),
                    function: String::new(),
                    style: None,
                }
            }
        };
        let payload = match target.wrap {
            true => {
                let edited;
                let headers = match target.route {
                    Some(r) if !r.headers.request_add.is_empty() || !r.headers.request_remove.is_empty() => {
                        edited = edit_headers(
                            request.headers.to_vec(),
                            &r.headers.request_add,
                            &r.headers.request_remove,
                        );
                        &edited
                    }
                    _ => request.headers,
                };
                let seen = Request {
                    path: &target.path,
                    headers,
                    ..*request
                };
                answer::api_gateway_event(&seen, &format!("{} {}", request.method, request.path))
                    .to_string()
                    .into_bytes()
            }
            false => request.body.to_vec(),
        };
        let route_deadline = Instant::now() + target.timeout;
        let deadline = deadline.map_or(route_deadline, |d| d.min(route_deadline));
        let asynchronous = target.style == InvocationStyle::Async;
        let tenant = match tenant_of(request, target.route.and_then(|r| r.tenant_header.as_deref())) {
            Ok(t) => t,
            Err(answer) => {
                return Routed {
                    answer,
                    route: target.route_name,
                    upstream: target.upstream,
                    function: target.logical,
                    style: None,
                }
            }
        };
        let call = Call {
            target: Some(target.logical.clone()),
            payload,
            invocation_type: Some(match asynchronous {
                true => InvocationType::Event,
                false => InvocationType::RequestResponse,
            }),
            tenant_id: tenant,
            // The request id is the key the function can drop a repeat by.
            key: crate::domain::delivery::IdempotencyKey::new(request.request_id),
            ..Call::default()
        };
        let mut answer = match target.service.invoke_traced(call, Some(deadline), trace_id).await {
            Ok(record) => answer::answer(
                &record,
                Shape {
                    asynchronous,
                    unwrap_as_api_gateway: target.unwrap,
                },
                request.request_id,
            ),
            // The upstream no longer knows the name (discovery replaced its services).
            Err(_) => answer::no_route(request.method, request.request_id),
        };
        if let Some(route) = target.route {
            if !route.headers.response_add.is_empty() || !route.headers.response_remove.is_empty() {
                answer.headers = edit_headers(
                    std::mem::take(&mut answer.headers),
                    &route.headers.response_add,
                    &route.headers.response_remove,
                );
            }
            if let (Some(cors), Some(origin)) = (&route.cors, origin) {
                cors_answer_headers(&mut answer.headers, cors, origin);
            }
        }
        Routed {
            answer,
            route: target.route_name,
            upstream: target.upstream,
            function: target.logical,
            style: Some(target.style),
        }
    }

    /// The route that takes `request` and its service, or a function discovery found under
    /// the path; else why none does.
    fn target(&self, request: &RouteRequest<'_>) -> Result<Target<'_>, NoTarget> {
        if let Some((route, matcher)) = self.router.route(request) {
            let service = self
                .upstreams
                .service_for(route)
                .ok_or_else(|| NoTarget::UnknownFunction {
                    route: route.name.clone(),
                })?;
            return Ok(Target {
                service,
                route: Some(route),
                route_name: route.name.clone(),
                upstream: route.upstream.clone(),
                logical: route.logical_name.clone(),
                style: route.style,
                wrap: route.wrap_as_api_gateway,
                unwrap: route.unwrap_as_api_gateway,
                timeout: route.timeout,
                path: rewritten(request.path, route.rewrite.as_ref(), &matcher.path),
            });
        }
        let (upstream, service, logical) = self.upstreams.discovered(request.path).ok_or(NoTarget::NoRoute)?;
        let options = self.upstreams.discovered_options(&upstream);
        Ok(Target {
            route: None,
            route_name: format!("discovered:{upstream}"),
            upstream,
            logical,
            service,
            style: options.style,
            wrap: options.wrap_as_api_gateway,
            unwrap: options.unwrap_as_api_gateway,
            timeout: options.timeout,
            path: request.path.to_string(),
        })
    }
}

/// Why no function takes a request; shown as the route the access log and metrics name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NoTarget {
    /// A route took the request, but its upstream does not know the route's function.
    #[error("{route}")]
    UnknownFunction { route: String },
    /// No route took it, and discovery found no function under the path.
    #[error("no_route")]
    NoRoute,
}

/// One WARN per role upstream assumed without an external id: both fronts say it once, at start.
pub(crate) fn warn_without_external_id(config: &GatewayConfig) {
    for u in config.upstreams.iter().filter(|u| u.assumes_without_external_id()) {
        tracing::warn!(target: "xinvoke::gateway", upstream = %u.name, "{}", crate::gateway::config::NO_EXTERNAL_ID_NOTE);
    }
}

/// The path the function is told: the route's rewrite of the matched prefix (or exact path),
/// or of every match of its pattern (Envoy's `prefix_rewrite` and `regex_rewrite`).
fn rewritten(path: &str, rewrite: Option<&Rewrite>, matched: &PathMatch) -> String {
    match (rewrite, matched) {
        (None, _) => path.to_string(),
        (Some(Rewrite::Prefix(to)), PathMatch::Prefix(p)) => format!("{to}{}", path.get(p.len()..).unwrap_or_default()),
        (Some(Rewrite::Prefix(to)), _) => to.clone(),
        (Some(Rewrite::Regex { pattern, substitution }), _) => {
            pattern.replace_all(path, substitution.as_str()).into_owned()
        }
    }
}

/// `headers` with `remove` taken out, then `add` applied: appended, or replacing the values
/// of that name when the addition does not append.
fn edit_headers(
    mut headers: Vec<(String, String)>,
    add: &[(String, String, bool)],
    remove: &[String],
) -> Vec<(String, String)> {
    headers.retain(|(k, _)| !remove.contains(k));
    for (name, value, append) in add {
        if !append {
            headers.retain(|(k, _)| k != name);
        }
        headers.push((name.clone(), value.clone()));
    }
    headers
}

/// A preflight's answer headers: the policy's, when it allows `origin`; none otherwise (the
/// browser then refuses the request).
fn cors_preflight_headers(cors: &Cors, origin: &str) -> Vec<(String, String)> {
    if !cors.allows(origin) {
        return Vec::new();
    }
    let mut h = vec![("access-control-allow-origin".to_string(), origin.to_string())];
    let mut list = |name: &str, values: &[String]| {
        if !values.is_empty() {
            h.push((name.to_string(), values.join(",")));
        }
    };
    list("access-control-allow-methods", &cors.methods);
    list("access-control-allow-headers", &cors.headers);
    if let Some(age) = &cors.max_age {
        h.push(("access-control-max-age".into(), age.clone()));
    }
    if cors.credentials {
        h.push(("access-control-allow-credentials".into(), "true".into()));
    }
    h
}

/// An answer's CORS headers, the policy's in place of any the function wrote, when it allows
/// `origin`.
fn cors_answer_headers(headers: &mut Vec<(String, String)>, cors: &Cors, origin: &str) {
    headers.retain(|(k, _)| !k.starts_with("access-control-"));
    if !cors.allows(origin) {
        return;
    }
    headers.push(("access-control-allow-origin".into(), origin.to_string()));
    if cors.credentials {
        headers.push(("access-control-allow-credentials".into(), "true".into()));
    }
    if !cors.expose.is_empty() {
        headers.push(("access-control-expose-headers".into(), cors.expose.join(",")));
    }
}

/// The tenant a route's `tenantHeader` names in the request: none without the setting; a
/// 400 `invalid_request` answer naming the header when it is missing or not a tenant id (Lambda
/// would refuse the invoke anyway; this says which header to fix).
fn tenant_of(request: &Request<'_>, header: Option<&str>) -> Result<Option<TenantId>, Answer> {
    let Some(name) = header else { return Ok(None) };
    let value = request.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match value.map(str::parse::<TenantId>) {
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(e)) => Err(answer::bad_request(&format!("header {name}: {e}"), request.request_id)),
        None => Err(answer::bad_request(
            &format!("this route invokes a tenant-isolated function: send the tenant id in the {name} header"),
            request.request_id,
        )),
    }
}

/// The request's headers for the router's header matchers; a pair that is not a valid header
/// is left out (it could match nothing).
fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            map.append(k, v);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_tell_the_function_the_path_envoy_would_send() {
        let prefix = Rewrite::Prefix("/v1/".into());
        assert_eq!(
            rewritten("/api/orders", Some(&prefix), &PathMatch::Prefix("/api/".into())),
            "/v1/orders"
        );
        assert_eq!(
            rewritten("/exact", Some(&prefix), &PathMatch::Exact("/exact".into())),
            "/v1/"
        );
        let config = crate::gateway::config::GatewayConfig::parse(
            "upstreams: [{name: a, region: us-east-1, awsAccountId: \"222222222222\", lambdaFunctions: [{lambdaFunctionName: f}]}]\nroutes: [{upstream: a, logicalName: f, regexRewrite: {pattern: {regex: '^/users/([0-9]+)/(x|y)$'}, substitution: '/u/\\1?k=\\2&cost=$5'}}]\n",
            crate::gateway::config::Format::Yaml,
            "t.yaml",
            |_| None,
        )
        .unwrap();
        let route = &config.routes[0];
        assert_eq!(
            rewritten("/users/42/y", route.rewrite.as_ref(), &route.matchers[0].path),
            "/u/42?k=y&cost=$5",
            "Envoy's \\N groups; a $ is itself"
        );
        assert_eq!(
            rewritten("/other", route.rewrite.as_ref(), &route.matchers[0].path),
            "/other"
        );
    }

    #[test]
    fn header_edits_remove_then_add_or_replace() {
        let edited = edit_headers(
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("c".into(), "3".into()),
            ],
            &[("a".into(), "new".into(), false), ("c".into(), "more".into(), true)],
            &["b".to_string()],
        );
        assert_eq!(
            edited,
            vec![
                ("c".to_string(), "3".to_string()),
                ("a".to_string(), "new".to_string()),
                ("c".to_string(), "more".to_string())
            ]
        );
    }

    #[test]
    fn headers_become_a_map_without_the_pairs_no_header_could_hold() {
        let pairs = vec![
            ("x-tenant".to_string(), "t1".to_string()),
            ("x-tenant".to_string(), "t2".to_string()),
            ("bad name".to_string(), "v".to_string()),
            ("x-ok".to_string(), "line\nbreak".to_string()),
        ];
        let map = header_map(&pairs);
        assert_eq!(map.get_all("x-tenant").iter().count(), 2);
        assert_eq!(map.len(), 2, "{map:?}");
    }
}
