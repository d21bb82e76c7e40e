//! The invoker's routes from an SSM parameter (`XINVOKE_GATEWAY_CONFIG_SSM`), read once at cold
//! start: Systems Manager's `GetParameter` (JSON 1.1 protocol, `X-Amz-Target:
//! AmazonSSM.GetParameter`, signing name `ssm`) with decryption, so a SecureString holding an
//! upstream's external id works. One call, made with [`JsonService`] rather than an SSM SDK crate
//! built into every binary; its endpoint is [`endpoints::ssm`]'s.

use crate::adapters::endpoints;
use crate::adapters::json_protocol::{JsonCallError, JsonService};
use aws_config::SdkConfig;
use serde_json::json;

/// Why a parameter could not be read; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ParameterError {
    #[error("no such parameter in {region}: create it (aws ssm put-parameter --type SecureString --name {name} --value file://gateway.yaml) or correct the name")]
    NotFound { name: String, region: String },
    #[error("the invoker's role may not read it ({code}): allow ssm:GetParameter on {arn} (and kms:Decrypt on the key of a SecureString encrypted with a customer managed key)")]
    Denied { code: String, arn: String },
    #[error("SSM GetParameter failed: {0}")]
    Call(String),
}

/// `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME` (a name's leading `/` is not doubled), for
/// the policy a denial needs; `ACCOUNT` when the account is not known.
pub fn parameter_arn(partition: &str, region: &str, account: Option<&str>, name: &str) -> String {
    format!(
        "arn:{partition}:ssm:{region}:{}:parameter/{}",
        account.unwrap_or("ACCOUNT"),
        name.trim_start_matches('/')
    )
}

/// The decrypted value of parameter `name` in `region`.
pub async fn get_parameter(base: &SdkConfig, region: &str, name: &str) -> Result<String, ParameterError> {
    let endpoint = endpoints::ssm(base, region).map_err(|e| ParameterError::Call(e.to_string()))?;
    let credentials = base
        .credentials_provider()
        .ok_or_else(|| ParameterError::Call("no credentials provider is configured".into()))?;
    let service = JsonService::new(
        &endpoint,
        region,
        "ssm",
        "AmazonSSM",
        "application/x-amz-json-1.1",
        credentials,
    )
    .map_err(|e| ParameterError::Call(e.to_string()))?;
    let body = json!({ "Name": name, "WithDecryption": true });
    match service.call("GetParameter", &body).await {
        Ok(v) => v["Parameter"]["Value"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ParameterError::Call("the answer has no Parameter.Value".into())),
        Err(JsonCallError::Service { code, .. }) if code == "ParameterNotFound" => Err(ParameterError::NotFound {
            name: name.to_string(),
            region: region.to_string(),
        }),
        Err(JsonCallError::Service { code, message, .. })
            if code == "AccessDeniedException" || code.starts_with("KMS") =>
        {
            // AWS's message names the parameter's ARN (and so the account); the value is never in it.
            let arn = message
                .split_whitespace()
                .find(|w| w.starts_with("arn:") && w.contains(":parameter/"))
                .map(str::to_string)
                .unwrap_or_else(|| {
                    let partition = crate::core::arn::partition_of_region(region).unwrap_or("aws");
                    parameter_arn(partition, region, None, name)
                });
            Err(ParameterError::Denied { code, arn })
        }
        Err(e) => Err(ParameterError::Call(e.to_string())),
    }
}
