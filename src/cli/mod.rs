//! The `xinvoke` command line: one subcommand a module, help text from doc comments.

pub mod invoke;

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
    /// Invoke a target once and print the outcome record as JSON
    Invoke(invoke::InvokeArgs),
}

/// Run the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Invoke(args) => invoke::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
