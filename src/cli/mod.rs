//! The `xinvoke` command line: one subcommand a module, help text from doc comments.

pub mod demo;
pub mod invoke;
pub mod local;

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
    /// Tour the built-in local account 2: both auth modes and injected VPC failures, no AWS needed
    Demo(demo::DemoArgs),
    /// Invoke a target once and print the outcome record as JSON
    Invoke(Box<invoke::InvokeArgs>),
    /// Serve the local account 2: a Lambda + STS endpoint that answers and fails like AWS
    Local(local::LocalArgs),
}

/// Run the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Demo(args) => demo::run(args).await,
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
