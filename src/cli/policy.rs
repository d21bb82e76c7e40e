//! `xinvoke policy`: prints the least-privilege IAM documents of a cross-account set-up, per
//! account, as text to paste or as JSON. The documents come from `core::policy`.

use crate::cli::{print_json, Output};
use crate::core::policy::{self, PolicyRequest};

/// Print the least-privilege policies for source roles (named, or an organization's) to invoke
/// a target in another account, resource-based or by role chaining.
///
/// resource: the source roles' identity policy, the target's resource-policy statement(s) and
/// the equivalent `aws lambda add-permission` commands. role: the source roles' identity policy
/// (sts:AssumeRole on the invoke role only), the invoke role's trust policy (the source roles or
/// the organization, with sts:ExternalId) and its permission policy. Every statement names one
/// action and exactly the ARN used; the only `*` is an organization grant's Principal, narrowed
/// by its conditions. Warns when a document nears its size quota. Exit code 2 for bad input.
#[derive(clap::Args, Debug, Default)]
pub struct PolicyArgs {
    /// resource: the target's resource policy names the source role; role: the source role
    /// assumes a role in the target's account
    #[arg(long, value_name = "MODE", value_parser = ["resource", "role"])]
    pub mode: String,
    /// A source role (an invoker's execution role), arn:PARTITION:iam::ACCOUNT:role/NAME; give
    /// it once per role
    #[arg(long, value_name = "ARN", required_unless_present = "org", conflicts_with = "org")]
    pub source_role: Vec<String>,
    #[command(flatten)]
    pub org: OrgArgs,
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
    /// text: the documents to paste, per account; json: {mode, source_roles?, organization?,
    /// target, source_identity_policy, resource_statements?, add_permission_commands?,
    /// invoke_role?, trust_policy?, role_permission_policy?, warnings?, notes}
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
            source_roles: self.source_role.clone(),
            org_id: self.org.org.clone(),
            org_paths: self.org.org_path.clone(),
            role_pattern: self.org.role_pattern.clone(),
            target: self.target.clone(),
            role_arn: self.role_arn.clone(),
            role_name: self.role_name.clone(),
            external_id: self.external_id.clone(),
        }
    }
}

/// An organization grant: who may invoke, instead of named roles (`policy`), or what the
/// target grants (`doctor`).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct OrgArgs {
    /// The organization granted, o-... (aws:PrincipalOrgID): policy grants its roles instead
    /// of named ones; doctor compares the caller with the grant
    #[arg(long, value_name = "ID")]
    pub org: Option<String>,
    /// role mode, with --org: only accounts under this OU path, o-ID/r-ROOT/ou-.../* (IAM's
    /// aws:PrincipalOrgPaths); give it once per path
    #[arg(long, value_name = "PATH", requires = "org")]
    pub org_path: Vec<String>,
    /// role mode, with --org: only roles whose name matches, e.g. 'xinvoke-invoker-*'
    /// (aws:PrincipalArn, ArnLike)
    #[arg(long, value_name = "PATTERN", requires = "org")]
    pub role_pattern: Option<String>,
}

impl OrgArgs {
    /// The grant the flags describe, checked; `None` without `--org`.
    pub fn grant(&self) -> Result<Option<policy::OrgGrant>, policy::PolicyError> {
        self.org
            .as_deref()
            .map(|id| policy::org_grant(id, &self.org_path, self.role_pattern.as_deref()))
            .transpose()
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
