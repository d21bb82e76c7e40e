//! Which route takes a request, as Envoy (and so Gloo) picks one: first the virtual host whose
//! domains match the request's `Host` most specifically (an exact host, then the longest
//! `*.suffix`, then the longest `prefix.*`, then `*`; a host with a port is matched whole or
//! without it), then the first of its routes, in file order, one of whose matchers accepts the
//! method, path (without case when the matcher says so), headers and query parameters. Pure.

use crate::gateway::config::{GatewayConfig, HeaderValueMatch, Matcher, PathMatch, Route};
use http::HeaderMap;

/// The routes of one configuration, grouped by virtual host.
#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<Route>,
    /// Each virtual host's domains (`*` for routes that name none) and its routes, in order.
    hosts: Vec<(Vec<String>, Vec<usize>)>,
}

/// What the router reads of a request.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The `Host` header (or HTTP/2's `:authority`); empty when the request has none.
    pub host: &'a str,
    /// Decoded query parameters, in order.
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
}

impl Router {
    pub fn new(config: &GatewayConfig) -> Router {
        let mut hosts: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
        for (i, r) in config.routes.iter().enumerate() {
            let domains = match r.domains.is_empty() {
                true => vec!["*".to_string()],
                false => r.domains.clone(),
            };
            match hosts.iter_mut().find(|(d, _)| *d == domains) {
                Some((_, routes)) => routes.push(i),
                None => hosts.push((domains, vec![i])),
            }
        }
        Router {
            routes: config.routes.clone(),
            hosts,
        }
    }

    /// The route that takes the request, and the matcher that accepted it.
    pub fn route(&self, req: &RouteRequest<'_>) -> Option<(&Route, &Matcher)> {
        let (_, routes) = self.host(req.host)?;
        routes
            .iter()
            .map(|i| &self.routes[*i])
            .find_map(|r| r.matchers.iter().find(|m| matches(m, req)).map(|m| (r, m)))
    }

    /// The virtual host serving `host`: the most specific domain match, the host taken whole or
    /// without its port.
    fn host(&self, host: &str) -> Option<&(Vec<String>, Vec<usize>)> {
        let host = host.to_ascii_lowercase();
        let bare = match host.rsplit_once(':') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host.as_str(),
        };
        self.hosts
            .iter()
            .filter_map(|vh| {
                vh.0.iter()
                    .filter_map(|d| specificity(d, &host).max(specificity(d, bare)))
                    .max()
                    .map(|s| (s, vh))
            })
            .max_by_key(|(s, _)| *s)
            .map(|(_, vh)| vh)
    }
}

/// How specifically `domain` matches `host` (higher wins), as Envoy orders them: exact, then
/// suffix wildcards, then prefix wildcards (the longer the better), then `*`.
fn specificity(domain: &str, host: &str) -> Option<(u8, usize)> {
    if domain == host {
        return Some((3, domain.len()));
    }
    if domain == "*" {
        return Some((0, 0));
    }
    if let Some(suffix) = domain.strip_prefix('*') {
        return (host.len() > suffix.len() && host.ends_with(suffix)).then_some((2, suffix.len()));
    }
    if let Some(prefix) = domain.strip_suffix('*') {
        return (host.len() > prefix.len() && host.starts_with(prefix)).then_some((1, prefix.len()));
    }
    None
}

fn value_matches(want: &HeaderValueMatch, v: &str) -> bool {
    match want {
        HeaderValueMatch::Present => true,
        HeaderValueMatch::Exact(want) => v == want,
        HeaderValueMatch::Regex(r) => r.is_match(v),
    }
}

