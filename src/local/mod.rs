//! The local endpoint: an HTTP server that answers like AWS Lambda and STS, so real SDK
//! clients (Rust, boto3) pointed at it with `endpoint_url` see what they would see from AWS:
//! SigV4 checks, IAM decisions with AWS's wording, Invoke's statuses, headers and limits,
//! lifecycle states, throttles and the VPC/ENI failures that emerge under concurrency. It is
//! the test bed of the whole project and the `xinvoke local` command.
//!
//! ```no_run
//! # async fn demo() -> Result<(), xinvoke::local::LocalError> {
//! use xinvoke::local::{LocalServer, Scenario};
//! let server = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Any SDK or the AWS CLI works against it with the keys of [`builtin`], e.g.
//! `AWS_ACCESS_KEY_ID=ASIAXINVOKESOURCE001 AWS_SECRET_ACCESS_KEY=xinvoke-local-source-secret
//! AWS_SESSION_TOKEN=IQoJxinvokelocalsourcesessiontoken00000000000001 aws --endpoint-url http://127.0.0.1:4590 --region us-east-1 lambda invoke
//! --function-name arn:aws:lambda:us-east-1:222222222222:function:target:live out.json`.
//!
//! Choices where AWS is silent or the model simplifies:
//! - A role's fixed credentials are a session of it, as Lambda hands a function its
//!   execution role's: an `ASIA` key with a session token, whose identity is
//!   `arn:aws:sts::ACCT:assumed-role/ROLE/<session_name>` (default `xinvoke-local`) and whose
//!   AssumeRole calls are role chaining (1 hour at most). Long-term `AKIA` keys are IAM
//!   users' (`arn:aws:iam::ACCT:user/NAME`).
//! - `X-Amz-Log-Type: Tail` across accounts answers 403 AccessDeniedException
//!   "Cross-account log access is not allowed".
//! - 4xx errors carry `"Type":"User"`, 5xx `"Type":"Service"`.
//! - Per-environment ENIs: the ENI quota, subnet IPs and EC2 API bucket are per function (one
//!   VPC per function). Hyperplane ENIs: per account (`hyperplane`).
//! - An `Event` invoke checks existence, permission, size and JSON before it is queued (and
//!   answers those errors at once); state, throttles, network and 5xx are met when the queue
//!   runs it, and retried as Lambda does (`async_invoke`). Injected 4xx faults apply when it
//!   is accepted, throttles and 5xx when it runs.
//! - Inactive reclaims the function's Hyperplane ENI at once when no other function uses its
//!   combination (AWS reclaims it after weeks idle; the function is Inactive by then).
//! - The control API is described in `control`.

pub(crate) mod async_invoke;
pub(crate) mod client;
pub(crate) mod clock;
pub(crate) mod control;
pub(crate) mod errors;
pub(crate) mod executions;
pub(crate) mod faults;
pub(crate) mod function;
pub(crate) mod hyperplane;
pub(crate) mod iam;
pub(crate) mod ids;
pub(crate) mod json_answer;
pub(crate) mod json_protocol;
pub(crate) mod lambda_api;
pub(crate) mod oidc;
pub(crate) mod organizations;
pub(crate) mod scenario;
pub(crate) mod server;
pub(crate) mod shared;
pub(crate) mod sigv4;
pub(crate) mod ssm;
pub(crate) mod stats;
pub(crate) mod sts;
pub(crate) mod upstream;
pub(crate) mod vpc;
pub(crate) mod world;

pub use client::{ControlClient, ControlError};
pub use oidc::TokenRequest;
pub use scenario::{Scenario, ScenarioError, Secret};
pub use stats::Stats;

use crate::serve::ServeLimits;
use shared::Shared;
use std::net::SocketAddr;
use std::sync::Arc;

