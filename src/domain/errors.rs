//! The one error table: every error Lambda's Invoke can answer and every STS error an
//! assumed-role session can meet, with what the wire carries (status, the body's `Type`, the
//! spelling of its message key, AWS's usual message) and what it means (class, whether another
//! attempt can help, what to fix). The classifier reads it to classify; the local endpoint
//! reads it to answer; nothing else holds these facts.
//!
//! Sources: botocore's `data/lambda/2015-03-31/service-2.json` (the Invoke operation's 45
//! errors, each shape's `httpStatusCode`, `senderFault` and message member) and
//! `data/sts/2011-06-15/service-2.json`; the errors AWS answers but does not model
//! (AccessDenied, the signature and token errors, STS's `Throttling`) from the AWS docs. The
//! tests read the pinned models and fail when a modelled error has no row.

use crate::domain::class::Class;

/// Who AWS blames, as the body's `Type` says: the caller (`User`, the model's `senderFault`)
/// or itself (`Service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    User,
    Service,
}

/// Which answers carry the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// One of the errors the Lambda model lists for Invoke.
    Invoke,
    /// Lambda answers it without modelling it: authentication, authorization, routing.
    Lambda,
    /// STS answers it (AssumeRole, AssumeRoleWithWebIdentity): the credentials of a session.
    Sts,
}

/// One error: its wire shape and its meaning.
#[derive(Debug, Clone, Copy)]
pub struct ErrorRow {
    /// The error name (`x-amzn-ErrorType` for Lambda, `<Code>` for STS).
    pub code: &'static str,
    pub status: u16,
    pub origin: Origin,
    pub blame: Blame,
    /// The shape spells its message `message` rather than `Message`.
    pub lowercase_message: bool,
    /// What AWS usually says.
    pub message: &'static str,
    pub class: Class,
    /// Whether another attempt can help (the policy still decides whether one is made).
    pub retryable: bool,
    /// What to fix, in a sentence. Empty for AccessDenied, whose hint depends on the side.
    pub hint: &'static str,
}

use Blame::{Service as S, User as U};
use Class as C;
use Origin::{Invoke as I, Lambda as L, Sts};

#[allow(clippy::too_many_arguments)]
const fn row(
    code: &'static str,
    status: u16,
    origin: Origin,
    blame: Blame,
    lowercase_message: bool,
    class: Class,
    retryable: bool,
    message: &'static str,
    hint: &'static str,
) -> ErrorRow {
    ErrorRow {
        code,
        status,
        origin,
        blame,
        lowercase_message,
        message,
        class,
        retryable,
        hint,
    }
}

pub(crate) const HINT_INVALID: &str =
    "The request itself is wrong (parameters, payload or invocation type): fix the request; retrying cannot help.";
/// InvalidParameterValueException: also what a tenant mismatch answers (the Lambda guide's
/// "Troubleshooting tenant isolation").
const HINT_INVALID_PARAMETER: &str = "A parameter of the request is wrong (invocation type, client context, or the tenant: a tenant-isolated function needs a tenant id, XINVOKE_TENANT_ID / --tenant-id or the event's tenant_id, and a function without tenant isolation refuses one): fix the request; retrying cannot help.";
const HINT_DEPLOY: &str =
    "The target's deployment is broken (runtime or package): redeploy the target function in account 2.";
const HINT_RUNTIME_GONE: &str = "The target's runtime version or alias was deleted: update the target function in account 2 to an available runtime.";
pub(crate) const HINT_VPC_CONFIG: &str = "The target's VPC configuration is invalid: check the subnets, security groups and the target execution role's ec2:*NetworkInterface* permissions (AWSLambdaVPCAccessExecutionRole) in account 2.";
pub(crate) const HINT_KMS: &str = "The target's environment variables cannot be decrypted: grant the target's execution role kms:Decrypt on the key, or enable the key, in account 2.";
const HINT_EFS_PERM: &str = "The target cannot mount its file system: check the access point, mount targets and the target role's permissions in account 2.";
const HINT_EFS_TRANSIENT: &str = "The target's file system did not answer in time: retrying may help; check mount targets in the target's subnets if it persists.";
pub(crate) const HINT_NOT_READY: &str = "The target is not ready (Pending after a create/update, or Inactive and rebuilding its VPC connection): wait and retry; check State with GetFunctionConfiguration.";
const HINT_SNAPSTART: &str = "SnapStart failed for this version: publish the version again or turn SnapStart off.";
const HINT_CODE_USER: &str =
    "The target's code artifact user is being provisioned: wait for the function's State to be Active and retry.";
