//! Classification: one pure function from what the wire said ([`RawOutcome`]) to what it means
//! ([`Classification`]): a class, whether retrying can help, and what to fix when it can't.
//!
//! Every error Lambda's Invoke or an assumed role's STS call can answer has its row in the one
//! table, [`crate::domain::errors::ERRORS`]. Codes the table does not name fall back on their
//! HTTP status. Message text is read in one place only, [`access_denied_side`], because AWS
//! gives no other signal there.

use crate::domain::class::Class;
use crate::domain::errors::{self, ErrorRow};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What happened to one attempt, in words the classifier reads. Adapters build it from typed
/// SDK errors or HTTP answers; nothing here knows where it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum RawOutcome {
    /// A 2xx answer.
    Answered {
        status: u16,
        /// `X-Amz-Function-Error`, when present and non-empty.
        function_error: Option<String>,
        /// `X-Amz-Executed-Version`.
        executed_version: Option<String>,
        /// `X-Amz-Durable-Execution-Arn` (a durable target).
        durable_execution_arn: Option<String>,
        payload: Vec<u8>,
    },
    /// A non-2xx answer from the service.
    Failed(ServiceError),
    /// The attempt's time ran out before an answer. `sent`: what the request may have done.
    TimedOut { sent: Sent },
    /// No connection could be made (refused, unreachable, DNS): nothing was sent.
    ConnectFailed,
    /// The connection broke after the request was sent, before an answer.
    ConnectionLost { sent: Sent },
    /// No usable credentials: STS answered an error to the call that opens the session
    /// (AssumeRole throttled, refused, ...), or the provider failed without an answer.
    CredentialsFailed(CredentialsFailure),
    /// Refused before sending: the request breaks a limit the service would enforce.
    Rejected { code: String, message: String },
}

/// Why no credentials could be had: STS's answer, when there was one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CredentialsFailure {
    /// STS's error code (`<Code>`), e.g. `Throttling`, `AccessDenied`.
    pub code: Option<String>,
    pub status: Option<u16>,
    pub message: Option<String>,
}

/// A service's error answer: status, the error name and the fields the classifier reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceError {
    pub status: u16,
    /// The error name (`x-amzn-ErrorType`), e.g. `EC2ThrottledException`.
    pub code: String,
    pub message: Option<String>,
    /// TooManyRequestsException's `Reason`.
    pub reason: Option<String>,
    /// `Retry-After` in seconds.
    pub retry_after: Option<Duration>,
    /// EC2UnexpectedException's `EC2ErrorCode`.
    pub ec2_error_code: Option<String>,
}

/// What a request that got no answer may have done: nothing, started the target (sync), or
/// queued the event (async, which Lambda then runs). A DryRun has no effect to fear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Nothing was sent, or nothing sent can have an effect.
    No,
    /// A synchronous invoke was sent: the target may be running it.
    Sync,
    /// An asynchronous invoke was sent: the event may be queued, and will then run.
    Event,
}

/// The class of an error name, from the one error table.
impl Class {
    /// The class of an error name Lambda answers (`x-amzn-ErrorType`, e.g.
    /// `ENILimitReachedException`), from the one error table; `None` for a name it does not
    /// hold. Names are matched exactly, as AWS sends them.
    ///
    /// ```
    /// use xinvoke::Class;
    /// assert_eq!(Class::of_lambda_error("TooManyRequestsException"), Some(Class::Throttled));
    /// assert_eq!(Class::of_lambda_error("NoSuchThing"), None);
    /// ```
    pub fn of_lambda_error(code: &str) -> Option<Class> {
        errors::lambda_error(code).map(|row| row.class)
    }
}

