//! The whole file checked: names unique, references resolved, values valid.

use super::file;
use super::{
    one_line, parse_duration, ConfigError, Discovery, GatewayConfig, HeaderMatcher, HeaderValueMatch, InvocationStyle,
    LambdaFunction, Matcher, PathMatch, Retries, Route, Upstream, UpstreamAuth, DEFAULT_TIMEOUT, EXTERNAL_ID_VAR,
};
use crate::adapters::config::{ExternalId, SessionName};
use crate::domain::arn::{Qualifier, RoleArn};
use regex_lite::Regex;
use std::collections::HashSet;
use std::time::Duration;

/// Check the whole: names unique, references resolved, values valid.
pub(super) fn check(
    upstreams: Vec<(String, file::UpstreamSpec)>,
    routes: Vec<(String, file::RouteSpec)>,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GatewayConfig, ConfigError> {
    let err = |field: String, problem: String, fix: &str| ConfigError {
        source: source.to_string(),
        field,
        problem,
        fix: fix.to_string(),
    };
    if upstreams.is_empty() {
        return Err(err(
            String::new(),
            "no upstreams".into(),
            "add upstreams: (or Gloo Upstream resources) naming the functions to route to",
        ));
    }
    let mut checked = Vec::new();
    let mut names = HashSet::new();
    for (at, u) in upstreams {
        if !names.insert(u.name.clone()) {
            return Err(err(
                format!("{at}.name"),
                format!("{:?} is defined twice", u.name),
                "give each upstream its own name",
            ));
        }
        checked.push(upstream(&at, u, &err, env)?);
    }
    let mut out = Vec::new();
    let mut route_names = HashSet::new();
    for (i, (at, r)) in routes.into_iter().enumerate() {
        let route = route(&at, i, r, &checked, &err)?;
        if !route_names.insert(route.name.clone()) {
            return Err(err(
                format!("{at}.name"),
                format!("{:?} is used by two routes", route.name),
                "give each route its own name",
            ));
        }
        out.push(route);
    }
    Ok(GatewayConfig {
        upstreams: checked,
        routes: out,
    })
}

type ErrFn<'a> = dyn Fn(String, String, &str) -> ConfigError + 'a;

fn upstream(
    at: &str,
    u: file::UpstreamSpec,
    err: &ErrFn,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Upstream, ConfigError> {
    if !valid_name(&u.name) {
        return Err(err(
            format!("{at}.name"),
            format!("{:?} is not a name", u.name),
            "use 1-63 letters, digits, '-', '_' or '.'",
        ));
    }
    if !valid_region(&u.region) {
        return Err(err(
            format!("{at}.region"),
            format!("{:?} is not an AWS region", u.region),
            "e.g. us-east-1",
        ));
    }
    let account_id = u.aws_account_id.as_ref().map(|a| a.text());
    if let Some(a) = &account_id {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                format!("{at}.awsAccountId"),
                format!("{a:?} is not an account id"),
                "give the 12 digits of the functions' account, quoted",
            ));
        }
    }
    let (auth, account) = match (&u.role_arn, account_id) {
        (Some(role), account_id) => {
            let role: RoleArn = role
                .parse()
                .map_err(|e| err(format!("{at}.roleArn"), format!("{e}"), "give the role's full ARN in the functions' account"))?;
            if let Some(a) = account_id.filter(|a| *a != role.account) {
                return Err(err(
                    format!("{at}.awsAccountId"),
                    format!("{a} is not the account of roleArn ({})", role.account),
                    "the role must be in the functions' account: drop awsAccountId or fix the role",
                ));
            }
            let external_id = match u.external_id.clone().or_else(|| env(EXTERNAL_ID_VAR)) {
                Some(id) => id.parse::<ExternalId>().map_err(|_| {
                    err(format!("{at}.externalId"), "is not a valid external id".into(), "use 2-1224 characters of letters, digits and +=,.@:/-")
                })?,
                None => {
                    return Err(err(
                        format!("{at}.roleArn"),
                        "a role is assumed without an external id".into(),
                        &format!("set externalId on the upstream, or {EXTERNAL_ID_VAR}, to the id the role's trust policy requires (sts:ExternalId)"),
                    ))
                }
            };
            let session_name = u
                .session_name
                .as_deref()
                .map(|s| s.parse::<SessionName>())
                .transpose()
                .map_err(|_| err(format!("{at}.sessionName"), "is not a session name".into(), "use 2-64 characters of letters, digits and +=,.@_-"))?;
            let account = role.account.clone();
            (
                UpstreamAuth::Role {
                    role,
                    external_id,
                    session_name,
                },
                account,
            )
        }
        (None, Some(account)) => (UpstreamAuth::Resource, account),
        (None, None) => {
            return Err(err(
                at.to_string(),
                "says neither roleArn nor awsAccountId".into(),
                "set roleArn (a role to assume in the functions' account) or awsAccountId (the functions' account, whose resource policies name the gateway's credentials)",
            ))
        }
    };
    if u.external_id.is_some() && !matches!(auth, UpstreamAuth::Role { .. }) {
        return Err(err(
            format!("{at}.externalId"),
            "is set without roleArn".into(),
            "an external id is only used when assuming a role",
        ));
    }
    let profile = match (u.profile, u.secret_ref) {
        (Some(_), Some(_)) => {
            return Err(err(
                format!("{at}.profile"),
                "is set beside secretRef".into(),
                "keep one: both name the AWS profile that signs",
            ))
        }
        (p, s) => p.or(s.map(|s| s.name)),
    };
    let mut functions = Vec::new();
    let mut logical = HashSet::new();
    for (j, f) in u.lambda_functions.into_iter().enumerate() {
        let fat = format!("{at}.lambdaFunctions[{j}]");
        if !valid_function_name(&f.lambda_function_name) {
            return Err(err(
                format!("{fat}.lambdaFunctionName"),
                format!("{:?} is not a function name", f.lambda_function_name),
                "give the function's name (1-64 letters, digits, '-' or '_'); the upstream says its account and region",
            ));
        }
        let qualifier = match f.qualifier.as_deref() {
            None | Some("") | Some("$LATEST") => None,
            Some(q) => Some(
                q.parse::<Qualifier>()
                    .map_err(|e| err(format!("{fat}.qualifier"), format!("{e}"), "give an alias or a version"))?,
            ),
        };
        let logical_name = f.logical_name.clone().unwrap_or_else(|| match &qualifier {
            Some(q) => format!("{}:{q}", f.lambda_function_name),
            None => f.lambda_function_name.clone(),
        });
        if !logical.insert(logical_name.clone()) {
            return Err(err(
                format!("{fat}.logicalName"),
                format!("{logical_name:?} is used twice in this upstream"),
                "give each function its own logicalName",
            ));
        }
        functions.push(LambdaFunction {
            name: f.lambda_function_name,
            logical_name,
            qualifier,
        });
    }
    let discovery = match u.discovery {
        Some(d) if d.enabled => {
            let refresh = match d.refresh.as_deref() {
                None => Duration::from_secs(300),
                Some(s) => parse_duration(s).ok_or_else(|| {
                    err(
                        format!("{at}.discovery.refresh"),
                        format!("{s:?} is not a duration"),
                        "e.g. 60s or 5m",
                    )
                })?,
            };
            if refresh < Duration::from_secs(10) {
                return Err(err(
                    format!("{at}.discovery.refresh"),
                    "is under 10 s".into(),
                    "list the account at most every 10 s: ListFunctions is rate-limited",
                ));
            }
            if let Some(p) = &d.route_prefix {
                if !p.starts_with('/') || p.len() < 2 || p.ends_with('/') {
                    return Err(err(
                        format!("{at}.discovery.routePrefix"),
                        format!("{p:?} is not a path prefix"),
                        "e.g. /functions (a leading '/', no trailing one)",
                    ));
                }
            }
            Some(Discovery {
                refresh,
                route_prefix: d.route_prefix,
            })
        }
        _ => None,
    };
    if functions.is_empty() && discovery.is_none() {
        return Err(err(
            format!("{at}.lambdaFunctions"),
            "is empty and discovery is off".into(),
            "list the functions to route to, or turn discovery on",
        ));
    }
    Ok(Upstream {
        name: u.name,
        region: u.region,
        account,
        auth,
        profile,
        functions,
        discovery,
    })
}

