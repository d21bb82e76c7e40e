//! Classification: one pure function from what the wire said ([`RawOutcome`]) to what it means
//! ([`Classification`]): a class, whether retrying can help, and what to fix when it can't.
//!
//! Every error of the Invoke API (`shared/reference/lambda-invoke.md` §2) has its row in
//! [`ERROR_TABLE`]. Codes the table does not name fall back on their HTTP status. Message text
//! is read in one place only, [`access_denied_side`], because AWS gives no other signal there.

use serde::{Deserialize, Serialize};
use std::fmt;
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
        payload: Vec<u8>,
    },
    /// A non-2xx answer from the service.
    Failed(ServiceError),
    /// The attempt's time ran out. `may_have_run`: the request was sent and was synchronous,
    /// so the target may be running it now.
    TimedOut { may_have_run: bool },
    /// No connection could be made (refused, unreachable, DNS): nothing was sent.
    ConnectFailed,
    /// The connection broke after the request was sent, before an answer. `may_have_run`: the
    /// request was synchronous, so the target may have run it.
    ConnectionLost { may_have_run: bool },
    /// No usable credentials: AssumeRole refused, the provider failed, or the service refused
    /// the ones presented (bad key, bad signature, expired token).
    CredentialsFailed { code: Option<String> },
    /// Refused before sending: the request breaks a limit the service would enforce.
    Rejected { code: String, message: String },
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

/// The classes every outcome falls into. Names are stable (snake_case in JSON and reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Ok,
    FunctionError,
    Throttled,
    Ec2Throttled,
    EniLimit,
    Ec2RequestLimit,
    SubnetIpLimit,
    Ec2Unexpected,
    VpcConfig,
    NotReady,
    AccessDeniedIdentity,
    AccessDeniedResource,
    AccessDenied,
    NotFound,
    InvalidRequest,
    PayloadTooLarge,
    Quota,
    Kms,
    Efs,
    Service,
    Timeout,
    Connect,
    Credentials,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 23] = [
        Class::Ok,
        Class::FunctionError,
        Class::Throttled,
        Class::Ec2Throttled,
        Class::EniLimit,
        Class::Ec2RequestLimit,
        Class::SubnetIpLimit,
        Class::Ec2Unexpected,
        Class::VpcConfig,
        Class::NotReady,
        Class::AccessDeniedIdentity,
        Class::AccessDeniedResource,
        Class::AccessDenied,
        Class::NotFound,
        Class::InvalidRequest,
        Class::PayloadTooLarge,
        Class::Quota,
        Class::Kms,
        Class::Efs,
        Class::Service,
        Class::Timeout,
        Class::Connect,
        Class::Credentials,
    ];

    /// The class's stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::FunctionError => "function_error",
            Class::Throttled => "throttled",
            Class::Ec2Throttled => "ec2_throttled",
            Class::EniLimit => "eni_limit",
            Class::Ec2RequestLimit => "ec2_request_limit",
            Class::SubnetIpLimit => "subnet_ip_limit",
            Class::Ec2Unexpected => "ec2_unexpected",
            Class::VpcConfig => "vpc_config",
            Class::NotReady => "not_ready",
            Class::AccessDeniedIdentity => "access_denied_identity",
            Class::AccessDeniedResource => "access_denied_resource",
            Class::AccessDenied => "access_denied",
            Class::NotFound => "not_found",
            Class::InvalidRequest => "invalid_request",
            Class::PayloadTooLarge => "payload_too_large",
            Class::Quota => "quota",
            Class::Kms => "kms",
            Class::Efs => "efs",
            Class::Service => "service",
            Class::Timeout => "timeout",
            Class::Connect => "connect",
            Class::Credentials => "credentials",
        }
    }

    /// Look a class up by its snake_case name.
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    /// One of the EC2/VPC classes, whose retries must not hammer EC2.
    pub fn is_ec2(self) -> bool {
        matches!(
            self,
            Class::Ec2Throttled
                | Class::EniLimit
                | Class::Ec2RequestLimit
                | Class::SubnetIpLimit
                | Class::Ec2Unexpected
        )
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one outcome means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub class: Class,
    /// Whether another attempt can help (the policy still decides whether one is made).
    pub retryable: bool,
    pub status: Option<u16>,
    pub error_code: Option<String>,
    pub reason: Option<String>,
    pub ec2_error_code: Option<String>,
    /// The service's `Retry-After`, in seconds.
    pub retry_after_s: Option<f64>,
    pub function_error: Option<String>,
    /// What to fix, in a sentence; `None` for `ok`.
    pub hint: Option<String>,
}

