//! The invoker behind HTTP: API Gateway HTTP API requests (payload format 2.0) and Lambda
//! Function URL requests, routed by the same gateway configuration as `xinvoke gateway` and
//! answered in the proxy format both read back (statusCode, headers, cookies, body,
//! isBase64Encoded).
//!
//! The two events share one shape (API Gateway developer guide, "Create AWS Lambda proxy
//! integrations for HTTP APIs": payload format version 2.0; Lambda developer guide, "Invoking
//! Lambda function URLs": request and response payloads, "the same schema as the Amazon API
//! Gateway payload format version 2.0"). They are told apart by `requestContext.domainName`
//! (`<url-id>.lambda-url.<region>.on.aws` for a Function URL) and only differ here in one
//! thing: on an HTTP API stage other than `$default`, API Gateway puts the stage in front of
//! `rawPath` (`/prod/target`), so the routes see the path without it, as they would behind
//! `xinvoke gateway`. A Function URL has no stages (its `stage` is the placeholder `$default`).

use crate::adapters::config::{keys, GatewaySource};
use crate::domain::retry::StopReason;
use crate::gateway::answer::{Answer, AnswerClass, Request};
use crate::gateway::config::{ConfigError, Format, GatewayConfig, InvocationStyle};
use crate::gateway::upstreams::UpstreamError;
use crate::gateway::Gateway;
use aws_config::SdkConfig;
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine;
use http::HeaderMap;
use serde_json::Value;
use std::fmt;
use tokio::time::Instant;

/// Which AWS front sent the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpSource {
    HttpApi,
    FunctionUrl,
}

impl HttpSource {
    pub fn name(self) -> &'static str {
        match self {
            HttpSource::HttpApi => "http_api",
            HttpSource::FunctionUrl => "function_url",
        }
    }
}

/// An HTTP request as the routes see it, from either event.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub source: HttpSource,
    pub method: String,
    /// `rawPath`, less the stage of an HTTP API's named stage.
    pub path: String,
    /// `rawQueryString`, without `?`.
    pub query: String,
    /// Lower-case names; the event's `cookies` as one `cookie` header, as a client sent them.
    pub headers: Vec<(String, String)>,
    /// Decoded when the event says `isBase64Encoded`.
    pub body: Vec<u8>,
    pub source_ip: String,
    /// `requestContext.requestId`.
    pub request_id: Option<String>,
    /// `requestContext.timeEpoch` (Unix milliseconds).
    pub time_ms: i64,
}

impl fmt::Debug for HttpRequest {
    // No body and no header values: they are the client's (an Authorization header, a payload).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("source", &self.source)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// The parts both events carry, as the crate's types hold them.
struct Parts {
    method: Option<String>,
    raw_path: Option<String>,
    context_path: Option<String>,
    query: Option<String>,
    cookies: Option<Vec<String>>,
    headers: HeaderMap,
    body: Option<String>,
    base64: bool,
    source_ip: Option<String>,
    request_id: Option<String>,
    time_ms: i64,
    stage: Option<String>,
}

/// Why an HTTP event cannot be decoded (the invoker answers it as an invalid event).
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpEventError {
    /// A Function URL request that does not have the shape of one.
    #[error("Function URL request: {0}")]
    FunctionUrl(serde_json::Error),
    /// An API Gateway HTTP API request that does not have the shape of one.
    #[error("HTTP API request (payload format 2.0): {0}")]
    HttpApi(serde_json::Error),
    #[error("requestContext.http.method is missing")]
    NoMethod,
    #[error("rawPath is missing or does not start with /")]
    NoPath,
    #[error("body: isBase64Encoded is true but the body is not base64")]
    NotBase64,
}

impl HttpRequest {
    /// Decode an HTTP API (payload 2.0) or Function URL event.
    pub(crate) fn from_value(v: Value) -> Result<HttpRequest, HttpEventError> {
        let function_url = v
            .pointer("/requestContext/domainName")
            .and_then(Value::as_str)
            .is_some_and(|d| d.contains(".lambda-url."));
        let (source, parts) = if function_url {
            let e: LambdaFunctionUrlRequest = serde_json::from_value(v).map_err(HttpEventError::FunctionUrl)?;
            let http = e.request_context.http;
            let parts = Parts {
                method: http.method,
                raw_path: e.raw_path,
                context_path: http.path,
                query: e.raw_query_string,
                cookies: e.cookies,
                headers: e.headers,
                body: e.body,
                base64: e.is_base64_encoded,
                source_ip: http.source_ip,
                request_id: e.request_context.request_id,
                time_ms: e.request_context.time_epoch,
                // Function URLs have no stages.
                stage: None,
            };
            (HttpSource::FunctionUrl, parts)
        } else {
            let e: ApiGatewayV2httpRequest = serde_json::from_value(v).map_err(HttpEventError::HttpApi)?;
            let http = e.request_context.http;
            let parts = Parts {
                method: Some(http.method.as_str().to_string()),
                raw_path: e.raw_path,
                context_path: http.path,
                query: e.raw_query_string,
                cookies: e.cookies,
                headers: e.headers,
                body: e.body,
                base64: e.is_base64_encoded,
                source_ip: http.source_ip,
                request_id: e.request_context.request_id,
                time_ms: e.request_context.time_epoch,
                stage: e.request_context.stage,
            };
            (HttpSource::HttpApi, parts)
        };
        HttpRequest::from_parts(source, parts)
    }