fn matches(m: &Matcher, req: &RouteRequest<'_>) -> bool {
    let lower;
    let path = match m.case_sensitive {
        true => req.path,
        false => {
            lower = req.path.to_ascii_lowercase();
            &lower
        }
    };
    let path_ok = match &m.path {
        PathMatch::Prefix(p) => path.starts_with(p.as_str()),
        PathMatch::Exact(p) => path == p,
        PathMatch::Regex(r) => r.is_match(req.path),
    };
    path_ok
        && (m.methods.is_empty() || m.methods.iter().any(|x| x == req.method))
        && m.headers.iter().all(|h| {
            let found = req
                .headers
                .get_all(h.name.as_str())
                .iter()
                .any(|v| value_matches(&h.value, v.to_str().unwrap_or_default()));
            found != h.invert
        })
        && m.query.iter().all(|q| {
            req.query
                .iter()
                .any(|(k, v)| *k == q.name && value_matches(&q.value, v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::config::Format;

    fn router(routes: &str) -> Router {
        let text = format!(
            "upstreams:\n- name: a\n  region: us-east-1\n  awsAccountId: \"222222222222\"\n  lambdaFunctions:\n  - lambdaFunctionName: f\n  - lambdaFunctionName: g\nroutes:\n{routes}"
        );
        Router::new(&GatewayConfig::parse(&text, Format::Yaml, "t.yaml", |_| None).unwrap())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn first_matching_route_wins_by_path_method_and_headers() {
        let r = router(
            "- {name: exact, upstream: a, logicalName: f, matchers: [{exact: /f, methods: [POST]}]}
- {name: tenant, upstream: a, logicalName: g, matchers: [{prefix: /f, headers: [{name: X-Tenant, value: \"t[0-9]+\", regex: true}]}]}
- {name: not-beta, upstream: a, logicalName: g, matchers: [{regex: \"/g/[a-z]+\", headers: [{name: x-beta, invertMatch: true}]}]}
- {name: rest, upstream: a, logicalName: f, matchers: [{prefix: /f}]}
",
        );
        let name = |m: &str, p: &str, h: &[(&'static str, &'static str)]| {
            let headers = headers(h);
            let req = RouteRequest {
                method: m,
                path: p,
                host: "gw",
                query: &[],
                headers: &headers,
            };
            r.route(&req).map(|(r, _)| r.name.clone())
        };
        assert_eq!(name("POST", "/f", &[]).as_deref(), Some("exact"));
        assert_eq!(name("GET", "/f", &[("x-tenant", "t42")]).as_deref(), Some("tenant"));
        assert_eq!(name("GET", "/f", &[("x-tenant", "other")]).as_deref(), Some("rest"));
        assert_eq!(name("GET", "/g/abc", &[]).as_deref(), Some("not-beta"));
        assert_eq!(name("GET", "/g/abc", &[("x-beta", "1")]), None);
        assert_eq!(name("GET", "/g/abc/d", &[]), None, "a regex matches the whole path");
        assert_eq!(name("GET", "/h", &[]), None);
    }

    #[test]
    fn the_most_specific_virtual_host_then_its_first_route_takes_the_request() {
        let r = router(
            "- {name: any, upstream: a, logicalName: f}
- {name: suffix, upstream: a, logicalName: f, domains: ['*.example.com']}
- {name: longer-suffix, upstream: a, logicalName: f, domains: ['*.api.example.com']}
- {name: prefix, upstream: a, logicalName: f, domains: ['api.*']}
- {name: exact, upstream: a, logicalName: f, domains: [api.example.com]}
- {name: query, upstream: a, logicalName: g, domains: [q.example], matchers: [{prefix: /Q, caseSensitive: false, queryParameters: [{name: v, value: '[0-9]+', regex: true}, {name: flag}]}]}
",
        );
        let none = HeaderMap::new();
        let pick = |host: &str, path: &str, query: &[(&str, &str)]| {
            let query: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let req = RouteRequest {
                method: "POST",
                path,
                host,
                query: &query,
                headers: &none,
            };
            r.route(&req).map(|(r, _)| r.name.clone())
        };
        assert_eq!(pick("api.example.com", "/", &[]).as_deref(), Some("exact"));
        assert_eq!(
            pick("API.example.com:8443", "/", &[]).as_deref(),
            Some("exact"),
            "the port is tried off"
        );
        assert_eq!(pick("v2.api.example.com", "/", &[]).as_deref(), Some("longer-suffix"));
        assert_eq!(pick("www.example.com", "/", &[]).as_deref(), Some("suffix"));
        assert_eq!(pick("api.other.org", "/", &[]).as_deref(), Some("prefix"));
        assert_eq!(pick("elsewhere", "/", &[]).as_deref(), Some("any"));
        assert_eq!(pick("", "/", &[]).as_deref(), Some("any"));
        assert_eq!(
            pick("q.example", "/q/x", &[("v", "12"), ("flag", "")]).as_deref(),
            Some("query")
        );
        assert_eq!(
            pick("q.example", "/Q", &[("flag", "1"), ("v", "7")]).as_deref(),
            Some("query")
        );
        assert_eq!(
            pick("q.example", "/q", &[("v", "x7"), ("flag", "")]),
            None,
            "the value is matched whole"
        );
        assert_eq!(pick("q.example", "/q", &[("v", "7")]), None, "a parameter missing");
        assert_eq!(
            pick("q.example", "/r", &[("v", "7"), ("flag", "")]),
            None,
            "the other host's routes are not tried"
        );
    }
}
