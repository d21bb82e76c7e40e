//! Discovery across accounts, what Gloo's function discovery cannot do: list the functions of
//! the upstream's account (ListFunctions, with the upstream's credentials: a role assumed in
//! that account, since ListFunctions only ever lists the caller's own account) and each one's
//! aliases (ListAliases), page by page. A large account is the normal case: each page is
//! retried on its own when Lambda throttles it or fails (5xx, no answer), with backoff and a
//! bound, so one throttled page does not throw the whole listing away; the aliases are listed
//! a few functions at a time; past the upstream's `maxFunctions` the rest are left out and the
//! log says so. A denied call is named with the permission to grant; a listing that fails
//! leaves the caller's last good result in service.

use crate::adapters::clients;
use crate::adapters::config::Auth;
use crate::domain::arn::Qualifier;
use crate::gateway::config::{Discovered, LambdaFunction, Upstream};
use aws_config::SdkConfig;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::time::Duration;

/// Attempts of one page before the listing gives up.
const PAGE_ATTEMPTS: u32 = 6;
/// The first wait after a throttled or failed page; doubled each time, up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_secs(5);
/// Functions whose aliases are listed at once.
const ALIAS_CONCURRENCY: usize = 4;

/// Why a listing failed: the upstream, and what to grant or fix.
#[derive(Debug, thiserror::Error)]
#[error("upstream {upstream}: {problem}")]
pub struct DiscoveryError {
    pub upstream: String,
    pub problem: String,
}

/// What one listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub found: Discovered,
    /// The upstream's `maxFunctions`, when the account had more functions than it.
    pub capped_at: Option<usize>,
}

/// The functions of `u`'s account and their aliases, by logical name.
pub async fn list(u: &Upstream, base: &SdkConfig, auth: &Auth) -> Result<Listing, DiscoveryError> {
    let err = |problem: String| DiscoveryError {
        upstream: u.name.clone(),
        problem,
    };
    let who = match auth {
        Auth::AssumeRole(a) => format!("the role {}", a.role_arn),
        Auth::ExecutionRole => "the gateway's own credentials".to_string(),
    };
    let max = u
        .discovery
        .as_ref()
        .map_or(crate::gateway::config::DEFAULT_MAX_FUNCTIONS, |d| d.max_functions);
    let (client, _session) = clients::lambda_client(base, auth, &u.region).await;
    let mut names = Vec::new();
    let mut other_accounts = 0usize;
    let mut marker: Option<String> = None;
    let mut capped_at = None;
    loop {
        let page = with_retries(|| {
            client
                .list_functions()
                .max_items(50)
                .set_marker(marker.clone())
                .send()
        })
        .await
        .map_err(|e| match e.code() {
            Some("AccessDeniedException") => err(format!(
                "discovery: ListFunctions is denied to {who}: allow lambda:ListFunctions (Resource \"*\") in its identity policy"
            )),
            _ => err(format!("discovery: ListFunctions failed ({})", failure(&e))),
        })?;
        for f in page.functions() {
            let (Some(name), Some(arn)) = (f.function_name(), f.function_arn()) else {
                continue;
            };
            if arn.split(':').nth(4) != Some(u.account.as_str()) {
                other_accounts += 1;
            } else if names.len() < max {
                names.push(name.to_string());
            } else {
                capped_at = Some(max);
            }
        }
        marker = page.next_marker().filter(|m| !m.is_empty()).map(str::to_string);
        if marker.is_none() || capped_at.is_some() {
            break;
        }
    }
    if let Some(max) = capped_at {
        tracing::warn!(target: "xinvoke::gateway", upstream = %u.name, max_functions = max, "discovery: the account has more functions than discovery.maxFunctions; the rest are not routed (raise maxFunctions to route them)");
    }
    if names.is_empty() && other_accounts > 0 {
        return Err(err(format!(
            "discovery lists the account of {who}, not {}: ListFunctions cannot cross accounts; give the upstream a roleArn in {}",
            u.account, u.account
        )));
    }
    let mut aliases = Vec::with_capacity(names.len());
    for batch in names.chunks(ALIAS_CONCURRENCY) {
        let listed = futures_util::future::join_all(batch.iter().map(|name| aliases_of(&client, u, name, &who))).await;
        aliases.extend(listed);
    }
    let mut found = Discovered::new();
    for (name, aliases) in names.iter().zip(aliases) {
        if let Some(f) = discovered_function(name, None) {
            found.insert(f.logical_name.clone(), f);
        }
        for alias in aliases? {
            if let Some(f) = discovered_function(name, Some(&alias)) {
                found.insert(f.logical_name.clone(), f);
            }
        }
    }
    Ok(Listing { found, capped_at })
}

