//! The gateway's file: upstreams (an account's Lambda functions and how to be allowed to invoke
//! them) and routes (HTTP matchers to a function). Two spellings load into one model:
//!
//! - xinvoke's own, `upstreams:` and `routes:` (YAML, TOML or JSON), with Gloo's field names;
//! - Gloo Edge resources, `kind: Upstream` (`spec.aws`) and `kind: VirtualService`
//!   (`spec.virtualHost.routes`), as Gloo's guides write them, several documents in one file.
//!
//! Every error names the file, the field (`routes[1].matchers[0].regex`) and the fix.

use crate::adapters::config::{ExternalId, SessionName};
use crate::domain::arn::{FunctionArn, Qualifier, RoleArn};
use regex_lite::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

mod check;
mod file;
mod gloo;

use check::check;

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
    /// A role in the functions' account, assumed with an external id (Gloo's `roleArn`).
    Role {
        role: RoleArn,
        external_id: ExternalId,
        session_name: Option<SessionName>,
    },
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
}

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

/// The file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, or `<config>`.
    pub source: String,
    /// The field, e.g. `routes[1].upstream`; empty for the whole file.
    pub field: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field.is_empty() {
            true => write!(f, "{}: {}", self.source, self.problem)?,
            false => write!(f, "{}: {}: {}", self.source, self.field, self.problem)?,
        }
        if !self.fix.is_empty() {
            write!(f, "; {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// How the file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
    Json,
}

impl Format {
    /// From the file's extension (`.yaml`, `.yml`, `.toml`, `.json`).
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

impl GatewayConfig {
    /// Read and check a file; `env` gives variables (the external id of role upstreams that
    /// do not name one).
    pub fn load(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<GatewayConfig, ConfigError> {
        let source = path.display().to_string();
        let whole = |problem: String, fix: &str| ConfigError {
            source: source.clone(),
            field: String::new(),
            problem,
            fix: fix.to_string(),
        };
        let format = Format::of(path)
            .ok_or_else(|| whole("unknown file type".into(), "name the file .yaml, .yml, .toml or .json"))?;
        let text = std::fs::read_to_string(path).map_err(|e| whole(format!("cannot read it ({e})"), ""))?;
        GatewayConfig::parse(&text, format, &source, env)
    }

    /// Parse and check text; `source` names it in errors.
    pub fn parse(
        text: &str,
        format: Format,
        source: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<GatewayConfig, ConfigError> {
        let err = |field: &str, problem: String, fix: &str| ConfigError {
            source: source.to_string(),
            field: field.to_string(),
            problem,
            fix: fix.to_string(),
        };
        let docs: Vec<Value> = match format {
            Format::Yaml => serde_saphyr::from_multiple::<Value>(text)
                .map_err(|e| err("", format!("not YAML: {}", one_line(&e.to_string())), ""))?,
            Format::Toml => vec![toml::from_str::<Value>(text)
                .map_err(|e| err("", format!("not TOML: {}", one_line(&e.to_string())), ""))?],
            Format::Json => {
                vec![serde_json::from_str::<Value>(text).map_err(|e| err("", format!("not JSON: {e}"), ""))?]
            }
        };
        let mut files = Vec::new();
        let (mut upstreams, mut routes) = (Vec::new(), Vec::new());
        for (i, doc) in docs.into_iter().enumerate().filter(|(_, d)| !d.is_null()) {
            let at = |field: String| {
                if i == 0 {
                    field
                } else {
                    format!("document {}: {field}", i + 1)
                }
            };
            match doc.get("kind").and_then(Value::as_str) {
                Some("Upstream") => {
                    let u: gloo::Upstream = typed(doc, &|f| at(f), source)?;
                    upstreams.push(u.into_file(&at("spec.aws".into())));
                }
                Some("VirtualService") => {
                    let vs: gloo::VirtualService = typed(doc, &|f| at(f), source)?;
                    routes.extend(vs.into_routes(&|f| at(f)));
                }
                Some(other) => {
                    return Err(err(
                        &at("kind".into()),
                        format!("{other:?} is not a kind the gateway reads"),
                        "use Upstream or VirtualService (gloo.solo.io), or xinvoke's upstreams: / routes:",
                    ))
                }
                None => {
                    let f: file::File = typed(doc, &|f| at(f), source)?;
                    files.push(f.clone());
                    upstreams.extend(
                        f.upstreams
                            .into_iter()
                            .enumerate()
                            .map(|(j, u)| (at(format!("upstreams[{j}]")), u)),
                    );
                    routes.extend(
                        f.routes
                            .into_iter()
                            .enumerate()
                            .map(|(j, r)| (at(format!("routes[{j}]")), r)),
                    );
                }
            }
        }
        check(upstreams, routes, source, &env)
    }
}

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

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Deserialize a document into `T`, naming the field that failed.
fn typed<T: serde::de::DeserializeOwned>(
    doc: Value,
    at: &dyn Fn(String) -> String,
    source: &str,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let field = e.path().to_string();
        ConfigError {
            source: source.to_string(),
            field: at(if field == "." { String::new() } else { field }),
            problem: e.inner().to_string(),
            fix: "see docs/gateway.md for the fields and their types".into(),
        }
    })
}

/// `500ms`, `10s`, `5m`, or Gloo's protobuf durations (`10s`, `0.5s`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    crate::domain::duration::parse(s).ok()
}

/// Logical name → function, for the functions discovery found (name, and `name:alias` per alias).
pub type Discovered = BTreeMap<String, LambdaFunction>;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<GatewayConfig, ConfigError> {
        GatewayConfig::parse(text, Format::Yaml, "gw.yaml", |k| {
            env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        })
    }

    /// The two Upstream examples of Gloo Edge's guide "Using Cross-Account Lambda Functions"
    /// (docs/content/guides/traffic_management/destination_types/aws_lambda/cross-account.md),
    /// as written there, and the VirtualService of its AWS Lambda guide.
    const GLOO_ROLE: &str = "apiVersion: gloo.solo.io/v1
kind: Upstream
metadata:
  name: aws-upstream
  namespace: gloo-system
spec:
  aws:
    region: us-east-1
    roleArn: arn:aws:iam::123456789012:role/lambda-role
    lambdaFunctions:
    - lambdaFunctionName: target-name
      logicalName: target-name
";
    const GLOO_RESOURCE: &str = "apiVersion: gloo.solo.io/v1
kind: Upstream
metadata:
  name: aws-upstream
  namespace: gloo-system
spec:
  aws:
    region: us-east-1
    secretRef:
      name: aws-creds
      namespace: gloo-system
    awsAccountId: \"123456789012\"
    lambdaFunctions:
    - lambdaFunctionName: target-name
      logicalName: target-name
";
    const GLOO_VS: &str = "apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata:
  name: aws-route
  namespace: gloo-system
spec:
  virtualHost:
    domains:
    - '*'
    routes:
    - matchers:
      - exact: /
      routeAction:
        single:
          destinationSpec:
            aws:
              logicalName: target-name
              unwrapAsApiGateway: true
          upstream:
            name: aws-upstream
            namespace: gloo-system
";

    #[test]
    fn gloo_guides_upstreams_load_unchanged() {
        let c = parse(&format!("{GLOO_RESOURCE}---\n{GLOO_VS}"), &[]).unwrap();
        let u = &c.upstreams[0];
        assert_eq!(
            (u.name.as_str(), u.account.as_str(), u.profile.as_deref()),
            ("aws-upstream", "123456789012", Some("aws-creds"))
        );
        assert!(matches!(u.auth, UpstreamAuth::Resource));
        assert_eq!(
            u.function_arn("target-name").unwrap().to_string(),
            "arn:aws:lambda:us-east-1:123456789012:function:target-name"
        );
        let r = &c.routes[0];
        assert!(matches!(&r.matchers[0].path, PathMatch::Exact(p) if p == "/"));
        assert!(r.unwrap_as_api_gateway && r.style == InvocationStyle::Sync);

        let e = parse(GLOO_ROLE, &[]).unwrap_err().to_string();
        assert!(e.contains("spec.aws.roleArn") && e.contains(EXTERNAL_ID_VAR), "{e}");
        let c = parse(GLOO_ROLE, &[(EXTERNAL_ID_VAR, "the-shared-id")]).unwrap();
        let UpstreamAuth::Role { role, external_id, .. } = &c.upstreams[0].auth else {
            panic!("a role upstream")
        };
        assert_eq!(role.to_string(), "arn:aws:iam::123456789012:role/lambda-role");
        assert_eq!(external_id.expose(), "the-shared-id");
        assert_eq!(c.upstreams[0].account, "123456789012");
    }

    #[test]
    fn errors_name_the_field_and_the_fix() {
        let base = "upstreams:\n- name: a\n  region: us-east-1\n  awsAccountId: \"222222222222\"\n  lambdaFunctions:\n  - lambdaFunctionName: target\n    qualifier: live\n";
        for (extra, field, words) in [
            (
                "routes:\n- upstream: b\n  logicalName: target:live\n",
                "routes[0].upstream",
                "use one of a",
            ),
            (
                "routes:\n- upstream: a\n  logicalName: nope\n",
                "routes[0].logicalName",
                "target:live",
            ),
            (
                "routes:\n- upstream: a\n  logicalName: target:live\n  matchers:\n  - regex: \"(\"\n",
                "routes[0].matchers[0].regex",
                "regular expression",
            ),
            (
                "routes:\n- upstream: a\n  logicalName: target:live\n  matchers:\n  - prefix: /a\n    exact: /b\n",
                "routes[0].matchers[0]",
                "keep one",
            ),
            (
                "routes:\n- upstream: a\n  logicalName: target:live\n  timeout: forever\n",
                "routes[0].timeout",
                "e.g. 10s",
            ),
            (
                "routes:\n- upstream: a\n  logicalName: target:live\n  invocationStyle: later\n",
                "routes[0].invocationStyle",
                "sync or async",
            ),
            (
                "routes:\n- upstream: a\n  logicalName: target:live\n  colour: blue\n",
                "routes[0].colour",
                "unknown field",
            ),
        ] {
            let e = parse(&format!("{base}{extra}"), &[]).unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.to_string().contains(words), "{e}");
            assert!(e.to_string().starts_with("gw.yaml: "), "{e}");
        }
        let e = parse(
            "upstreams:\n- name: a\n  region: us-east-1\n  lambdaFunctions: []\n",
            &[],
        )
        .unwrap_err();
        assert!(e.fix.contains("roleArn") && e.fix.contains("awsAccountId"), "{e}");
        let e = parse("upstreams: [", &[]).unwrap_err();
        assert!(e.problem.starts_with("not YAML"), "{e}");
    }

    #[test]
    fn the_same_file_reads_as_toml_and_json() {
        let toml = "[[upstreams]]\nname = \"a\"\nregion = \"eu-west-1\"\nawsAccountId = \"222222222222\"\n[[upstreams.lambdaFunctions]]\nlambdaFunctionName = \"f\"\n[[routes]]\nupstream = \"a\"\nlogicalName = \"f\"\nretries = \"off\"\ninvocationStyle = \"ASYNC\"\n[[routes.matchers]]\nprefix = \"/f\"\nmethods = [\"post\"]\n";
        let c = GatewayConfig::parse(toml, Format::Toml, "gw.toml", |_| None).unwrap();
        let r = &c.routes[0];
        assert_eq!(
            (r.style, r.retries, r.matchers[0].methods.clone()),
            (InvocationStyle::Async, Retries::Off, vec!["POST".to_string()])
        );
        let json = r#"{"upstreams":[{"name":"a","region":"eu-west-1","awsAccountId":222222222222,"lambdaFunctions":[{"lambdaFunctionName":"f","qualifier":"$LATEST"}]}]}"#;
        let c = GatewayConfig::parse(json, Format::Json, "gw.json", |_| None).unwrap();
        assert_eq!(
            c.upstreams[0].function_arn("f").unwrap().to_string(),
            "arn:aws:lambda:eu-west-1:222222222222:function:f"
        );
    }
}
