//! Assumed-role credentials that xinvoke caches itself, instead of the SDK's identity cache:
//! one AssumeRole per session, refreshed shortly before its expiry by our clock, and dropped at
//! once when the service answers ExpiredToken (its clock wins: a session the service calls
//! expired is expired, whatever ours says). Only one AssumeRole runs at a time, so a burst of
//! expired answers causes one refresh, not a storm.

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{self, future, ProvideCredentials};
use aws_credential_types::Credentials;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Assumed-role sessions this process opened (AssumeRole calls that returned credentials).
static SESSIONS_OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many assumed-role sessions this process has opened (the gateway's
/// `xinvoke_gateway_sts_refreshes_total`).
pub fn sessions_opened() -> u64 {
    SESSIONS_OPENED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Refresh this long before the expiry STS gave (the SDK's identity cache uses a similar buffer).
const REFRESH_BEFORE: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct Cached {
    credentials: Credentials,
    fetched_at: Instant,
}

/// The session credentials of one assumed role, shared by every client clone that uses them.
#[derive(Clone)]
pub(crate) struct SessionCredentials {
    provider: Arc<AssumeRoleProvider>,
    cached: Arc<RwLock<Option<Cached>>>,
    fetching: Arc<tokio::sync::Mutex<()>>,
}

impl fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionCredentials(<redacted>)")
    }
}

impl SessionCredentials {
    pub fn new(provider: AssumeRoleProvider) -> SessionCredentials {
        SessionCredentials {
            provider: Arc::new(provider),
            cached: Arc::new(RwLock::new(None)),
            fetching: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn fresh(&self) -> Option<Credentials> {
        let guard = self.cached.read().unwrap_or_else(|e| e.into_inner());
        let c = guard.as_ref()?;
        let usable = match c.credentials.expiry() {
            Some(expiry) => SystemTime::now() + REFRESH_BEFORE < expiry,
            None => true,
        };
        usable.then(|| c.credentials.clone())
    }

    async fn get(&self) -> provider::Result {
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let _one_at_a_time = self.fetching.lock().await;
        if let Some(c) = self.fresh() {
            return Ok(c); // another caller refreshed while this one waited
        }
        let credentials = self.provider.provide_credentials().await?;
        SESSIONS_OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            credentials: credentials.clone(),
            fetched_at: Instant::now(),
        });
        Ok(credentials)
    }

    /// The service said the token of a request sent at `request_started` expired: drop the
    /// session if that request used it (one fetched later is kept).
    pub fn expired(&self, request_started: Instant) {
        let mut guard = self.cached.write().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_some_and(|c| c.fetched_at <= request_started) {
            *guard = None;
        }
    }
}

impl ProvideCredentials for SessionCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        match self.fresh() {
            Some(c) => future::ProvideCredentials::ready(Ok(c)),
            None => future::ProvideCredentials::new(self.get()),
        }
    }
}
