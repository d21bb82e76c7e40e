//! `xinvoke local`: run the local account 2 in the foreground until Ctrl-C or SIGTERM.

use crate::local::{LocalError, LocalServer, Scenario};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Serve a local AWS Lambda + STS endpoint (the simulated account 2) for SDK clients.
#[derive(clap::Args, Debug)]
pub struct LocalArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:4590")]
    pub listen: SocketAddr,
    /// Scenario file (.toml or .json); the built-in scenario when absent.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

/// Start the server, print `listening on http://HOST:PORT` as the first line of stdout,
/// serve until Ctrl-C or SIGTERM, then shut down gracefully.
pub async fn run(args: LocalArgs) -> Result<(), LocalError> {
    let scenario = match &args.scenario {
        Some(path) => Scenario::from_path(path)?,
        None => Scenario::builtin(),
    };
    let mut server = LocalServer::start(scenario, args.listen).await?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", server.url());
        let _ = out.flush();
    }
    tokio::select! {
        _ = shutdown_signal() => {}
        r = server.wait() => return r,
    }
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        local: LocalArgs,
    }

    #[test]
    fn defaults_and_flags_parse() {
        let c = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(c.local.listen, "127.0.0.1:4590".parse().unwrap());
        assert!(c.local.scenario.is_none());
        let c = Cli::try_parse_from(["x", "--listen", "127.0.0.1:0", "--scenario", "s.toml"]).unwrap();
        assert_eq!(c.local.listen.port(), 0);
        assert_eq!(c.local.scenario, Some(PathBuf::from("s.toml")));
        assert!(Cli::try_parse_from(["x", "--listen", "nope"]).is_err());
    }

    #[tokio::test]
    async fn a_bad_scenario_fails_before_listening() {
        let args = LocalArgs {
            listen: "127.0.0.1:0".parse().unwrap(),
            scenario: Some(PathBuf::from("/nonexistent/scenario.toml")),
        };
        let err = run(args).await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent/scenario.toml"), "{err}");
    }
}
