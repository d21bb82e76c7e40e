//! Reading the invoker's metrics back from CloudWatch (`xinvoke load --via invoker
//! --read-metrics`): ListMetrics to find the invoker's `Invokes` series (one per target and
//! class), GetMetricData to sum them over the run. Two calls of CloudWatch's JSON protocol
//! (`X-Amz-Target: GraniteServiceVersion20100801.*`, `application/x-amz-json-1.0`), signed with
//! aws-sigv4 (service `monitoring`) and sent on xinvoke's transport: no CloudWatch SDK crate to
//! build for two calls.

use crate::adapters::transport;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why the metrics could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetricsReadError {
    #[error("no credentials to read CloudWatch with: {0}")]
    Credentials(String),
    #[error("CloudWatch {action} at {endpoint}: {detail}")]
    Call {
        action: &'static str,
        endpoint: String,
        detail: String,
    },
}

/// A CloudWatch reader for one region.
pub struct CloudWatch {
    endpoint: http::Uri,
    region: String,
    credentials: aws_credential_types::provider::SharedCredentialsProvider,
    client: hyper_util::client::legacy::Client<transport::Connector, Full<Bytes>>,
}

impl CloudWatch {
    /// CloudWatch in `region`, at `AWS_ENDPOINT_URL_CLOUDWATCH` or `AWS_ENDPOINT_URL` when
    /// set (as the SDKs read them), with the credentials of `base`.
    pub fn new(base: &aws_config::SdkConfig, region: &str) -> Result<CloudWatch, MetricsReadError> {
        let credentials = base
            .credentials_provider()
            .ok_or_else(|| MetricsReadError::Credentials("the configuration has no credentials provider".into()))?;
        let endpoint = ["AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| format!("https://monitoring.{region}.amazonaws.com"));
        let endpoint: http::Uri = endpoint.parse().map_err(|_| MetricsReadError::Call {
            action: "endpoint",
            endpoint: endpoint.clone(),
            detail: "not a URL".into(),
        })?;
        Ok(CloudWatch {
            endpoint,
            region: region.to_string(),
            credentials,
            client: transport::client(Some(Duration::from_secs(5))),
        })
    }

    /// One JSON-protocol call.
    async fn call(&self, action: &'static str, body: &Value) -> Result<Value, MetricsReadError> {
        let fail = |detail: String| MetricsReadError::Call {
            action,
            endpoint: self.endpoint.to_string(),
            detail,
        };
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| MetricsReadError::Credentials(e.to_string()))?;
        let body = body.to_string().into_bytes();
        let host = self.endpoint.authority().map(|a| a.to_string()).unwrap_or_default();
        let target = format!("GraniteServiceVersion20100801.{action}");
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target.as_str()),
        ];
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("monitoring")
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
            return Err(fail(format!("{status} {code} {message}").trim().to_string()));
        }
        Ok(value)
    }

    /// `Invokes` summed by class over `[start, end]`, for the series of `namespace` whose
    /// `service` dimension is `service`.
    pub async fn invokes_by_class(
        &self,
        namespace: &str,
        service: &str,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<BTreeMap<String, u64>, MetricsReadError> {
        let listed = self
            .call(
                "ListMetrics",
                &json!({
                    "Namespace": namespace,
                    "MetricName": "Invokes",
                    "Dimensions": [{"Name": "service", "Value": service}],
                }),
            )
            .await?;
        // The series with a class dimension, each queried once (ListMetrics may page; the
        // first page's 500 series are far more than one invoker's targets and classes; a
        // series listed twice is queried once).
        let mut seen = std::collections::BTreeSet::new();
        let series: Vec<(String, &Value)> = listed["Metrics"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|m| {
                let dims = m["Dimensions"].as_array()?;
                let class = dims.iter().find(|d| d["Name"] == "class")?["Value"].as_str()?;
                let mut key: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                key.sort();
                seen.insert(key).then(|| (class.to_string(), &m["Dimensions"]))
            })
            .take(500)
            .collect();
        let mut by_class = BTreeMap::new();
        if series.is_empty() {
            return Ok(by_class);
        }
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let queries: Vec<Value> = series
            .iter()
            .enumerate()
            .map(|(i, (_, dims))| {
                json!({
                    "Id": format!("q{i}"),
                    "MetricStat": {
                        "Metric": {"Namespace": namespace, "MetricName": "Invokes", "Dimensions": dims},
                        "Period": 60,
                        "Stat": "Sum",
                    },
                })
            })
            .collect();
        let data = self
            .call(
                "GetMetricData",
                &json!({
                    "MetricDataQueries": queries,
                    // Whole minutes around the run: CloudWatch keeps these at a minute's resolution.
                    "StartTime": secs(start) / 60 * 60,
                    "EndTime": (secs(end) / 60 + 1) * 60,
                }),
            )
            .await?;
        for result in data["MetricDataResults"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let index: usize = result["Id"]
                .as_str()
                .and_then(|id| id.strip_prefix('q'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(usize::MAX);
            let Some((class, _)) = series.get(index) else { continue };
            let sum: f64 = result["Values"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_f64)
                .sum();
            if sum > 0.0 {
                *by_class.entry(class.clone()).or_default() += sum.round() as u64;
            }
        }
        Ok(by_class)
    }
}