/// The aliases of `name`, page by page.
async fn aliases_of(
    client: &aws_sdk_lambda::Client,
    u: &Upstream,
    name: &str,
    who: &str,
) -> Result<Vec<String>, DiscoveryError> {
    let err = |problem: String| DiscoveryError {
        upstream: u.name.clone(),
        problem,
    };
    let arn = u.arn_of(name, None).to_string();
    let mut aliases = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = with_retries(|| {
            client
                .list_aliases()
                .function_name(&arn)
                .set_marker(marker.clone())
                .send()
        })
        .await
        .map_err(|e| match e.code() {
            Some("AccessDeniedException") => err(format!(
                "discovery: ListAliases on {name} is denied to {who}: allow lambda:ListAliases on {arn}"
            )),
            _ => err(format!("discovery: ListAliases on {name} failed ({})", failure(&e))),
        })?;
        aliases.extend(page.aliases().iter().filter_map(|a| a.name().map(str::to_string)));
        marker = page.next_marker().filter(|m| !m.is_empty()).map(str::to_string);
        if marker.is_none() {
            return Ok(aliases);
        }
    }
}

/// Send a listing call until it is answered, retrying throttles, 5xx and calls that got no
/// answer, at most [`PAGE_ATTEMPTS`] times, waiting (with full jitter) between.
async fn with_retries<T, E, R, F>(mut send: impl FnMut() -> F) -> Result<T, SdkError<E, R>>
where
    F: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata,
    R: std::fmt::Debug + RawStatus,
{
    let mut wait = FIRST_WAIT;
    for attempt in 1.. {
        match send().await {
            Ok(page) => return Ok(page),
            Err(e) if attempt < PAGE_ATTEMPTS && retryable(&e) => {
                tokio::time::sleep(wait.mul_f64(fastrand::f64())).await;
                wait = (wait * 2).min(MAX_WAIT);
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

/// The status of a raw answer.
trait RawStatus {
    fn status_code(&self) -> u16;
}

impl RawStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Whether a listing call may be sent again: Lambda throttled it or failed (429, 5xx), or no
/// answer came.
fn retryable<E: ProvideErrorMetadata, R: RawStatus>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status_code();
            status == 429
                || status >= 500
                || matches!(
                    s.err().code(),
                    Some("TooManyRequestsException" | "ThrottlingException" | "ServiceException")
                )
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        _ => false,
    }
}

/// What a failed listing call said: its error code, else its status, else that no answer came.
fn failure<E: ProvideErrorMetadata, R: RawStatus>(e: &SdkError<E, R>) -> String {
    match (e.code(), e) {
        (Some(code), _) => code.to_string(),
        (None, SdkError::ServiceError(s)) => format!("HTTP {}", s.raw().status_code()),
        _ => "no answer".to_string(),
    }
}

/// A logical name for a discovered function (`name`) or alias (`name:alias`).
pub(crate) fn discovered_function(name: &str, alias: Option<&str>) -> Option<LambdaFunction> {
    let qualifier = match alias {
        Some(a) => Some(a.parse::<Qualifier>().ok()?),
        None => None,
    };
    Some(LambdaFunction {
        name: name.to_string(),
        logical_name: match alias {
            Some(a) => format!("{name}:{a}"),
            None => name.to_string(),
        },
        qualifier,
    })
}