    fn from_parts(source: HttpSource, p: Parts) -> Result<HttpRequest, HttpEventError> {
        let method = p.method.filter(|m| !m.is_empty()).ok_or(HttpEventError::NoMethod)?;
        let raw_path = p
            .raw_path
            .or(p.context_path)
            .filter(|p| p.starts_with('/'))
            .ok_or(HttpEventError::NoPath)?;
        let path = match p.stage.as_deref() {
            Some(stage) if !stage.is_empty() && stage != "$default" => without_stage(&raw_path, stage),
            _ => raw_path,
        };
        let mut headers: Vec<(String, String)> = p
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if let Some(cookies) = p.cookies.filter(|c| !c.is_empty()) {
            headers.retain(|(k, _)| k != "cookie");
            headers.push(("cookie".into(), cookies.join("; ")));
        }
        let body = match (p.body, p.base64) {
            (None, _) => Vec::new(),
            (Some(b), true) => base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .map_err(|_| HttpEventError::NotBase64)?,
            (Some(b), false) => b.into_bytes(),
        };
        let query = p.query.unwrap_or_default();
        Ok(HttpRequest {
            source,
            method,
            path,
            query: query.strip_prefix('?').unwrap_or(&query).to_string(),
            headers,
            body,
            source_ip: p.source_ip.unwrap_or_default(),
            request_id: p.request_id.filter(|r| !r.is_empty()),
            time_ms: p.time_ms,
        })
    }

    /// The request as the gateway reads it, under `request_id`.
    pub fn as_request<'a>(&'a self, request_id: &'a str) -> Request<'a> {
        Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
            source_ip: &self.source_ip,
            request_id,
            time_ms: self.time_ms,
        }
    }
}

/// `/prod/target` on stage `prod` is `/target`; a path that does not start with the stage is
/// left as it is (an API mapping of a custom domain already removed it).
fn without_stage(path: &str, stage: &str) -> String {
    match path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
        Some("") => "/".into(),
        Some(rest) if rest.starts_with('/') => rest.into(),
        _ => path.into(),
    }
}

/// Why the invoker's routes cannot be served; it fails the cold start. Each names the
/// variable (and the file) the routes came from.
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    #[error("{var}: {path} is not a file of the deployment package: bundle it with the function (e.g. /var/task/gateway.yaml, or /opt/... from a layer), or give the routes as text in {text_var}", var = keys::GATEWAY_CONFIG.var, text_var = keys::GATEWAY_CONFIG_TEXT.var)]
    Missing { path: String },
    #[error("{var} ({path}): {problem}; name the file .yaml, .yml, .toml or .json", var = keys::GATEWAY_CONFIG.var)]
    Unreadable { path: String, problem: String },
    #[error("{var} ({name}): {source}", var = keys::GATEWAY_CONFIG_SSM.var)]
    Parameter {
        name: String,
        source: crate::adapters::ssm::ParameterError,
    },
    #[error("{var} ({name}): no AWS configuration to read it with (a region and credentials): set AWS_REGION", var = keys::GATEWAY_CONFIG_SSM.var)]
    ParameterWithoutAws { name: String },
    /// The text or file is not a valid gateway configuration (the error names the field).
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{from}: {source}")]
    Upstream { from: String, source: UpstreamError },
}

