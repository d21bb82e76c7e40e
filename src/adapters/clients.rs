//! SDK clients, built once per credential set at cold start and reused for every invoke.
//! The SDK's own retries are off (xinvoke's policy decides every attempt); timeouts are set
//! on purpose. Role chaining goes through aws-config's `AssumeRoleProvider`, whose credentials
//! the client's identity cache keeps until shortly before they expire: one AssumeRole per
//! session lifetime, not per invoke.

use crate::adapters::config::{Auth, Settings, Timeouts};
use crate::adapters::credentials::SessionCredentials;
use crate::adapters::transport;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_lambda::config::IdentityCache;
use std::collections::HashMap;

/// The shared base configuration: standard AWS variables (region, profile, credentials,
/// `AWS_ENDPOINT_URL*`), xinvoke's HTTP client (`transport`), SDK retries off, our timeouts.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// // AWS_REGION and the credentials of the Lambda's execution role, as Lambda sets them.
/// let settings = xinvoke::Settings::from_env()?;
/// let base = xinvoke::base_config(settings.timeouts()).await;
/// let service = xinvoke::Service::new(settings, &base).await;
/// // Any SDK client built from it shares xinvoke's transport, timeouts and no-retry setting.
/// let sts = aws_sdk_sts::Client::new(&base);
/// let me = sts.get_caller_identity().send().await?;
/// println!("invoking as {}", me.arn().unwrap_or_default());
/// # drop(service); Ok(()) }
/// ```
pub async fn base_config(timeouts: Timeouts) -> SdkConfig {
    loader(timeouts).load().await
}

/// The loader behind [`base_config`], for callers that set credentials or an endpoint
/// explicitly (the demo and tests against a local endpoint).
pub fn loader(timeouts: Timeouts) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(transport::sdk_http_client())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .operation_attempt_timeout(timeouts.attempt)
                .operation_timeout(timeouts.attempt)
                .build(),
        )
}

/// A base configuration with explicit credentials, endpoint and region: how the demo, the load
/// harness and the tests reach a local endpoint.
///
/// ```
/// use aws_sdk_lambda::primitives::Blob;
/// use xinvoke::local::{builtin, LocalServer, Scenario};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// let credentials = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let base = xinvoke::endpoint_config(xinvoke::Timeouts::default(), aws.url(), credentials, builtin::REGION).await;
/// // Resource-based: account 1's role invokes the alias account 2's resource policy names.
/// let lambda = aws_sdk_lambda::Client::new(&base);
/// let answer = lambda
///     .invoke()
///     .function_name(builtin::TARGET_ALIAS_ARN)
///     .payload(Blob::new(r#"{"order":42}"#))
///     .send()
///     .await?;
/// assert_eq!((answer.status_code(), answer.executed_version()), (200, Some("1")));
/// aws.shutdown().await;
/// # Ok(()) }
/// ```
pub async fn endpoint_config(
    timeouts: Timeouts,
    endpoint: impl Into<String>,
    credentials: aws_credential_types::Credentials,
    region: &str,
) -> SdkConfig {
    loader(timeouts)
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .load()
        .await
}

/// The key of one client: who signs, and where.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    auth: Auth,
    region: String,
}

/// One Lambda client per distinct credential set and region, with the assumed-role session it signs with
/// (role chaining).
#[derive(Clone)]
pub(crate) struct Clients {
    by_key: HashMap<ClientKey, (aws_sdk_lambda::Client, Option<SessionCredentials>)>,
}

/// The keys only: an SDK client's `Debug` prints its credentials provider's request,
/// external id included.
impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_key.keys()).finish()
    }
}

impl Clients {
    /// Build a client for every configured target's credential set.
    pub async fn build(settings: &Settings, base: &SdkConfig) -> Clients {
        let mut by_key = HashMap::new();
        for t in settings.targets.values() {
            let key = ClientKey {
                auth: t.auth.clone(),
                region: t.arn.region.clone(),
            };
            if by_key.contains_key(&key) {
                continue;
            }
            let entry = lambda_client(base, &key.auth, &key.region).await;
            by_key.insert(key, entry);
        }
        Clients { by_key }
    }

    /// The client for a credential set and region, and its assumed-role session if any.
    pub fn get(&self, auth: &Auth, region: &str) -> Option<&(aws_sdk_lambda::Client, Option<SessionCredentials>)> {
        self.by_key.get(&ClientKey {
            auth: auth.clone(),
            region: region.to_string(),
        })
    }

    /// How many distinct clients exist.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }
}

/// A Lambda client for one credential set in one region. With role chaining it signs with a
/// [`SessionCredentials`] (returned too, so an ExpiredToken answer can drop the session) and
/// the SDK's identity cache is off: the session is the cache.
pub(crate) async fn lambda_client(
    base: &SdkConfig,
    auth: &Auth,
    region: &str,
) -> (aws_sdk_lambda::Client, Option<SessionCredentials>) {
    let mut conf = aws_sdk_lambda::config::Builder::from(base).region(Region::new(region.to_string()));
    let session = match auth {
        Auth::AssumeRole(a) => {
            let session = SessionCredentials::new(assume_role_provider(base, a, region).await);
            conf = conf
                .credentials_provider(session.clone())
                .identity_cache(IdentityCache::no_cache());
            Some(session)
        }
        Auth::ExecutionRole => None,
    };
    (aws_sdk_lambda::Client::from_conf(conf.build()), session)
}

/// The provider of `a`'s sessions: AssumeRole with its external id, STS in `region`.
pub(crate) async fn assume_role_provider(
    base: &SdkConfig,
    a: &crate::adapters::config::AssumeRole,
    region: &str,
) -> AssumeRoleProvider {
    let builder = AssumeRoleProvider::builder(a.role_arn.to_string()).session_name(a.session_name.clone());
    let builder = match &a.external_id {
        Some(id) => builder.external_id(id.expose()),
        None => builder,
    };
    builder
        .region(Region::new(region.to_string()))
        .configure(base)
        .build()
        .await
}

/// Who signs for a client: its assumed-role session (role chaining), else the base
/// configuration's provider (resource-based). The signed path signs with the same one.
pub(crate) fn signing_provider(
    base: &SdkConfig,
    session: Option<&SessionCredentials>,
) -> Option<SharedCredentialsProvider> {
    match session {
        Some(s) => Some(SharedCredentialsProvider::new(s.clone())),
        None => base.credentials_provider(),
    }
}
