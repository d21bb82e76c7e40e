//! The flags that name a target and how to reach it, shared by `invoke`, `load` and `doctor`.
//! Each stands for the `XINVOKE_*` variable of the same meaning and wins over it; both are
//! typed values before they meet ([`Given`]), and an error names the flag beside its variable.

use crate::adapters::config::{self, keys, ConfigError, Context, Given, Settings};
use crate::core::arn::{FunctionArn, RoleArn};
use crate::core::invocation::TenantId;

/// Which target, and how to be allowed to invoke it.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct TargetArgs {
    /// The target's full function ARN, with :alias or :version [env: XINVOKE_TARGET_ARN]
    #[arg(long = "target", id = "target", value_name = "ARN")]
    pub arn: Option<FunctionArn>,
    /// Role chaining: assume this account-2 role first [env: XINVOKE_ROLE_ARN]
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<RoleArn>,
    /// The external id the role's trust policy requires [env: XINVOKE_EXTERNAL_ID; prefer the
    /// variable: command lines are visible to other users]
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Session name for the assumed role [env: XINVOKE_SESSION_NAME]
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,
    /// The tenant to invoke as, for a target in tenant-isolation mode (X-Amz-Tenant-Id)
    /// [env: XINVOKE_TENANT_ID]
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<TenantId>,
}

impl TargetArgs {
    /// The flags given, as typed settings. The external id is checked here rather than by clap,
    /// whose errors repeat the value.
    pub fn given(&self) -> Result<Given, ConfigError> {
        let name = || config::flag_name(keys::EXTERNAL_ID);
        Ok(Given {
            target_arn: self.arn.clone(),
            role_arn: self.role_arn.clone(),
            tenant_id: self.tenant_id.clone(),
            external_id: self
                .external_id
                .as_deref()
                .map(|v| v.parse().map_err(|_| ConfigError::BadExternalId { name: name() }))
                .transpose()?,
            session_name: self
                .session_name
                .as_deref()
                .map(|v| {
                    v.parse().map_err(|_| ConfigError::BadSessionName {
                        name: config::flag_name(keys::SESSION_NAME),
                    })
                })
                .transpose()?,
            ..Given::default()
        })
    }

    /// Settings from these flags and a command's `more` flags, over the variables of `env`.
    pub(crate) fn settings_from(
        &self,
        more: Given,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let flags = self.given()?.or(more);
        Settings::resolve(flags.or(Given::from_env(env, Context::Cli)?), Context::Cli)
    }

    /// Settings from these flags and `more` over the process environment.
    pub fn settings(&self, more: Given) -> Result<Settings, ConfigError> {
        self.settings_from(more, config::process_env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";

    #[test]
    fn flags_win_over_the_variables_of_the_same_meaning() {
        let args = TargetArgs {
            arn: Some(LIVE.parse().unwrap()),
            ..Default::default()
        };
        let env = |k: &str| {
            (k == "XINVOKE_TARGET_ARN").then(|| "arn:aws:lambda:us-east-1:222222222222:function:x".to_string())
        };
        let more = Given {
            no_retry: Some(true),
            ..Given::default()
        };
        let s = args.settings_from(more, env).unwrap();
        assert_eq!(s.target(None).unwrap().arn.to_string(), LIVE);
        assert!(s.retry.disabled);
    }

    #[test]
    fn errors_name_the_flag_and_its_variable() {
        let args = TargetArgs {
            arn: Some(LIVE.parse().unwrap()),
            role_arn: Some("arn:aws:iam::222222222222:role/xinvoke-invoke".parse().unwrap()),
            ..Default::default()
        };
        let e = args.settings_from(Given::default(), |_| None).unwrap_err().to_string();
        assert!(e.contains("--external-id / XINVOKE_EXTERNAL_ID"), "{e}");
        let e = TargetArgs::default()
            .settings_from(Given::default(), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--target / XINVOKE_TARGET_ARN"), "{e}");
        let bad = TargetArgs {
            external_id: Some("sec ret!".into()),
            ..Default::default()
        };
        let e = bad.settings_from(Given::default(), |_| None).unwrap_err().to_string();
        assert!(e.contains("--external-id") && !e.contains("sec ret!"), "{e}");
    }
}
