//! The signed path: one Invoke signed here ([`crate::adapters::sigv4`], checked against
//! aws-sigv4) and sent over a pooled hyper client, translated into the same [`RawOutcome`] as the SDK path ([`crate::adapters::lambda`]).
//! It exists because the load harness is only as useful as the load it makes per core, and the
//! SDK's orchestrator costs several times more CPU per call than the signature and the HTTP
//! exchange themselves. Credentials come from the same providers as the SDK clients
//! ([`clients::credentials_provider`]), cached here until shortly before they expire.

use crate::adapters::config::Timeouts;
use crate::adapters::credentials::SessionCredentials;
use crate::adapters::lambda::{credentials_failure, token_expired, transport_failure, SdkAttempter};
use crate::adapters::sigv4::{InvokeToSign, SigningCredentials};
use crate::adapters::{clients, endpoints, transport};
use crate::domain::classify::{RawOutcome, ServiceError};
use crate::domain::invocation::InvocationType;
use crate::domain::invocation::{Attempter, InvokeRequest};
use crate::domain::sigv4::UNRESERVED;
use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::uri::{Authority, Scheme};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use percent_encoding::utf8_percent_encode;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Which attempter sends the invokes: chosen with [`Service::with_path`], read back with
/// [`Service::path`] (the signed path falls back on the SDK when it cannot be built).
///
/// [`Service::with_path`]: crate::Service::with_path
/// [`Service::path`]: crate::Service::path
///
/// ```
/// use aws_config::{BehaviorVersion, Region, SdkConfig};
/// use xinvoke::{InvokePath, Service, Settings};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(InvokePath::default(), InvokePath::Signed);
/// // `--path`'s values.
/// let path: InvokePath = "sdk".parse()?;
/// assert_eq!((path, path.name()), (InvokePath::Sdk, "sdk"));
/// let unknown = "http2".parse::<InvokePath>().unwrap_err();
/// assert_eq!(unknown.to_string(), r#"unknown path "http2": use signed or sdk"#);
///
/// // No credentials to sign with: the service says it took the SDK's path instead.
/// let settings = Settings::from_lookup(|name| {
///     (name == "XINVOKE_TARGET_ARN").then(|| "arn:aws:lambda:us-east-1:222222222222:function:target:live".to_string())
/// })?;
/// let no_credentials = SdkConfig::builder()
///     .behavior_version(BehaviorVersion::latest())
///     .region(Region::new("us-east-1"))
///     .build();
/// let service = Service::with_path(settings, &no_credentials, InvokePath::Signed).await;
/// assert_eq!(service.path(), InvokePath::Sdk);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokePath {
    /// aws-sdk-lambda.
    Sdk,
    /// Signed here (SigV4, `crate::adapters::sigv4`) and sent over xinvoke's own pooled
    /// HTTP client: several times the load per core of the SDK's orchestrator.
    #[default]
    Signed,
}

impl InvokePath {
    /// The path's name, as `--path` and the records say it (`signed`, `sdk`).
    pub fn name(self) -> &'static str {
        match self {
            InvokePath::Sdk => "sdk",
            InvokePath::Signed => "signed",
        }
    }
}

/// A name that is no [`InvokePath`] (`--path`'s values are `signed` and `sdk`).
///
/// ```
/// let refused = "fastest".parse::<xinvoke::InvokePath>().unwrap_err();
/// assert_eq!(refused.to_string(), r#"unknown path "fastest": use signed or sdk"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown path {0:?}: use signed or sdk")]
pub struct UnknownPath(String);

impl std::str::FromStr for InvokePath {
    type Err = UnknownPath;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sdk" => Ok(InvokePath::Sdk),
            "signed" | "fast" => Ok(InvokePath::Signed),
            other => Err(UnknownPath(other.to_string())),
        }
    }
}

/// Why the signed path could not be built (the caller falls back on the SDK path).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SignedPathError {
    #[error("the endpoint {0:?} is not an http(s) URL")]
    Endpoint(String),
    #[error(transparent)]
    Resolve(#[from] crate::adapters::endpoints::EndpointError),
    #[error("no credentials provider is configured: set AWS credentials (e.g. AWS_PROFILE)")]
    NoCredentials,
}

const X_AMZ_INVOCATION_TYPE: HeaderName = HeaderName::from_static("x-amz-invocation-type");
const X_AMZ_CLIENT_CONTEXT: HeaderName = HeaderName::from_static("x-amz-client-context");
const X_AMZ_DURABLE_EXECUTION_NAME: HeaderName = HeaderName::from_static("x-amz-durable-execution-name");
const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");
const X_AMZ_TENANT_ID: HeaderName = HeaderName::from_static("x-amz-tenant-id");

