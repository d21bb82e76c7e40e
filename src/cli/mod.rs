//! The `xinvoke` command line: one subcommand a module, help text from doc comments.

pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod doctor;
pub(crate) mod gateway;
pub(crate) mod invoke;
pub(crate) mod load;
pub(crate) mod local;
pub(crate) mod policy;
pub(crate) mod report;
pub(crate) mod target;

use crate::adapters::config::{ConfigError, TargetError};
use crate::domain::duration::{self, DurationError, Unit};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Why a command could not do its work (exit code 2): bad input or an unusable environment,
/// each naming the flag, variable or file to fix.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A flag's value is unusable.
    #[error("{flag}: {problem}")]
    Flag { flag: &'static str, problem: String },
    /// A file named by a flag cannot be read or written.
    #[error("{flag} {}: {source}", path.display())]
    File {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Local(#[from] crate::local::LocalError),
    #[error(transparent)]
    Control(#[from] crate::local::client::ControlError),
    #[error(transparent)]
    Policy(#[from] crate::domain::policy::PolicyError),
    #[error(transparent)]
    Recording(#[from] crate::load::collect::RecordingError),
    #[error(transparent)]
    Load(#[from] crate::load::job::JobError),
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    #[error(transparent)]
    Gateway(#[from] crate::gateway::server::GatewayError),
    #[error(transparent)]
    Routes(#[from] crate::lambdas::http::RoutesError),
    /// The credential chain gave nothing; its missing link and the fix.
    #[error("no AWS credentials: {0}")]
    Credentials(crate::adapters::chain::ChainError),
}

impl CliError {
    /// A flag's value is unusable, and why.
    pub(crate) fn flag(flag: &'static str, problem: impl std::fmt::Display) -> CliError {
        CliError::Flag {
            flag,
            problem: problem.to_string(),
        }
    }
}

/// `--output`: how a command prints its results on stdout. `json` prints one JSON document and
/// nothing else on stdout (progress, notes and logs go to stderr).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Output {
    #[default]
    Text,
    Json,
}

/// Print `value` as pretty JSON on stdout, with a final newline.
pub(crate) fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        // Our records are plain data: this cannot fail, but never panic over printing.
        Err(e) => eprintln!("error: the result could not be written as JSON: {e}"),
    }
}

/// Why a flag's value does not parse (clap shows it after the flag and the value).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ValueError(pub &'static str);

/// The parser of every duration flag: the one syntax (`1500ms`, `30s`, `2m`,
/// `domain::duration`), a bare number in `bare`, within `min..=max`. clap's error names the
/// flag; ours says what is wrong, with an example.
pub(crate) fn duration(
    bare: Unit,
    min: Duration,
    max: Duration,
) -> impl Fn(&str) -> Result<Duration, DurationError> + Clone + Send + Sync + 'static {
    move |s| duration::parse_in(s, bare, min, max)
}

/// `--deadline`: above 0, at most a day; a bare number is seconds.
pub(crate) fn deadline(s: &str) -> Result<Duration, DurationError> {
    duration::parse_in(s, Unit::Seconds, Duration::from_millis(1), Duration::from_secs(86_400))
}

/// Invoke AWS Lambda functions across accounts, classify every failure, retry with judgement.
///
/// The `xinvoke` command line, parsed with clap ([`clap::Parser`]); [`run`] runs it. A value a
/// flag cannot take is refused while parsing, naming the flag and an example.
///
/// ```
/// use clap::Parser;
/// use xinvoke::cli::Cli;
/// let cli = Cli::try_parse_from(["xinvoke", "invoke", "--deadline", "30s"]);
/// assert!(cli.is_ok());
/// let bad = Cli::try_parse_from(["xinvoke", "invoke", "--deadline", "soon"]).unwrap_err();
/// assert!(bad.to_string().contains("'--deadline <DURATION>'"), "{bad}");
/// assert!(bad.to_string().contains("write e.g. 1500ms, 30s or 2m"), "{bad}");
/// ```
#[derive(Parser, Debug)]
#[command(name = "xinvoke", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout
    Completions(completions::CompletionsArgs),
    /// Tour the built-in local endpoint: both auth modes and injected VPC failures, no AWS needed
    Demo(demo::DemoArgs),
    /// Check a target's cross-account set-up step by step and say what to fix
    Doctor(doctor::DoctorArgs),
    /// Serve HTTP routes to functions in other accounts (Gloo Edge's Upstream and VirtualService load as they are)
    Gateway(gateway::GatewayArgs),
    /// Invoke a target once and print the outcome record as JSON
    Invoke(Box<invoke::InvokeArgs>),
    /// Load-test the cross-account path and show where it breaks (no arguments: the built-in local endpoint)
    Load(Box<load::LoadArgs>),
    /// Serve the local endpoint: a Lambda + STS endpoint that answers and fails like AWS (`local token`: mint a web identity token from it)
    Local(local::LocalArgs),
    /// Print the manual page (roff) to stdout, or write one page a command into a directory
    Man(completions::ManArgs),
    /// Print the least-privilege IAM policies of a cross-account set-up
    Policy(policy::PolicyArgs),
    /// Render the reports of a recorded load run again (from --record's NDJSON)
    Report(report::ReportArgs),
}

/// Run the parsed command; returns the process exit code: 0 done, 2 bad input or an unusable
/// environment (the error, on stderr, names the flag, variable or file to fix), 1 a finding:
/// an invoke that did not succeed, a failed check, a load run that did not complete (README,
/// docs/doctor.md, docs/load.md).
///
/// ```
/// use clap::Parser;
/// use xinvoke::cli::{run, Cli};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let policy = |mode: &str| {
///     Cli::parse_from([
///         "xinvoke", "policy", "--mode", mode, "--json",
///         "--source-role", "arn:aws:iam::111111111111:role/xinvoke-source",
///         "--target", "arn:aws:lambda:us-east-1:222222222222:function:target:live",
///     ])
/// };
/// // Prints the target's resource-policy statement and the invoker's identity policy.
/// assert_eq!(run(policy("resource")).await, 0);
/// // Role mode without the external id its trust policy needs: refused, exit code 2.
/// assert_eq!(run(policy("role")).await, 2);
/// # }
/// ```
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::Demo(args) => demo::run(args).await,
        Command::Doctor(args) => doctor::run(args).await,
        Command::Gateway(args) => gateway::run(args).await,
        Command::Policy(args) => policy::run(args).await,
        Command::Load(args) => load::run(*args).await,
        Command::Report(args) => report::run(args).await,
        Command::Invoke(args) => invoke::run(*args).await,
        Command::Local(args) => local::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