/// One row of the Invoke error table.
#[derive(Debug, Clone, Copy)]
pub struct ErrorRow {
    pub code: &'static str,
    pub status: u16,
    pub class: Class,
    pub retryable: bool,
    /// What to fix.
    pub hint: &'static str,
}

const fn row(code: &'static str, status: u16, class: Class, retryable: bool, hint: &'static str) -> ErrorRow {
    ErrorRow {
        code,
        status,
        class,
        retryable,
        hint,
    }
}

const HINT_INVALID: &str =
    "The request itself is wrong (parameters, payload or invocation type): fix the request; retrying cannot help.";
const HINT_DEPLOY: &str =
    "The target's deployment is broken (runtime or package): redeploy the target function in account 2.";
const HINT_VPC_CONFIG: &str = "The target's VPC configuration is invalid: check the subnets, security groups and the target execution role's ec2:*NetworkInterface* permissions (AWSLambdaVPCAccessExecutionRole) in account 2.";
const HINT_KMS: &str = "The target's environment variables cannot be decrypted: grant the target's execution role kms:Decrypt on the key, or enable the key, in account 2.";
const HINT_EFS_PERM: &str = "The target cannot mount its file system: check the access point, mount targets and the target role's permissions in account 2.";
const HINT_EFS_TRANSIENT: &str = "The target's file system did not answer in time: retrying may help; check mount targets in the target's subnets if it persists.";
const HINT_NOT_READY: &str = "The target is not ready (Pending after a create/update, or Inactive and rebuilding its VPC connection): wait and retry; check State with GetFunctionConfiguration.";
const HINT_SNAPSTART: &str = "SnapStart failed for this version: publish the version again or turn SnapStart off.";
const HINT_EC2_THROTTLED: &str = "EC2 throttled Lambda while it set up the target's network interfaces (EC2 API rate limit on the target's execution role): retry with long waits; avoid many concurrent function creates/updates in account 2.";
const HINT_ENI_LIMIT: &str = "The VPC's network-interface quota is used up (NetworkInterfaceLimitExceeded): delete unused ENIs or raise the 'Network interfaces per Region' quota in account 2; retrying will not free one.";
const HINT_EC2_REQUEST_LIMIT: &str = "EC2 answered RequestLimitExceeded to Lambda's network-interface calls: slow down function creates/updates and concurrency spikes in account 2; retries wait long on purpose.";
const HINT_SUBNET_IP: &str = "The target's subnets have no free IP addresses: add larger subnets (or more of them) to the function's VPC config in account 2.";
const HINT_EC2_UNEXPECTED: &str = "EC2 returned an unexpected error while Lambda set up the target's network: see EC2ErrorCode and CloudTrail's CreateNetworkInterface events in account 2.";
const HINT_THROTTLED: &str = "Lambda throttled the invoke (see Reason): lower the request rate, or raise account or reserved concurrency in account 2; retries honour Retry-After.";
const HINT_QUOTA: &str = "A service quota of account 2 is exceeded: request an increase in Service Quotas.";
const HINT_TOO_LARGE: &str =
    "The payload exceeds Lambda's limit (6 MB sync, 1 MB async): send less or pass a reference (e.g. an S3 key).";
const HINT_NOT_FOUND: &str = "No such function or qualifier, or the caller may not see it: check the full ARN, the alias/version, and the region.";
const HINT_SERVICE: &str =
    "Lambda had an internal error: retrying may help; if it persists, check the AWS Health Dashboard.";
const HINT_MEDIA: &str = "The payload must be JSON: send a valid JSON document.";

