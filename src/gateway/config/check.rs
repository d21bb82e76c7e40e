//! The whole file checked: names unique, references resolved, values valid.

use crate::adapters::config::{ExternalId, SessionName};
use crate::domain::arn::{Qualifier, RoleArn};
use crate::domain::class::Class;
use crate::gateway::config::error::{one_line, ConfigError};
use crate::gateway::config::file;
use crate::gateway::config::model::{
    Cors, Discovery, GatewayConfig, HeaderEdits, HeaderMatcher, HeaderValueMatch, InvocationStyle, LambdaFunction,
    Matcher, PathMatch, QueryMatcher, Retries, Rewrite, Route, Upstream, UpstreamAuth, DEFAULT_MAX_FUNCTIONS,
    DEFAULT_TIMEOUT, EXTERNAL_ID_VAR,
};
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
        for earlier in &out {
            let earlier: &Route = earlier;
            if let Some(d) = route
                .domains
                .iter()
                .find(|d| earlier.domains != route.domains && earlier.domains.contains(d))
            {
                return Err(err(
                    format!("{at}.domains"),
                    format!("{d:?} is also a domain of route {}'s virtual host", earlier.name),
                    "a host is served by one virtual host: keep each domain in one VirtualService",
                ));
            }
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
            let parse = |id: String| {
                id.parse::<ExternalId>().map_err(|_| {
                    err(format!("{at}.externalId"), "is not a valid external id".into(), "use 2-1224 characters of letters, digits and +=,.@:/-")
                })
            };
            let external_id = match (u.external_id.clone(), env(EXTERNAL_ID_VAR)) {
                // Said explicitly: the trust policy asks for none.
                (Some(id), _) if id == "none" => None,
                (Some(id), _) | (None, Some(id)) => Some(parse(id)?),
                // Gloo's resources have no such field: its guide's trust policies ask for none.
                (None, None) if u.gloo => None,
                (None, None) => {
                    return Err(err(
                        format!("{at}.roleArn"),
                        "a role is assumed without an external id".into(),
                        &format!("set externalId on the upstream, or {EXTERNAL_ID_VAR}, to the id the role's trust policy requires (sts:ExternalId); externalId: none assumes it without one"),
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
            let style = style(
                &format!("{at}.discovery.invocationStyle"),
                d.invocation_style.as_deref(),
                err,
            )?;
            if style == InvocationStyle::Async && d.unwrap_as_api_gateway {
                return Err(err(
                    format!("{at}.discovery.unwrapAsApiGateway"),
                    "is set with async invocations".into(),
                    "an async invoke has no answer to unwrap: drop one of them",
                ));
            }
            let max_functions = d.max_functions.unwrap_or(DEFAULT_MAX_FUNCTIONS);
            if max_functions == 0 {
                return Err(err(
                    format!("{at}.discovery.maxFunctions"),
                    "is 0".into(),
                    "give the most functions one listing may take, e.g. 10000",
                ));
            }
            Some(Discovery {
                refresh,
                route_prefix: d.route_prefix,
                max_functions,
                style,
                wrap_as_api_gateway: d.wrap_as_api_gateway,
                unwrap_as_api_gateway: d.unwrap_as_api_gateway,
                timeout: timeout(&format!("{at}.discovery.timeout"), d.timeout.as_deref(), err)?,
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
    let style = style(&format!("{at}.invocationStyle"), r.invocation_style.as_deref(), err)?;
    if style == InvocationStyle::Async && r.unwrap_as_api_gateway {
        return Err(err(
            format!("{at}.unwrapAsApiGateway"),
            "is set on an async route".into(),
            "an async invoke has no answer to unwrap: drop one of them",
        ));
    }
    let timeout = timeout(&format!("{at}.timeout"), r.timeout.as_deref(), err)?;
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
    let retry_on = r
        .retry_on
        .as_deref()
        .map(|on| retry_on(&format!("{at}.retryOn"), on, &r.retriable_status_codes, err))
        .transpose()?;
    let per_try_timeout = match r.per_try_timeout.as_deref() {
        None => None,
        Some(s) => match parse_duration(s) {
            Some(d) if !d.is_zero() => Some(d),
            _ => {
                return Err(err(
                    format!("{at}.perTryTimeout"),
                    format!("{s:?} is not a timeout"),
                    "give a duration, e.g. 2s",
                ))
            }
        },
    };
    let mut domains = Vec::new();
    for (i, d) in r.domains.iter().enumerate() {
        let d = d.to_ascii_lowercase();
        let stars = d.matches('*').count();
        let placed = d == "*" || (stars == 1 && (d.starts_with('*') || d.ends_with('*'))) || stars == 0;
        if d.is_empty() || !placed || d.bytes().any(|b| b.is_ascii_whitespace() || b == b'/') {
            return Err(err(
                format!("{at}.domains[{i}]"),
                format!("{d:?} is not a domain"),
                "give a host (api.example.com, with :port if clients send one), *.example.com, api.* or *",
            ));
        }
        domains.push(d);
    }
    let any_regex = r.matchers.iter().any(|m| m.regex.is_some());
    let rewrite = match (r.prefix_rewrite, r.regex_rewrite) {
        (Some(_), Some(_)) => {
            return Err(err(
                format!("{at}.regexRewrite"),
                "is set beside prefixRewrite".into(),
                "keep one",
            ))
        }
        (Some(p), None) if any_regex => {
            return Err(err(
                format!("{at}.prefixRewrite"),
                format!("{p:?} is set on a route with a regex matcher"),
                "a prefix rewrite replaces a prefix or exact path: use regexRewrite with a regex matcher",
            ))
        }
        (Some(p), None) => Some(Rewrite::Prefix(p)),
        (None, Some(rr)) => Some(Rewrite::Regex {
            pattern: Regex::new(&rr.pattern.regex).map_err(|e| {
                err(
                    format!("{at}.regexRewrite.pattern.regex"),
                    format!("not a regular expression: {}", one_line(&e.to_string())),
                    "fix the pattern",
                )
            })?,
            substitution: substitution(&rr.substitution),
        }),
        (None, None) => None,
    };
    let headers = match r.header_manipulation {
        None => HeaderEdits::default(),
        Some(h) => HeaderEdits {
            request_add: header_adds(
                &format!("{at}.headerManipulation.requestHeadersToAdd"),
                h.request_headers_to_add,
                err,
            )?,
            request_remove: header_names(
                &format!("{at}.headerManipulation.requestHeadersToRemove"),
                h.request_headers_to_remove,
                err,
            )?,
            response_add: header_adds(
                &format!("{at}.headerManipulation.responseHeadersToAdd"),
                h.response_headers_to_add,
                err,
            )?,
            response_remove: header_names(
                &format!("{at}.headerManipulation.responseHeadersToRemove"),
                h.response_headers_to_remove,
                err,
            )?,
        },
    };
    let cors = match r.cors {
        Some(c) if !c.disable_for_route => Some(std::sync::Arc::new(cors(&format!("{at}.cors"), c, err)?)),
        _ => None,
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
        retry_on,
        per_try_timeout,
        domains,
        rewrite,
        headers,
        cors,
        tenant_header,
    })
}

/// `sync` (the default) or `async`, in any case.
fn style(at: &str, given: Option<&str>, err: &ErrFn) -> Result<InvocationStyle, ConfigError> {
    match given.map(str::to_ascii_lowercase).as_deref() {
        None | Some("sync") => Ok(InvocationStyle::Sync),
        Some("async") => Ok(InvocationStyle::Async),
        Some(other) => Err(err(
            at.to_string(),
            format!("{other:?} is not a style"),
            "use sync or async",
        )),
    }
}

/// A route's timeout: 1 ms to 15 minutes, [`DEFAULT_TIMEOUT`] when not given.
fn timeout(at: &str, given: Option<&str>, err: &ErrFn) -> Result<Duration, ConfigError> {
    match given {
        None => Ok(DEFAULT_TIMEOUT),
        Some(s) => match parse_duration(s) {
            Some(d) if !d.is_zero() && d <= Duration::from_secs(900) => Ok(d),
            _ => Err(err(
                at.to_string(),
                format!("{s:?} is not a timeout"),
                "give 1ms-15m, e.g. 10s",
            )),
        },
    }
}

/// The classes Envoy's `retry_on` conditions let a retry follow, by the status each class is
/// answered with: `5xx` and `gateway-error` (502-504), `connect-failure`, `reset` and
/// `refused-stream` (no connection to Lambda), `retriable-4xx` (409: none here) and
/// `retriable-status-codes` (`codes`, e.g. 429 for throttles). xinvoke's policy still decides
/// each class within them, and never retries what may have run.
fn retry_on(at: &str, on: &str, codes: &[u16], err: &ErrFn) -> Result<Vec<Class>, ConfigError> {
    let status = crate::gateway::answer::status_of_class;
    let mut classes = Vec::new();
    for condition in on.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let takes: &dyn Fn(Class) -> bool = match condition {
            "5xx" => &|c| status(c) >= 500,
            "gateway-error" => &|c| matches!(status(c), 502..=504),
            "connect-failure" | "reset" | "refused-stream" => &|c| c == Class::Connect,
            "retriable-4xx" => &|c| status(c) == 409,
            "retriable-status-codes" => &|c| codes.contains(&status(c)),
            other => {
                return Err(err(
                    at.to_string(),
                    format!("{other:?} is not a condition xinvoke can honour"),
                    "use 5xx, gateway-error, connect-failure, reset, refused-stream, retriable-4xx or retriable-status-codes (with retriableStatusCodes)",
                ))
            }
        };
        for c in Class::ALL.into_iter().filter(|c| takes(*c)) {
            if !classes.contains(&c) {
                classes.push(c);
            }
        }
    }
    Ok(classes)
}

/// Envoy's substitution (`\1` for a group) in regex-lite's spelling (`${1}`).
fn substitution(envoy: &str) -> String {
    let mut out = String::new();
    let mut chars = envoy.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()).copied() {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

/// Header names the gateway writes itself: no file may add or remove them.
fn reserved(name: &str) -> bool {
    name.starts_with("x-xinvoke-")
        || name == "x-request-id"
        || name.starts_with("proxy-")
        || matches!(
            name,
            "connection"
                | "keep-alive"
                | "transfer-encoding"
                | "te"
                | "trailer"
                | "upgrade"
                | "content-length"
                | "host"
        )
}

fn header_name(at: &str, name: &str, err: &ErrFn) -> Result<String, ConfigError> {
    let lower = name.to_ascii_lowercase();
    if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
        return Err(err(
            at.to_string(),
            format!("{name:?} is not a header name"),
            "e.g. x-tenant",
        ));
    }
    if reserved(&lower) {
        return Err(err(
            at.to_string(),
            format!("{name:?} is written by the gateway itself"),
            "edit other headers: the outcome, request id and framing headers are the gateway's",
        ));
    }
    Ok(lower)
}

fn header_names(at: &str, names: Vec<String>, err: &ErrFn) -> Result<Vec<String>, ConfigError> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| header_name(&format!("{at}[{i}]"), n, err))
        .collect()
}

fn header_adds(
    at: &str,
    adds: Vec<file::HeaderValueOption>,
    err: &ErrFn,
) -> Result<Vec<(String, String, bool)>, ConfigError> {
    let mut out = Vec::new();
    for (i, h) in adds.into_iter().enumerate() {
        let name = header_name(&format!("{at}[{i}].header.key"), &h.header.key, err)?;
        let value = h.header.value;
        if value.contains('%') || http::HeaderValue::from_str(&value).is_err() {
            return Err(err(
                format!("{at}[{i}].header.value"),
                format!("{value:?} is not a value xinvoke can send as it is"),
                "give a literal value: Envoy's %VARIABLE% substitutions are not supported",
            ));
        }
        out.push((name, value, h.append.unwrap_or(true)));
    }
    Ok(out)
}

fn cors(at: &str, c: file::CorsSpec, err: &ErrFn) -> Result<Cors, ConfigError> {
    let mut origin_patterns = Vec::new();
    for (i, p) in c.allow_origin_regex.iter().enumerate() {
        origin_patterns.push(Regex::new(&format!("^(?:{p})$")).map_err(|e| {
            err(
                format!("{at}.allowOriginRegex[{i}]"),
                format!("not a regular expression: {}", one_line(&e.to_string())),
                "fix the pattern",
            )
        })?);
    }
    if let Some(age) = c
        .max_age
        .as_deref()
        .filter(|a| a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(err(
            format!("{at}.maxAge"),
            format!("{age:?} is not a number of seconds"),
            "e.g. \"86400\"",
        ));
    }
    for (i, v) in c
        .allow_headers
        .iter()
        .chain(&c.expose_headers)
        .chain(&c.allow_methods)
        .enumerate()
    {
        if http::HeaderValue::from_str(v).is_err() || v.contains(',') {
            return Err(err(
                at.to_string(),
                format!(
                    "{v:?} (entry {i} of allowHeaders, exposeHeaders, allowMethods) is not a header or method name"
                ),
                "one name an entry",
            ));
        }
    }
    Ok(Cors {
        origins: c.allow_origin,
        origin_patterns,
        methods: c.allow_methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
        headers: c.allow_headers,
        expose: c.expose_headers,
        max_age: c.max_age,
        credentials: c.allow_credentials,
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
    let mut query = Vec::new();
    for (i, q) in m.query_parameters.into_iter().enumerate() {
        if q.name.is_empty() {
            return Err(err(
                format!("{at}.queryParameters[{i}].name"),
                "is empty".into(),
                "name the parameter",
            ));
        }
        let value = match (q.value.filter(|v| !v.is_empty()), q.regex) {
            (None, _) => HeaderValueMatch::Present,
            (Some(v), false) => HeaderValueMatch::Exact(v),
            (Some(v), true) => HeaderValueMatch::Regex(Regex::new(&format!("^(?:{v})$")).map_err(|e| {
                err(
                    format!("{at}.queryParameters[{i}].value"),
                    format!("not a regular expression: {}", one_line(&e.to_string())),
                    "fix the pattern",
                )
            })?),
        };
        query.push(QueryMatcher { name: q.name, value });
    }
    let case_sensitive = m.case_sensitive.unwrap_or(true);
    let path = match (path, case_sensitive) {
        (PathMatch::Prefix(p), false) => PathMatch::Prefix(p.to_ascii_lowercase()),
        (PathMatch::Exact(p), false) => PathMatch::Exact(p.to_ascii_lowercase()),
        (p, _) => p,
    };
    Ok(Matcher {
        path,
        methods,
        headers,
        query,
        case_sensitive,
    })
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

/// `500ms`, `10s`, `5m`, or Gloo's protobuf durations (`10s`, `0.5s`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    crate::domain::duration::parse(s, crate::domain::duration::Unit::Seconds).ok()
}
