//! How the local endpoint writes an error: the Lambda answers (restJson1) and the STS answers
//! (query protocol, XML) of the one error table, [`crate::core::errors::ERRORS`], so the real
//! paths (auth, state, VPC model, throttles) and the fault injector produce byte-identical
//! answers: the status, the `Type` and the spelling of the message key come from the table.

use crate::core::errors::{self, Blame, ErrorRow, ERRORS};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// Header names of the wire format, parsed once (hyper sends every name in lowercase).
pub mod headers {
    use axum::http::HeaderName;

    pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
    pub(crate) const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
    pub(crate) const FUNCTION_ERROR: HeaderName = HeaderName::from_static("x-amz-function-error");
    pub(crate) const EXECUTED_VERSION: HeaderName = HeaderName::from_static("x-amz-executed-version");
    pub(crate) const LOG_RESULT: HeaderName = HeaderName::from_static("x-amz-log-result");
    pub(crate) const INVOCATION_TYPE: HeaderName = HeaderName::from_static("x-amz-invocation-type");
    pub(crate) const LOG_TYPE: HeaderName = HeaderName::from_static("x-amz-log-type");
    pub(crate) const CLIENT_CONTEXT: HeaderName = HeaderName::from_static("x-amz-client-context");
}

/// The index of `name` among the Lambda errors of the one table
/// ([`crate::core::errors::ERRORS`]).
pub use crate::core::errors::lambda_error_index;

/// The names of every Lambda error the endpoint can answer, comma-separated (for error messages).
pub(crate) fn lambda_error_names() -> String {
    errors::answered_by(false)
        .map(|r| r.code)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One Lambda error answer, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Index into [`ERRORS`] (a Lambda error).
    pub index: usize,
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
        let msg = e.spec().message;
        ApiError {
            message: Cow::Borrowed(msg),
            ..e
        }
    }

    /// A 429 TooManyRequestsException with `reason`, and a `Retry-After` hint when one
    /// applies (a concurrency throttle has none: it ends when an execution does).
    pub fn throttle(reason: &str, retry_after_s: Option<u64>) -> ApiError {
        ApiError {
            reason: Some(reason.to_string()),
            retry_after_s,
            ..ApiError::named("TooManyRequestsException")
        }
    }

    /// The error's row.
    pub fn spec(&self) -> &'static ErrorRow {
        &ERRORS[self.index.min(ERRORS.len() - 1)]
    }

    /// The error's name.
    pub fn name(&self) -> &'static str {
        self.spec().code
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
        // AWS's key order: capitalised keys, then `Type`, then a lowercase `message`. A
        // ValidationException carries its message alone (LocalStack's recorded answers show
        // no `Type` for it, unlike every modelled error).
        if spec.code == "ValidationException" {
            out.push_str(&format!("\"message\":{}}}", q(&self.message)));
        } else if spec.lowercase_message {
            out.push_str(&format!("\"Type\":\"{blame}\",\"message\":{}}}", q(&self.message)));
        } else {
            out.push_str(&format!("\"Message\":{},\"Type\":\"{blame}\"}}", q(&self.message)));
        }
        out.into_bytes()
    }

    /// The full HTTP answer, `x-amzn-RequestId` included.
    pub(crate) fn into_response_with(self, request_id: &str) -> Response {
        let spec = self.spec();
        let status = StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, self.body()).into_response();
        let h = resp.headers_mut();
        h.insert(headers::ERROR_TYPE, HeaderValue::from_static(spec.code));
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
pub(crate) struct StsError {
    pub status: u16,
    /// `<Code>`.
    pub code: &'static str,
    /// `<Message>`.
    pub message: String,
}

impl StsError {
    /// The STS error `code` of the table, with `message` or AWS's usual one.
    pub fn named(code: &str, message: Option<String>) -> Option<StsError> {
        let r = errors::sts_error(code)?;
        Some(StsError {
            status: r.status,
            code: r.code,
            message: message.unwrap_or_else(|| r.message.to_string()),
        })
    }

    /// 403 AccessDenied.
    pub(crate) fn access_denied(message: String) -> StsError {
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
    pub(crate) fn into_response_with(self, request_id: &str) -> Response {
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
pub(crate) fn xml_escape(s: &str) -> Cow<'_, str> {
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
    fn throttle_body_matches_aws() {
        let e = ApiError::throttle("ReservedFunctionConcurrentInvocationLimitExceeded", None);
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#
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