/// Read and build the routes `source` names (once, at cold start). `env` gives variables
/// (`XINVOKE_RETRY`, the external id of role upstreams that name none); `base` is every
/// upstream's AWS configuration: inside Lambda, the function's own credentials.
pub async fn load_routes(
    source: Option<&GatewaySource>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    base: Option<&SdkConfig>,
) -> Result<Option<Gateway>, RoutesError> {
    let Some(source) = source else { return Ok(None) };
    let (from, config) = match source {
        GatewaySource::File(path) => {
            let shown = path.display().to_string();
            if !path.is_file() {
                return Err(RoutesError::Missing { path: shown });
            }
            let unreadable = |problem: String| RoutesError::Unreadable {
                path: shown.clone(),
                problem,
            };
            let format = Format::of(path).ok_or_else(|| unreadable("unknown file type".into()))?;
            let text = std::fs::read_to_string(path).map_err(|e| unreadable(format!("cannot read it ({e})")))?;
            let from = format!("{} ({shown})", keys::GATEWAY_CONFIG.var);
            (from.clone(), GatewayConfig::parse(&text, format, &from, env)?)
        }
        GatewaySource::Ssm(name) => {
            let missing = || RoutesError::ParameterWithoutAws { name: name.clone() };
            let aws = base.ok_or_else(missing)?;
            let region = aws.region().ok_or_else(missing)?.to_string();
            let text = crate::adapters::ssm::get_parameter(aws, &region, name)
                .await
                .map_err(|source| RoutesError::Parameter {
                    name: name.clone(),
                    source,
                })?;
            let from = format!("{} ({name})", keys::GATEWAY_CONFIG_SSM.var);
            (
                from.clone(),
                GatewayConfig::parse(&text, text_format(&text), &from, env)?,
            )
        }
        GatewaySource::Text(text) => {
            let from = keys::GATEWAY_CONFIG_TEXT.var.to_string();
            (from.clone(), GatewayConfig::parse(text, text_format(text), &from, env)?)
        }
    };
    for u in &config.upstreams {
        if u.profile.is_some() {
            tracing::warn!(upstream = %u.name, "the upstream names an AWS profile (secretRef): inside Lambda it signs with the function's own credentials");
        }
        if u.discovery.is_some() {
            tracing::warn!(upstream = %u.name, "discovery does not run inside the invoker: only the upstream's lambdaFunctions are routed");
        }
    }
    let routes = config.routes.len();
    crate::gateway::front::warn_without_external_id(&config);
    let gateway = Gateway::build(config, env, base)
        .await
        .map_err(|source| RoutesError::Upstream {
            from: from.clone(),
            source,
        })?;
    tracing::info!(routes, from = %from, "gateway routes loaded");
    Ok(Some(gateway))
}

/// Routes given as text are JSON when they start with `{`, else YAML.
fn text_format(text: &str) -> Format {
    match text.trim_start().starts_with('{') {
        true => Format::Json,
        false => Format::Yaml,
    }
}

/// The class of the answer to an HTTP event when the invoker has no routes.
pub const NOT_CONFIGURED: &str = "not_configured";

/// Answer an HTTP event: route, invoke, answer in proxy format. `lambda_request_id` stands in
/// when the event carries no `requestContext.requestId`; `deadline` is the invocation's.
#[cfg(test)]
pub async fn answer(
    gateway: Option<&Gateway>,
    request: &HttpRequest,
    lambda_request_id: &str,
    deadline: Option<Instant>,
    trace_id: Option<&str>,
) -> Value {
    answer_observed(gateway, request, lambda_request_id, deadline, trace_id)
        .await
        .0
}

