//! A job on the local endpoint: the endpoint in-process (with the invoker function played
//! here for `--via invoker` and `--via lambda-workers`), the targets a scenario offers, its
//! gauges.

use super::error::JobError;
use super::spec::{Job, VPC_LIMITS_SCENARIO};
use crate::adapters::clients;
use crate::adapters::config::AssumeRole;
use crate::adapters::config::{Context, Given, NamedTarget, Settings, Timeouts};
use crate::domain::invocation::InvocationType;
use crate::domain::retry::RetryPolicy;
use crate::invoke::service::Service;
use crate::load::engine::Gauges;
use crate::load::handler::InvokerHandler;
use crate::local::{builtin, scenario, LocalServer, Scenario};
use aws_credential_types::Credentials;
use axum::response::IntoResponse;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::RwLock;

/// The local endpoint a run goes to.
pub(super) struct LocalPlace {
    pub(super) server: LocalServer,
    /// The scenario's name, for the report.
    pub(super) label: String,
    /// Account 1's invoker played in this process (`--via invoker`, `--via lambda-workers`).
    pub(super) invoker: Option<LocalInvoker>,
}

/// Start the local endpoint in-process with `scenario_path` (the built-in job's when none),
/// and, when the mode invokes the invoker function, the invoker it forwards to: the place,
/// its settings (`target`, or the scenario's functions) and target names.
pub(super) async fn start(
    job: &Job,
    scenario_path: Option<&Path>,
    target: Option<Given>,
) -> Result<(LocalPlace, Settings, Vec<Option<String>>), JobError> {
    let (mut scenario, label) = match scenario_path {
        Some(p) => (Scenario::from_path(p)?, p.display().to_string()),
        None => (
            Scenario::from_toml_str(VPC_LIMITS_SCENARIO, Path::new("scenarios/vpc-limits.toml"))?,
            "vpc-limits".to_string(),
        ),
    };
    let mut invoker_listener = None;
    if job.via.local_invoker().is_some() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(JobError::LocalInvoker)?;
        let url = format!("http://{}/", listener.local_addr().map_err(JobError::LocalInvoker)?);
        add_local_invoker(&mut scenario, &url)?;
        invoker_listener = Some(listener);
    }
    let server = LocalServer::start(scenario.clone(), ([127, 0, 0, 1], 0).into()).await?;
    let (settings, names) = local_settings(&scenario, target, job.invocation_type)?;
    let invoker = match (invoker_listener, job.via.local_invoker()) {
        (Some(listener), Some(handler)) => {
            let mut invoker_settings = settings.clone();
            if !job.real_waits {
                invoker_settings.retry = RetryPolicy::defaults_shortened(10.0);
            }
            let slot = Arc::new(RwLock::new(None));
            let invoker = LocalInvoker {
                task: serve_local_invoker(listener, Arc::clone(handler), Arc::clone(&slot)),
                slot,
                handler: Arc::clone(handler),
                settings: invoker_settings,
            };
            invoker.renew(&server).await;
            Some(invoker)
        }
        _ => None,
    };
    Ok((LocalPlace { server, label, invoker }, settings, names))
}

/// The functions a local run spreads its load over when no target is given: account 2's
/// functions with a `live` alias, when account 2 has the `xinvoke-invoke` role to reach them
/// (the built-in job's three; `scenarios/deploy-during-load.toml`'s).
pub(super) fn scenario_targets(scenario: &Scenario) -> Vec<String> {
    let Some(account) = scenario.accounts.iter().find(|a| a.id == builtin::TARGET_ACCOUNT) else {
        return Vec::new();
    };
    if !account.roles.iter().any(|r| r.name == "xinvoke-invoke") {
        return Vec::new();
    }
    account
        .functions
        .iter()
        .filter(|f| f.aliases.iter().any(|a| a.name == "live"))
        .map(|f| f.name.clone())
        .collect()
}

/// Settings for a local run: the given target (its role's external id defaulting to the
/// built-in one), or the scenario's functions through `xinvoke-invoke`, or the built-in
/// `target:live`.
pub(super) fn local_settings(
    scenario: &Scenario,
    target: Option<Given>,
    invocation_type: Option<InvocationType>,
) -> Result<(Settings, Vec<Option<String>>), JobError> {
    let builtin_external_id = || builtin::EXTERNAL_ID.parse().expect("the built-in external id is valid");
    let functions = scenario_targets(scenario);
    let (mut given, names) = match target {
        Some(mut given) => {
            if given.role_arn.is_some() && given.external_id.is_none() {
                given.external_id = Some(builtin_external_id());
            }
            (given, vec![None])
        }
        None if !functions.is_empty() => {
            let role = || AssumeRole {
                role_arn: builtin::INVOKE_ROLE_ARN
                    .parse()
                    .expect("the built-in role ARN is valid"),
                external_id: Some(builtin_external_id()),
                session_name: String::new(),
            };
            let targets: BTreeMap<String, NamedTarget> = functions
                .iter()
                .map(|f| {
                    let arn = format!(
                        "arn:aws:lambda:{}:{}:function:{f}:live",
                        builtin::REGION,
                        builtin::TARGET_ACCOUNT
                    );
                    (
                        f.clone(),
                        NamedTarget {
                            arn: arn.parse().expect("a scenario function's ARN is valid"),
                            role: Some(role()),
                            invocation_type: None,
                            delivery: Default::default(),
                            tenant_id: None,
                        },
                    )
                })
                .collect();
            let names = functions.iter().map(|n| Some(n.clone())).collect();
            (
                Given {
                    targets: Some(targets),
                    ..Given::default()
                },
                names,
            )
        }
        None => (
            Given {
                target_arn: Some(builtin::TARGET_ALIAS_ARN.parse().expect("the built-in ARN is valid")),
                ..Given::default()
            },
            vec![None],
        ),
    };
    given.invocation_type = invocation_type.or(given.invocation_type);
    Ok((Settings::resolve(given, Context::Cli)?, names))
}