/// Refresh cached credentials this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// Credentials from one provider, kept until shortly before they expire.
struct CredentialCache {
    provider: SharedCredentialsProvider,
    region: String,
    /// The credentials, ready to sign, and when to fetch new ones.
    current: RwLock<Option<(Arc<SigningCredentials>, Option<SystemTime>)>>,
    refresh: tokio::sync::Mutex<()>,
}

impl CredentialCache {
    fn fresh(&self) -> Option<Arc<SigningCredentials>> {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        let (credentials, refresh_at) = guard.as_ref()?;
        match refresh_at {
            Some(at) if *at <= SystemTime::now() => None,
            _ => Some(Arc::clone(credentials)),
        }
    }

    /// Forget the credentials: the service said they expired.
    fn clear(&self) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    async fn credentials(&self) -> Result<Arc<SigningCredentials>, RawOutcome> {
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let _one_refresh = self.refresh.lock().await;
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        match self.provider.provide_credentials().await {
            Ok(creds) => {
                let refresh_at = creds.expiry().map(|exp| refresh_time(SystemTime::now(), exp));
                let signing = Arc::new(SigningCredentials::new(creds, &self.region).map_err(|_| unsignable())?);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some((Arc::clone(&signing), refresh_at));
                Ok(signing)
            }
            Err(e) => Err(credentials_failure(&e).unwrap_or(RawOutcome::CredentialsFailed(Default::default()))),
        }
    }
}

/// A request that cannot be signed (a header value HTTP cannot carry).
fn unsignable() -> RawOutcome {
    RawOutcome::Rejected {
        code: "InvalidRequest".into(),
        message: "the request could not be signed: check the target ARN and client context".into(),
    }
}

/// When to fetch credentials that expire at `expiry`: [`REFRESH_BEFORE`] ahead, but never before
/// half their remaining life, so short-lived credentials are not fetched again on every invoke.
fn refresh_time(now: SystemTime, expiry: SystemTime) -> SystemTime {
    let life = expiry.duration_since(now).unwrap_or_default();
    expiry - REFRESH_BEFORE.min(life / 2)
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache").finish_non_exhaustive()
    }
}

/// Invokes by signing each request itself.
#[derive(Debug)]
pub(crate) struct SignedAttempter {
    client: Client<transport::Limited, Full<Bytes>>,
    scheme: Scheme,
    /// Host and port, e.g. `127.0.0.1:9001`: the URI's authority and the `host` header.
    authority: Authority,
    host: HeaderValue,
    credentials: CredentialCache,
    /// The assumed-role session behind the credentials (role chaining), shared with the SDK
    /// client of the same credential set: dropped on an ExpiredToken answer.
    session: Option<SessionCredentials>,
    attempt_timeout: Duration,
}

impl SignedAttempter {
    /// The signed path for one credential set in one region, on the endpoint aws-sdk-lambda's
    /// resolver gives for it ([`endpoints::lambda`]: partition, FIPS, dual-stack, endpoint
    /// URLs), signing for `region` with the same credentials as the SDK client: the base
    /// configuration's, or `session`; with at most `max_connections` connections open, if given.
    pub fn build(
        base: &SdkConfig,
        session: Option<SessionCredentials>,
        region: &str,
        timeouts: Timeouts,
        max_connections: Option<usize>,
    ) -> Result<SignedAttempter, SignedPathError> {
        let endpoint = endpoints::lambda(base, region)?;
        let provider = clients::signing_provider(base, session.as_ref()).ok_or(SignedPathError::NoCredentials)?;
        let mut fast = SignedAttempter::new(&endpoint, provider, region, timeouts, max_connections)?;
        fast.session = session;
        Ok(fast)
    }

