//! Every error the local account 2 can answer, in one table, so the real paths (auth, state,
//! VPC model, throttles) and the fault injector produce byte-identical answers: the status,
//! the `Type` and the spelling of the message key come from here and nowhere else.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// Header names of the wire format, parsed once (hyper sends every name in lowercase).
pub mod headers {
    use axum::http::HeaderName;

    pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
    pub const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
    pub const FUNCTION_ERROR: HeaderName = HeaderName::from_static("x-amz-function-error");
    pub const EXECUTED_VERSION: HeaderName = HeaderName::from_static("x-amz-executed-version");
    pub const LOG_RESULT: HeaderName = HeaderName::from_static("x-amz-log-result");
    pub const INVOCATION_TYPE: HeaderName = HeaderName::from_static("x-amz-invocation-type");
    pub const LOG_TYPE: HeaderName = HeaderName::from_static("x-amz-log-type");
    pub const CLIENT_CONTEXT: HeaderName = HeaderName::from_static("x-amz-client-context");
}

/// Whether AWS blames the caller (`User`) or itself (`Service`) in the body's `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// `"Type":"User"`.
    User,
    /// `"Type":"Service"`.
    Service,
}

/// How one Lambda error shape looks on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorSpec {
    /// The name in `x-amzn-ErrorType` (and the SDK's `code()`).
    pub name: &'static str,
    /// HTTP status.
    pub status: u16,
    /// The body's `Type`.
    pub blame: Blame,
    /// True when the shape spells its message `message` rather than `Message`.
    pub lowercase_message: bool,
    /// The message used when a caller (the fault injector) gives none.
    pub default_message: &'static str,
}

const fn spec(
    name: &'static str,
    status: u16,
    blame: Blame,
    lowercase_message: bool,
    default_message: &'static str,
) -> ErrorSpec {
    ErrorSpec {
        name,
        status,
        blame,
        lowercase_message,
        default_message,
    }
}

use Blame::{Service as S, User as U};