pub(crate) const HINT_EC2_THROTTLED: &str = "EC2 throttled Lambda while it set up the target's network interfaces (EC2 API rate limit on the target's execution role): retry with long waits; avoid many concurrent function creates/updates in account 2.";
pub(crate) const HINT_ENI_LIMIT: &str = "The VPC's network-interface quota is used up (NetworkInterfaceLimitExceeded): delete unused ENIs or raise the 'Network interfaces per Region' quota in account 2; retrying will not free one.";
pub(crate) const HINT_EC2_REQUEST_LIMIT: &str = "EC2 answered RequestLimitExceeded to Lambda's network-interface calls: slow down function creates/updates and concurrency spikes in account 2; retries wait long on purpose.";
pub(crate) const HINT_SUBNET_IP: &str = "The target's subnets have no free IP addresses: add larger subnets (or more of them) to the function's VPC config in account 2.";
const HINT_EC2_UNEXPECTED: &str = "EC2 returned an unexpected error while Lambda set up the target's network: see EC2ErrorCode and CloudTrail's CreateNetworkInterface events in account 2.";
pub(crate) const HINT_THROTTLED: &str = "Lambda throttled the invoke (see Reason): lower the request rate, or raise account or reserved concurrency in account 2; retries honour Retry-After.";
const HINT_QUOTA: &str = "A service quota of account 2 is exceeded: request an increase in Service Quotas.";
pub(crate) const HINT_TOO_LARGE: &str =
    "The payload exceeds Lambda's limit (6 MB sync, 1 MB async): send less or pass a reference (e.g. an S3 key).";
pub(crate) const HINT_NOT_FOUND: &str = "No such function or qualifier, or the caller may not see it: check the full ARN, the alias/version, and the region.";
pub(crate) const HINT_SERVICE: &str =
    "Lambda had an internal error: retrying may help; if it persists, check the AWS Health Dashboard.";
const HINT_MEDIA: &str = "The payload must be JSON: send a valid JSON document.";
const HINT_UNKNOWN_KEY: &str =
    "The access key is not known: check the credentials in use (AWS_PROFILE / AWS_ACCESS_KEY_ID) or the assumed role's session.";
const HINT_SIGNATURE: &str =
    "The request signature does not match: check the secret key, and that the clock is in sync.";
const HINT_NO_CREDENTIALS: &str = "The request carried no credentials: configure AWS credentials for the invoker.";
pub(crate) const HINT_STS_THROTTLED: &str = "STS throttled the AssumeRole call that opens the session into account 2 (many cold starts at once share the caller account's STS rate): retries back off; spread cold starts (SQS MaximumConcurrency, fewer workers) if it persists.";
pub(crate) const HINT_STS_UNAVAILABLE: &str = "STS failed or was unreachable while opening the session into account 2: retrying may help; use the regional STS endpoint of the target's region (AWS_STS_REGIONAL_ENDPOINTS) and check the AWS Health Dashboard if it persists.";
const HINT_STS_DENIED: &str = "STS refused AssumeRole: the role's trust policy in account 2 must name the caller's role and require the external id you pass (XINVOKE_EXTERNAL_ID), and the caller needs sts:AssumeRole on the role in account 1.";
const HINT_STS_REGION: &str = "STS is not enabled in this region for the caller's account: activate the region's STS endpoint in account 1's IAM settings, or call STS in another region.";
const HINT_STS_VALIDATION: &str = "STS refused the AssumeRole request's parameters: check XINVOKE_ROLE_ARN (a role ARN), XINVOKE_SESSION_NAME (2-64 characters) and XINVOKE_EXTERNAL_ID (2-1224 characters).";
const HINT_STS_EXPIRED: &str = "The caller's own credentials expired before STS could use them: refresh the source credentials (profile, SSO login, or the instance/container role).";
const HINT_STS_TOKEN: &str = "STS refused the web identity token (expired, wrong issuer or audience, or not trusted by the role): check the token file, the OIDC provider and the role's trust conditions on sub and aud.";
const HINT_STS_IDP: &str = "STS could not reach the identity provider to check the web identity token: retrying may help; check the OIDC provider's availability.";