fn route(
    at: &str,
    index: usize,
    r: file::RouteSpec,
    upstreams: &[Upstream],
    err: &ErrFn,
) -> Result<Route, ConfigError> {
    let Some(u) = upstreams.iter().find(|u| u.name == r.upstream) else {
        let known: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
        return Err(err(
            format!("{at}.upstream"),
            format!("no upstream is named {:?}", r.upstream),
            &format!("use one of {}", known.join(", ")),
        ));
    };
    if u.discovery.is_none() && !u.functions.iter().any(|f| f.logical_name == r.logical_name) {
        let known: Vec<&str> = u.functions.iter().map(|f| f.logical_name.as_str()).collect();
        return Err(err(
            format!("{at}.logicalName"),
            format!("upstream {} has no function named {:?}", u.name, r.logical_name),
            &format!(
                "use one of its logicalNames ({}), or turn discovery on",
                known.join(", ")
            ),
        ));
    }
    let style = match r.invocation_style.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("sync") => InvocationStyle::Sync,
        Some("async") => InvocationStyle::Async,
        Some(other) => {
            return Err(err(
                format!("{at}.invocationStyle"),
                format!("{other:?} is not a style"),
                "use sync or async",
            ))
        }
    };
    if style == InvocationStyle::Async && r.unwrap_as_api_gateway {
        return Err(err(
            format!("{at}.unwrapAsApiGateway"),
            "is set on an async route".into(),
            "an async invoke has no answer to unwrap: drop one of them",
        ));
    }
    let timeout = match r.timeout.as_deref() {
        None => DEFAULT_TIMEOUT,
        Some(s) => match parse_duration(s) {
            Some(d) if !d.is_zero() && d <= Duration::from_secs(900) => d,
            _ => {
                return Err(err(
                    format!("{at}.timeout"),
                    format!("{s:?} is not a timeout"),
                    "give 1ms-15m, e.g. 10s",
                ))
            }
        },
    };
    let retries = match r.retries {
        None => Retries::Policy,
        Some(file::RetriesSpec::Attempts(0)) | Some(file::RetriesSpec::Attempts(1)) => Retries::Off,
        Some(file::RetriesSpec::Attempts(n)) if n <= 10 => Retries::MaxAttempts(n),
        Some(file::RetriesSpec::Word(w)) if w == "off" => Retries::Off,
        Some(file::RetriesSpec::Word(w)) if w == "default" => Retries::Policy,
        Some(_) => {
            return Err(err(
                format!("{at}.retries"),
                "is not a number of attempts".into(),
                "give off, default, or 1-10 attempts",
            ))
        }
    };
    let mut matchers = Vec::new();
    for (m_i, m) in r.matchers.into_iter().enumerate() {
        matchers.push(matcher(&format!("{at}.matchers[{m_i}]"), m, err)?);
    }
    if matchers.is_empty() {
        matchers.push(matcher(&format!("{at}.matchers"), file::MatcherSpec::default(), err)?);
    }
    let name = match r.name {
        Some(n) if valid_name(&n) => n,
        Some(n) => {
            return Err(err(
                format!("{at}.name"),
                format!("{n:?} is not a name"),
                "use 1-63 letters, digits, '-', '_' or '.'",
            ))
        }
        None => format!("route-{index}"),
    };
    let tenant_header = match r.tenant_header {
        None => None,
        Some(h) if !h.is_empty() && http::HeaderName::from_bytes(h.as_bytes()).is_ok() => Some(h.to_ascii_lowercase()),
        Some(h) => {
            return Err(err(
                format!("{at}.tenantHeader"),
                format!("{h:?} is not a header name"),
                "name the request header that carries the tenant id, e.g. x-tenant-id",
            ))
        }
    };
    Ok(Route {
        name,
        matchers,
        upstream: r.upstream,
        logical_name: r.logical_name,
        style,
        unwrap_as_api_gateway: r.unwrap_as_api_gateway,
        wrap_as_api_gateway: r.wrap_as_api_gateway,
        timeout,
        retries,
        tenant_header,
    })
}