/// The Lambda errors of the reference's table §2, plus the unmodelled authentication and
/// authorization errors Lambda answers with. 4xx blame the user, 5xx the service.
pub static LAMBDA_ERRORS: &[ErrorSpec] = &[
    spec("InvalidParameterValueException", 400, U, true, "One or more parameters values were invalid."),
    spec("InvalidRequestContentException", 400, U, true, "Could not parse request body into json."),
    spec("RecursiveInvocationException", 400, U, false, "Lambda has detected that your function is being invoked in a recursive loop with other AWS resources and stopped your function's invocation."),
    spec("SnapStartException", 400, U, false, "The function's SnapStart snapshot is not usable."),
    spec("NoPublishedVersionException", 400, U, false, "The function has no published versions."),
    spec("ModeNotSupportedException", 400, U, true, "The requested invocation mode is not supported."),
    spec("ServiceQuotaExceededException", 402, U, false, "A service quota has been exceeded."),
    spec("EFSMountFailureException", 403, U, false, "The function couldn't mount the configured Amazon EFS file system."),
    spec("S3FilesMountFailureException", 403, U, false, "The function couldn't mount the configured S3 Files file system."),
    spec("AccessDeniedException", 403, U, false, "Access denied."),
    spec("MissingAuthenticationTokenException", 403, U, false, "Missing Authentication Token"),
    spec("UnrecognizedClientException", 403, U, false, "The security token included in the request is invalid."),
    spec("InvalidSignatureException", 403, U, false, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
    spec("ExpiredTokenException", 403, U, false, "The security token included in the request is expired"),
    spec("ResourceNotFoundException", 404, U, false, "The resource you requested does not exist."),
    spec("UnknownOperationException", 404, U, false, "Unknown operation."),
    spec("EFSMountConnectivityException", 408, U, false, "The function couldn't make a network connection to the configured file system."),
    spec("EFSMountTimeoutException", 408, U, false, "The function timed out before it could mount the configured file system."),
    spec("SnapStartTimeoutException", 408, U, false, "Lambda couldn't restore the snapshot within the timeout limit."),
    spec("S3FilesMountConnectivityException", 408, U, false, "The function couldn't make a network connection to the configured S3 Files file system."),
    spec("S3FilesMountTimeoutException", 408, U, false, "The function timed out before it could mount the configured S3 Files file system."),
    spec("ResourceConflictException", 409, U, true, "The operation cannot be performed at this time. The function is currently in the following state: Pending"),
    spec("SnapStartNotReadyException", 409, U, false, "Lambda is initializing your function. You can invoke the function when the state of the function is Active."),
    spec("SnapStartRegenerationFailureException", 409, U, false, "Lambda couldn't regenerate the SnapStart snapshot."),
    spec("EFSIOException", 410, U, false, "An error occurred when reading from or writing to a connected file system."),
    spec("RequestTooLargeException", 413, U, true, "Request must be smaller than 6291456 bytes for the InvokeFunction operation"),
    spec("SerializedRequestEntityTooLargeException", 413, U, true, "Request must be smaller than 6291456 bytes for the InvokeFunction operation"),
    spec("UnsupportedMediaTypeException", 415, U, true, "The content type of the Invoke request body is not JSON."),
    spec("TooManyRequestsException", 429, U, true, "Rate exceeded"),
    spec("ServiceException", 500, S, false, "The Lambda service encountered an internal error."),
    spec("EC2ThrottledException", 502, S, false, "Lambda was throttled while using the Lambda Execution Role to set up for the Lambda function."),
    spec("EC2UnexpectedException", 502, S, false, "Lambda received an unexpected EC2 client exception while setting up for the Lambda function."),
    spec("EC2AccessDeniedException", 502, S, false, "Lambda was unable to set up VPC access for the Lambda function because the execution role lacks EC2 permissions."),
    spec("ENILimitReachedException", 502, S, false, "Lambda was not able to create an Elastic Network Interface (ENI) in the VPC, specified as part of Lambda function configuration, because the limit for network interfaces has been reached."),
    spec("ENINotReadyException", 502, S, false, "Lambda was not able to create an Elastic Network Interface (ENI) in the VPC, specified as part of Lambda function configuration, because the ENI is not ready yet. Wait a few moments and try again."),
    spec("SubnetIPAddressLimitReachedException", 502, S, false, "Lambda was not able to set up VPC access for the Lambda function because one or more configured subnets has no available IP addresses."),
    spec("InvalidSubnetIDException", 502, S, false, "The subnet ID provided in the Lambda function VPC configuration is invalid."),
    spec("InvalidSecurityGroupIDException", 502, S, false, "The security group ID provided in the Lambda function VPC configuration is invalid."),
    spec("ResourceNotReadyException", 502, S, true, "The function is inactive and its VPC connection is no longer available. Wait for the VPC connection to reestablish and try again."),
    spec("InvalidRuntimeException", 502, S, false, "The runtime or runtime version for this function is not supported."),
    spec("InvalidZipFileException", 502, S, false, "Lambda could not unzip the deployment package."),
    spec("KMSAccessDeniedException", 502, S, false, "Lambda couldn't decrypt the environment variables because KMS access was denied."),
    spec("KMSDisabledException", 502, S, false, "Lambda couldn't decrypt the environment variables because the KMS key used is disabled."),
    spec("KMSInvalidStateException", 502, S, false, "Lambda couldn't decrypt the environment variables because the state of the KMS key used is not valid for Decrypt."),
    spec("KMSNotFoundException", 502, S, false, "Lambda couldn't decrypt the environment variables because the KMS key was not found."),
];

/// The index of `name` in [`LAMBDA_ERRORS`].
pub fn lambda_error_index(name: &str) -> Option<usize> {
    LAMBDA_ERRORS.iter().position(|s| s.name == name)
}

/// The names of every error in [`LAMBDA_ERRORS`], comma-separated (for error messages).
pub fn lambda_error_names() -> String {
    LAMBDA_ERRORS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// One Lambda error answer, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Index into [`LAMBDA_ERRORS`].
    pub index: usize,
    /// The message.
    pub message: Cow<'static, str>,
    /// `Reason` of a TooManyRequestsException.
    pub reason: Option<String>,
    /// `Retry-After` of a TooManyRequestsException, in seconds.
    pub retry_after_s: Option<u64>,
    /// `EC2ErrorCode` of an EC2UnexpectedException.
    pub ec2_error_code: Option<String>,
}

impl ApiError {
    /// The error called `name` with `message`. A name missing from the table (a bug of this
    /// module, caught by the tests) becomes a ServiceException rather than a panic.
    pub fn new(name: &str, message: impl Into<Cow<'static, str>>) -> ApiError {
        let index = lambda_error_index(name)
            .or_else(|| lambda_error_index("ServiceException"))
            .unwrap_or(0);
        ApiError {
            index,
            message: message.into(),
            reason: None,
            retry_after_s: None,
            ec2_error_code: None,
        }
    }

    /// The error called `name` with its default message.
    pub fn named(name: &str) -> ApiError {
        let e = ApiError::new(name, "");
        let msg = e.spec().default_message;
        ApiError {
            message: Cow::Borrowed(msg),
            ..e
        }
    }

    /// A 429 TooManyRequestsException with `reason` and a `Retry-After` hint.
    pub fn throttle(reason: &str, retry_after_s: u64) -> ApiError {
        ApiError {
            reason: Some(reason.to_string()),
            retry_after_s: Some(retry_after_s),
            ..ApiError::named("TooManyRequestsException")
        }
    }

    /// The error's shape.
    pub fn spec(&self) -> &'static ErrorSpec {
        &LAMBDA_ERRORS[self.index.min(LAMBDA_ERRORS.len() - 1)]
    }

    /// The error's name.
    pub fn name(&self) -> &'static str {
        self.spec().name
    }

    /// The JSON body as AWS writes it.
    pub fn body(&self) -> Vec<u8> {
        let spec = self.spec();
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string());
        let mut out = String::with_capacity(64 + self.message.len());
        out.push('{');
        if let Some(code) = &self.ec2_error_code {
            out.push_str(&format!("\"EC2ErrorCode\":{},", q(code)));
        }
        if let Some(reason) = &self.reason {
            out.push_str(&format!("\"Reason\":{},", q(reason)));
        }
        let blame = match spec.blame {
            Blame::User => "User",
            Blame::Service => "Service",
        };
        // AWS's key order: capitalised keys, then `Type`, then a lowercase `message`.
        if spec.lowercase_message {
            out.push_str(&format!("\"Type\":\"{blame}\",\"message\":{}}}", q(&self.message)));
        } else {
            out.push_str(&format!("\"Message\":{},\"Type\":\"{blame}\"}}", q(&self.message)));
        }
        out.into_bytes()
    }

    /// The full HTTP answer, `x-amzn-RequestId` included.
    pub fn into_response_with(self, request_id: &str) -> Response {
        let spec = self.spec();
        let status = StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, self.body()).into_response();
        let h = resp.headers_mut();
        h.insert(headers::ERROR_TYPE, HeaderValue::from_static(spec.name));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert(headers::REQUEST_ID, v);
        }
        if let Some(s) = self.retry_after_s {
            h.insert(RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

/// An STS error (query protocol, XML body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsError {
    /// HTTP status.
    pub status: u16,
    /// `<Code>`.
    pub code: &'static str,
    /// `<Message>`.
    pub message: String,
}

impl StsError {
    /// 403 AccessDenied.
    pub fn access_denied(message: String) -> StsError {
        StsError {
            status: 403,
            code: "AccessDenied",
            message,
        }
    }

    /// 400 ValidationError.
    pub fn validation(message: String) -> StsError {
        StsError {
            status: 400,
            code: "ValidationError",
            message,
        }
    }

    /// The full HTTP answer.
    pub fn into_response_with(self, request_id: &str) -> Response {
        let kind = if self.status >= 500 { "Receiver" } else { "Sender" };
        let body = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
            self.code,
            xml_escape(&self.message),
            xml_escape(request_id)
        );
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert(headers::REQUEST_ID, v);
        }
        resp
    }
}