/// Every error, once. The Invoke rows follow the model's order of statuses.
#[rustfmt::skip]
pub(crate) const ERRORS: &[ErrorRow] = &[
    // 400: the caller's request.
    row("InvalidParameterValueException", 400, I, U, true, C::InvalidRequest, false, "One or more parameters values were invalid.", HINT_INVALID_PARAMETER),
    row("InvalidRequestContentException", 400, I, U, true, C::InvalidRequest, false, "Could not parse request body into json.", "The request body is not valid JSON: send a valid JSON payload."),
    row("RecursiveInvocationException", 400, I, U, false, C::InvalidRequest, false, "Lambda has detected that your function is being invoked in a recursive loop with other AWS resources and stopped your function's invocation.", "Lambda stopped a recursive loop between functions: break the loop or configure recursive loop detection."),
    row("SnapStartException", 400, I, U, false, C::InvalidRequest, false, "The function's SnapStart snapshot is not usable.", HINT_SNAPSTART),
    row("NoPublishedVersionException", 400, I, U, false, C::InvalidRequest, false, "The function has no published versions.", "The function has no published version: publish one and point the alias at it."),
    row("ModeNotSupportedException", 400, I, U, true, C::InvalidRequest, false, "The requested invocation mode is not supported.", HINT_INVALID),
    row("ServiceQuotaExceededException", 402, I, U, false, C::Quota, false, "A service quota has been exceeded.", HINT_QUOTA),
    row("EFSMountFailureException", 403, I, U, false, C::Efs, false, "The function couldn't mount the configured Amazon EFS file system.", HINT_EFS_PERM),
    row("S3FilesMountFailureException", 403, I, U, false, C::Efs, false, "The function couldn't mount the configured S3 Files file system.", HINT_EFS_PERM),
    row("ResourceNotFoundException", 404, I, U, false, C::NotFound, false, "The resource you requested does not exist.", HINT_NOT_FOUND),
    row("EFSMountConnectivityException", 408, I, U, false, C::Efs, true, "The function couldn't make a network connection to the configured file system.", HINT_EFS_TRANSIENT),
    row("EFSMountTimeoutException", 408, I, U, false, C::Efs, true, "The function timed out before it could mount the configured file system.", HINT_EFS_TRANSIENT),
    row("S3FilesMountConnectivityException", 408, I, U, false, C::Efs, true, "The function couldn't make a network connection to the configured S3 Files file system.", HINT_EFS_TRANSIENT),
    row("S3FilesMountTimeoutException", 408, I, U, false, C::Efs, true, "The function timed out before it could mount the configured S3 Files file system.", HINT_EFS_TRANSIENT),
    row("SnapStartTimeoutException", 408, I, U, false, C::NotReady, true, "Lambda couldn't restore the snapshot within the timeout limit.", "SnapStart restore timed out: retrying may help; check the function's init code if it persists."),
    row("ResourceConflictException", 409, I, U, true, C::NotReady, true, "The operation cannot be performed at this time. The function is currently in the following state: Pending", HINT_NOT_READY),
    row("SnapStartNotReadyException", 409, I, U, false, C::NotReady, true, "Lambda is initializing your function. You can invoke the function when the state of the function is Active.", "The SnapStart snapshot is still being created: wait and retry."),
    row("SnapStartRegenerationFailureException", 409, I, U, false, C::NotReady, false, "Lambda couldn't regenerate the SnapStart snapshot.", HINT_SNAPSTART),
    row("CodeArtifactUserPendingException", 409, I, U, true, C::NotReady, true, "The Lambda function couldn't be invoked because its code artifact user is still being provisioned.", HINT_CODE_USER),
    row("CodeArtifactUserDeletedException", 409, I, U, true, C::NotReady, true, "The Lambda function couldn't be invoked because its code artifact user has been deleted.", "The target's code artifact user was deleted: Lambda provisions a new one (retrying may help), or update the function's code package in account 2."),
    row("CodeArtifactUserFailedException", 409, I, U, true, C::InvalidRequest, false, "The Lambda function couldn't be invoked because provisioning of its code artifact user failed.", "Provisioning the target's code artifact user failed: update the function's code package in account 2 and check its State and StateReasonCode."),
    row("RuntimeAliasDeletedException", 409, I, U, true, C::InvalidRequest, false, "The runtime alias for your function is no longer available.", HINT_RUNTIME_GONE),
    row("RuntimeVersionDeletedException", 409, I, U, true, C::InvalidRequest, false, "The runtime version used by your function is no longer available.", HINT_RUNTIME_GONE),
    row("DurableExecutionAlreadyStartedException", 409, I, U, false, C::AlreadyDone, false, "The durable execution with the specified name has already been started.", "A durable execution of this message's name already started (it is still running, or ran with another payload): the message's work is under way there, so it is not started again; look the execution up by its name (ListDurableExecutionsByFunction)."),
    row("EFSIOException", 410, I, U, false, C::Efs, true, "An error occurred when reading from or writing to a connected file system.", HINT_EFS_TRANSIENT),
    row("RequestTooLargeException", 413, I, U, true, C::PayloadTooLarge, false, "Request must be smaller than 6291456 bytes for the InvokeFunction operation", HINT_TOO_LARGE),
    row("SerializedRequestEntityTooLargeException", 413, I, U, true, C::PayloadTooLarge, false, "Request must be smaller than 6291456 bytes for the InvokeFunction operation", HINT_TOO_LARGE),
    row("UnsupportedMediaTypeException", 415, I, U, true, C::InvalidRequest, false, "The content type of the Invoke request body is not JSON.", HINT_MEDIA),
    // "Rate Exceeded.": LocalStack's recorded test_lambda_concurrency_block, test_reserved_concurrency.
    row("TooManyRequestsException", 429, I, U, true, C::Throttled, true, "Rate Exceeded.", HINT_THROTTLED),
    // 5xx: Lambda's side, most of them met while setting up the target's network.
    row("ServiceException", 500, I, S, false, C::Service, true, "The Lambda service encountered an internal error.", HINT_SERVICE),
    row("EC2ThrottledException", 502, I, S, false, C::Ec2Throttled, true, "Lambda was throttled while using the Lambda Execution Role to set up for the Lambda function.", HINT_EC2_THROTTLED),
    row("EC2UnexpectedException", 502, I, S, false, C::Ec2Unexpected, true, "Lambda received an unexpected EC2 client exception while setting up for the Lambda function.", HINT_EC2_UNEXPECTED),
    row("EC2AccessDeniedException", 502, I, S, false, C::VpcConfig, false, "Lambda was unable to set up VPC access for the Lambda function because the execution role lacks EC2 permissions.", HINT_VPC_CONFIG),
    row("ENILimitReachedException", 502, I, S, false, C::EniLimit, true, "Lambda was not able to create an Elastic Network Interface (ENI) in the VPC, specified as part of Lambda function configuration, because the limit for network interfaces has been reached.", HINT_ENI_LIMIT),
    row("ENINotReadyException", 502, I, S, false, C::NotReady, true, "Lambda was not able to create an Elastic Network Interface (ENI) in the VPC, specified as part of Lambda function configuration, because the ENI is not ready yet. Wait a few moments and try again.", "The target's network interface is still being created: wait a few moments and retry."),
    row("SubnetIPAddressLimitReachedException", 502, I, S, false, C::SubnetIpLimit, true, "Lambda was not able to set up VPC access for the Lambda function because one or more configured subnets has no available IP addresses.", HINT_SUBNET_IP),
    row("InvalidSubnetIDException", 502, I, S, false, C::VpcConfig, false, "The subnet ID provided in the Lambda function VPC configuration is invalid.", HINT_VPC_CONFIG),
    row("InvalidSecurityGroupIDException", 502, I, S, false, C::VpcConfig, false, "The security group ID provided in the Lambda function VPC configuration is invalid.", HINT_VPC_CONFIG),
    row("ResourceNotReadyException", 502, I, S, true, C::NotReady, true, "The function is inactive and its VPC connection is no longer available. Wait for the VPC connection to reestablish and try again.", HINT_NOT_READY),
    row("InvalidRuntimeException", 502, I, S, false, C::InvalidRequest, false, "The runtime or runtime version for this function is not supported.", HINT_DEPLOY),
    row("InvalidZipFileException", 502, I, S, false, C::InvalidRequest, false, "Lambda could not unzip the deployment package.", HINT_DEPLOY),
    row("KMSAccessDeniedException", 502, I, S, false, C::Kms, false, "Lambda couldn't decrypt the environment variables because KMS access was denied.", HINT_KMS),
    row("KMSDisabledException", 502, I, S, false, C::Kms, false, "Lambda couldn't decrypt the environment variables because the KMS key used is disabled.", HINT_KMS),
    row("KMSInvalidStateException", 502, I, S, false, C::Kms, false, "Lambda couldn't decrypt the environment variables because the state of the KMS key used is not valid for Decrypt.", HINT_KMS),
    row("KMSNotFoundException", 502, I, S, false, C::Kms, false, "Lambda couldn't decrypt the environment variables because the KMS key was not found.", HINT_KMS),
    // Lambda answers these without modelling them.
    row("AccessDeniedException", 403, L, U, false, C::AccessDenied, false, "Access denied.", ""),
    row("MissingAuthenticationTokenException", 403, L, U, false, C::Credentials, false, "Missing Authentication Token", HINT_NO_CREDENTIALS),
    row("UnrecognizedClientException", 403, L, U, false, C::Credentials, false, "The security token included in the request is invalid.", HINT_UNKNOWN_KEY),
    row("InvalidSignatureException", 403, L, U, false, C::Credentials, false, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.", HINT_SIGNATURE),
    row("ExpiredTokenException", 403, L, U, false, C::Credentials, true, "The security token included in the request is expired", "The session token expired: the client refreshes assumed-role sessions before expiry; check the clock and the session duration."),
    row("UnknownOperationException", 404, L, U, false, C::InvalidRequest, false, "Unknown operation.", HINT_INVALID),
    // What AWS sends for an oversize Invoke instead of the model's RequestTooLargeException
    // (413; public reports: ASFHyP3/hyp3#2241 "264496 byte payload is too large for the Event
    // invocation type (limit 262144 bytes)", awslabs/aws-athena-query-federation#793 "Status
    // Code: 413; Error Code: RequestEntityTooLargeException", faultline/faultline#12).
    row("RequestEntityTooLargeException", 413, L, U, true, C::PayloadTooLarge, false, "Request must be smaller than 6291456 bytes for the InvokeFunction operation", HINT_TOO_LARGE),
    // A parameter that breaks the model's constraints, checked before anything is looked up
    // (LocalStack's recorded test_function_name_and_qualifier_validation, test_permission_exceptions).
    row("ValidationException", 400, L, U, true, C::InvalidRequest, false, "1 validation error detected.", HINT_INVALID),
    // A stale RevisionId (modelled for the write operations, not for Invoke; LocalStack's
    // recorded TestLambdaRevisions answers).
    row("PreconditionFailedException", 412, L, U, true, C::InvalidRequest, false, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id", "The RevisionId sent is not the latest: read the function's (or policy's) current RevisionId and send the change again."),
    // STS: the answers AssumeRole and AssumeRoleWithWebIdentity give (query protocol, XML).
    row("Throttling", 400, Sts, U, false, C::StsThrottled, true, "Rate exceeded", HINT_STS_THROTTLED),
    row("ThrottlingException", 400, Sts, U, false, C::StsThrottled, true, "Rate exceeded", HINT_STS_THROTTLED),
    row("RequestLimitExceeded", 400, Sts, U, false, C::StsThrottled, true, "Request limit exceeded.", HINT_STS_THROTTLED),
    row("IDPCommunicationError", 400, Sts, U, false, C::StsUnavailable, true, "The identity provider could not be reached.", HINT_STS_IDP),
    row("InternalFailure", 500, Sts, S, false, C::StsUnavailable, true, "The request processing has failed because of an unknown error, exception or failure.", HINT_STS_UNAVAILABLE),
    row("ServiceUnavailable", 503, Sts, S, false, C::StsUnavailable, true, "The request has failed due to a temporary failure of the server.", HINT_STS_UNAVAILABLE),
    row("AccessDenied", 403, Sts, U, false, C::Credentials, false, "User is not authorized to perform: sts:AssumeRole", HINT_STS_DENIED),
    row("RegionDisabledException", 403, Sts, U, false, C::Credentials, false, "STS is not activated in this region for account.", HINT_STS_REGION),
    row("ValidationError", 400, Sts, U, false, C::Credentials, false, "1 validation error detected.", HINT_STS_VALIDATION),
    row("MalformedPolicyDocument", 400, Sts, U, false, C::Credentials, false, "The policy document is malformed.", HINT_STS_VALIDATION),
    row("PackedPolicyTooLarge", 400, Sts, U, false, C::Credentials, false, "The packed policy is too large.", HINT_STS_VALIDATION),
    row("InvalidContextAssertion", 400, Sts, U, false, C::Credentials, false, "The context assertion is invalid.", HINT_STS_VALIDATION),
    row("InvalidIdentityToken", 400, Sts, U, false, C::Credentials, false, "The web identity token is invalid.", HINT_STS_TOKEN),
    row("IDPRejectedClaim", 403, Sts, U, false, C::Credentials, false, "The identity provider rejected the claim.", HINT_STS_TOKEN),
    row("InvalidClientTokenId", 403, Sts, U, false, C::Credentials, false, "The security token included in the request is invalid.", HINT_UNKNOWN_KEY),
    row("SignatureDoesNotMatch", 403, Sts, U, false, C::Credentials, false, "The request signature we calculated does not match the signature you provided.", HINT_SIGNATURE),
    row("IncompleteSignature", 400, Sts, U, false, C::Credentials, false, "The request signature does not conform to AWS standards.", "The request was not fully signed: check the credentials provider."),
    row("MissingAuthenticationToken", 403, Sts, U, false, C::Credentials, false, "Request is missing Authentication Token", HINT_NO_CREDENTIALS),
    row("ExpiredToken", 403, Sts, U, false, C::Credentials, false, "The security token included in the request is expired", HINT_STS_EXPIRED),
    row("ExpiredTokenException", 400, Sts, U, false, C::Credentials, false, "The security token included in the request is expired", HINT_STS_EXPIRED),
    row("RequestExpired", 400, Sts, U, false, C::Credentials, false, "Request has expired.", "The request's signature date is too far from AWS's clock: sync the clock."),
];

/// The row of a Lambda answer's error name. Names are matched exactly, as AWS sends them.
pub fn lambda_error(code: &str) -> Option<&'static ErrorRow> {
    ERRORS.iter().find(|r| r.code == code && r.origin != Origin::Sts)
}

