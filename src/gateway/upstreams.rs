//! Each upstream's invoke service: its functions as named targets, signed by the gateway's
//! own credentials (the default chain, or the upstream's profile) or by a role assumed in the
//! functions' account in the upstream's region (STS included), one service a route's retry
//! policy. Discovery lists an upstream's account and grows its functions.

use crate::adapters::chain::{self, ChainError};
use crate::adapters::clients;
use crate::adapters::config::{AssumeRole, Auth, Context, Given, NamedTarget, Settings, Timeouts};
use crate::adapters::signed::InvokePath;
use crate::gateway::config::{Discovered, GatewayConfig, LambdaFunction, Retries, Route, Upstream, UpstreamAuth};
use crate::gateway::discovery::DiscoveryError;
use crate::invoke::service::Service;
use aws_config::SdkConfig;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// The session name of the roles the gateway assumes when its file names none.
pub const SESSION_NAME: &str = "xinvoke-gateway";

/// Why an upstream cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("upstream {upstream}: {problem}")]
pub struct UpstreamError {
    pub upstream: String,
    pub problem: String,
}

impl From<DiscoveryError> for UpstreamError {
    fn from(e: DiscoveryError) -> UpstreamError {
        UpstreamError {
            upstream: e.upstream,
            problem: e.problem,
        }
    }
}

/// What a discovery found: functions and aliases routed, and the limit when the account had
/// more functions than `maxFunctions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub count: usize,
    pub capped_at: Option<usize>,
}

/// The services of every upstream and route of one configuration.
pub struct Upstreams {
    by_name: HashMap<String, UpstreamRuntime>,
}

/// One upstream's services; replaced whole when discovery finds other functions.
struct UpstreamRuntime {
    upstream: Upstream,
    base: SdkConfig,
    settings: Settings,
    services: RwLock<Arc<Services>>,
    discovered: RwLock<Discovered>,
}

/// The upstream's service and one per route with its own retries.
struct Services {
    service: Arc<Service>,
    by_route: HashMap<String, Arc<Service>>,
}

impl Upstreams {
    /// Build every upstream's clients (no AWS call is made here: credentials are fetched on
    /// the first invoke, or by [`Upstreams::check_credentials`]). `env` gives the retry policy
    /// and timeouts (`XINVOKE_RETRY`, `XINVOKE_*_TIMEOUT_MS`, ...).
    /// `base`, when given, is every upstream's AWS configuration (credentials, endpoint) in
    /// place of the standard chain (tests and embedders).
    pub async fn build(
        config: &GatewayConfig,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
        base: Option<&SdkConfig>,
    ) -> Result<Upstreams, UpstreamError> {
        let mut by_name = HashMap::new();
        let mut bases: HashMap<Option<String>, SdkConfig> = HashMap::new();
        for u in &config.upstreams {
            let timeouts = settings_for(u, &u.functions, env)?.timeouts;
            let base = match (base, bases.get(&u.profile)) {
                (Some(b), _) | (None, Some(b)) => b.clone(),
                (None, None) => {
                    let b = base_config(u.profile.as_deref(), timeouts).await;
                    bases.insert(u.profile.clone(), b.clone());
                    b
                }
            };
            let settings = settings_for(u, &u.functions, env)?;
            let services = services(&settings, &base, &config.routes, &u.name).await;
            by_name.insert(
                u.name.clone(),
                UpstreamRuntime {
                    upstream: u.clone(),
                    base,
                    settings,
                    services: RwLock::new(Arc::new(services)),
                    discovered: RwLock::new(BTreeMap::new()),
                },
            );
        }
        Ok(Upstreams { by_name })
    }

    /// The service a route invokes through, and whether the upstream knows the route's logical
    /// name (configured or discovered).
    pub fn service_for(&self, route: &Route) -> Option<Arc<Service>> {
        let u = self.by_name.get(&route.upstream)?;
        let services = Arc::clone(&u.services.read().unwrap_or_else(|p| p.into_inner()));
        services.service.target(Some(&route.logical_name)).ok()?;
        services.by_route.get(&route.name).cloned()
    }

