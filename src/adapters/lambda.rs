//! The SDK attempt: one Invoke through aws-sdk-lambda, translated into the core's
//! [`RawOutcome`]. This is the only place that reads `SdkError`; it matches typed variants and
//! `code()`, never message text.

use crate::adapters::credentials::SessionCredentials;
use crate::domain::classify::Sent;
use crate::domain::classify::{CredentialsFailure, RawOutcome, ServiceError};
use crate::domain::invocation::InvocationType;
use crate::domain::invocation::{Attempter, InvokeRequest};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use std::error::Error as StdError;
use std::time::Duration;

/// The trace header (X-Ray's), never signed: SigV4 leaves it out as a header that proxies
/// rewrite.
pub(crate) const X_AMZN_TRACE_ID: &str = "x-amzn-trace-id";

/// Invokes through one aws-sdk-lambda client.
#[derive(Clone)]
pub(crate) struct SdkAttempter {
    client: aws_sdk_lambda::Client,
    /// The assumed-role session the client signs with, dropped on an ExpiredToken answer.
    session: Option<SessionCredentials>,
}

/// Without the client: its `Debug` prints an assumed role's external id.
impl std::fmt::Debug for SdkAttempter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkAttempter").finish_non_exhaustive()
    }
}

impl SdkAttempter {
    pub fn new(client: aws_sdk_lambda::Client, session: Option<SessionCredentials>) -> SdkAttempter {
        SdkAttempter { client, session }
    }
}

impl Attempter for SdkAttempter {
    async fn attempt(&self, req: &InvokeRequest) -> RawOutcome {
        let ty = match req.invocation_type {
            InvocationType::RequestResponse => aws_sdk_lambda::types::InvocationType::RequestResponse,
            InvocationType::Event => aws_sdk_lambda::types::InvocationType::Event,
            InvocationType::DryRun => aws_sdk_lambda::types::InvocationType::DryRun,
        };
        let started = tokio::time::Instant::now();
        let invoke = self
            .client
            .invoke()
            .function_name(req.function.to_string())
            .invocation_type(ty)
            .payload(Blob::new(req.payload.clone()))
            .set_client_context(req.client_context.clone())
            .set_durable_execution_name(req.durable_execution_name.clone())
            .set_tenant_id(req.tenant_id.as_ref().map(ToString::to_string));
        // The caller's trace, as the SDK's recursion-detection interceptor would send it from
        // `_X_AMZN_TRACE_ID` (which it leaves alone when the header is present).
        let trace = req
            .trace_id
            .as_deref()
            .and_then(|t| http::HeaderValue::from_str(t).ok());
        let result = match trace {
            Some(value) => {
                invoke
                    .customize()
                    .mutate_request(move |r| {
                        r.headers_mut().insert(X_AMZN_TRACE_ID, value.clone());
                    })
                    .send()
                    .await
            }
            None => invoke.send().await,
        };
        match result {
            Ok(out) => RawOutcome::Answered {
                status: u16::try_from(out.status_code()).unwrap_or(0),
                function_error: out.function_error().filter(|s| !s.is_empty()).map(str::to_string),
                executed_version: out.executed_version().map(str::to_string),
                durable_execution_arn: out.durable_execution_arn().map(str::to_string),
                payload: out.payload.map(Blob::into_inner).unwrap_or_default(),
            },
            Err(e) => {
                let outcome = translate_error(e, req.invocation_type);
                if let (Some(session), true) = (&self.session, token_expired(&outcome)) {
                    session.expired(started);
                }
                outcome
            }
        }
    }
}

/// The service refused the session token as expired: the session must be fetched again.
pub(crate) fn token_expired(outcome: &RawOutcome) -> bool {
    matches!(outcome, RawOutcome::Failed(e) if e.code == "ExpiredTokenException" || e.code == "ExpiredToken")
}

