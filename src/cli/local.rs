//! `xinvoke local`: run the local endpoint in the foreground until Ctrl-C or SIGTERM.

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
    // Listen for the signals before announcing the address: a caller that reads the first line
    // and stops us at once must get a clean stop, not the default signal death.
    let stop = shutdown_signal()?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", server.url());
        let _ = out.flush();
    }
    tokio::select! {
        _ = stop => {}
        r = server.wait() => return r,
    }
    server.shutdown().await;
    Ok(())
}

/// A future that completes on Ctrl-C (SIGINT) or SIGTERM; the handlers are in place on return.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, LocalError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(LocalError::Signal)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(LocalError::Signal)?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, LocalError> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
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