/// What one outcome means: an [`InvokeRecord`](crate::InvokeRecord)'s `outcome`, and each
/// attempt's class.
///
/// Here the local endpoint throttles the target once, as Lambda does when the function's
/// reserved concurrency is used up, and the call asks for one attempt:
///
/// ```
/// use serde_json::json;
/// use xinvoke::local::{builtin, ControlClient, LocalServer, Scenario};
/// use xinvoke::{Call, Class, Service, Settings};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// let reason = "ReservedFunctionConcurrentInvocationLimitExceeded";
/// ControlClient::new(aws.addr())
///     .fault(&json!({"function": "target", "error": "TooManyRequestsException", "reason": reason, "times": 1}))
///     .await?;
/// // Account 1 may invoke the alias with its own role.
/// let settings = Settings::from_lookup(|name| (name == "XINVOKE_TARGET_ARN").then(|| builtin::TARGET_ALIAS_ARN.to_string()))?;
/// let keys = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let base = xinvoke::endpoint_config(settings.timeouts(), aws.url(), keys, builtin::REGION).await;
/// let service = Service::new(settings, &base).await;
/// let mut call = Call::payload(b"{}".to_vec());
/// call.no_retry = true;
/// let outcome = service.invoke(call, None).await?.outcome;
///
/// assert_eq!((outcome.class, outcome.status), (Class::Throttled, Some(429)));
/// assert_eq!(outcome.error_code.as_deref(), Some("TooManyRequestsException"));
/// assert_eq!(outcome.reason.as_deref(), Some(reason));
/// assert!(outcome.retryable && !outcome.may_have_run); // refused before it ran
/// assert!(outcome.hint.is_some()); // what to fix, in a sentence
/// aws.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// What the outcome means.
    pub class: Class,
    /// Whether another attempt can help (the policy still decides whether one is made).
    pub retryable: bool,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The error's name (`x-amzn-ErrorType`, or the body's `Type` / STS's `Code`).
    pub error_code: Option<String>,
    /// Lambda's reason code, when the answer carries one (e.g. `SubnetOutOfIPAddresses`).
    pub reason: Option<String>,
    /// The EC2 error code Lambda passed on, when it did.
    pub ec2_error_code: Option<String>,
    /// The service's `Retry-After`, in seconds.
    pub retry_after_s: Option<f64>,
    /// `X-Amz-Function-Error` (`Unhandled`, ...), when the function failed.
    pub function_error: Option<String>,
    /// The request got no answer after it was sent: the target may have run it, or the event
    /// may be queued (and run).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_have_run: bool,
    /// What to fix, in a sentence; `None` for `ok`.
    pub hint: Option<String>,
}

/// Which side refused an AccessDenied, and whether by an explicit Deny ("... with an explicit
/// deny in a resource-based policy") rather than for want of an Allow ("... because no
/// identity-based policy allows ..."): the only place message text is read, because AWS gives
/// no other signal. `None` when the message does not say.
fn access_denied_side(message: &str) -> Option<(Class, bool)> {
    let m = message.to_ascii_lowercase();
    let explicit = m.contains("explicit deny");
    if m.contains("identity-based policy") {
        Some((Class::AccessDeniedIdentity, explicit))
    } else if m.contains("resource-based policy") {
        Some((Class::AccessDeniedResource, explicit))
    } else {
        None
    }
}

/// EC2 codes that can ride in EC2UnexpectedException's `EC2ErrorCode`, with `Client.` cut.
fn ec2_code_class(code: &str) -> Option<(Class, &'static str)> {
    match code.strip_prefix("Client.").unwrap_or(code) {
        "RequestLimitExceeded" => Some((Class::Ec2RequestLimit, errors::HINT_EC2_REQUEST_LIMIT)),
        "NetworkInterfaceLimitExceeded" => Some((Class::EniLimit, errors::HINT_ENI_LIMIT)),
        "InsufficientFreeAddressesInSubnet" => Some((Class::SubnetIpLimit, errors::HINT_SUBNET_IP)),
        _ => None,
    }
}

/// The class and hint of a function-state or update-status reason code (`StateReasonCode`,
/// `LastUpdateStatusReasonCode`), for checks that read configuration: the class of the answer
/// an invoke of a function Failed for that reason gets ([`errors::failed_state_error`]), so
/// one failure state is one class however it is met.
pub(crate) fn state_reason_class(reason_code: &str) -> Option<(Class, String)> {
    if matches!(reason_code, "Creating" | "Restoring" | "Idle") {
        return Some((Class::NotReady, errors::HINT_NOT_READY.to_string()));
    }
    let (code, ec2_error_code) = errors::failed_state_error(reason_code);
    if code == "ServiceException" {
        return None;
    }
    let row = errors::lambda_error(code)?;
    let c = classify(&RawOutcome::Failed(ServiceError {
        status: row.status,
        code: code.to_string(),
        ec2_error_code: ec2_error_code.map(str::to_string),
        ..Default::default()
    }));
    Some((c.class, c.hint.unwrap_or_default()))
}