fn matcher(at: &str, m: file::MatcherSpec, err: &ErrFn) -> Result<Matcher, ConfigError> {
    let path = match (m.prefix, m.exact, m.regex) {
        (None, None, None) => PathMatch::Prefix("/".into()),
        (Some(p), None, None) if p.starts_with('/') => PathMatch::Prefix(p),
        (None, Some(p), None) if p.starts_with('/') => PathMatch::Exact(p),
        (None, None, Some(r)) => PathMatch::Regex(Regex::new(&format!("^(?:{r})$")).map_err(|e| {
            err(
                format!("{at}.regex"),
                format!("not a regular expression: {}", one_line(&e.to_string())),
                "fix the pattern",
            )
        })?),
        (Some(p), None, None) | (None, Some(p), None) => {
            return Err(err(
                at.to_string(),
                format!("path {p:?} does not start with '/'"),
                "write the path from its leading '/'",
            ))
        }
        _ => {
            return Err(err(
                at.to_string(),
                "sets more than one of prefix, exact and regex".into(),
                "keep one",
            ))
        }
    };
    let mut methods = Vec::new();
    for (i, method) in m.methods.into_iter().enumerate() {
        let upper = method.to_ascii_uppercase();
        if upper.is_empty() || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err(
                format!("{at}.methods[{i}]"),
                format!("{method:?} is not an HTTP method"),
                "e.g. GET or POST",
            ));
        }
        methods.push(upper);
    }
    let mut headers = Vec::new();
    for (i, h) in m.headers.into_iter().enumerate() {
        let name = h.name.to_ascii_lowercase();
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(err(
                format!("{at}.headers[{i}].name"),
                format!("{:?} is not a header name", h.name),
                "e.g. x-tenant",
            ));
        }
        let value = match (h.value, h.regex) {
            (None, _) => HeaderValueMatch::Present,
            (Some(v), false) => HeaderValueMatch::Exact(v),
            (Some(v), true) => HeaderValueMatch::Regex(Regex::new(&format!("^(?:{v})$")).map_err(|e| {
                err(
                    format!("{at}.headers[{i}].value"),
                    format!("not a regular expression: {}", one_line(&e.to_string())),
                    "fix the pattern",
                )
            })?),
        };
        headers.push(HeaderMatcher {
            name,
            value,
            invert: h.invert_match,
        });
    }
    Ok(Matcher { path, methods, headers })
}

fn valid_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn valid_function_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

fn valid_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}