/// The row of an STS answer's error code.
pub(crate) fn sts_error(code: &str) -> Option<&'static ErrorRow> {
    ERRORS.iter().find(|r| r.code == code && r.origin == Origin::Sts)
}

/// The rows a service answers, in table order.
pub fn answered_by(sts: bool) -> impl Iterator<Item = &'static ErrorRow> {
    ERRORS.iter().filter(move |r| (r.origin == Origin::Sts) == sts)
}

/// The index of a Lambda error in [`ERRORS`], for counters kept per error.
pub fn lambda_error_index(code: &str) -> Option<usize> {
    ERRORS.iter().position(|r| r.code == code && r.origin != Origin::Sts)
}

/// The Invoke error AWS answers for a function whose State is Failed with `reason_code`
/// (`StateReasonCode`), and the EC2 code it carries, if any. Where the reason names an EC2
/// condition the answer names the same one, so invoking and reading the configuration lead to
/// the same class ([`crate::domain::classify::state_reason_class`]).
pub(crate) fn failed_state_error(reason_code: &str) -> (&'static str, Option<&'static str>) {
    match reason_code {
        "EniLimitExceeded" => ("ENILimitReachedException", None),
        "SubnetOutOfIPAddresses" => ("SubnetIPAddressLimitReachedException", None),
        // EC2's own code for the ENI calls Lambda made with the target's execution role.
        "EC2RequestLimitExceeded" => ("EC2UnexpectedException", Some("Client.RequestLimitExceeded")),
        "InvalidSubnet" => ("InvalidSubnetIDException", None),
        "InvalidSecurityGroup" => ("InvalidSecurityGroupIDException", None),
        "InsufficientRolePermissions" => ("EC2AccessDeniedException", None),
        "InvalidRuntime" => ("InvalidRuntimeException", None),
        "InvalidZipFileException" => ("InvalidZipFileException", None),
        "KMSKeyAccessDenied" => ("KMSAccessDeniedException", None),
        "KMSKeyNotFound" => ("KMSNotFoundException", None),
        "DisabledKMSKey" => ("KMSDisabledException", None),
        "InvalidStateKMSKey" => ("KMSInvalidStateException", None),
        "EFSMountFailure" => ("EFSMountFailureException", None),
        "EFSMountConnectivityError" => ("EFSMountConnectivityException", None),
        "EFSMountTimeout" => ("EFSMountTimeoutException", None),
        "EFSIOError" => ("EFSIOException", None),
        _ => ("ServiceException", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_code_is_unique_per_service_and_blame_matches_status() {
        let mut seen = BTreeSet::new();
        for r in ERRORS {
            assert!(seen.insert((r.code, r.origin == Origin::Sts)), "{} twice", r.code);
            assert_eq!(r.blame == Blame::Service, r.status >= 500, "{}", r.code);
            assert!(!r.message.is_empty(), "{}", r.code);
            assert!(
                r.class == Class::AccessDenied || r.hint.len() > 20,
                "{} needs a hint",
                r.code
            );
        }
    }

    #[test]
    fn lowercase_message_shapes_are_the_models() {
        // The Invoke error shapes whose member is `message` in botocore's service-2.json.
        let mut expected = vec![
            "ResourceNotReadyException",
            "TooManyRequestsException",
            "RequestTooLargeException",
            "UnsupportedMediaTypeException",
            "SerializedRequestEntityTooLargeException",
            "InvalidParameterValueException",
            "ResourceConflictException",
            "InvalidRequestContentException",
            "ModeNotSupportedException",
            "CodeArtifactUserDeletedException",
            "CodeArtifactUserFailedException",
            "CodeArtifactUserPendingException",
            "RuntimeAliasDeletedException",
            "RuntimeVersionDeletedException",
        ];
        let mut got: Vec<_> = answered_by(false)
            .filter(|r| r.origin == Origin::Invoke && r.lowercase_message)
            .map(|r| r.code)
            .collect();
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected);
    }

    #[test]
    fn lambda_and_sts_lookups_do_not_mix() {
        assert_eq!(lambda_error("ExpiredTokenException").unwrap().status, 403);
        assert_eq!(sts_error("ExpiredTokenException").unwrap().status, 400);
        assert!(lambda_error("Throttling").is_none());
        assert!(sts_error("TooManyRequestsException").is_none());
    }
}