    /// The signed path on an explicit endpoint.
    pub fn new(
        endpoint: &str,
        provider: SharedCredentialsProvider,
        region: &str,
        timeouts: Timeouts,
        max_connections: Option<usize>,
    ) -> Result<SignedAttempter, SignedPathError> {
        let uri: http::Uri = endpoint
            .trim_end_matches('/')
            .parse()
            .map_err(|_| SignedPathError::Endpoint(endpoint.to_string()))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(SignedPathError::Endpoint(endpoint.to_string()));
        };
        let https = match scheme {
            "https" => true,
            "http" => false,
            _ => return Err(SignedPathError::Endpoint(endpoint.to_string())),
        };
        let client = transport::limited_client(Some(timeouts.connect), max_connections);
        let host =
            HeaderValue::from_str(authority.as_str()).map_err(|_| SignedPathError::Endpoint(endpoint.to_string()))?;
        Ok(SignedAttempter {
            client,
            scheme: if https { Scheme::HTTPS } else { Scheme::HTTP },
            authority: authority.clone(),
            host,
            credentials: CredentialCache {
                provider,
                region: region.to_string(),
                current: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
            },
            session: None,
            attempt_timeout: timeouts.attempt,
        })
    }

    /// The request, signed. `None` when a header value cannot be sent (a client context that
    /// is not visible ASCII).
    fn signed_request(&self, req: &InvokeRequest, credentials: &SigningCredentials) -> Option<Request<Full<Bytes>>> {
        let function = req.function.to_string();
        let mut path = String::with_capacity(function.len() * 3 / 2 + 40);
        path.push_str("/2015-03-31/functions/");
        path.extend(utf8_percent_encode(&function, UNRESERVED));
        path.push_str("/invocations");
        let client_context = match &req.client_context {
            Some(cc) => Some(HeaderValue::from_str(cc).ok()?),
            None => None,
        };
        let durable_execution_name = match &req.durable_execution_name {
            Some(name) => Some(HeaderValue::from_str(name).ok()?),
            None => None,
        };
        let ty = invocation_type_name(req.invocation_type);
        let signature = credentials.sign(
            &InvokeToSign {
                path: &path,
                host: self.authority.as_str(),
                invocation_type: ty,
                client_context: req.client_context.as_deref(),
                durable_execution_name: req.durable_execution_name.as_deref(),
                tenant_id: req.tenant_id.as_ref().map(|t| t.as_str()),
                payload: &req.payload,
            },
            SystemTime::now(),
        );
        let uri = http::Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
            .ok()?;
        let mut request = Request::new(Full::new(Bytes::from(req.payload.clone())));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.reserve(8);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        headers.insert(HOST, self.host.clone());
        headers.insert(X_AMZ_INVOCATION_TYPE, HeaderValue::from_static(ty));
        if let Some(cc) = client_context {
            headers.insert(X_AMZ_CLIENT_CONTEXT, cc);
        }
        if let Some(name) = durable_execution_name {
            headers.insert(X_AMZ_DURABLE_EXECUTION_NAME, name);
        }
        headers.insert(X_AMZ_DATE, HeaderValue::try_from(signature.amz_date).ok()?);
        headers.insert(AUTHORIZATION, HeaderValue::try_from(signature.authorization).ok()?);
        if let Some(token) = credentials.session_token() {
            headers.insert(X_AMZ_SECURITY_TOKEN, token.clone());
        }
        // Signed above; its characters (the model's TenantId) are all valid in a header.
        if let Some(tenant) = &req.tenant_id {
            headers.insert(X_AMZ_TENANT_ID, HeaderValue::from_str(tenant.as_str()).ok()?);
        }
        // Unsigned, as the SDKs send it: a trace id that is not a header value is left out.
        if let Some(trace) = req.trace_id.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
            headers.insert(crate::adapters::lambda::X_AMZN_TRACE_ID, trace);
        }
        Some(request)
    }
}

impl Attempter for SignedAttempter {
    async fn attempt(&self, req: &InvokeRequest) -> RawOutcome {
        let started = tokio::time::Instant::now();
        let outcome = self.attempt_once(req).await;
        if token_expired(&outcome) {
            self.credentials.clear();
            if let Some(session) = &self.session {
                session.expired(started);
            }
        }
        outcome
    }
}

impl SignedAttempter {
    async fn attempt_once(&self, req: &InvokeRequest) -> RawOutcome {
        let credentials = match self.credentials.credentials().await {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let Some(request) = self.signed_request(req, &credentials) else {
            return unsignable();
        };
        let sent = req.invocation_type.sent();
        let exchange = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| transport_failure(&e, sent))?;
            let (parts, body) = resp.into_parts();
            match body.collect().await {
                Ok(b) => Ok(translate(parts.status.as_u16(), &parts.headers, &b.to_bytes())),
                // An answer arrived but could not be read: as the SDK path, the target may have run.
                Err(_) if parts.status.as_u16() < 300 => Ok(RawOutcome::TimedOut { sent }),
                Err(_) => Ok(RawOutcome::Failed(ServiceError {
                    status: parts.status.as_u16(),
                    code: "UnreadableResponse".into(),
                    ..Default::default()
                })),
            }
        };
        match tokio::time::timeout(self.attempt_timeout, exchange).await {
            Ok(Ok(outcome)) | Ok(Err(outcome)) => outcome,
            Err(_) => RawOutcome::TimedOut { sent },
        }
    }
}

