//! The chain walked: the base configuration's credentials, then the role's, and when a link
//! gives nothing, why, from what the environment sets up (variables, a token file, a profile,
//! a container endpoint, a role's trust).

use crate::adapters::chain::error::{ChainError, Failure};
use crate::adapters::chain::profiles;
use crate::adapters::config::Auth;
use crate::adapters::lambda::credentials_failure;
use crate::domain::classify::{CredentialsFailure, RawOutcome};
use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use base64::Engine;
use std::error::Error as StdError;

/// Fetch the base configuration's credentials, then (role chaining) the role's, and say which
/// link broke. `env` reads the process's variables.
pub async fn check(
    base: &SdkConfig,
    auth: &Auth,
    region: &str,
    profile: Option<&str>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<(), ChainError> {
    let Some(provider) = base.credentials_provider() else {
        return Err(ChainError::NoProvider);
    };
    if let Err(e) = provider.provide_credentials().await {
        let code = match credentials_failure(&e) {
            Some(RawOutcome::CredentialsFailed(f)) => f.code,
            _ => None,
        };
        let failure = Failure {
            cause: chain_text(&e),
            code,
            unreachable: unreachable(&e),
        };
        return Err(ChainError::Base(explain_base(&failure, profile, env).await));
    }
    if let Auth::AssumeRole(a) = auth {
        let provider = crate::adapters::clients::assume_role_provider(base, a, region).await;
        if let Err(e) = provider.provide_credentials().await {
            let role = a.role_arn.to_string();
            let region = region.to_string();
            return Err(match credentials_failure(&e) {
                Some(RawOutcome::CredentialsFailed(CredentialsFailure { code, .. })) => match code {
                    Some(code) if code == "AccessDenied" => ChainError::AssumeRoleRefused {
                        role,
                        account: a.role_arn.account.to_string(),
                    },
                    Some(code) => ChainError::AssumeRoleAnswered { code, role, region },
                    None => ChainError::AssumeRoleFailed {
                        role,
                        cause: format!("no answer code in {region}"),
                    },
                },
                Some(RawOutcome::ConnectFailed) | Some(RawOutcome::TimedOut { .. }) => {
                    ChainError::StsUnreachable { role, region }
                }
                _ => ChainError::AssumeRoleFailed {
                    role,
                    cause: chain_text(&e),
                },
            });
        }
    }
    Ok(())
}

/// Whether a connection failed somewhere in the error's chain (no answer at all).
fn unreachable(e: &(dyn StdError + 'static)) -> bool {
    use aws_smithy_runtime_api::client::result::ConnectorError;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(c) = c.downcast_ref::<ConnectorError>() {
            return c.is_io() || c.is_timeout();
        }
        cur = c.source();
    }
    false
}

/// Why the base chain gave nothing, from what the environment sets up.
async fn explain_base(
    failure: &Failure,
    profile: Option<&str>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> String {
    let cause = &failure.cause;
    let code = failure.code.as_deref();
    let named = profile.map(str::to_string).or_else(|| env("AWS_PROFILE"));
    // A profile named, or the default one when no variable gives credentials: the chain would
    // have read it. Its kind (IAM Identity Center, credential_process, `aws login`) says more.
    let keys = env("AWS_ACCESS_KEY_ID").is_some() || env("AWS_WEB_IDENTITY_TOKEN_FILE").is_some();
    if named.is_some() || !keys {
        let name = named.clone().unwrap_or_else(|| "default".into());
        if let Some(text) = profiles::explain(&name, failure, env).await {
            return text;
        }
    }
    if let Some(p) = named {
        return format!(
            "the AWS profile {p:?} gives no credentials ({cause}): define it in ~/.aws/config or ~/.aws/credentials (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE), or drop it to use the default chain"
        );
    }
    if env("AWS_ACCESS_KEY_ID").is_some() && env("AWS_SECRET_ACCESS_KEY").is_none() {
        return "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both (and AWS_SESSION_TOKEN for temporary keys)".into();
    }
    if let Some(file) = env("AWS_WEB_IDENTITY_TOKEN_FILE") {
        let Some(role) = env("AWS_ROLE_ARN") else {
            return format!(
                "AWS_WEB_IDENTITY_TOKEN_FILE ({file}) is set but AWS_ROLE_ARN is not: IRSA sets both; check the service account's eks.amazonaws.com/role-arn annotation"
            );
        };
        let token = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(err) => {
                return format!("the web identity token file {file} cannot be read ({err}): check the pod's projected service-account token volume")
            }
        };
        let claims = claims(token.trim());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        if let Some(exp) = claims.as_ref().and_then(|c| c["exp"].as_i64()).filter(|exp| *exp < now) {
            return format!(
                "the web identity token in {file} expired at {} (the kubelet refreshes it: check the projected volume's expirationSeconds)",
                crate::domain::utc::iso8601(exp)
            );
        }
        let (iss, sub, aud) = claims
            .as_ref()
            .map(|c| {
                let s = |k: &str| c[k].as_str().map(str::to_string).unwrap_or_default();
                let aud = c["aud"].as_str().map(str::to_string).unwrap_or_else(|| {
                    c["aud"]
                        .as_array()
                        .and_then(|a| a.first())
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string()
                });
                (s("iss"), s("sub"), aud)
            })
            .unwrap_or_default();
        let provider = iss.trim_start_matches("https://");
        let account = role.split(':').nth(4).unwrap_or("ACCOUNT");
        if failure.unreachable || code.is_none() {
            // No STS error code: not a refusal, but no answer or one that is not STS's.
            return format!(
                "AssumeRoleWithWebIdentity into {role} got no answer from STS that names an error ({cause}): check that STS is reachable where the SDK calls it (AWS_REGION, AWS_ENDPOINT_URL_STS, a VPC endpoint or a proxy) and retry; a refusal would name AccessDenied"
            );
        }
        return format!(
            "STS refused AssumeRoleWithWebIdentity into {role} ({}): the role's trust policy must allow Principal {{\"Federated\": \"arn:aws:iam::{account}:oidc-provider/{provider}\"}}, Action sts:AssumeRoleWithWebIdentity, with StringEquals {provider}:sub = {sub:?} and {provider}:aud = {aud:?} (the token's claims), and that OIDC provider must be registered in IAM",
            code.unwrap_or_default()
        );
    }
    if let Some(uri) = env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .or_else(|| env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").map(|r| format!("http://169.254.170.2{r}")))
    {
        return format!("the container credentials endpoint {uri} gave no credentials ({cause}): check the task role (ECS) or the pod identity association (EKS)");
    }
    format!(
        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or (on EKS, IRSA) AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, or run where container or instance credentials exist ({cause})"
    )
}

/// A JWT's claims, not verified (only to name them in a message).
fn claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An error and its causes, on one line.
fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + Sync + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[tokio::test]
    async fn each_missing_link_is_named() {
        let e = &Failure {
            cause: "no providers in chain provided credentials".into(),
            ..Failure::default()
        };
        let text = explain_base(e, None, &env(&[])).await;
        assert!(
            text.contains("AWS_WEB_IDENTITY_TOKEN_FILE") && !text.starts_with("no credentials present"),
            "{text}"
        );
        let text = explain_base(e, None, &env(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/t")])).await;
        assert!(text.contains("AWS_ROLE_ARN is not"), "{text}");
        let text = explain_base(
            e,
            None,
            &env(&[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"),
                ("AWS_ROLE_ARN", "arn:aws:iam::111111111111:role/r"),
            ]),
        )
        .await;
        assert!(text.contains("/nonexistent/token cannot be read"), "{text}");
        let dir = tempfile_dir();
        let path = dir.join("token");
        let claims = r#"{"iss":"https://oidc.example/id/ABC","sub":"system:serviceaccount:ns:gw","aud":"sts.amazonaws.com","exp":4102444800}"#;
        let token = format!(
            "e30.{}.sig",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims)
        );
        std::fs::write(&path, token).unwrap();
        let p = path.to_str().unwrap();
        let pod = [
            ("AWS_WEB_IDENTITY_TOKEN_FILE", p),
            ("AWS_ROLE_ARN", "arn:aws:iam::111111111111:role/r"),
        ];
        let refused = Failure {
            cause: "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
            code: Some("AccessDenied".into()),
            ..Failure::default()
        };
        let text = explain_base(&refused, None, &env(&pod)).await;
        assert!(
            text.contains("(AccessDenied)")
                && text.contains("oidc-provider/oidc.example/id/ABC")
                && text.contains("system:serviceaccount:ns:gw"),
            "{text}"
        );
        // A 500 that is not STS's, or no connection: not the trust policy's fault.
        let text = explain_base(e, None, &env(&pod)).await;
        assert!(
            text.contains("got no answer from STS that names an error") && !text.contains("trust policy"),
            "{text}"
        );
        let text = explain_base(e, Some("aws-creds"), &env(&[])).await;
        assert!(text.contains("profile \"aws-creds\""), "{text}");
        std::fs::remove_dir_all(dir).ok();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("xinvoke-chain-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