fn by_status(status: u16) -> (Class, bool, &'static str) {
    match status {
        401 | 403 => (Class::AccessDenied, false, ""),
        404 => (Class::NotFound, false, errors::HINT_NOT_FOUND),
        408 => (Class::Timeout, true, ""),
        409 => (Class::NotReady, true, errors::HINT_NOT_READY),
        413 => (Class::PayloadTooLarge, false, errors::HINT_TOO_LARGE),
        429 => (Class::Throttled, true, errors::HINT_THROTTLED),
        500..=599 => (Class::Service, true, errors::HINT_SERVICE),
        _ => (Class::InvalidRequest, false, errors::HINT_INVALID),
    }
}

fn access_denied_hint(class: Class, explicit_deny: bool) -> &'static str {
    match (class, explicit_deny) {
        (Class::AccessDeniedIdentity, true) => return "An explicit Deny in the caller's identity policy refuses the call (in account 1, or in the assumed role's account 2 policy, or an SCP): remove or narrow that Deny statement; no Allow can override it.",
        (Class::AccessDeniedResource, true) => return "An explicit Deny in the target's resource policy refuses the caller: remove or narrow that Deny statement in account 2 (`aws lambda get-policy` shows it); no Allow can override it.",
        _ => {}
    }
    match class {
        Class::AccessDeniedIdentity => "The caller's own policy lacks the permission: attach an identity policy allowing lambda:InvokeFunction on the target's ARN (with its qualifier) to the invoker's role in account 1, or to the assumed role in account 2 (`xinvoke policy` prints it).",
        Class::AccessDeniedResource => "The target's resource policy does not name the caller: in account 2 run `aws lambda add-permission --function-name ARN:QUALIFIER --action lambda:InvokeFunction --principal CALLER_ROLE_ARN --statement-id ID`, granting the exact qualifier the caller invokes (`xinvoke doctor` prints it).",
        _ => "Access denied and AWS did not say which side: check both the caller's identity policy and the target's resource policy (`xinvoke doctor` checks both).",
    }
}

/// The class of an STS answer that has no row: its status says throttled, failed or refused.
fn sts_by_status(status: Option<u16>) -> (Class, bool, &'static str) {
    match status {
        Some(429) => (Class::StsThrottled, true, errors::HINT_STS_THROTTLED),
        Some(500..=599) => (Class::StsUnavailable, true, errors::HINT_STS_UNAVAILABLE),
        _ => (Class::Credentials, false, ""),
    }
}