/// Every modelled Invoke error, plus the ones AWS returns unmodelled. The classification
/// table: README's class list and the tests are written against it.
pub const ERROR_TABLE: &[ErrorRow] = &[
    row("InvalidParameterValueException", 400, Class::InvalidRequest, false, HINT_INVALID),
    row("InvalidRequestContentException", 400, Class::InvalidRequest, false, "The request body is not valid JSON: send a valid JSON payload."),
    row("RecursiveInvocationException", 400, Class::InvalidRequest, false, "Lambda stopped a recursive loop between functions: break the loop or configure recursive loop detection."),
    row("SnapStartException", 400, Class::InvalidRequest, false, HINT_SNAPSTART),
    row("NoPublishedVersionException", 400, Class::InvalidRequest, false, "The function has no published version: publish one and point the alias at it."),
    row("ModeNotSupportedException", 400, Class::InvalidRequest, false, HINT_INVALID),
    row("ServiceQuotaExceededException", 402, Class::Quota, false, HINT_QUOTA),
    row("EFSMountFailureException", 403, Class::Efs, false, HINT_EFS_PERM),
    row("S3FilesMountFailureException", 403, Class::Efs, false, HINT_EFS_PERM),
    row("ResourceNotFoundException", 404, Class::NotFound, false, HINT_NOT_FOUND),
    row("EFSMountConnectivityException", 408, Class::Efs, true, HINT_EFS_TRANSIENT),
    row("EFSMountTimeoutException", 408, Class::Efs, true, HINT_EFS_TRANSIENT),
    row("S3FilesMountConnectivityException", 408, Class::Efs, true, HINT_EFS_TRANSIENT),
    row("S3FilesMountTimeoutException", 408, Class::Efs, true, HINT_EFS_TRANSIENT),
    row("SnapStartTimeoutException", 408, Class::NotReady, true, "SnapStart restore timed out: retrying may help; check the function's init code if it persists."),
    row("ResourceConflictException", 409, Class::NotReady, true, HINT_NOT_READY),
    row("SnapStartNotReadyException", 409, Class::NotReady, true, "The SnapStart snapshot is still being created: wait and retry."),
    row("SnapStartRegenerationFailureException", 409, Class::NotReady, false, HINT_SNAPSTART),
    row("EFSIOException", 410, Class::Efs, true, HINT_EFS_TRANSIENT),
    row("S3FilesIOException", 410, Class::Efs, true, HINT_EFS_TRANSIENT),
    row("RequestTooLargeException", 413, Class::PayloadTooLarge, false, HINT_TOO_LARGE),
    row("SerializedRequestEntityTooLargeException", 413, Class::PayloadTooLarge, false, HINT_TOO_LARGE),
    row("UnsupportedMediaTypeException", 415, Class::InvalidRequest, false, HINT_MEDIA),
    row("TooManyRequestsException", 429, Class::Throttled, true, HINT_THROTTLED),
    row("ServiceException", 500, Class::Service, true, HINT_SERVICE),
    row("EC2ThrottledException", 502, Class::Ec2Throttled, true, HINT_EC2_THROTTLED),
    row("EC2UnexpectedException", 502, Class::Ec2Unexpected, true, HINT_EC2_UNEXPECTED),
    row("EC2AccessDeniedException", 502, Class::VpcConfig, false, HINT_VPC_CONFIG),
    row("ENILimitReachedException", 502, Class::EniLimit, true, HINT_ENI_LIMIT),
    row("ENINotReadyException", 502, Class::NotReady, true, "The target's network interface is still being created: wait a few moments and retry."),
    row("SubnetIPAddressLimitReachedException", 502, Class::SubnetIpLimit, true, HINT_SUBNET_IP),
    row("InvalidSubnetIDException", 502, Class::VpcConfig, false, HINT_VPC_CONFIG),
    row("InvalidSecurityGroupIDException", 502, Class::VpcConfig, false, HINT_VPC_CONFIG),
    row("ResourceNotReadyException", 502, Class::NotReady, true, HINT_NOT_READY),
    row("InvalidRuntimeException", 502, Class::InvalidRequest, false, HINT_DEPLOY),
    row("InvalidZipFileException", 502, Class::InvalidRequest, false, HINT_DEPLOY),
    row("KMSAccessDeniedException", 502, Class::Kms, false, HINT_KMS),
    row("KMSDisabledException", 502, Class::Kms, false, HINT_KMS),
    row("KMSInvalidStateException", 502, Class::Kms, false, HINT_KMS),
    row("KMSNotFoundException", 502, Class::Kms, false, HINT_KMS),
    // Not in the model, but what AWS answers for a missing permission or bad credentials.
    row("AccessDeniedException", 403, Class::AccessDenied, false, ""),
    row("UnrecognizedClientException", 403, Class::Credentials, false, "The access key is not known: check the credentials in use (AWS_PROFILE / AWS_ACCESS_KEY_ID) or the assumed role's session."),
    row("InvalidClientTokenId", 403, Class::Credentials, false, "The access key is not known: check the credentials in use (AWS_PROFILE / AWS_ACCESS_KEY_ID)."),
    row("InvalidSignatureException", 403, Class::Credentials, false, "The request signature does not match: check the secret key, and that the clock is in sync."),
    row("SignatureDoesNotMatch", 403, Class::Credentials, false, "The request signature does not match: check the secret key, and that the clock is in sync."),
    row("IncompleteSignatureException", 400, Class::Credentials, false, "The request was not fully signed: check the credentials provider."),
    row("MissingAuthenticationTokenException", 403, Class::Credentials, false, "The request carried no credentials: configure AWS credentials for the invoker."),
    row("MissingAuthenticationToken", 403, Class::Credentials, false, "The request carried no credentials: configure AWS credentials for the invoker."),
    row("ExpiredTokenException", 403, Class::Credentials, true, "The session token expired: the client refreshes assumed-role sessions before expiry; check the clock and the session duration."),
    row("ExpiredToken", 403, Class::Credentials, true, "The session token expired: check the clock and the session duration."),
    row("RequestExpired", 400, Class::Credentials, false, "The request's signature date is too far from AWS's clock: sync the clock."),
    row("ThrottlingException", 400, Class::Throttled, true, HINT_THROTTLED),
];