/// Escape text for an XML element.
pub fn xml_escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['<', '>', '&', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_and_status_matches_blame() {
        for (i, s) in LAMBDA_ERRORS.iter().enumerate() {
            assert_eq!(lambda_error_index(s.name), Some(i), "{} duplicated", s.name);
            assert_eq!(s.blame == Blame::Service, s.status >= 500, "{}", s.name);
            assert!(!s.default_message.is_empty());
        }
    }

    #[test]
    fn lowercase_message_shapes_are_exactly_the_references_list() {
        let lower: Vec<_> = LAMBDA_ERRORS
            .iter()
            .filter(|s| s.lowercase_message)
            .map(|s| s.name)
            .collect();
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
        ];
        let mut got = lower.clone();
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected);
    }

    #[test]
    fn throttle_body_matches_aws() {
        let e = ApiError::throttle("CallerRateLimitExceeded", 1);
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            r#"{"Reason":"CallerRateLimitExceeded","Type":"User","message":"Rate exceeded"}"#
        );
    }

    #[test]
    fn not_found_body_matches_aws() {
        let e = ApiError::new("ResourceNotFoundException", "Function not found: x");
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            r#"{"Message":"Function not found: x","Type":"User"}"#
        );
    }

    #[test]
    fn ec2_unexpected_carries_the_ec2_code() {
        let mut e = ApiError::named("EC2UnexpectedException");
        e.ec2_error_code = Some("Client.RequestLimitExceeded".into());
        let v: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["EC2ErrorCode"], "Client.RequestLimitExceeded");
        assert_eq!(v["Type"], "Service");
    }

    #[test]
    fn unknown_name_degrades_to_service_exception() {
        assert_eq!(ApiError::named("NoSuchThing").name(), "ServiceException");
    }

    #[test]
    fn xml_escape_escapes_markup() {
        assert_eq!(xml_escape("a<b&c"), "a&lt;b&amp;c");
        assert_eq!(xml_escape("plain"), "plain");
    }
}
