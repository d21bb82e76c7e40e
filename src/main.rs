//! The `xinvoke` command line.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = xinvoke::cli::Cli::parse();
    ExitCode::from(xinvoke::cli::run(cli).await)
}