/// The row for an error name, if the table has one. Names are matched exactly, as AWS sends them.
pub fn error_row(code: &str) -> Option<&'static ErrorRow> {
    ERROR_TABLE.iter().find(|r| r.code == code)
}

/// Which side refused an AccessDenied: the only place message text is read, because AWS
/// gives no other signal. `None` when the message does not say.
pub fn access_denied_side(message: &str) -> Option<Class> {
    let m = message.to_ascii_lowercase();
    if m.contains("identity-based policy") {
        Some(Class::AccessDeniedIdentity)
    } else if m.contains("resource-based policy") {
        Some(Class::AccessDeniedResource)
    } else {
        None
    }
}

/// EC2 codes that can ride in EC2UnexpectedException's `EC2ErrorCode`, with `Client.` cut.
fn ec2_code_class(code: &str) -> Option<(Class, &'static str)> {
    match code.strip_prefix("Client.").unwrap_or(code) {
        "RequestLimitExceeded" => Some((Class::Ec2RequestLimit, HINT_EC2_REQUEST_LIMIT)),
        "NetworkInterfaceLimitExceeded" => Some((Class::EniLimit, HINT_ENI_LIMIT)),
        "InsufficientFreeAddressesInSubnet" => Some((Class::SubnetIpLimit, HINT_SUBNET_IP)),
        _ => None,
    }
}

/// The class and hint of a function-state or update-status reason code
/// (`StateReasonCode`, `LastUpdateStatusReasonCode`), for checks that read configuration.
pub fn state_reason_class(reason_code: &str) -> Option<(Class, &'static str)> {
    match reason_code {
        "EniLimitExceeded" => Some((Class::EniLimit, HINT_ENI_LIMIT)),
        "SubnetOutOfIPAddresses" => Some((Class::SubnetIpLimit, HINT_SUBNET_IP)),
        "EC2RequestLimitExceeded" => Some((Class::Ec2RequestLimit, HINT_EC2_REQUEST_LIMIT)),
        "InvalidSubnet" | "InvalidSecurityGroup" | "InsufficientRolePermissions" | "SubnetOutOfIPAddressesRemoved" => {
            Some((Class::VpcConfig, HINT_VPC_CONFIG))
        }
        "Creating" | "Restoring" | "Idle" => Some((Class::NotReady, HINT_NOT_READY)),
        "KMSKeyAccessDenied" | "KMSKeyNotFound" | "DisabledKMSKey" | "InvalidStateKMSKey" => {
            Some((Class::Kms, HINT_KMS))
        }
        _ => None,
    }
}

fn by_status(status: u16) -> (Class, bool, &'static str) {
    match status {
        401 | 403 => (Class::AccessDenied, false, ""),
        404 => (Class::NotFound, false, HINT_NOT_FOUND),
        408 => (Class::Timeout, true, ""),
        409 => (Class::NotReady, true, HINT_NOT_READY),
        413 => (Class::PayloadTooLarge, false, HINT_TOO_LARGE),
        429 => (Class::Throttled, true, HINT_THROTTLED),
        500..=599 => (Class::Service, true, HINT_SERVICE),
        _ => (Class::InvalidRequest, false, HINT_INVALID),
    }
}

