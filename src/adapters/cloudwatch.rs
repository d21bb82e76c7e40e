//! Reading the invoker's metrics back from CloudWatch (`xinvoke load --via invoker
//! --read-metrics`): ListMetrics to find the invoker's `Invokes` series (one per target and
//! class), GetMetricData to sum them over the run. Two calls of CloudWatch's JSON protocol
//! (`X-Amz-Target: GraniteServiceVersion20100801.*`, `application/x-amz-json-1.0`), made with
//! [`JsonService`] (signing name `monitoring`): no CloudWatch SDK crate to build for two calls.

use crate::adapters::json_protocol::{JsonCallError, JsonService};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

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
    service: JsonService,
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
        let service = JsonService::new(
            &endpoint,
            region,
            "monitoring",
            "GraniteServiceVersion20100801",
            "application/x-amz-json-1.0",
            credentials,
        )
        .map_err(|e| MetricsReadError::Call {
            action: "endpoint",
            endpoint: endpoint.clone(),
            detail: e.to_string(),
        })?;
        Ok(CloudWatch { service })
    }

    /// One JSON-protocol call.
    async fn call(&self, action: &'static str, body: &Value) -> Result<Value, MetricsReadError> {
        self.service.call(action, body).await.map_err(|e| match e {
            JsonCallError::Credentials(c) => MetricsReadError::Credentials(c),
            other => MetricsReadError::Call {
                action,
                endpoint: self.service.endpoint.to_string(),
                detail: other.to_string(),
            },
        })
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
