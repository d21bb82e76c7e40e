//! The `xinvoke` command line: one subcommand a module, help text from doc comments.

pub mod demo;
pub mod doctor;
pub mod invoke;
pub mod load;
pub mod local;
pub mod policy;
pub mod report;
pub mod target;

use clap::{Parser, Subcommand};

/// Invoke AWS Lambda functions across accounts, classify every failure, retry with judgement.
#[derive(Parser, Debug)]
#[command(name = "xinvoke", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Tour the built-in local endpoint: both auth modes and injected VPC failures, no AWS needed
    Demo(demo::DemoArgs),
    /// Check a target's cross-account set-up step by step and say what to fix
    Doctor(doctor::DoctorArgs),
    /// Invoke a target once and print the outcome record as JSON
    Invoke(Box<invoke::InvokeArgs>),
    /// Load-test the cross-account path and show where it breaks (no arguments: the built-in local endpoint)
    Load(Box<load::LoadArgs>),
    /// Serve the local endpoint: a Lambda + STS endpoint that answers and fails like AWS
    Local(local::LocalArgs),
    /// Print the least-privilege IAM policies of a cross-account set-up
    Policy(policy::PolicyArgs),
    /// Render the reports of a recorded load run again (from --record's NDJSON)
    Report(report::ReportArgs),
}

/// Run the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Doctor(args) => doctor::run(args).await,
        Command::Policy(args) => policy::run(args).await,
        Command::Load(args) => load::run(*args).await,
        Command::Report(args) => report::run(args).await,
        Command::Invoke(args) => invoke::run(*args).await.map_err(|e| e.to_string()),
        Command::Local(args) => local::run(args).await.map(|()| 0).map_err(|e| e.to_string()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