/// The SDK configuration that reaches the local endpoint as account 1's `xinvoke-source`.
pub(super) async fn local_base(url: String, timeouts: Timeouts) -> aws_config::SdkConfig {
    let creds = Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        builtin::SOURCE_SECRET_KEY,
        Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
        None,
        "xinvoke-load",
    );
    clients::endpoint_config(timeouts, url, creds, builtin::REGION).await
}

/// The local endpoint's counters, sampled once a second.
pub(super) struct LocalGauges<'a>(pub(super) &'a LocalServer);

impl Gauges for LocalGauges<'_> {
    fn sample(&self) -> BTreeMap<String, u64> {
        let s = self.0.stats();
        BTreeMap::from([
            ("enis_in_use".to_string(), s.enis_in_use),
            ("concurrency".to_string(), s.concurrency),
            ("concurrency_peak".to_string(), s.concurrency_peak),
        ])
    }
}

/// Add account 1's `xinvoke-invoker` function to the scenario: the local endpoint forwards
/// its invokes to `upstream` (the invoker played in this process).
pub(super) fn add_local_invoker(scenario: &mut Scenario, upstream: &str) -> Result<(), JobError> {
    let account = scenario
        .accounts
        .iter_mut()
        .find(|a| a.id == builtin::SOURCE_ACCOUNT)
        .ok_or(JobError::NoSourceAccount)?;
    let behaviour = scenario::Behaviour::Upstream {
        upstream: upstream.to_string(),
    };
    // A scenario may shape the invoker function itself (its reserved concurrency, its VPC, its
    // timeout): its behaviour becomes the handler played here.
    match account.functions.iter_mut().find(|f| f.name == "xinvoke-invoker") {
        Some(f) => f.behaviour = behaviour,
        None => {
            let mut invoker = scenario::Function::named("xinvoke-invoker");
            invoker.behaviour = behaviour;
            invoker.timeout_s = 900;
            account.functions.push(invoker);
        }
    }
    scenario.validate(std::path::Path::new("<scenario with the local invoker>"))?;
    Ok(())
}

/// The service the local `xinvoke-invoker`'s handler invokes through; a fresh one per phase.
type ServiceSlot = Arc<RwLock<Option<Arc<Service>>>>;

/// Account 1's invoker function played in this process (`--via invoker`, `--via
/// lambda-workers`).
pub(super) struct LocalInvoker {
    task: tokio::task::JoinHandle<()>,
    slot: ServiceSlot,
    handler: Arc<dyn InvokerHandler>,
    settings: Settings,
}

impl LocalInvoker {
    /// Fresh clients for the handler: at the start and after the endpoint's reset between
    /// phases (which ends every session, as a new deployment of the invoker would start anew).
    pub(super) async fn renew(&self, server: &LocalServer) {
        let base = local_base(server.url(), self.settings.timeouts).await;
        let service = Arc::new(Service::new(self.settings.clone(), &base).await);
        if let Ok(mut slot) = self.slot.write() {
            *slot = Some(service);
        }
    }

    /// Invokes by class, from the EMF documents the invoker wrote since last asked.
    pub(super) fn invokes_by_class(&self) -> BTreeMap<String, u64> {
        let mut by_class = BTreeMap::new();
        for doc in self.handler.metrics() {
            if let (Some(class), Some(n)) = (doc["class"].as_str(), doc["Invokes"].as_f64()) {
                *by_class.entry(class.to_string()).or_default() += n as u64;
            }
        }
        by_class
    }

    pub(super) fn stop(&self) {
        self.task.abort();
    }
}

/// The invoker Lambda played in this process for `--via lambda-workers` locally: the local
/// endpoint forwards each invoke of account 1's `xinvoke-invoker` here, and this answers its
/// `load` event as the deployed invoker would.
fn serve_local_invoker(
    listener: tokio::net::TcpListener,
    handler: Arc<dyn InvokerHandler>,
    slot: ServiceSlot,
) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let service = slot.read().ok().and_then(|s| s.clone());
        let handler = Arc::clone(&handler);
        async move {
            let Some(service) = service else {
                return (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "the local invoker is starting",
                )
                    .into_response();
            };
            let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            // A handler's error is a function error, as Lambda answers it: 200 with
            // X-Amz-Function-Error, which the local endpoint passes on.
            let (answer, function_error) = match handler.handle(&service, event).await {
                Ok(answer) => (answer, None),
                Err(e) => (
                    json!({"errorType": e.error_type, "errorMessage": e.error_message}),
                    Some("Unhandled"),
                ),
            };
            let mut response = axum::response::Response::new(axum::body::Body::from(answer.to_string()));
            let headers = response.headers_mut();
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            if let Some(kind) = function_error {
                headers.insert("x-amz-function-error", axum::http::HeaderValue::from_static(kind));
            }
            response.into_response()
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}
