//! Which route takes a request: the first, in file order, one of whose matchers accepts its
//! method, path and headers (as Gloo evaluates a virtual host's routes). Pure.

use crate::gateway::config::{GatewayConfig, HeaderValueMatch, Matcher, PathMatch, Route};
use http::HeaderMap;

/// The routes of one configuration, in order.
#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(config: &GatewayConfig) -> Router {
        Router {
            routes: config.routes.clone(),
        }
    }

    /// The route that takes `method path` with `headers`, if any.
    pub fn route(&self, method: &str, path: &str, headers: &HeaderMap) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| r.matchers.iter().any(|m| matches(m, method, path, headers)))
    }
}

fn matches(m: &Matcher, method: &str, path: &str, headers: &HeaderMap) -> bool {
    let path_ok = match &m.path {
        PathMatch::Prefix(p) => path.starts_with(p.as_str()),
        PathMatch::Exact(p) => path == p,
        PathMatch::Regex(r) => r.is_match(path),
    };
    path_ok
        && (m.methods.is_empty() || m.methods.iter().any(|x| x == method))
        && m.headers.iter().all(|h| {
            let values = headers.get_all(h.name.as_str());
            let found = values.iter().any(|v| {
                let v = v.to_str().unwrap_or_default();
                match &h.value {
                    HeaderValueMatch::Present => true,
                    HeaderValueMatch::Exact(want) => v == want,
                    HeaderValueMatch::Regex(r) => r.is_match(v),
                }
            });
            found != h.invert
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
        let name =
            |m: &str, p: &str, h: &[(&'static str, &'static str)]| r.route(m, p, &headers(h)).map(|r| r.name.clone());
        assert_eq!(name("POST", "/f", &[]).as_deref(), Some("exact"));
        assert_eq!(name("GET", "/f", &[("x-tenant", "t42")]).as_deref(), Some("tenant"));
        assert_eq!(name("GET", "/f", &[("x-tenant", "other")]).as_deref(), Some("rest"));
        assert_eq!(name("GET", "/g/abc", &[]).as_deref(), Some("not-beta"));
        assert_eq!(name("GET", "/g/abc", &[("x-beta", "1")]), None);
        assert_eq!(name("GET", "/g/abc/d", &[]), None, "a regex matches the whole path");
        assert_eq!(name("GET", "/h", &[]), None);
    }
}
