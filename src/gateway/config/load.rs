//! Reading a gateway file: its format by extension, each document by its `kind` (xinvoke's
//! `upstreams:` / `routes:`, or Gloo's Upstream and VirtualService), then the whole checked.

use crate::gateway::config::check::check;
use crate::gateway::config::error::{one_line, ConfigError};
use crate::gateway::config::model::GatewayConfig;
use crate::gateway::config::{file, gloo};
use serde_json::Value;
use std::path::Path;

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
            if let Some(kind @ ("Upstream" | "VirtualService")) = doc.get("kind").and_then(Value::as_str) {
                gloo::refuse_unsupported(&doc, kind).map_err(|r| err(&at(r.field), r.problem, r.fix))?;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::config::model::*;
    use std::time::Duration;

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

        // Gloo's guide's role Upstream has no external id (Gloo has no such field): it loads.
        let c = parse(GLOO_ROLE, &[]).unwrap();
        assert!(c.upstreams[0].assumes_without_external_id());
        let c = parse(GLOO_ROLE, &[(EXTERNAL_ID_VAR, "the-shared-id")]).unwrap();
        let UpstreamAuth::Role { role, external_id, .. } = &c.upstreams[0].auth else {
            panic!("a role upstream")
        };
        assert_eq!(role.to_string(), "arn:aws:iam::123456789012:role/lambda-role");
        assert_eq!(external_id.as_ref().map(|e| e.expose()), Some("the-shared-id"));
        assert_eq!(c.upstreams[0].account, "123456789012");
    }

    #[test]
    fn xinvokes_own_role_upstream_needs_an_external_id_unless_it_says_none() {
        let role = "upstreams:\n- name: a\n  region: us-east-1\n  roleArn: arn:aws:iam::222222222222:role/r\n  lambdaFunctions: [{lambdaFunctionName: f}]\n";
        let e = parse(role, &[]).unwrap_err().to_string();
        assert!(
            e.contains("upstreams[0].roleArn") && e.contains(EXTERNAL_ID_VAR) && e.contains("externalId: none"),
            "{e}"
        );
        let c = parse(
            &role.replace("  lambdaFunctions", "  externalId: none\n  lambdaFunctions"),
            &[],
        )
        .unwrap();
        assert!(c.upstreams[0].assumes_without_external_id());
        let c = parse(role, &[(EXTERNAL_ID_VAR, "from-env")]).unwrap();
        assert!(!c.upstreams[0].assumes_without_external_id());
    }

    const UPSTREAM: &str = "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: u, namespace: gloo-system, labels: {team: a}}\nspec:\n  aws: {region: us-east-1, awsAccountId: \"222222222222\", lambdaFunctions: [{lambdaFunctionName: f, logicalName: f}]}\n---\n";

    /// What guards, limits or transforms a Gloo route is refused by name, where Gloo writes it,
    /// in the route's options or its virtual host's; what changes nothing is accepted.
    #[test]
    fn gloo_fields_that_guard_or_transform_are_refused_by_name() {
        let vs = |host_options: &str, route_options: &str, destination: &str| {
            format!("{UPSTREAM}apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {{name: guarded, namespace: gloo-system, labels: {{a: b}}}}\nspec:\n  displayName: Guarded\n  virtualHost:\n    domains: ['*']\n    options: {{{host_options}}}\n    routes:\n    - matchers: [{{prefix: /}}]\n      routeAction: {{single: {{upstream: {{name: u}}, destinationSpec: {{aws: {{logicalName: f{destination}}}}}}}}}\n      options: {{{route_options}}}\n")
        };
        assert!(
            parse(&vs("", "", ""), &[]).is_ok(),
            "labels, namespaces and displayName are accepted"
        );
        for (host, route, destination, field) in [
            (
                "extauth: {configRef: {name: basic}}",
                "",
                "",
                "spec.virtualHost.options.extauth",
            ),
            (
                "",
                "extauth: {disable: false}",
                "",
                "spec.virtualHost.routes[0].options.extauth",
            ),
            (
                "ratelimitBasic: {anonymousLimits: {requestsPerUnit: 1, unit: MINUTE}}",
                "",
                "",
                "spec.virtualHost.options.ratelimitBasic",
            ),
            (
                "",
                "rateLimitConfigs: {refs: [{name: x}]}",
                "",
                "spec.virtualHost.routes[0].options.rateLimitConfigs",
            ),
            ("waf: {disabled: false}", "", "", "spec.virtualHost.options.waf"),
            (
                "",
                "jwt: {disable: false}",
                "",
                "spec.virtualHost.routes[0].options.jwt",
            ),
            (
                "",
                "transformations: {requestTransformation: {}}",
                "",
                "spec.virtualHost.routes[0].options.transformations",
            ),
            (
                "",
                "",
                ", unwrapAsAlb: true",
                "spec.virtualHost.routes[0].routeAction.single.destinationSpec.aws.unwrapAsAlb",
            ),
        ] {
            let e = parse(&vs(host, route, destination), &[]).unwrap_err();
            assert_eq!(e.field, format!("document 2: {field}"));
            let text = e.to_string();
            let name = field.rsplit('.').next().unwrap();
            assert!(
                text.contains(&format!(
                    "{name} is not supported: this route would be served without it"
                )) && text.contains("VirtualService \"guarded\""),
                "{text}"
            );
        }
        let e = parse(
            &UPSTREAM.replace(
                "lambdaFunctions",
                "destinationOverrides: {unwrapAsAlb: true}, lambdaFunctions",
            ),
            &[],
        )
        .unwrap_err();
        assert!(
            e.field.ends_with("spec.aws.destinationOverrides")
                && e.problem.contains("this upstream would be served without it"),
            "{e}"
        );
    }

    /// Gloo's routing fields, honoured: domains, query parameters, case, rewrites, header edits,
    /// CORS and retries, read from the route or (where Gloo allows) its virtual host.
    #[test]
    fn gloo_routing_fields_load_into_the_route() {
        let text = format!("{UPSTREAM}kind: VirtualService\nmetadata: {{name: r}}\nspec:\n  virtualHost:\n    domains: [API.example.com, '*.example.com']\n    options:\n      cors: {{allowOrigin: ['https://app.example.com'], allowMethods: [post], maxAge: '600'}}\n      headerManipulation: {{responseHeadersToAdd: [{{header: {{key: x-host, value: h}}}}]}}\n      retries: {{retryOn: 'gateway-error,retriable-status-codes', retriableStatusCodes: [429], numRetries: 3, perTryTimeout: 2s}}\n    routes:\n    - name: r1\n      matchers: [{{prefix: /API, caseSensitive: false, queryParameters: [{{name: v, value: '[0-9]+', regex: true}}]}}]\n      routeAction: {{single: {{upstream: {{name: u}}, destinationSpec: {{aws: {{logicalName: f}}}}}}}}\n      options:\n        prefixRewrite: /v1\n        headerManipulation: {{requestHeadersToAdd: [{{header: {{key: X-Tenant, value: t1}}, append: false}}], responseHeadersToRemove: [x-internal]}}\n");
        let c = parse(&text, &[]).unwrap();
        let r = &c.routes[0];
        assert_eq!(r.domains, vec!["api.example.com", "*.example.com"]);
        let m = &r.matchers[0];
        assert!(matches!(&m.path, PathMatch::Prefix(p) if p == "/api") && !m.case_sensitive);
        assert_eq!(m.query.len(), 1);
        assert!(matches!(&r.rewrite, Some(Rewrite::Prefix(p)) if p == "/v1"));
        assert_eq!(
            r.headers.request_add,
            vec![("x-tenant".to_string(), "t1".to_string(), false)]
        );
        assert_eq!(
            r.headers.response_add,
            vec![("x-host".to_string(), "h".to_string(), true)]
        );
        assert_eq!(r.headers.response_remove, vec!["x-internal".to_string()]);
        let cors = r.cors.as_ref().expect("the virtual host's policy");
        assert!(cors.allows("https://app.example.com") && !cors.allows("https://evil.example"));
        assert_eq!(cors.methods, vec!["POST"]);
        assert_eq!(
            (r.retries, r.per_try_timeout),
            (Retries::MaxAttempts(4), Some(Duration::from_secs(2)))
        );
        use crate::domain::class::Class;
        let on = r.retry_on.as_ref().unwrap();
        assert!(on.contains(&Class::Throttled) && on.contains(&Class::EniLimit) && on.contains(&Class::Timeout));
        assert!(!on.contains(&Class::PayloadTooLarge) && !on.contains(&Class::Ok));

        for (bad, field) in [
            ("retryOn: cancelled", "retryOn"),
            ("headerManipulation: {responseHeadersToAdd: [{header: {key: x-xinvoke-class, value: ok}}]}", "headerManipulation.responseHeadersToAdd[0].header.key"),
            ("headerManipulation: {requestHeadersToAdd: [{header: {key: x-ip, value: '%DOWNSTREAM_REMOTE_ADDRESS%'}}]}", "headerManipulation.requestHeadersToAdd[0].header.value"),
        ] {
            let text = format!("upstreams:\n- {{name: a, region: us-east-1, awsAccountId: \"222222222222\", lambdaFunctions: [{{lambdaFunctionName: f}}]}}\nroutes:\n- {{upstream: a, logicalName: f, {bad}}}\n");
            let e = parse(&text, &[]).unwrap_err();
            assert_eq!(e.field, format!("routes[0].{field}"), "{e}");
        }
        let two_hosts = format!("{UPSTREAM}kind: VirtualService\nmetadata: {{name: a}}\nspec: {{virtualHost: {{domains: [x.example], routes: [{{routeAction: {{single: {{upstream: {{name: u}}, destinationSpec: {{aws: {{logicalName: f}}}}}}}}}}]}}}}\n---\nkind: VirtualService\nmetadata: {{name: b}}\nspec: {{virtualHost: {{domains: [y.example, x.example], routes: [{{routeAction: {{single: {{upstream: {{name: u}}, destinationSpec: {{aws: {{logicalName: f}}}}}}}}}}]}}}}\n");
        let e = parse(&two_hosts, &[]).unwrap_err();
        assert!(e.problem.contains("x.example"), "{e}");
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
