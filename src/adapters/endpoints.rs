//! Where Lambda and STS are called: aws-sdk-lambda's and aws-sdk-sts's own endpoint resolvers,
//! fed the same settings their clients read from the shared configuration (region, FIPS and
//! dual-stack from `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT` or the profile's
//! `use_fips_endpoint` / `use_dualstack_endpoint`, an endpoint URL set in code, then
//! `AWS_ENDPOINT_URL_<SERVICE>` or the profile's `services` section, then `AWS_ENDPOINT_URL`).
//! The signed path sends to what this resolves, once at start, and `xinvoke doctor` prints it:
//! an endpoint is never formatted by hand, so `aws-cn`'s `.amazonaws.com.cn`, FIPS and
//! dual-stack hosts are the SDK's.

use crate::core::arn::{partition_dns_suffixes, partition_of_region};
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::endpoint::EndpointFuture;
use aws_types::service_config::ServiceConfigKey;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Why an endpoint could not be resolved: the resolver's own words (e.g. "Invalid
/// Configuration: FIPS and custom endpoint are not supported").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} endpoint for region {region}: {message}")]
pub struct EndpointError {
    pub service: &'static str,
    pub region: String,
    pub message: String,
}

/// The endpoint URL configured for a service (its SDK service id, e.g. `Lambda`, `STS`), in the
/// SDK clients' order: set in code, then the service's variable or profile setting, then the
/// general one.
pub(crate) fn configured_url(base: &SdkConfig, service_id: &str) -> Option<String> {
    if base.get_origin("endpoint_url").is_client_config() {
        return base.endpoint_url().map(str::to_string);
    }
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    base.service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| base.endpoint_url().map(str::to_string))
}

/// The generated resolvers answer at once (their future is ready); polled once here so the
/// signed path can be built outside an async context.
fn ready(service: &'static str, region: &str, future: EndpointFuture<'_>) -> Result<String, EndpointError> {
    let fail = |message: String| EndpointError {
        service,
        region: region.to_string(),
        message,
    };
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(endpoint)) => Ok(endpoint.url().to_string()),
        Poll::Ready(Err(e)) => Err(fail(e.to_string())),
        Poll::Pending => Err(fail("the resolver did not answer at once".into())),
    }
}

/// Lambda's endpoint for `region`, as aws-sdk-lambda resolves it from `base`.
pub fn lambda(base: &SdkConfig, region: &str) -> Result<String, EndpointError> {
    use aws_sdk_lambda::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let params = Params::builder()
        .region(region)
        .use_fips(base.use_fips().unwrap_or(false))
        .use_dual_stack(base.use_dual_stack().unwrap_or(false))
        .set_endpoint(configured_url(base, "Lambda"))
        .build()
        .map_err(|e| EndpointError {
            service: "lambda",
            region: region.to_string(),
            message: e.to_string(),
        })?;
    let resolver = DefaultResolver::new();
    ready("lambda", region, resolver.resolve_endpoint(&params))
}

/// STS's regional endpoint for `region` (the target's: STS answers for its own partition only),
/// as aws-sdk-sts resolves it from `base`.
pub fn sts(base: &SdkConfig, region: &str) -> Result<String, EndpointError> {
    use aws_sdk_sts::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let params = Params::builder()
        .region(region)
        .use_fips(base.use_fips().unwrap_or(false))
        .use_dual_stack(base.use_dual_stack().unwrap_or(false))
        .set_endpoint(configured_url(base, "STS"))
        .build()
        .map_err(|e| EndpointError {
            service: "sts",
            region: region.to_string(),
            message: e.to_string(),
        })?;
    let resolver = DefaultResolver::new();
    ready("sts", region, resolver.resolve_endpoint(&params))
}

/// SSM's endpoint, which xinvoke calls without its SDK crate: a configured endpoint URL as the
/// SDKs take it, else what botocore's `ssm/2014-11-06/endpoint-rule-set-1.json` gives:
/// `ssm[-fips].REGION.SUFFIX` (the dual-stack suffix with dual-stack), except FIPS in
/// `aws-us-gov`, whose SSM endpoints are FIPS already: `ssm.REGION.amazonaws.com`.
pub(crate) fn ssm(base: &SdkConfig, region: &str) -> Result<String, EndpointError> {
    if let Some(url) = configured_url(base, "SSM") {
        return Ok(url);
    }
    let gov_fips = partition_of_region(region) == Some("aws-us-gov")
        && base.use_fips().unwrap_or(false)
        && !base.use_dual_stack().unwrap_or(false);
    if gov_fips {
        return Ok(format!("https://ssm.{region}.amazonaws.com"));
    }
    regional(base, "ssm", region)
}

/// The shape every regional service's endpoint rules share, `NAME[-fips].REGION.SUFFIX` (the
/// dual-stack suffix with dual-stack), on the partition's suffixes ([`partition_dns_suffixes`]).
fn regional(base: &SdkConfig, name: &str, region: &str) -> Result<String, EndpointError> {
    let fail = |message: &str| EndpointError {
        service: "regional",
        region: region.to_string(),
        message: format!("{name}: {message}"),
    };
    let partition = partition_of_region(region).ok_or_else(|| fail("the region is of no known partition"))?;
    let (dns, dual) = partition_dns_suffixes(partition).ok_or_else(|| fail("unknown partition"))?;
    let fips = if base.use_fips().unwrap_or(false) { "-fips" } else { "" };
    let suffix = if base.use_dual_stack().unwrap_or(false) {
        dual
    } else {
        dns
    };
    Ok(format!("https://{name}{fips}.{region}.{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(fips: bool, dual: bool) -> SdkConfig {
        SdkConfig::builder().use_fips(fips).use_dual_stack(dual).build()
    }

    /// SSM has no SDK crate here to compare with: these are the cases of botocore's
    /// `ssm/2014-11-06/endpoint-rule-set-1.json` (and its endpoint tests) for three partitions.
    #[test]
    fn ssm_endpoints_follow_botocores_rules() {
        let cases = [
            ("us-east-1", false, false, "https://ssm.us-east-1.amazonaws.com"),
            ("us-east-1", true, false, "https://ssm-fips.us-east-1.amazonaws.com"),
            ("us-east-1", true, true, "https://ssm-fips.us-east-1.api.aws"),
            (
                "cn-north-1",
                false,
                true,
                "https://ssm.cn-north-1.api.amazonwebservices.com.cn",
            ),
            ("us-gov-west-1", true, false, "https://ssm.us-gov-west-1.amazonaws.com"),
            ("us-gov-west-1", false, false, "https://ssm.us-gov-west-1.amazonaws.com"),
            ("us-gov-west-1", true, true, "https://ssm-fips.us-gov-west-1.api.aws"),
        ];
        for (region, fips, dual, want) in cases {
            assert_eq!(
                ssm(&config(fips, dual), region).unwrap(),
                want,
                "{region} {fips} {dual}"
            );
        }
        let custom = SdkConfig::builder().endpoint_url("http://127.0.0.1:9").build();
        assert_eq!(ssm(&custom, "us-east-1").unwrap(), "http://127.0.0.1:9");
    }
}