/// Translate an Invoke error.
fn translate_error(err: SdkError<InvokeError>, ty: InvocationType) -> RawOutcome {
    let sent = ty.sent();
    if let Some(outcome) = credentials_failure(&err) {
        return outcome;
    }
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = ctx.err();
            let mut se = ServiceError {
                status,
                code: e.code().unwrap_or("UnknownError").to_string(),
                message: e.message().map(str::to_string),
                ..Default::default()
            };
            match e {
                InvokeError::TooManyRequestsException(t) => {
                    se.reason = t.reason().map(|r| r.as_str().to_string());
                    se.retry_after = t
                        .retry_after_seconds()
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .map(Duration::from_secs_f64);
                }
                InvokeError::Ec2UnexpectedException(x) => se.ec2_error_code = x.ec2_error_code().map(str::to_string),
                _ => {}
            }
            RawOutcome::Failed(se)
        }
        SdkError::TimeoutError(_) => RawOutcome::TimedOut { sent },
        SdkError::DispatchFailure(d) if d.is_timeout() => RawOutcome::TimedOut { sent: Sent::No },
        SdkError::DispatchFailure(d) => match d.as_connector_error() {
            Some(c) => transport_failure(c, sent),
            None => RawOutcome::ConnectFailed,
        },
        SdkError::ResponseError(r) => {
            // An answer arrived but could not be read (cut off, malformed): the target may have run.
            let status = r.raw().status().as_u16();
            if status < 300 {
                RawOutcome::TimedOut { sent }
            } else {
                RawOutcome::Failed(ServiceError {
                    status,
                    code: "UnreadableResponse".into(),
                    ..Default::default()
                })
            }
        }
        SdkError::ConstructionFailure(_) => RawOutcome::Rejected {
            code: "InvalidRequest".into(),
            message: "the SDK could not build the request: check the target ARN and payload".into(),
        },
        _ => RawOutcome::ConnectFailed,
    }
}

/// A failure before any answer: a connection never made (nothing sent, retryable), or one lost
/// after the request was sent (`sent` says what it may have done). Told apart by hyper's own
/// `is_connect` where the chain carries hyper's error, else by the I/O error's kind.
pub(crate) fn transport_failure(err: &(dyn StdError + 'static), sent: Sent) -> RawOutcome {
    use std::io::ErrorKind::*;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(h) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            return if h.is_connect() {
                RawOutcome::ConnectFailed
            } else {
                RawOutcome::ConnectionLost { sent }
            };
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                TimedOut => return RawOutcome::TimedOut { sent: Sent::No },
                ConnectionRefused | AddrNotAvailable | NetworkUnreachable | HostUnreachable => {
                    return RawOutcome::ConnectFailed
                }
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    return RawOutcome::ConnectionLost { sent }
                }
                _ => {}
            }
        }
        cur = e.source();
    }
    RawOutcome::ConnectFailed
}

/// A credentials failure anywhere in the error's chain: STS's answer to the call that opens a
/// session (AssumeRole, AssumeRoleWithWebIdentity) with its code and status, a connection to
/// STS that failed, or a provider that failed without calling STS. Service answers that refuse
/// the credentials presented are `Failed` with a credentials code, classified by the table.
pub(crate) fn credentials_failure(err: &(dyn StdError + 'static)) -> Option<RawOutcome> {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    let mut found = false;
    while let Some(e) = cur {
        if let Some(sts) = e.downcast_ref::<SdkError<AssumeRoleError>>() {
            return Some(sts_failure(sts));
        }
        if let Some(sts) = e.downcast_ref::<SdkError<AssumeRoleWithWebIdentityError>>() {
            return Some(sts_failure(sts));
        }
        if e.downcast_ref::<CredentialsError>().is_some() {
            found = true;
        }
        cur = e.source();
    }
    found.then(|| RawOutcome::CredentialsFailed(CredentialsFailure::default()))
}

/// An STS call's failure: its answer (code and status), or no answer at all, which is retried
/// like a connection failure (nothing was granted, so nothing can run twice).
pub(crate) fn sts_failure<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> RawOutcome {
    match err {
        SdkError::ServiceError(ctx) => RawOutcome::CredentialsFailed(CredentialsFailure {
            code: ctx.err().code().map(str::to_string),
            status: Some(ctx.raw().status().as_u16()),
            message: ctx.err().message().map(str::to_string),
        }),
        SdkError::ResponseError(r) => RawOutcome::CredentialsFailed(CredentialsFailure {
            status: Some(r.raw().status().as_u16()),
            ..CredentialsFailure::default()
        }),
        SdkError::TimeoutError(_) => RawOutcome::TimedOut { sent: Sent::No },
        SdkError::DispatchFailure(d) => match d.as_connector_error() {
            Some(c) if c.is_timeout() => RawOutcome::TimedOut { sent: Sent::No },
            _ => RawOutcome::ConnectFailed,
        },
        _ => RawOutcome::CredentialsFailed(CredentialsFailure::default()),
    }
}