/// What an HTTP request's invoke came to, for the invoker's metrics (none when no route took
/// it).
pub struct Observed {
    pub function: String,
    pub class: &'static str,
    pub stop: &'static str,
    /// `RequestResponse` for a sync route, `Event` for an async one.
    pub invocation_type: &'static str,
    pub attempts: u32,
    pub latency_ms: f64,
}

/// [`answer`], and what its invoke came to.
pub async fn answer_observed(
    gateway: Option<&Gateway>,
    request: &HttpRequest,
    lambda_request_id: &str,
    deadline: Option<Instant>,
    trace_id: Option<&str>,
) -> (Value, Option<Observed>) {
    let started = Instant::now();
    let request_id = request.request_id.as_deref().unwrap_or(lambda_request_id);
    let Some(gateway) = gateway else {
        tracing::error!(
            class = NOT_CONFIGURED,
            source = request.source.name(),
            request_id,
            "an HTTP request arrived but the invoker has no routes: set {}, {} or {}",
            keys::GATEWAY_CONFIG.var,
            keys::GATEWAY_CONFIG_SSM.var,
            keys::GATEWAY_CONFIG_TEXT.var
        );
        return (not_configured(request_id).to_proxy_response(), None);
    };
    let routed = gateway
        .handle_traced(&request.as_request(request_id), deadline, trace_id)
        .await;
    let a = &routed.answer;
    tracing::info!(
        target: "xinvoke::gateway::access",
        source = request.source.name(),
        method = %request.method,
        path = %request.path,
        route = %routed.route,
        upstream = %routed.upstream,
        function = %routed.function,
        class = a.class.name(),
        attempts = a.attempts,
        status = a.status,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id,
        "request"
    );
    let observed = routed.style.map(|style| Observed {
        function: routed.function.clone(),
        class: a.class.name(),
        stop: a.stop.name(),
        invocation_type: match style {
            InvocationStyle::Sync => "RequestResponse",
            InvocationStyle::Async => "Event",
        },
        attempts: a.attempts,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    });
    (a.to_proxy_response(), observed)
}

