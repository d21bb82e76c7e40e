//! One signed call of an AWS JSON-protocol service (`POST /`, `X-Amz-Target: PREFIX.Action`,
//! `application/x-amz-json-1.x`), for the few calls xinvoke makes to services whose SDK crates
//! it does not build: CloudWatch's metrics reads, Organizations' DescribeOrganization (doctor).
//! Signed with aws-sigv4, sent on xinvoke's transport; an error answer keeps its status, code
//! and message for the caller to judge.

use crate::adapters::transport;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Why a call gave no answer document.
#[derive(Debug, thiserror::Error)]
pub enum JsonCallError {
    /// No credentials could be had.
    #[error("no credentials: {0}")]
    Credentials(String),
    /// The request could not be built, sent or read.
    #[error("{0}")]
    Transport(String),
    /// The service answered an error.
    #[error("{status} {code}: {message}")]
    Service {
        status: u16,
        /// The error's shape name (`__type` without its namespace).
        code: String,
        message: String,
    },
}

/// A JSON-protocol service at one endpoint, signing for one region.
pub struct JsonService {
    pub(crate) endpoint: http::Uri,
    region: String,
    /// The signing name (`monitoring`, `organizations`).
    signing_name: &'static str,
    /// `X-Amz-Target`'s prefix, up to the `.` before the action.
    target_prefix: &'static str,
    /// `application/x-amz-json-1.0` or `-1.1`.
    content_type: &'static str,
    credentials: SharedCredentialsProvider,
    client: hyper_util::client::legacy::Client<transport::Connector, Full<Bytes>>,
}

impl JsonService {
    /// A service at `endpoint` (a URL), signing as `signing_name` in `region`.
    pub(crate) fn new(
        endpoint: &str,
        region: &str,
        signing_name: &'static str,
        target_prefix: &'static str,
        content_type: &'static str,
        credentials: SharedCredentialsProvider,
    ) -> Result<JsonService, JsonCallError> {
        let endpoint: http::Uri = endpoint
            .parse()
            .map_err(|_| JsonCallError::Transport(format!("{endpoint:?} is not a URL")))?;
        Ok(JsonService {
            endpoint,
            region: region.to_string(),
            signing_name,
            target_prefix,
            content_type,
            credentials,
            client: transport::client(Some(Duration::from_secs(5))),
        })
    }

    /// One call: `action` with `body`; its answer document.
    pub(crate) async fn call(&self, action: &str, body: &Value) -> Result<Value, JsonCallError> {
        let fail = |e: String| JsonCallError::Transport(e);
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| JsonCallError::Credentials(e.to_string()))?;
        let body = body.to_string().into_bytes();
        let host = self.endpoint.authority().map(|a| a.to_string()).unwrap_or_default();
        let target = format!("{}.{action}", self.target_prefix);
        let headers = [
            ("host", host.as_str()),
            ("content-type", self.content_type),
            ("x-amz-target", target.as_str()),
        ];
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| fail(e.to_string()))?
            .into();
        let uri = self.endpoint.to_string();
        let signable = SignableRequest::new("POST", &uri, headers.iter().copied(), SignableBody::Bytes(&body))
            .map_err(|e| fail(e.to_string()))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| fail(e.to_string()))?.into_parts();
        let mut request = http::Request::post(self.endpoint.clone());
        for (k, v) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(k, v);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| fail(e.to_string()))?;
        let response = tokio::time::timeout(Duration::from_secs(30), self.client.request(request))
            .await
            .map_err(|_| fail("no answer in 30 s".into()))?
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(e.to_string()))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let code = value["__type"].as_str().unwrap_or("").rsplit('#').next().unwrap_or("");
            let message = value["message"].as_str().or(value["Message"].as_str()).unwrap_or("");
            return Err(JsonCallError::Service {
                status: status.as_u16(),
                code: code.to_string(),
                message: message.to_string(),
            });
        }
        Ok(value)
    }
}
