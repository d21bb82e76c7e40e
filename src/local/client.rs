//! A small client for the local endpoint's control API (`/_local/`), for the demo, the load
//! harness and tests: plain HTTP/1.1 on loopback, one connection per call.

use crate::local::oidc::TokenRequest;
use crate::local::scenario::Secret;
use serde_json::Value;
use std::net::SocketAddr;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A control call that failed; [`ControlClient`]'s example meets `Refused` and `Io`.
#[derive(Debug, Error)]
pub enum ControlError {
    /// No connection to the endpoint.
    #[error("cannot reach the local endpoint at {addr}: {source}; is `xinvoke local` running there?")]
    Io {
        /// Where the endpoint was looked for.
        addr: SocketAddr,
        /// What the connection met.
        source: std::io::Error,
    },
    /// The endpoint refused the call.
    #[error("the local endpoint answered {status} to {path}: {body}")]
    Refused {
        /// The control path called.
        path: String,
        /// The answer's status.
        status: u16,
        /// The answer's body (the endpoint's own message).
        body: String,
    },
    /// The answer is not JSON.
    #[error("the local endpoint sent an unreadable answer to {path}")]
    Unreadable {
        /// The control path called.
        path: String,
    },
}

/// Talks to one local endpoint's control API (docs/local.md, "Control API"): inject faults and
/// states, move the clock, mint web identity tokens, read what was invoked.
///
/// ```
/// use aws_sdk_lambda::primitives::Blob;
/// use serde_json::json;
/// use xinvoke::local::{builtin, ControlClient, ControlError, LocalServer, Scenario, TokenRequest};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// let control = ControlClient::new(server.addr());
/// // The next invoke of `target` is throttled, as reserved concurrency would.
/// control.fault(&json!({"function": "target", "error": "TooManyRequestsException", "times": 1})).await?;
///
/// let keys = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let config = xinvoke::endpoint_config(xinvoke::Timeouts::default(), server.url(), keys, builtin::REGION).await;
/// let lambda = aws_sdk_lambda::Client::new(&config);
/// let invoke = || lambda.invoke().function_name(builtin::TARGET_ALIAS_ARN).payload(Blob::new("{}")).send();
/// let throttled = invoke().await.unwrap_err().into_service_error();
/// assert!(throttled.is_too_many_requests_exception(), "{throttled:?}");
/// assert_eq!(invoke().await?.status_code(), 200); // `times` spent
/// let stats = control.stats().await?;
/// assert_eq!((stats["invokes"].as_u64(), stats["invokes_by_status"]["429"].as_u64()), (Some(2), Some(1)));
/// assert_eq!(control.invocations().await?.as_array().map(Vec::len), Some(2));
///
/// // A token of the scenario's EKS issuer, for AssumeRoleWithWebIdentity: a Secret, whose
/// // Debug never shows it.
/// let token = control.oidc_token(&TokenRequest::subject(builtin::WEB_IDENTITY_SUBJECT)).await?;
/// assert!(token.0.starts_with("eyJ")); // a JWT
/// assert_eq!(format!("{token:?}"), "<redacted>");
///
/// // A path the API does not have; an endpoint that is not there.
/// let err = control.call("GET", "/_local/nothing", None).await.unwrap_err();
/// assert!(matches!(err, ControlError::Refused { status: 404, .. }), "{err}");
/// control.reset().await?;
/// let addr = server.addr();
/// server.shutdown().await;
/// let err = ControlClient::new(addr).stats().await.unwrap_err();
/// assert!(matches!(err, ControlError::Io { .. }));
/// assert!(err.to_string().contains("is `xinvoke local` running there?"), "{err}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ControlClient {
    addr: SocketAddr,
}

impl ControlClient {
    /// The control API of the local endpoint listening on `addr`.
    pub fn new(addr: SocketAddr) -> ControlClient {
        ControlClient { addr }
    }

    /// Send one request; a non-2xx answer is an error carrying the body.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, ControlError> {
        let io = |source| ControlError::Io {
            addr: self.addr,
            source,
        };
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(self.addr).await.map_err(io)?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(io)?;
        let unreadable = || ControlError::Unreadable { path: path.to_string() };
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(unreadable)?;
        let head = std::str::from_utf8(&raw[..split]).map_err(|_| unreadable())?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(unreadable)?;
        let chunked = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("transfer-encoding:") && l.contains("chunked")
        });
        let payload = &raw[split + 4..];
        let payload = if chunked {
            dechunk(payload).ok_or_else(unreadable)?
        } else {
            payload.to_vec()
        };
        if !(200..300).contains(&status) {
            return Err(ControlError::Refused {
                path: path.to_string(),
                status,
                body: String::from_utf8_lossy(&payload).into_owned(),
            });
        }
        if payload.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&payload).map_err(|_| unreadable())
    }

    /// `POST /_local/faults`.
    pub async fn fault(&self, spec: &Value) -> Result<Value, ControlError> {
        self.call("POST", "/_local/faults", Some(spec)).await
    }

    /// `DELETE /_local/faults`.
    pub async fn clear_faults(&self) -> Result<Value, ControlError> {
        self.call("DELETE", "/_local/faults", None).await
    }

    /// `POST /_local/state`.
    pub async fn state(&self, spec: &Value) -> Result<Value, ControlError> {
        self.call("POST", "/_local/state", Some(spec)).await
    }

    /// `POST /_local/clock`.
    pub async fn advance_clock(&self, seconds: u64) -> Result<Value, ControlError> {
        self.call(
            "POST",
            "/_local/clock",
            Some(&serde_json::json!({ "advance_s": seconds })),
        )
        .await
    }

    /// `GET /_local/stats`.
    pub async fn stats(&self) -> Result<Value, ControlError> {
        self.call("GET", "/_local/stats", None).await
    }

    /// `POST /_local/oidc/token`: a web identity token (a JWT) signed by the endpoint's OIDC
    /// issuer, for AssumeRoleWithWebIdentity or a token file (`AWS_WEB_IDENTITY_TOKEN_FILE`).
    pub async fn oidc_token(&self, request: &TokenRequest) -> Result<Secret, ControlError> {
        let path = "/_local/oidc/token";
        let body = serde_json::to_value(request).map_err(|_| ControlError::Unreadable { path: path.into() })?;
        let answer = self.call("POST", path, Some(&body)).await?;
        match answer.get("token").and_then(Value::as_str) {
            Some(token) => Ok(Secret(token.to_string())),
            None => Err(ControlError::Unreadable { path: path.into() }),
        }
    }

    /// `GET /_local/invocations`: the last invokes received, oldest first.
    pub async fn invocations(&self) -> Result<Value, ControlError> {
        self.call("GET", "/_local/invocations", None).await
    }

    /// `GET /_local/executions`: per function and message key, invokes and executions.
    pub async fn executions(&self) -> Result<Value, ControlError> {
        self.call("GET", "/_local/executions", None).await
    }

    /// `GET /_local/destinations`: what failed async events delivered, by ARN.
    pub async fn destinations(&self) -> Result<Value, ControlError> {
        self.call("GET", "/_local/destinations", None).await
    }

    /// `POST /_local/reset`.
    pub async fn reset(&self) -> Result<Value, ControlError> {
        self.call("POST", "/_local/reset", None).await
    }
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(), b"abcde");
        assert!(dechunk(b"zz\r\n").is_none());
    }
}
