//! `xinvoke policy`: prints the least-privilege IAM documents of a cross-account set-up, per
//! account, as text to paste or as JSON. The documents come from `core::policy`.

use crate::cli::{print_json, Output};
use crate::core::policy::{self, PolicyRequest};

/// Print the least-privilege policies for account 1's source role to invoke a target in
/// account 2, resource-based or by role chaining.
///
/// resource: the source role's identity policy, the target's resource-policy statement and the
/// equivalent `aws lambda add-permission` command. role: the source role's identity policy
/// (sts:AssumeRole on the invoke role only), the invoke role's trust policy (the source role,
/// with sts:ExternalId) and its permission policy. Every statement names one action and exactly
/// the ARN used, never `*`. Exit code 2 for bad input.
#[derive(clap::Args, Debug, Default)]
pub struct PolicyArgs {
    /// resource: the target's resource policy names the source role; role: the source role
    /// assumes a role in the target's account
    #[arg(long, value_name = "MODE", value_parser = ["resource", "role"])]
    pub mode: String,
    /// Account 1's source role (the invoker's execution role), arn:aws:iam::ACCOUNT:role/NAME
    #[arg(long, value_name = "ARN")]
    pub source_role: String,
    /// The target's full function ARN, with the :alias or :version the invoker calls
    #[arg(long, value_name = "ARN")]
    pub target: String,
    /// role mode: the external id the trust policy requires (required in role mode)
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// role mode: the invoke role's name in the target's account [default: xinvoke-invoke]
    #[arg(long, value_name = "NAME", conflicts_with = "role_arn")]
    pub role_name: Option<String>,
    /// role mode: the invoke role's full ARN (in the target's account)
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// text: the documents to paste, per account; json: {mode, source_role, target,
    /// source_identity_policy, resource_statement?, add_permission_command?, invoke_role?,
    /// trust_policy?, role_permission_policy?, notes}
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// The same as --output json
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

impl PolicyArgs {
    /// The request the flags describe.
    pub fn request(&self) -> PolicyRequest {
        PolicyRequest {
            mode: self.mode.clone(),
            source_role: self.source_role.clone(),
            target: self.target.clone(),
            role_arn: self.role_arn.clone(),
            role_name: self.role_name.clone(),
            external_id: self.external_id.clone(),
        }
    }
}

/// Run the command: print the documents; exit 0, or an error (exit 2) naming the flag to fix.
pub async fn run(args: PolicyArgs) -> Result<u8, crate::cli::CliError> {
    let set = policy::build(&args.request())?;
    if args.json || args.output == Output::Json {
        print_json(&set);
    } else {
        print!("{}", set.render());
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: PolicyArgs,
    }

    #[test]
    fn flags_parse_into_a_request() {
        let cli = Cli::try_parse_from([
            "policy",
            "--mode",
            "role",
            "--source-role",
            "arn:aws:iam::111111111111:role/xinvoke-source",
            "--target",
            "arn:aws:lambda:us-east-1:222222222222:function:target:live",
            "--external-id",
            "abc-123",
            "--role-name",
            "invoke",
        ])
        .unwrap();
        let set = policy::build(&cli.args.request()).unwrap();
        assert_eq!(
            set.invoke_role.as_deref(),
            Some("arn:aws:iam::222222222222:role/invoke")
        );
    }

    #[test]
    fn unknown_modes_and_both_role_flags_are_refused() {
        let base = [
            "policy",
            "--source-role",
            "arn:aws:iam::111111111111:role/s",
            "--target",
            "arn:aws:lambda:us-east-1:222222222222:function:t",
        ];
        assert!(Cli::try_parse_from(base.iter().copied().chain(["--mode", "both"])).is_err());
        let both = [
            "--mode",
            "role",
            "--role-name",
            "a",
            "--role-arn",
            "arn:aws:iam::222222222222:role/b",
        ];
        assert!(Cli::try_parse_from(base.iter().copied().chain(both)).is_err());
    }
}
