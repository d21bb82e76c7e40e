//! The flags that name a target and how to reach it, shared by `invoke`, `load` and `doctor`:
//! each stands for the `XINVOKE_*` variable of the same meaning and wins over it, and a
//! configuration error names the flag beside its variable.

use crate::adapters::config::Settings;

/// Which target, and how to be allowed to invoke it.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct TargetArgs {
    /// The target's full function ARN, with :alias or :version [env: XINVOKE_TARGET_ARN]
    #[arg(long = "target", id = "target", value_name = "ARN")]
    pub arn: Option<String>,
    /// Role chaining: assume this account-2 role first [env: XINVOKE_ROLE_ARN]
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// The external id the role's trust policy requires [env: XINVOKE_EXTERNAL_ID; prefer the
    /// variable: command lines are visible to other users]
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Session name for the assumed role [env: XINVOKE_SESSION_NAME]
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,
}

impl TargetArgs {
    /// The flags given, as the variables they stand for.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        [
            ("XINVOKE_TARGET_ARN", &self.arn),
            ("XINVOKE_ROLE_ARN", &self.role_arn),
            ("XINVOKE_EXTERNAL_ID", &self.external_id),
            ("XINVOKE_SESSION_NAME", &self.session_name),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.clone()?)))
        .collect()
    }

    /// Settings from these flags and a command's `more` flags over `env`.
    pub fn settings_from(
        &self,
        more: &[(&'static str, String)],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let flags = self.vars();
        let flag = |k: &str| flags.iter().chain(more).find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        Settings::from_lookup(|k| flag(k).or_else(|| env(k))).map_err(|e| flag_names(&e.to_string()))
    }

    /// Settings from these flags and `more` over the process environment.
    pub fn settings(&self, more: &[(&'static str, String)]) -> Result<Settings, String> {
        self.settings_from(more, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }
}

/// Name the flag beside the variable a configuration error names.
pub fn flag_names(message: &str) -> String {
    [
        ("XINVOKE_TARGET_ARN", "--target / XINVOKE_TARGET_ARN"),
        ("XINVOKE_ROLE_ARN", "--role-arn / XINVOKE_ROLE_ARN"),
        ("XINVOKE_EXTERNAL_ID", "--external-id / XINVOKE_EXTERNAL_ID"),
        ("XINVOKE_SESSION_NAME", "--session-name / XINVOKE_SESSION_NAME"),
        ("XINVOKE_INVOCATION_TYPE", "--type / XINVOKE_INVOCATION_TYPE"),
    ]
    .iter()
    .fold(message.to_string(), |m, (var, both)| m.replacen(var, both, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";

    #[test]
    fn flags_win_over_the_variables_of_the_same_meaning() {
        let args = TargetArgs {
            arn: Some(LIVE.into()),
            ..Default::default()
        };
        let env = |k: &str| (k == "XINVOKE_TARGET_ARN").then(|| "arn:aws:lambda:us-east-1:2:function:x".to_string());
        let s = args.settings_from(&[("XINVOKE_NO_RETRY", "true".into())], env).unwrap();
        assert_eq!(s.target(None).unwrap().arn.to_string(), LIVE);
        assert!(s.retry.disabled);
    }

    #[test]
    fn errors_name_the_flag_and_its_variable() {
        let args = TargetArgs {
            arn: Some(LIVE.into()),
            role_arn: Some("arn:aws:iam::222222222222:role/xinvoke-invoke".into()),
            ..Default::default()
        };
        let e = args.settings_from(&[], |_| None).unwrap_err();
        assert!(e.contains("--external-id / XINVOKE_EXTERNAL_ID"), "{e}");
        let e = TargetArgs::default().settings_from(&[], |_| None).unwrap_err();
        assert!(e.contains("--target / XINVOKE_TARGET_ARN"), "{e}");
    }
}