fn invocation_type_name(ty: InvocationType) -> &'static str {
    match ty {
        InvocationType::RequestResponse => "RequestResponse",
        InvocationType::Event => "Event",
        InvocationType::DryRun => "DryRun",
    }
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Translate an HTTP answer as the SDK's restJson1 deserializer does: 2xx is an answer with
/// the function's result; otherwise the error name from `x-amzn-ErrorType` (cut at `:`) or the
/// body's `__type`/`code` (cut at `#`), the body's `message`/`Message`, and the fields of the
/// two errors that carry more (TooManyRequestsException, EC2UnexpectedException).
pub(crate) fn translate(status: u16, headers: &http::HeaderMap, body: &[u8]) -> RawOutcome {
    if (200..300).contains(&status) {
        return RawOutcome::Answered {
            status,
            function_error: header(headers, "x-amz-function-error")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            executed_version: header(headers, "x-amz-executed-version").map(str::to_string),
            durable_execution_arn: header(headers, "x-amz-durable-execution-arn").map(str::to_string),
            payload: body.to_vec(),
        };
    }
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let code = header(headers, "x-amzn-errortype")
        .map(|c| c.split(':').next().unwrap_or(c).to_string())
        .or_else(|| field("code"))
        .or_else(|| field("__type"))
        .map(|c| match c.rsplit_once('#') {
            Some((_, name)) => name.to_string(),
            None => c,
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "UnknownError".to_string());
    let mut se = ServiceError {
        status,
        message: field("message")
            .or_else(|| field("Message"))
            .or_else(|| field("errorMessage")),
        ..Default::default()
    };
    match code.as_str() {
        "TooManyRequestsException" => {
            se.reason = field("Reason");
            se.retry_after = header(headers, "retry-after")
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64);
        }
        "EC2UnexpectedException" => se.ec2_error_code = field("EC2ErrorCode"),
        _ => {}
    }
    se.code = code;
    RawOutcome::Failed(se)
}

/// One attempter per target, on the path asked for.
#[derive(Debug, Clone)]
pub(crate) enum PathAttempter {
    Sdk(SdkAttempter),
    Signed(Arc<SignedAttempter>),
}

impl Attempter for PathAttempter {
    async fn attempt(&self, req: &InvokeRequest) -> RawOutcome {
        match self {
            // The SDK's future is several kilobytes: boxed, it does not make every invoke's
            // future (and each move of it, e.g. into a spawned task) as large on the signed path.
            PathAttempter::Sdk(a) => Box::pin(a.attempt(req)).await,
            PathAttempter::Signed(a) => a.attempt(req).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_throttle_answer_keeps_code_reason_and_retry_after() {
        let out = translate(
            429,
            &headers(&[
                (
                    "x-amzn-errortype",
                    "TooManyRequestsException:http://internal.amazon.com/",
                ),
                ("retry-after", "3"),
            ]),
            br#"{"Reason":"CallerRateLimitExceeded","Type":"User","message":"Rate exceeded"}"#,
        );
        assert_eq!(
            out,
            RawOutcome::Failed(ServiceError {
                status: 429,
                code: "TooManyRequestsException".into(),
                message: Some("Rate exceeded".into()),
                reason: Some("CallerRateLimitExceeded".into()),
                retry_after: Some(Duration::from_secs(3)),
                ec2_error_code: None,
            })
        );
    }

    #[test]
    fn an_error_without_the_header_takes_its_name_from_the_body() {
        let out = translate(
            502,
            &http::HeaderMap::new(),
            br#"{"__type":"com.amazon#EC2UnexpectedException","EC2ErrorCode":"X","Message":"m"}"#,
        );
        let RawOutcome::Failed(se) = out else { panic!() };
        assert_eq!(
            (se.code.as_str(), se.ec2_error_code.as_deref(), se.message.as_deref()),
            ("EC2UnexpectedException", Some("X"), Some("m"))
        );
    }

    #[test]
    fn an_empty_function_error_header_is_no_function_error() {
        let out = translate(200, &headers(&[("x-amz-function-error", "")]), b"{}");
        assert!(matches!(
            out,
            RawOutcome::Answered {
                function_error: None,
                ..
            }
        ));
    }

    #[test]
    fn credentials_are_refreshed_five_minutes_early_or_at_half_life() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = now + Duration::from_secs(3600);
        assert_eq!(refresh_time(now, hour), hour - Duration::from_secs(300));
        let short = now + Duration::from_secs(120);
        assert_eq!(refresh_time(now, short), now + Duration::from_secs(60));
        assert_eq!(
            refresh_time(now, now - Duration::from_secs(1)),
            now - Duration::from_secs(1)
        );
    }

    #[test]
    fn arns_are_escaped_as_one_path_segment() {
        let s = utf8_percent_encode("arn:aws:lambda:us-east-1:2:function:t:live", UNRESERVED).to_string();
        assert_eq!(s, "arn%3Aaws%3Alambda%3Aus-east-1%3A2%3Afunction%3At%3Alive");
    }
}