/// Constants of the built-in scenario, for other modules and tests.
pub mod builtin {
    /// Region served.
    pub const REGION: &str = "us-east-1";
    /// Account 1, where the invoker runs.
    pub const SOURCE_ACCOUNT: &str = "111111111111";
    /// Account 2, where the target runs.
    pub const TARGET_ACCOUNT: &str = "222222222222";
    /// The invoker's role in account 1.
    pub const SOURCE_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/xinvoke-source";
    /// Access key of a session of `xinvoke-source` (the invoker's execution role: Lambda
    /// hands a function `ASIA` keys with a session token).
    pub const SOURCE_ACCESS_KEY: &str = "ASIAXINVOKESOURCE001";
    /// Secret key of that session.
    pub const SOURCE_SECRET_KEY: &str = "xinvoke-local-source-secret";
    /// Session token of that session (`AWS_SESSION_TOKEN`).
    pub const SOURCE_SESSION_TOKEN: &str = "IQoJxinvokelocalsourcesessiontoken00000000000001";
    /// Long-term access key of the IAM user `xinvoke-stranger` (account 1, no policy).
    pub const STRANGER_ACCESS_KEY: &str = "AKIAXINVOKESTRANGER1";
    /// Secret key of `xinvoke-stranger`.
    pub const STRANGER_SECRET_KEY: &str = "xinvoke-local-stranger-secret";
    /// Long-term access key of the operator, IAM user `xinvoke-admin` (account 2).
    pub const ADMIN_ACCESS_KEY: &str = "AKIAXINVOKEADMIN0001";
    /// Secret key of `xinvoke-admin`.
    pub const ADMIN_SECRET_KEY: &str = "xinvoke-local-admin-secret";
    /// The role in account 2 that `xinvoke-source` may assume.
    pub const INVOKE_ROLE_ARN: &str = "arn:aws:iam::222222222222:role/xinvoke-invoke";
    /// The ExternalId its trust policy requires.
    pub const EXTERNAL_ID: &str = "xinvoke-local-external-id";
    /// The target function.
    pub const TARGET_FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:222222222222:function:target";
    /// The target's alias `live` (→ version 1), the only ARN account 1 may invoke directly.
    pub const TARGET_ALIAS_ARN: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";
    /// The OIDC issuer of account 1's EKS cluster (`iss` of its service-account tokens).
    pub const OIDC_ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    /// Its IAM OIDC identity provider in account 1.
    pub const OIDC_PROVIDER_ARN: &str =
        "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    /// The audience (client id) the provider accepts, as EKS writes it in pods' tokens.
    pub const OIDC_AUDIENCE: &str = "sts.amazonaws.com";
    /// The role account 1's pods get with their token (AssumeRoleWithWebIdentity); it may
    /// assume [`INVOKE_ROLE_ARN`] with [`EXTERNAL_ID`].
    pub const WEB_IDENTITY_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/xinvoke-web-identity";
    /// The subject its trust policy requires: service account `gateway` of namespace `xinvoke`.
    pub const WEB_IDENTITY_SUBJECT: &str = "system:serviceaccount:xinvoke:gateway";
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}; pick another --listen address or port 0")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it cannot be used.
        source: std::io::Error,
    },
    /// The scenario is unusable.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Serving failed.
    #[error("local server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The stop signals could not be hooked.
    #[error("cannot listen for Ctrl-C/SIGTERM: {0}")]
    Signal(#[source] std::io::Error),
}

/// A running local endpoint.
#[derive(Debug)]
pub struct LocalServer {
    running: crate::serve::Running,
    shared: Arc<Shared>,
}

impl LocalServer {
    /// Bind `addr` (port 0 = a free port) and serve `scenario` in the background on the
    /// current tokio runtime.
    pub async fn start(scenario: Scenario, addr: SocketAddr) -> Result<LocalServer, LocalError> {
        LocalServer::start_with(scenario, addr, ServeLimits::default()).await
    }

    /// As [`LocalServer::start`], serving connections within `limits`.
    pub async fn start_with(
        scenario: Scenario,
        addr: SocketAddr,
        limits: ServeLimits,
    ) -> Result<LocalServer, LocalError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| LocalError::Bind { addr, source })?;
        let shared = Arc::new(Shared::with_limits(scenario, limits));
        let handler = Arc::new(server::LocalHandler(Arc::clone(&shared)));
        let running = crate::serve::Running::spawn(listener, handler, limits)
            .map_err(|source| LocalError::Bind { addr, source })?;
        tokio::spawn(scheduler(Arc::downgrade(&shared)));
        Ok(LocalServer { running, shared })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// `http://HOST:PORT`, the `endpoint_url` for SDK clients.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The scenario served.
    pub fn scenario(&self) -> Scenario {
        self.shared.world().scenario.clone()
    }

    /// The counters (same data as `GET /_local/stats`).
    pub fn stats(&self) -> Stats {
        self.shared.world().stats()
    }

    /// Stop accepting, let in-flight requests finish (at most 10 s), then return.
    pub async fn shutdown(self) {
        self.running.shutdown().await
    }

    /// Wait until the server stops by itself (it only does on an error).
    pub async fn wait(&mut self) -> Result<(), LocalError> {
        self.running.wait().await.map_err(LocalError::Serve)
    }
}

/// What the endpoint does by itself, on its clock: the scenario's scheduled updates, and the
/// queued events that are due. Ends with the server.
async fn scheduler(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let world = shared.world();
        for (function, answer) in world.due_updates() {
            match answer {
                Ok(()) => tracing::info!(function, "scheduled update started"),
                Err(e) => tracing::info!(function, refused = %e.message, "scheduled update refused"),
            }
        }
        for ev in world.events.due(world.clock.now_ms()) {
            tokio::spawn(lambda_api::run_event(Arc::clone(&world), ev));
        }
    }
}

/// A map by name (an access key id, a role or function ARN, an account) of the maps the local
/// endpoint looks up on every request, hashed with FNV-1a rather than SipHash: several lookups
/// per request of short keys. The endpoint is a test double on loopback, so SipHash's defence
/// against chosen keys (HashDoS) buys nothing here.
pub(crate) type NameMap<V> = std::collections::HashMap<String, V, std::hash::BuildHasherDefault<Fnv1a>>;

/// FNV-1a, 64 bits.
pub(crate) struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