    /// The service and logical name for a discovered function (`PREFIX/FUNCTION[/ALIAS]`).
    pub fn discovered(&self, path: &str) -> Option<(String, Arc<Service>, String)> {
        for u in self.by_name.values() {
            let Some(prefix) = u.upstream.discovery.as_ref().and_then(|d| d.route_prefix.as_deref()) else {
                continue;
            };
            let Some(rest) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            let logical = match rest.split_once('/') {
                Some((f, alias)) => format!("{f}:{alias}"),
                None => rest.to_string(),
            };
            let known = u
                .discovered
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&logical);
            if known {
                let services = u.services.read().unwrap_or_else(|p| p.into_inner());
                return Some((u.upstream.name.clone(), Arc::clone(&services.service), logical));
            }
        }
        None
    }

    /// How the functions an upstream's discovery found are invoked.
    pub fn discovered_options(&self, upstream: &str) -> crate::gateway::config::Discovery {
        self.by_name
            .get(upstream)
            .and_then(|u| u.upstream.discovery.clone())
            .unwrap_or(crate::gateway::config::Discovery {
                refresh: std::time::Duration::from_secs(300),
                route_prefix: None,
                max_functions: crate::gateway::config::DEFAULT_MAX_FUNCTIONS,
                style: crate::gateway::config::InvocationStyle::Sync,
                wrap_as_api_gateway: false,
                unwrap_as_api_gateway: false,
                timeout: crate::gateway::config::DEFAULT_TIMEOUT,
            })
    }

    /// The upstreams with discovery on, and how often to list them.
    pub fn discovering(&self) -> Vec<(String, std::time::Duration)> {
        self.by_name
            .values()
            .filter_map(|u| {
                u.upstream
                    .discovery
                    .as_ref()
                    .map(|d| (u.upstream.name.clone(), d.refresh))
            })
            .collect()
    }

    /// List an upstream's account (ListFunctions, then ListAliases for each) and serve what was
    /// found; returns how many functions and aliases. The error names the permission missing;
    /// on an error the functions found before stay served.
    pub async fn discover(&self, name: &str, routes: &[Route]) -> Result<Found, UpstreamError> {
        let u = self.by_name.get(name).ok_or_else(|| UpstreamError {
            upstream: name.to_string(),
            problem: "no such upstream".into(),
        })?;
        let listing = crate::gateway::discovery::list(&u.upstream, &u.base, &auth_of(&u.upstream)).await?;
        let (found, capped_at) = (listing.found, listing.capped_at);
        let count = found.len();
        let changed = *u.discovered.read().unwrap_or_else(|p| p.into_inner()) != found;
        if changed {
            let mut functions = u.upstream.functions.clone();
            for f in found.values() {
                if !functions.iter().any(|c| c.logical_name == f.logical_name) {
                    functions.push(f.clone());
                }
            }
            let mut settings = u.settings.clone();
            settings.targets = targets_of(&u.upstream, &functions);
            let services = services(&settings, &u.base, routes, name).await;
            *u.services.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(services);
            *u.discovered.write().unwrap_or_else(|p| p.into_inner()) = found;
        }
        Ok(Found { count, capped_at })
    }

    /// Fetch each upstream's credentials (the default chain, then AssumeRole for role
    /// upstreams), once for upstreams that share them, so that a missing link is named before
    /// routes serve (at start and before a reload swaps) rather than on the first request.
    /// Each upstream's result, by name.
    pub async fn check_credentials(&self) -> BTreeMap<String, Result<(), ChainError>> {
        let mut results = BTreeMap::new();
        let mut by_key: HashMap<String, Result<(), ChainError>> = HashMap::new();
        for u in self.by_name.values() {
            let key = format!("{:?}/{}", u.upstream.profile, auth_key(&u.upstream));
            let result = match by_key.get(&key) {
                Some(r) => r.clone(),
                None => {
                    let env = crate::adapters::config::process_env;
                    let r = chain::check(
                        &u.base,
                        &auth_of(&u.upstream),
                        &u.upstream.region,
                        u.upstream.profile.as_deref(),
                        &env,
                    )
                    .await;
                    by_key.insert(key, r.clone());
                    r
                }
            };
            results.insert(u.upstream.name.clone(), result);
        }
        results
    }
}

fn auth_key(u: &Upstream) -> String {
    match &u.auth {
        UpstreamAuth::Resource => "resource".into(),
        // The external id is part of what STS checks; the key never leaves this module.
        UpstreamAuth::Role { role, external_id, .. } => {
            format!("{role}@{}/{:?}", u.region, external_id.as_ref().map(|e| e.expose()))
        }
    }
}

/// The credentials an upstream signs with, as the invoke service's [`Auth`].
pub(crate) fn auth_of(u: &Upstream) -> Auth {
    match &u.auth {
        UpstreamAuth::Resource => Auth::ExecutionRole,
        UpstreamAuth::Role {
            role,
            external_id,
            session_name,
        } => Auth::AssumeRole(AssumeRole {
            role_arn: role.clone(),
            external_id: external_id.clone(),
            session_name: session_name
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| SESSION_NAME.to_string()),
        }),
    }
}

