//! `xinvoke doctor`: checks, in order, everything a cross-account invoke depends on (who the
//! caller is, the role it assumes, permission to invoke, the function's state, its alias) and
//! says for each problem exactly what to attach or run. Reads the same configuration as
//! `xinvoke invoke`; flags override the `XINVOKE_*` variables of the same meaning.
//!
//! Nothing here runs the target: permission is checked with a DryRun Invoke, state with
//! GetFunctionConfiguration, the alias with GetAlias. Cross-account reads are usually refused
//! (the target's resource policy grants invokes, not reads); that is a neutral note, not a
//! failure.

use crate::adapters::clients;
use crate::adapters::config::{self, Given, Settings};
use crate::cli::target::TargetArgs;
use crate::cli::{print_json, CliError, Output};
use crate::invoke::doctor;

/// Check everything a cross-account invoke of one target depends on, and say what to fix.
///
/// Reads the standard AWS variables (AWS_REGION, AWS_PROFILE of any kind the AWS CLI
/// understands, credentials, AWS_ENDPOINT_URL to point at a local endpoint) and the XINVOKE_* variables; flags win over variables.
/// Runs: STS GetCallerIdentity, Organizations DescribeOrganization, AssumeRole (with a role), a
/// DryRun Invoke, GetFunctionConfiguration and GetAlias; never runs the target. Exit code: 0 when no check fails, 1 when one does, 2 for
/// bad input.
#[derive(clap::Args, Debug, Default)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// A named target from XINVOKE_TARGETS / XINVOKE_TARGETS_FILE instead of --target
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub name: Option<String>,
    /// What the target grants, when it grants an organization (as `xinvoke policy --org`
    /// printed it): doctor compares the caller's organization and role name with it and, on a
    /// denial, says which condition left the caller out
    #[command(flatten)]
    pub org: crate::cli::policy::OrgArgs,
    /// text: the checklist; json: {target, auth, caller, ok, checks: [{name, status, summary,
    /// class?, fix?}]}, status one of pass, fail, warn, info, skip
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// The same as --output json
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

impl DoctorArgs {
    /// Settings from the flags over `env` (as `xinvoke invoke` reads them).
    pub fn settings(&self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, CliError> {
        Ok(self.target.settings_from(Given::default(), env)?)
    }
}

/// Run the command: print the checklist (or JSON); exit 1 when a check fails, 2 for bad input.
pub async fn run(args: DoctorArgs) -> Result<u8, CliError> {
    let settings = args.settings(config::process_env)?;
    let target = settings.target(args.name.as_deref())?.clone();
    let grant = args.org.grant()?;
    let base = clients::base_config(settings.timeouts).await;
    let mut report = doctor::diagnose_grant(&target, &base, grant.as_ref()).await;
    report.checks.push(crate::domain::diagnosis::failure_destination(
        settings.failure_queue_url.as_deref(),
    ));
    if args.json || args.output == Output::Json {
        print_json(&report);
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
    fn a_missing_failure_destination_is_a_warning_naming_the_variable() {
        use crate::domain::diagnosis::{failure_destination, Status};
        let warn = failure_destination(None);
        assert_eq!(warn.status, Status::Warn);
        assert!(warn.fix.unwrap().contains("XINVOKE_FAILURE_QUEUE_URL"));
        let env = |k: &str| match k {
            "XINVOKE_TARGET_ARN" => Some(LIVE.to_string()),
            "XINVOKE_FAILURE_QUEUE_URL" => Some("https://sqs.us-east-1.amazonaws.com/111111111111/f".to_string()),
            _ => None,
        };
        let settings = DoctorArgs::default().settings(env).unwrap();
        assert_eq!(
            failure_destination(settings.failure_queue_url.as_deref()).status,
            Status::Pass
        );
    }

    #[test]
    fn flags_override_the_variables_of_the_same_meaning() {
        let env = |k: &str| match k {
            "XINVOKE_TARGET_ARN" => Some("arn:aws:lambda:us-east-1:222222222222:function:other".to_string()),
            "XINVOKE_EXTERNAL_ID" => Some("from-env-id".to_string()),
            _ => None,
        };
        let args = DoctorArgs {
            target: TargetArgs {
                arn: Some(LIVE.parse().unwrap()),
                role_arn: Some("arn:aws:iam::222222222222:role/xinvoke-invoke".parse().unwrap()),
                ..Default::default()
            },
            ..Default::default()
        };
        let settings = args.settings(env).unwrap();
        let t = settings.target(None).unwrap();
        assert_eq!(t.arn.to_string(), LIVE);
        let Auth::AssumeRole(a) = &t.auth else {
            panic!("role chaining expected")
        };
        assert_eq!(a.external_id.as_ref().unwrap().expose(), "from-env-id");
    }

    #[test]
    fn bad_input_names_the_flag() {
        let args = DoctorArgs {
            target: TargetArgs {
                arn: Some(LIVE.parse().unwrap()),
                role_arn: Some("arn:aws:iam::222222222222:role/xinvoke-invoke".parse().unwrap()),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = args.settings(|_| None).unwrap_err().to_string();
        assert!(e.contains("--external-id / XINVOKE_EXTERNAL_ID"), "{e}");
        let e = DoctorArgs::default().settings(|_| None).unwrap_err().to_string();
        assert!(e.contains("--target / XINVOKE_TARGET_ARN"), "{e}");
    }
}