/// 500: the invoker was deployed without routes; names the variables that give them.
fn not_configured(request_id: &str) -> Answer {
    let message = format!(
        "the invoker has no HTTP routes: set {} to a gateway file of the deployment package (e.g. /var/task/gateway.yaml), {} to an SSM parameter holding them, or {} to the routes as YAML or JSON",
        keys::GATEWAY_CONFIG.var,
        keys::GATEWAY_CONFIG_SSM.var,
        keys::GATEWAY_CONFIG_TEXT.var
    );
    Answer::refusal(
        500,
        AnswerClass::NotConfigured,
        StopReason::NotRetryable,
        &message,
        request_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::CLASS_HEADER;
    use crate::lambdas::event::{EventError, InvokerEvent};
    use serde_json::json;

    const HTTP_API: &str = include_str!("../../events/apigw-http-api.json");
    const FUNCTION_URL: &str = include_str!("../../events/function-url.json");

    fn decode(v: Value) -> Result<HttpRequest, EventError> {
        match InvokerEvent::from_value(v)? {
            InvokerEvent::Http(r) => Ok(*r),
            other => panic!("not an HTTP request: {other:?}"),
        }
    }

    fn fixture(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
        r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// API Gateway developer guide, "Create AWS Lambda proxy integrations for HTTP APIs",
    /// payload format version 2.0: rawPath, rawQueryString, cookies apart from the headers.
    #[test]
    fn an_http_api_event_decodes_path_query_cookies_and_body() {
        let r = decode(fixture(HTTP_API)).unwrap();
        assert_eq!(r.source, HttpSource::HttpApi);
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/target"));
        assert_eq!(r.query, "source=events&tag=a&tag=b");
        assert_eq!(header(&r, "cookie"), Some("session=3f9a1c; theme=dark"));
        assert_eq!(header(&r, "content-type"), Some("application/json"));
        assert_eq!(r.body, br#"{"hello": "from an HTTP API"}"#);
        assert_eq!(r.request_id.as_deref(), Some("TdL4fjPLIAMEVzA="));
        assert_eq!((r.source_ip.as_str(), r.time_ms), ("203.0.113.10", 1_795_435_200_000));
    }

    /// Lambda developer guide, "Invoking Lambda function URLs", request payload: the same
    /// schema, a binary body base64-encoded, the IAM caller in requestContext.authorizer.
    #[test]
    fn a_function_url_event_is_told_apart_and_its_base64_body_decoded() {
        let r = decode(fixture(FUNCTION_URL)).unwrap();
        assert_eq!(r.source, HttpSource::FunctionUrl);
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_str()),
            ("POST", "/target-role", "mode=echo")
        );
        assert_eq!(r.body, br#"{"hello": "from a function URL"}"#);
        assert_eq!(r.request_id.as_deref(), Some("e1506fd5-9e7b-434f-bd42-4f8fa224b599"));
        assert_eq!(header(&r, "cookie"), None);
        assert_eq!(header(&r, "x-forwarded-proto"), Some("https"));
    }

    #[test]
    fn cookies_and_query_reach_a_wrapped_route_as_api_gateway_would_send_them() {
        let mut v = fixture(FUNCTION_URL);
        v["cookies"] = json!(["a=1", "b=2"]);
        v["rawQueryString"] = json!("?q=1&q=2&r=x%20y");
        let r = decode(v).unwrap();
        let e = crate::gateway::answer::api_gateway_event(&r.as_request("rid"), "POST /target");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(e["rawQueryString"], "q=1&q=2&r=x%20y");
        assert_eq!(e["queryStringParameters"], json!({"q": "1,2", "r": "x y"}));
        assert_eq!(e["requestContext"]["requestId"], "rid");
    }

    #[test]
    fn a_named_http_api_stage_is_not_part_of_the_routed_path() {
        let mut v = fixture(HTTP_API);
        v["requestContext"]["stage"] = json!("prod");
        for (raw, routed) in [
            ("/prod/target", "/target"),
            ("/prod", "/"),
            ("/production/target", "/production/target"),
            ("/target", "/target"),
        ] {
            v["rawPath"] = json!(raw);
            assert_eq!(decode(v.clone()).unwrap().path, routed, "{raw}");
        }
        // A Function URL's stage is a placeholder: nothing is taken off.
        let mut v = fixture(FUNCTION_URL);
        v["requestContext"]["stage"] = json!("prod");
        v["rawPath"] = json!("/prod/target");
        assert_eq!(decode(v).unwrap().path, "/prod/target");
    }

    #[test]
    fn malformed_http_events_say_what_is_wrong() {
        let cases: Vec<(Value, &str)> = vec![
            (
                {
                    let mut v = fixture(FUNCTION_URL);
                    v["body"] = json!("not base64!");
                    v
                },
                "not base64",
            ),
            (
                {
                    let mut v = fixture(HTTP_API);
                    v["rawPath"] = json!("target");
                    v["requestContext"]["http"]["path"] = json!("target");
                    v
                },
                "rawPath",
            ),
            (
                {
                    let mut v = fixture(FUNCTION_URL);
                    v["requestContext"]["http"].as_object_mut().unwrap().remove("method");
                    v
                },
                "method",
            ),
            (
                {
                    let mut v = fixture(HTTP_API);
                    v["isBase64Encoded"] = json!("yes");
                    v
                },
                "HTTP API request",
            ),
            (
                json!({"version": "1.0", "resource": "/target", "httpMethod": "POST", "requestContext": {}}),
                "payload format version 1.0",
            ),
            (
                json!({"httpMethod": "POST", "path": "/target", "requestContext": {"elb": {}}}),
                "without payload format version 2.0",
            ),
            // A direct event is never taken for an HTTP request: its own error names the field.
            (
                json!({"payload": {}, "requestContext": {}}),
                "unknown field `requestContext`",
            ),
        ];
        for (v, words) in cases {
            let e = InvokerEvent::from_value(v.clone()).unwrap_err();
            assert!(e.problem.contains(words), "{v}: {e}");
            assert!(e.to_string().contains("Function URL request"), "{e}");
        }
    }

    #[test]
    fn debug_output_carries_no_body_and_no_header_value() {
        let r = decode(fixture(HTTP_API)).unwrap();
        let d = format!("{r:?}");
        assert!(!d.contains("hello") && !d.contains("3f9a1c"), "{d}");
        assert!(d.contains("body_bytes: 29"), "{d}");
    }

    #[tokio::test]
    async fn without_routes_an_http_request_is_answered_500_naming_the_variables() {
        let r = decode(fixture(FUNCTION_URL)).unwrap();
        let proxy = answer(None, &r, "lambda-rid", None, None).await;
        assert_eq!(proxy["statusCode"], 500);
        assert_eq!(proxy["headers"][CLASS_HEADER], NOT_CONFIGURED);
        assert_eq!(proxy["headers"]["x-request-id"], "e1506fd5-9e7b-434f-bd42-4f8fa224b599");
        assert_eq!(proxy["isBase64Encoded"], false);
        let body: Value = serde_json::from_str(proxy["body"].as_str().unwrap()).unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("XINVOKE_GATEWAY_CONFIG ") && message.contains("XINVOKE_GATEWAY_CONFIG_TEXT"),
            "{message}"
        );
        let mut without_id = fixture(HTTP_API);
        without_id["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("requestId");
        let proxy = answer(None, &decode(without_id).unwrap(), "lambda-rid", None, None).await;
        assert_eq!(proxy["headers"]["x-request-id"], "lambda-rid");
    }

    async fn base() -> SdkConfig {
        crate::adapters::clients::endpoint_config(
            Default::default(),
            "http://127.0.0.1:9",
            aws_credential_types::Credentials::for_tests(),
            "us-east-1",
        )
        .await
    }

    const ROUTES: &str = "upstreams:\n- name: account2\n  region: us-east-1\n  awsAccountId: \"222222222222\"\n  lambdaFunctions:\n  - lambdaFunctionName: target\n    qualifier: live\nroutes:\n- name: target\n  upstream: account2\n  logicalName: target:live\n  matchers:\n  - exact: /target\n";

    #[tokio::test]
    async fn routes_load_from_a_file_or_text_and_a_bad_one_names_the_variable_field_and_fix() {
        let base = base().await;
        let env = |_: &str| None;
        assert!(load_routes(None, &env, Some(&base)).await.unwrap().is_none());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway.yaml");
        std::fs::write(&file, ROUTES).unwrap();
        for source in [
            GatewaySource::File(file.clone()),
            GatewaySource::Text(ROUTES.into()),
            GatewaySource::Text(serde_json::to_string(&serde_saphyr::from_str::<Value>(ROUTES).unwrap()).unwrap()),
        ] {
            let g = load_routes(Some(&source), &env, Some(&base)).await.unwrap().unwrap();
            assert_eq!(g.config().routes[0].name, "target", "{source:?}");
        }
        let missing = GatewaySource::File(dir.path().join("nope.yaml"));
        let e = load_routes(Some(&missing), &env, Some(&base))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("XINVOKE_GATEWAY_CONFIG: ")
                && e.contains("nope.yaml")
                && e.contains("XINVOKE_GATEWAY_CONFIG_TEXT"),
            "{e}"
        );
        let bad = GatewaySource::Text(ROUTES.replace("upstream: account2", "upstream: account3"));
        let e = load_routes(Some(&bad), &env, Some(&base))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("XINVOKE_GATEWAY_CONFIG_TEXT: routes[0].upstream: ") && e.contains("use one of account2"),
            "{e}"
        );
        std::fs::write(&file, "routes: [").unwrap();
        let e = load_routes(Some(&GatewaySource::File(file)), &env, Some(&base))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("XINVOKE_GATEWAY_CONFIG (") && e.contains("gateway.yaml): not YAML"),
            "{e}"
        );
    }
}