/// The base configuration: the standard chain (env, profile, web identity, container, IMDS),
/// or the named profile's (Gloo's `secretRef`).
async fn base_config(profile: Option<&str>, timeouts: Timeouts) -> SdkConfig {
    let loader = clients::loader(timeouts);
    match profile {
        // The profile's credentials alone: the standard chain would take the environment's
        // variables first, and the upstream would sign as someone else.
        Some(p) => {
            let provider_config = aws_config::provider_config::ProviderConfig::default()
                .with_http_client(crate::adapters::transport::sdk_http_client());
            let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&provider_config)
                .profile_name(p)
                .build();
            loader.profile_name(p).credentials_provider(credentials).load().await
        }
        None => loader.load().await,
    }
}

/// Settings of an upstream: its functions as targets; retries and timeouts from `env`.
fn settings_for(
    u: &Upstream,
    functions: &[LambdaFunction],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, UpstreamError> {
    let err = |problem: String| UpstreamError {
        upstream: u.name.clone(),
        problem,
    };
    let mut given = Given::from_env(env, Context::Cli).map_err(|e| err(e.to_string()))?;
    given.target_arn = None;
    given.role_arn = None;
    given.external_id = None;
    given.session_name = None;
    given.default_target = None;
    let role = match auth_of(u) {
        Auth::AssumeRole(a) => Some(a),
        Auth::ExecutionRole => None,
    };
    let mut targets: BTreeMap<String, NamedTarget> = functions
        .iter()
        .map(|f| {
            (
                f.logical_name.clone(),
                NamedTarget {
                    arn: u.arn_of(&f.name, f.qualifier.clone()),
                    role: role.clone(),
                    invocation_type: None,
                    delivery: Default::default(),
                    tenant_id: None,
                },
            )
        })
        .collect();
    if targets.is_empty() {
        // Discovery fills the upstream in; until then its service has a placeholder target no
        // route names (routes are checked against discovered names at request time).
        targets.insert(
            "(discovery pending)".into(),
            NamedTarget {
                arn: u.arn_of("placeholder", None),
                role,
                invocation_type: None,
                delivery: Default::default(),
                tenant_id: None,
            },
        );
    }
    given.targets = Some(targets);
    Settings::resolve(given, Context::Cli).map_err(|e| err(e.to_string()))
}

/// The target table for `functions`, with the settings' retry and timeouts kept.
fn targets_of(u: &Upstream, functions: &[LambdaFunction]) -> BTreeMap<String, crate::adapters::config::TargetConfig> {
    let auth = auth_of(u);
    functions
        .iter()
        .map(|f| {
            (
                f.logical_name.clone(),
                crate::adapters::config::TargetConfig {
                    name: f.logical_name.clone(),
                    arn: u.arn_of(&f.name, f.qualifier.clone()),
                    auth: auth.clone(),
                    invocation_type: Default::default(),
                    delivery: Default::default(),
                    tenant_id: None,
                },
            )
        })
        .collect()
}

/// The upstream's service (signed path) and one per route of this upstream with its retries:
/// its attempts, the classes its `retryOn` lets a retry follow, and its own attempt timeout
/// (`perTryTimeout`, which needs clients of its own).
async fn services(settings: &Settings, base: &SdkConfig, routes: &[Route], upstream: &str) -> Services {
    let service = Arc::new(Service::with_path(settings.clone(), base, InvokePath::Signed).await);
    let mut by_route = HashMap::new();
    for r in routes.iter().filter(|r| r.upstream == upstream) {
        let mut policy = match r.retries {
            Retries::Policy => settings.retry.clone(),
            Retries::Off => crate::domain::retry::RetryPolicy {
                disabled: true,
                ..settings.retry.clone()
            },
            Retries::MaxAttempts(n) => settings.retry.with_max_attempts(n),
        };
        if let Some(on) = &r.retry_on {
            for class in crate::domain::class::Class::ALL.into_iter().filter(|c| !on.contains(c)) {
                let never = crate::domain::retry::ClassPolicy {
                    max_retries: 0,
                    ..policy.class(class)
                };
                policy.classes.insert(class, never);
            }
        }
        let own = match r.per_try_timeout {
            Some(attempt) => {
                let mut settings = settings.clone();
                settings.timeouts.attempt = attempt;
                Service::with_path(settings, base, InvokePath::Signed).await
            }
            None => service.with_retry_policy(policy.clone()),
        };
        by_route.insert(r.name.clone(), Arc::new(own.with_retry_policy(policy)));
    }
    Services { service, by_route }
}
