//! `xinvoke doctor`: checks, in order, everything a cross-account invoke depends on (who the
//! caller is, the role it assumes, permission to invoke, the function's state, its alias) and
//! says for each problem exactly what to attach or run. Reads the same configuration as
//! `xinvoke invoke`; flags override the `XINVOKE_*` variables of the same meaning.
//!
//! Nothing here runs the target: permission is checked with a DryRun Invoke, state with
//! GetFunctionConfiguration, the alias with GetAlias. Cross-account reads are usually refused
//! (the target's resource policy grants invokes, not reads); that is a neutral note, not a
//! failure.

use crate::adapters::config::Settings;
use crate::adapters::{checks, clients};
use std::collections::HashMap;

/// Check everything a cross-account invoke of one target depends on, and say what to fix.
///
/// Reads the standard AWS variables (AWS_REGION, AWS_PROFILE, credentials, AWS_ENDPOINT_URL to
/// point at a local account 2) and the XINVOKE_* variables; flags win over variables.
/// Runs: STS GetCallerIdentity, AssumeRole (with a role), a DryRun Invoke, GetFunctionConfiguration
/// and GetAlias; never runs the target. Exit code: 0 when no check fails, 1 when one does, 2 for
/// bad input.
#[derive(clap::Args, Debug, Default)]
pub struct DoctorArgs {
    /// The target's full function ARN, with :alias or :version [env: XINVOKE_TARGET_ARN]
    #[arg(long, value_name = "ARN")]
    pub target: Option<String>,
    /// A named target from XINVOKE_TARGETS / XINVOKE_TARGETS_FILE instead of --target
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub name: Option<String>,
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
    /// Print the report as JSON: {target, auth, caller, ok, checks: [{name, status, summary,
    /// class?, fix?}]}, status one of pass, fail, info, skip
    #[arg(long)]
    pub json: bool,
}

impl DoctorArgs {
    /// Settings from the flags over the environment (as `xinvoke invoke` reads them).
    pub fn settings(&self) -> Result<Settings, String> {
        self.settings_from(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Settings from the flags over `env`.
    pub fn settings_from(&self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let mut flags: HashMap<&'static str, String> = HashMap::new();
        for (var, value) in [
            ("XINVOKE_TARGET_ARN", &self.target),
            ("XINVOKE_ROLE_ARN", &self.role_arn),
            ("XINVOKE_EXTERNAL_ID", &self.external_id),
            ("XINVOKE_SESSION_NAME", &self.session_name),
        ] {
            if let Some(v) = value {
                flags.insert(var, v.clone());
            }
        }
        Settings::from_lookup(|k| flags.get(k).cloned().or_else(|| env(k))).map_err(|e| flag_names(&e.to_string()))
    }
}

/// Name the flag beside the variable a configuration error names.
fn flag_names(message: &str) -> String {
    [
        ("XINVOKE_TARGET_ARN", "--target / XINVOKE_TARGET_ARN"),
        ("XINVOKE_ROLE_ARN", "--role-arn / XINVOKE_ROLE_ARN"),
        ("XINVOKE_EXTERNAL_ID", "--external-id / XINVOKE_EXTERNAL_ID"),
        ("XINVOKE_SESSION_NAME", "--session-name / XINVOKE_SESSION_NAME"),
    ]
    .iter()
    .fold(message.to_string(), |m, (var, both)| m.replacen(var, both, 1))
}

/// Run the command: print the checklist (or JSON); exit 1 when a check fails, 2 for bad input.
pub async fn run(args: DoctorArgs) -> Result<u8, String> {
    let settings = args.settings()?;
    let target = settings
        .target(args.name.as_deref())
        .map_err(|e| e.to_string())?
        .clone();
    let base = clients::base_config(settings.timeouts).await;
    let report = checks::diagnose(&target, &base).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    } else {
        print!("{}", report.render());
    }
    Ok(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::config::Auth;

    const LIVE: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";

    #[test]
    fn flags_override_the_variables_of_the_same_meaning() {
        let env = |k: &str| match k {
            "XINVOKE_TARGET_ARN" => Some("arn:aws:lambda:us-east-1:222222222222:function:other".to_string()),
            "XINVOKE_EXTERNAL_ID" => Some("from-env-id".to_string()),
            _ => None,
        };
        let args = DoctorArgs {
            target: Some(LIVE.into()),
            role_arn: Some("arn:aws:iam::222222222222:role/xinvoke-invoke".into()),
            ..Default::default()
        };
        let settings = args.settings_from(env).unwrap();
        let t = settings.target(None).unwrap();
        assert_eq!(t.arn.to_string(), LIVE);
        let Auth::AssumeRole(a) = &t.auth else {
            panic!("role chaining expected")
        };
        assert_eq!(a.external_id.expose(), "from-env-id");
    }

    #[test]
    fn bad_input_names_the_flag() {
        let args = DoctorArgs {
            target: Some(LIVE.into()),
            role_arn: Some("arn:aws:iam::222222222222:role/xinvoke-invoke".into()),
            ..Default::default()
        };
        let e = args.settings_from(|_| None).unwrap_err();
        assert!(e.contains("--external-id / XINVOKE_EXTERNAL_ID"), "{e}");
        let e = DoctorArgs::default().settings_from(|_| None).unwrap_err();
        assert!(e.contains("--target / XINVOKE_TARGET_ARN"), "{e}");
    }
}
