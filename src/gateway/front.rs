//! One request from route to answer, shared by the two fronts of the gateway: the HTTP server
//! (`xinvoke gateway`) and the invoker Lambda behind an HTTP API or a Function URL. A
//! [`Gateway`] holds a configuration, its router and its upstreams' services; [`Gateway::handle`]
//! picks the route, invokes its function (wrapping the request as an API Gateway event when
//! the route asks) and maps the record to the HTTP answer. What each front does around it
//! (reading the body, metrics, access logs, the proxy response) stays with the front.

use crate::core::invocation::InvocationType;
use crate::gateway::answer::{self, Answer, Request, Shape};
use crate::gateway::config::{GatewayConfig, InvocationStyle, DEFAULT_TIMEOUT};
use crate::gateway::routes::Router;
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
struct Target {
    route: String,
    upstream: String,
    logical: String,
    service: std::sync::Arc<Service>,
    style: InvocationStyle,
    wrap: bool,
    unwrap: bool,
    timeout: Duration,
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
        let trace_id = trace_id.or_else(|| {
            request
                .headers
                .iter()
                .find(|(name, _)| name == "x-amzn-trace-id")
                .map(|(_, value)| value.as_str())
        });
        let target = match self.target(request) {
            Ok(t) => t,
            Err(route) => {
                return Routed {
                    answer: answer::no_route(request.method, request.request_id),
                    route,
                    upstream: String::new(),
                    function: String::new(),
                    style: None,
                }
            }
        };
        let payload = match target.wrap {
            true => answer::api_gateway_event(request, &format!("{} {}", request.method, request.path))
                .to_string()
                .into_bytes(),
            false => request.body.to_vec(),
        };
        let route_deadline = Instant::now() + target.timeout;
        let deadline = deadline.map_or(route_deadline, |d| d.min(route_deadline));
        let asynchronous = target.style == InvocationStyle::Async;
        let call = Call {
            target: Some(target.logical.clone()),
            payload,
            invocation_type: Some(match asynchronous {
                true => InvocationType::Event,
                false => InvocationType::RequestResponse,
            }),
            ..Call::default()
        };
        let answer = match target.service.invoke_traced(call, Some(deadline), trace_id).await {
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
        Routed {
            answer,
            route: target.route,
            upstream: target.upstream,
            function: target.logical,
            style: Some(target.style),
        }
    }

    /// The route that takes `request` and its service, or a function discovery found under
    /// the path; else the name to log: the route whose function its upstream does not know,
    /// or `no_route`.
    fn target(&self, request: &Request<'_>) -> Result<Target, String> {
        let headers = header_map(request.headers);
        if let Some(route) = self.router.route(request.method, request.path, &headers) {
            let service = self.upstreams.service_for(route).ok_or_else(|| route.name.clone())?;
            return Ok(Target {
                service,
                route: route.name.clone(),
                upstream: route.upstream.clone(),
                logical: route.logical_name.clone(),
                style: route.style,
                wrap: route.wrap_as_api_gateway,
                unwrap: route.unwrap_as_api_gateway,
                timeout: route.timeout,
            });
        }
        let (upstream, service, logical) = self
            .upstreams
            .discovered(request.path)
            .ok_or_else(|| "no_route".to_string())?;
        Ok(Target {
            route: format!("discovered:{upstream}"),
            upstream,
            logical,
            service,
            style: InvocationStyle::Sync,
            wrap: false,
            unwrap: false,
            timeout: DEFAULT_TIMEOUT,
        })
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