fn access_denied_hint(class: Class) -> &'static str {
    match class {
        Class::AccessDeniedIdentity => "The caller's own policy lacks the permission: attach an identity policy allowing lambda:InvokeFunction on the target's ARN (with its qualifier) to the invoker's role in account 1, or to the assumed role in account 2 (`xinvoke policy` prints it).",
        Class::AccessDeniedResource => "The target's resource policy does not name the caller: in account 2 run `aws lambda add-permission --function-name ARN:QUALIFIER --action lambda:InvokeFunction --principal CALLER_ROLE_ARN --statement-id ID`, granting the exact qualifier the caller invokes (`xinvoke doctor` prints it).",
        _ => "Access denied and AWS did not say which side: check both the caller's identity policy and the target's resource policy (`xinvoke doctor` checks both).",
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
            let (mut class, retryable, mut hint) = match error_row(&e.code) {
                Some(r) => (r.class, r.retryable, r.hint),
                None => by_status(e.status),
            };
            if let Some((ec2_class, ec2_hint)) = e.ec2_error_code.as_deref().and_then(ec2_code_class) {
                class = ec2_class;
                hint = ec2_hint;
            }
            if class == Class::AccessDenied {
                class = e
                    .message
                    .as_deref()
                    .and_then(access_denied_side)
                    .unwrap_or(Class::AccessDenied);
                hint = access_denied_hint(class);
            }
            c.class = class;
            c.retryable = retryable;
            c.hint = Some(hint.to_string());
        }
        RawOutcome::TimedOut { may_have_run } => {
            c.class = Class::Timeout;
            c.retryable = !may_have_run;
            c.hint = Some(if *may_have_run {
                "No answer within the attempt timeout; the synchronous target may still be running, so it is not retried unless declared idempotent: raise the attempt timeout or speed up the target.".into()
            } else {
                "No answer within the attempt timeout: raise the attempt timeout, or check the network path to the Lambda endpoint.".into()
            });
        }
        RawOutcome::ConnectFailed => {
            c.class = Class::Connect;
            c.retryable = true;
            c.hint = Some("Could not reach the Lambda or STS endpoint: check AWS_ENDPOINT_URL*, the region, DNS, and for a VPC-attached invoker its interface endpoints for Lambda and STS.".into());
        }
        RawOutcome::ConnectionLost { may_have_run } => {
            c.class = Class::Connect;
            c.retryable = !may_have_run;
            c.hint = Some(if *may_have_run {
                "The connection broke after the synchronous request was sent: the target may have run it, so it is not retried unless declared idempotent; check the network path (proxies, NAT, VPC endpoints).".into()
            } else {
                "The connection broke after the request was sent: check the network path (proxies, NAT, VPC endpoints)."
                    .into()
            });
        }
        RawOutcome::CredentialsFailed { code } => {
            c.class = Class::Credentials;
            c.error_code = code.clone();
            let row = code
                .as_deref()
                .and_then(error_row)
                .filter(|r| r.class == Class::Credentials);
            c.retryable = row.is_some_and(|r| r.retryable);
            c.hint = Some(match (code.as_deref(), row) {
                (_, Some(r)) => r.hint.to_string(),
                (Some("AccessDenied"), None) => "AssumeRole was refused: the role's trust policy must name the caller's role and require the external id you pass (XINVOKE_EXTERNAL_ID), and the caller needs sts:AssumeRole on the role.".into(),
                _ => "No usable credentials: check AWS_PROFILE / AWS_ACCESS_KEY_ID, and XINVOKE_ROLE_ARN / XINVOKE_EXTERNAL_ID when assuming a role.".into(),
            });
        }
        RawOutcome::Rejected { code, message } => {
            c.error_code = Some(code.clone());
            let (class, hint) = match error_row(code) {
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
                error_row(code).map(|r| r.status),
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
            payload: b"{}".to_vec(),
        });
        assert_eq!(c.class, Class::FunctionError);
        assert_eq!(c.function_error.as_deref(), Some("Unhandled"));
        assert!(!c.retryable);
        let ok = classify(&RawOutcome::Answered {
            status: 202,
            function_error: Some(String::new()),
            executed_version: None,
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
        let lost_sync = classify(&RawOutcome::ConnectionLost { may_have_run: true });
        assert_eq!((lost_sync.class, lost_sync.retryable), (Class::Connect, false));
        assert!(classify(&RawOutcome::ConnectionLost { may_have_run: false }).retryable);
        let sync = classify(&RawOutcome::TimedOut { may_have_run: true });
        assert_eq!((sync.class, sync.retryable), (Class::Timeout, false));
        let unsent = classify(&RawOutcome::TimedOut { may_have_run: false });
        assert_eq!((unsent.class, unsent.retryable), (Class::Timeout, true));
        let refused = classify(&RawOutcome::CredentialsFailed {
            code: Some("AccessDenied".into()),
        });
        assert_eq!((refused.class, refused.retryable), (Class::Credentials, false));
        assert!(refused.hint.unwrap().contains("external id"));
        let expired = classify(&RawOutcome::CredentialsFailed {
            code: Some("ExpiredTokenException".into()),
        });
        assert!(expired.retryable);
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
    fn class_names_round_trip_and_match_serde() {
        for c in Class::ALL {
            assert_eq!(Class::from_name(c.name()), Some(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.name()));
        }
    }
}
