//! What the AWS SDKs themselves would call: an interceptor takes the request an SDK client was
//! about to send, so a test compares xinvoke's endpoints with the SDK's and never with a URL
//! typed in by hand (`tests/it/endpoints.rs`, the crate's `src/tests/endpoints.rs`).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::os_shim_internal::Env;
use std::sync::{Arc, Mutex};

/// The request an SDK client was about to send: its URI and Authorization header.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Option<(String, String)>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "capture"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let auth = req.headers().get("authorization").unwrap_or_default().to_string();
        *self.0.lock().unwrap() = Some((req.uri().to_string(), auth));
        Err("captured before sending".into())
    }
}

impl Capture {
    pub fn taken(&self) -> (String, String) {
        self.0.lock().unwrap().clone().expect("the SDK built its request")
    }
}

/// The shared configuration as aws-config loads it from these variables alone.
pub async fn base(vars: &[(&str, &str)]) -> aws_config::SdkConfig {
    let mut all = vec![
        ("AWS_ACCESS_KEY_ID", "AKIAENDPOINTTEST0001"),
        ("AWS_SECRET_ACCESS_KEY", "endpoint-test-secret"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    all.extend_from_slice(vars);
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .env(Env::from_slice(&all))
        .http_client(xinvoke::http_client())
        .load()
        .await
}

/// Scheme and host of a URL.
pub fn origin(url: &str) -> String {
    let u: http::Uri = url.parse().unwrap();
    format!("{}://{}", u.scheme_str().unwrap(), u.authority().unwrap())
}

/// The Lambda endpoint aws-sdk-lambda itself would send an Invoke to from `base` in `region`
/// (of `partition`).
pub async fn sdk_lambda_url(base: &aws_config::SdkConfig, region: &str, partition: &str) -> String {
    let capture = Capture::default();
    let conf = aws_sdk_lambda::config::Builder::from(base)
        .region(aws_config::Region::new(region.to_string()))
        .interceptor(capture.clone())
        .build();
    let arn = format!("arn:{partition}:lambda:{region}:222222222222:function:t:live");
    let _ = aws_sdk_lambda::Client::from_conf(conf)
        .invoke()
        .function_name(arn)
        .send()
        .await;
    origin(&capture.taken().0)
}

/// The STS endpoint aws-sdk-sts itself would send GetCallerIdentity to.
pub async fn sdk_sts_url(base: &aws_config::SdkConfig, region: &str) -> String {
    let capture = Capture::default();
    let conf = aws_sdk_sts::config::Builder::from(base)
        .region(aws_config::Region::new(region.to_string()))
        .interceptor(capture.clone())
        .build();
    let _ = aws_sdk_sts::Client::from_conf(conf).get_caller_identity().send().await;
    origin(&capture.taken().0)
}