/// Classify one outcome.
pub fn classify(outcome: &RawOutcome) -> Classification {
    let mut c = Classification {
        class: Class::Ok,
        retryable: false,
        status: None,
        error_code: None,
        reason: None,
        ec2_error_code: None,
        retry_after_s: None,
        function_error: None,
        may_have_run: false,
        hint: None,
    };
    match outcome {
        RawOutcome::Answered {
            status, function_error, ..
        } => {
            c.status = Some(*status);
            if let Some(fe) = function_error.as_deref().filter(|s| !s.is_empty()) {
                c.class = Class::FunctionError;
                c.function_error = Some(fe.to_string());
                c.hint = Some("The target ran and failed (see the payload's errorType/errorMessage): fix the target or its input; the invoke itself worked.".into());
            }
        }
        RawOutcome::Failed(e) => {
            c.status = Some(e.status);
            c.error_code = Some(e.code.clone());
            c.reason = e.reason.clone();
            c.ec2_error_code = e.ec2_error_code.clone();
            c.retry_after_s = e.retry_after.map(|d| d.as_secs_f64());
            let (mut class, retryable, mut hint) = match errors::lambda_error(&e.code) {
                Some(r) => (r.class, r.retryable, r.hint),
                None => by_status(e.status),
            };
            if let Some((ec2_class, ec2_hint)) = e.ec2_error_code.as_deref().and_then(ec2_code_class) {
                class = ec2_class;
                hint = ec2_hint;
            }
            if class == Class::AccessDenied {
                let (side, explicit) = e
                    .message
                    .as_deref()
                    .and_then(access_denied_side)
                    .unwrap_or((Class::AccessDenied, false));
                class = side;
                hint = access_denied_hint(class, explicit);
            }
            c.class = class;
            c.retryable = retryable;
            c.hint = Some(hint.to_string());
        }
        RawOutcome::TimedOut { sent } => {
            c.class = Class::Timeout;
            c.retryable = *sent != Sent::Sync;
            c.may_have_run = *sent != Sent::No;
            c.hint = Some(match sent {
                Sent::Sync => "No answer within the attempt timeout; the synchronous target may still be running, so it is not retried unless declared idempotent: raise the attempt timeout or speed up the target.",
                Sent::Event => "No answer within the attempt timeout after the event was sent: it may be queued (and will then run), so a retry may deliver it twice, as Lambda's own at-least-once delivery may; check the network path to the Lambda endpoint.",
                Sent::No => "No answer within the attempt timeout: raise the attempt timeout, or check the network path to the Lambda endpoint.",
            }.into());
        }
        RawOutcome::ConnectFailed => {
            c.class = Class::Connect;
            c.retryable = true;
            c.hint = Some("Could not reach the Lambda or STS endpoint: check AWS_ENDPOINT_URL*, the region, DNS, and for a VPC-attached invoker its interface endpoints for Lambda and STS.".into());
        }
        RawOutcome::ConnectionLost { sent } => {
            c.class = Class::Connect;
            c.retryable = *sent != Sent::Sync;
            c.may_have_run = *sent != Sent::No;
            c.hint = Some(match sent {
                Sent::Sync => "The connection broke after the synchronous request was sent: the target may have run it, so it is not retried unless declared idempotent; check the network path (proxies, NAT, VPC endpoints).",
                Sent::Event => "The connection broke after the event was sent: it may be queued (and will then run), so a retry may deliver it twice, as Lambda's own at-least-once delivery may; check the network path (proxies, NAT, VPC endpoints).",
                Sent::No => "The connection broke after the request was sent: check the network path (proxies, NAT, VPC endpoints).",
            }.into());
        }
        RawOutcome::CredentialsFailed(CredentialsFailure { code, status, .. }) => {
            c.error_code = code.clone();
            c.status = *status;
            let row: Option<&ErrorRow> = code.as_deref().and_then(errors::sts_error);
            let (class, retryable, hint) = match row {
                Some(r) => (r.class, r.retryable, r.hint),
                None => sts_by_status(*status),
            };
            c.class = class;
            c.retryable = retryable;
            c.hint = Some(match (hint, code) {
                ("", Some(code)) => format!("STS answered {code} to the call that opens the session into account 2: check XINVOKE_ROLE_ARN, XINVOKE_EXTERNAL_ID and the role's trust policy; the error code says more."),
                ("", None) if status.is_some() => "STS refused the call that opens the session into account 2 without naming the error: check the STS endpoint (AWS_ENDPOINT_URL_STS, the region) and XINVOKE_ROLE_ARN.".into(),
                ("", None) => "No usable credentials: check AWS_PROFILE / AWS_ACCESS_KEY_ID, and XINVOKE_ROLE_ARN / XINVOKE_EXTERNAL_ID when assuming a role.".into(),
                (hint, _) => hint.to_string(),
            });
        }
        RawOutcome::Rejected { code, message } => {
            c.error_code = Some(code.clone());
            let (class, hint) = match errors::lambda_error(code) {
                Some(r) => (r.class, r.hint.to_string()),
                None => (Class::InvalidRequest, message.clone()),
            };
            c.class = class;
            c.hint = Some(hint);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(status: u16, code: &str) -> RawOutcome {
        RawOutcome::Failed(ServiceError {
            status,
            code: code.into(),
            ..Default::default()
        })
    }

    #[test]
    fn every_reference_error_is_classified_as_the_table_says() {
        // (code, status, class, retryable): the reference's §2 table, one row each.
        let cases: &[(&str, u16, Class, bool)] = &[
            ("InvalidParameterValueException", 400, Class::InvalidRequest, false),
            ("InvalidRequestContentException", 400, Class::InvalidRequest, false),
            ("RecursiveInvocationException", 400, Class::InvalidRequest, false),
            ("SnapStartException", 400, Class::InvalidRequest, false),
            ("NoPublishedVersionException", 400, Class::InvalidRequest, false),
            ("ModeNotSupportedException", 400, Class::InvalidRequest, false),
            ("ServiceQuotaExceededException", 402, Class::Quota, false),
            ("EFSMountFailureException", 403, Class::Efs, false),
            ("ResourceNotFoundException", 404, Class::NotFound, false),
            ("EFSMountConnectivityException", 408, Class::Efs, true),
            ("EFSMountTimeoutException", 408, Class::Efs, true),
            ("SnapStartTimeoutException", 408, Class::NotReady, true),
            ("ResourceConflictException", 409, Class::NotReady, true),
            ("SnapStartNotReadyException", 409, Class::NotReady, true),
            ("SnapStartRegenerationFailureException", 409, Class::NotReady, false),
            ("EFSIOException", 410, Class::Efs, true),
            ("RequestTooLargeException", 413, Class::PayloadTooLarge, false),
            (
                "SerializedRequestEntityTooLargeException",
                413,
                Class::PayloadTooLarge,
                false,
            ),
            ("UnsupportedMediaTypeException", 415, Class::InvalidRequest, false),
            ("TooManyRequestsException", 429, Class::Throttled, true),
            ("ServiceException", 500, Class::Service, true),
            ("EC2ThrottledException", 502, Class::Ec2Throttled, true),
            ("EC2UnexpectedException", 502, Class::Ec2Unexpected, true),
            ("EC2AccessDeniedException", 502, Class::VpcConfig, false),
            ("ENILimitReachedException", 502, Class::EniLimit, true),
            ("ENINotReadyException", 502, Class::NotReady, true),
            ("SubnetIPAddressLimitReachedException", 502, Class::SubnetIpLimit, true),
            ("InvalidSubnetIDException", 502, Class::VpcConfig, false),
            ("InvalidSecurityGroupIDException", 502, Class::VpcConfig, false),
            ("ResourceNotReadyException", 502, Class::NotReady, true),
            ("InvalidRuntimeException", 502, Class::InvalidRequest, false),
            ("InvalidZipFileException", 502, Class::InvalidRequest, false),
            ("KMSAccessDeniedException", 502, Class::Kms, false),
            ("KMSDisabledException", 502, Class::Kms, false),
            ("KMSInvalidStateException", 502, Class::Kms, false),
            ("KMSNotFoundException", 502, Class::Kms, false),
            ("CodeArtifactUserPendingException", 409, Class::NotReady, true),
            ("CodeArtifactUserDeletedException", 409, Class::NotReady, true),
            ("CodeArtifactUserFailedException", 409, Class::InvalidRequest, false),
            ("RuntimeAliasDeletedException", 409, Class::InvalidRequest, false),
            ("RuntimeVersionDeletedException", 409, Class::InvalidRequest, false),
            (
                "DurableExecutionAlreadyStartedException",
                409,
                Class::AlreadyDone,
                false,
            ),
            ("AccessDeniedException", 403, Class::AccessDenied, false),
            ("UnrecognizedClientException", 403, Class::Credentials, false),
            ("InvalidSignatureException", 403, Class::Credentials, false),
            ("ExpiredTokenException", 403, Class::Credentials, true),
        ];
        for &(code, status, class, retryable) in cases {
            let c = classify(&failed(status, code));
            assert_eq!((c.class, c.retryable), (class, retryable), "{code}");
            assert_eq!(c.status, Some(status));
            assert_eq!(c.error_code.as_deref(), Some(code));
            assert!(c.hint.as_deref().is_some_and(|h| h.len() > 20), "{code} needs a hint");
            assert_eq!(
                errors::lambda_error(code).map(|r| r.status),
                Some(status),
                "{code} status in table"
            );
        }
    }

    #[test]
    fn the_three_vpc_failures_of_the_brief_are_three_classes_with_three_hints() {
        let throttled = classify(&failed(502, "EC2ThrottledException"));
        let eni = classify(&failed(502, "ENILimitReachedException"));
        let rate = classify(&RawOutcome::Failed(ServiceError {
            status: 502,
            code: "EC2UnexpectedException".into(),
            ec2_error_code: Some("Client.RequestLimitExceeded".into()),
            ..Default::default()
        }));
        let eni_ec2 = classify(&RawOutcome::Failed(ServiceError {
            status: 502,
            code: "EC2UnexpectedException".into(),
            ec2_error_code: Some("NetworkInterfaceLimitExceeded".into()),
            ..Default::default()
        }));
        assert_eq!(throttled.class, Class::Ec2Throttled);
        assert_eq!(eni.class, Class::EniLimit);
        assert_eq!(eni_ec2.class, Class::EniLimit);
        assert_eq!(rate.class, Class::Ec2RequestLimit);
        assert_eq!(rate.ec2_error_code.as_deref(), Some("Client.RequestLimitExceeded"));
        let hints = [&throttled.hint, &eni.hint, &rate.hint];
        assert!(hints[0] != hints[1] && hints[1] != hints[2] && hints[0] != hints[2]);
    }

    #[test]
    fn unexpected_ec2_code_stays_ec2_unexpected() {
        let c = classify(&RawOutcome::Failed(ServiceError {
            status: 502,
            code: "EC2UnexpectedException".into(),
            ec2_error_code: Some("InternalError".into()),
            ..Default::default()
        }));
        assert_eq!(c.class, Class::Ec2Unexpected);
    }

    #[test]
    fn access_denied_side_is_read_from_the_message() {
        let msg = |m: &str| {
            classify(&RawOutcome::Failed(ServiceError {
                status: 403,
                code: "AccessDeniedException".into(),
                message: Some(m.into()),
                ..Default::default()
            }))
        };
        let id = msg("User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: lambda:InvokeFunction on resource: arn because no identity-based policy allows the lambda:InvokeFunction action");
        let res = msg("User: x is not authorized to perform: lambda:InvokeFunction on resource: y because no resource-based policy allows the lambda:InvokeFunction action");
        let deny = msg("User: x is not authorized ... with an explicit deny in a resource-based policy");
        let unknown = msg("Access denied");
        assert_eq!(id.class, Class::AccessDeniedIdentity);
        assert!(id.hint.unwrap().contains("identity policy"));
        assert_eq!(res.class, Class::AccessDeniedResource);
        assert!(res.hint.unwrap().contains("add-permission"));
        assert_eq!(deny.class, Class::AccessDeniedResource);
        assert!(
            deny.hint.unwrap().contains("explicit Deny"),
            "an Allow cannot fix a Deny"
        );
        assert_eq!(unknown.class, Class::AccessDenied);
        assert!(!unknown.retryable);
    }

    #[test]
    fn throttle_carries_reason_and_retry_after() {
        let c = classify(&RawOutcome::Failed(ServiceError {
            status: 429,
            code: "TooManyRequestsException".into(),
            reason: Some("ReservedFunctionConcurrentInvocationLimitExceeded".into()),
            retry_after: Some(Duration::from_secs(2)),
            ..Default::default()
        }));
        assert_eq!(c.class, Class::Throttled);
        assert_eq!(
            c.reason.as_deref(),
            Some("ReservedFunctionConcurrentInvocationLimitExceeded")
        );
        assert_eq!(c.retry_after_s, Some(2.0));
        assert!(c.retryable);
    }

    #[test]
    fn a_200_with_function_error_is_a_failure_never_ok() {
        let c = classify(&RawOutcome::Answered {
            status: 200,
            function_error: Some("Unhandled".into()),
            executed_version: Some("1".into()),
            durable_execution_arn: None,
            payload: b"{}".to_vec(),
        });
        assert_eq!(c.class, Class::FunctionError);
        assert_eq!(c.function_error.as_deref(), Some("Unhandled"));
        assert!(!c.retryable);
        let ok = classify(&RawOutcome::Answered {
            status: 202,
            function_error: Some(String::new()),
            executed_version: None,
            durable_execution_arn: None,
            payload: vec![],
        });
        assert_eq!(ok.class, Class::Ok);
        assert!(ok.hint.is_none());
    }

    #[test]
    fn unmodelled_codes_fall_back_on_their_status() {
        for (status, class, retryable) in [
            (503, Class::Service, true),
            (404, Class::NotFound, false),
            (429, Class::Throttled, true),
            (403, Class::AccessDenied, false),
            (400, Class::InvalidRequest, false),
            (409, Class::NotReady, true),
        ] {
            let c = classify(&failed(status, "SomethingNewException"));
            assert_eq!((c.class, c.retryable), (class, retryable), "{status}");
        }
    }

    #[test]
    fn transport_outcomes_have_their_own_classes() {
        assert_eq!(classify(&RawOutcome::ConnectFailed).class, Class::Connect);
        assert!(classify(&RawOutcome::ConnectFailed).retryable);
        let lost_sync = classify(&RawOutcome::ConnectionLost { sent: Sent::Sync });
        assert_eq!((lost_sync.class, lost_sync.retryable), (Class::Connect, false));
        assert!(lost_sync.may_have_run);
        let unsent = classify(&RawOutcome::ConnectionLost { sent: Sent::No });
        assert!(unsent.retryable && !unsent.may_have_run);
        let sync = classify(&RawOutcome::TimedOut { sent: Sent::Sync });
        assert_eq!(
            (sync.class, sync.retryable, sync.may_have_run),
            (Class::Timeout, false, true)
        );
        let unsent = classify(&RawOutcome::TimedOut { sent: Sent::No });
        assert_eq!(
            (unsent.class, unsent.retryable, unsent.may_have_run),
            (Class::Timeout, true, false)
        );
    }

    #[test]
    fn an_event_that_got_no_answer_may_be_queued_and_is_retried_as_at_least_once() {
        // Lambda's async delivery is at least once (Lambda guide, "Asynchronous invocation"):
        // a retry of an event that may be queued risks what Lambda itself may do; the record
        // says so.
        for raw in [
            RawOutcome::TimedOut { sent: Sent::Event },
            RawOutcome::ConnectionLost { sent: Sent::Event },
        ] {
            let c = classify(&raw);
            assert!(c.retryable && c.may_have_run, "{raw:?}");
            assert!(c.hint.unwrap().contains("may be queued"));
        }
        let json = serde_json::to_value(classify(&RawOutcome::TimedOut { sent: Sent::Event })).unwrap();
        assert_eq!(json["may_have_run"], true);
        let json = serde_json::to_value(classify(&RawOutcome::ConnectFailed)).unwrap();
        assert!(json.get("may_have_run").is_none(), "only said when true");
    }

    #[test]
    fn sts_answers_are_classified_like_invoke_answers() {
        let sts = |code: Option<&str>, status: Option<u16>| {
            classify(&RawOutcome::CredentialsFailed(CredentialsFailure {
                code: code.map(str::to_string),
                status,
                message: None,
            }))
        };
        // Throttles and 5xx are transient (botocore retries/standard.py: Throttling and
        // ThrottlingException are throttles, 500/502/503/504 transient).
        for (code, status) in [
            ("Throttling", 400),
            ("ThrottlingException", 400),
            ("RequestLimitExceeded", 400),
        ] {
            let c = sts(Some(code), Some(status));
            assert_eq!((c.class, c.retryable), (Class::StsThrottled, true), "{code}");
            assert!(c.hint.unwrap().contains("STS throttled"), "{code}");
        }
        for (code, status) in [
            (Some("InternalFailure"), Some(500)),
            (Some("ServiceUnavailable"), Some(503)),
            (None, Some(502)),
            (Some("IDPCommunicationError"), Some(400)),
        ] {
            let c = sts(code, status);
            assert_eq!((c.class, c.retryable), (Class::StsUnavailable, true), "{code:?}");
        }
        // Refusals and bad parameters are not: the hint names STS and the cause.
        let denied = sts(Some("AccessDenied"), Some(403));
        assert_eq!((denied.class, denied.retryable), (Class::Credentials, false));
        assert!(denied.hint.unwrap().contains("trust policy"));
        let region = sts(Some("RegionDisabledException"), Some(403));
        assert!(!region.retryable && region.hint.unwrap().contains("region"));
        let invalid = sts(Some("ValidationError"), Some(400));
        assert!(!invalid.retryable && invalid.hint.unwrap().contains("XINVOKE_SESSION_NAME"));
        let unknown = sts(Some("SomethingNew"), Some(400));
        assert_eq!((unknown.class, unknown.retryable), (Class::Credentials, false));
        assert!(unknown.hint.unwrap().contains("SomethingNew"));
        let no_sts = sts(None, None);
        assert!(!no_sts.retryable && no_sts.hint.unwrap().contains("AWS_PROFILE"));
    }

    #[test]
    fn one_failure_state_is_one_class_whether_invoked_or_read() {
        // A function Failed for a reason answers its invoke with the table's error
        // (errors::failed_state_error); reading the reason from the configuration must give
        // the same class.
        for reason in [
            "EniLimitExceeded",
            "SubnetOutOfIPAddresses",
            "EC2RequestLimitExceeded",
            "InvalidSubnet",
            "InvalidSecurityGroup",
            "InsufficientRolePermissions",
            "KMSKeyAccessDenied",
            "EFSMountTimeout",
        ] {
            let (code, ec2) = errors::failed_state_error(reason);
            let invoked = classify(&RawOutcome::Failed(ServiceError {
                status: errors::lambda_error(code).unwrap().status,
                code: code.into(),
                ec2_error_code: ec2.map(str::to_string),
                ..Default::default()
            }));
            let (read, _) = state_reason_class(reason).unwrap();
            assert_eq!(invoked.class, read, "{reason}");
        }
        assert_eq!(
            state_reason_class("EC2RequestLimitExceeded").unwrap().0,
            Class::Ec2RequestLimit
        );
    }

    #[test]
    fn an_oversize_invoke_is_payload_too_large_under_either_name() {
        // AWS sends RequestEntityTooLargeException (413) where the model says
        // RequestTooLargeException: both, and the status alone, are payload_too_large.
        for code in [
            "RequestEntityTooLargeException",
            "RequestTooLargeException",
            "SomethingNew",
        ] {
            let c = classify(&failed(413, code));
            assert_eq!((c.class, c.retryable), (Class::PayloadTooLarge, false), "{code}");
        }
        for code in ["RequestEntityTooLargeException", "RequestTooLargeException"] {
            let c = classify(&RawOutcome::Rejected {
                code: code.into(),
                message: "too large".into(),
            });
            assert_eq!(c.class, Class::PayloadTooLarge, "{code} refused before sending");
        }
    }

    #[test]
    fn rejected_before_sending_uses_the_code_row() {
        let c = classify(&RawOutcome::Rejected {
            code: "RequestTooLargeException".into(),
            message: "7 MB > 6 MB".into(),
        });
        assert_eq!(c.class, Class::PayloadTooLarge);
        assert!(!c.retryable);
        assert_eq!(c.status, None);
    }

    #[test]
    fn state_reasons_map_to_the_vpc_classes() {
        assert_eq!(
            state_reason_class("EC2RequestLimitExceeded").unwrap().0,
            Class::Ec2RequestLimit
        );
        assert_eq!(state_reason_class("EniLimitExceeded").unwrap().0, Class::EniLimit);
        assert_eq!(
            state_reason_class("SubnetOutOfIPAddresses").unwrap().0,
            Class::SubnetIpLimit
        );
        assert_eq!(state_reason_class("InvalidSubnet").unwrap().0, Class::VpcConfig);
        assert!(state_reason_class("Whatever").is_none());
    }

    #[test]
    fn class_names_match_serde() {
        for c in Class::ALL {
            assert_eq!(Class::from_name(c.name()), Some(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.name()));
        }
    }
}
