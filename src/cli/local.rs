//! `xinvoke local`: run the local endpoint in the foreground until Ctrl-C or SIGTERM;
//! `xinvoke local token`: mint a web identity token from a running one and print it.

use super::{CliError, Output};
use crate::local::client::ControlClient;
use crate::local::iam::OneOrMany;
use crate::local::oidc::TokenRequest;
use crate::local::{LocalError, LocalServer, Scenario};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Serve a local AWS Lambda + STS endpoint (the simulated account 2) for SDK clients.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: Option<LocalCommand>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:4590")]
    pub listen: SocketAddr,
    /// Scenario file (.toml or .json); the built-in scenario when absent.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// text: `listening on http://HOST:PORT` first; json: {"listening": "http://HOST:PORT"} on
    /// the first line
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// What `xinvoke local` does besides serving.
#[derive(clap::Subcommand, Debug)]
pub enum LocalCommand {
    /// Print a web identity token (a JWT) signed by a running endpoint's OIDC issuer, as an EKS
    /// pod's projected service-account token: `> token`, then AWS_WEB_IDENTITY_TOKEN_FILE=token
    Token(TokenArgs),
}

/// The token's claims and the endpoint that signs it.
#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    /// The running endpoint, as `xinvoke local` printed it.
    #[arg(long, env = "XINVOKE_LOCAL_URL", default_value = "http://127.0.0.1:4590")]
    pub url: String,
    /// `sub`, e.g. system:serviceaccount:xinvoke:gateway (the built-in web identity role's).
    #[arg(long)]
    pub sub: String,
    /// `aud`; the issuer's first audience when absent (sts.amazonaws.com in the built-in scenario).
    #[arg(long)]
    pub aud: Option<String>,
    /// `iss`; the scenario's first OIDC provider when absent.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Seconds until the token expires, on the endpoint's clock (1-86400; default 3600).
    #[arg(long)]
    pub ttl_s: Option<u32>,
    /// text: the token alone (no newline when redirected, as a token file holds it); json:
    /// {"token": JWT}
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// `xinvoke local` and its subcommands; returns the exit code.
pub async fn run(args: LocalArgs) -> Result<u8, CliError> {
    match args.command {
        Some(LocalCommand::Token(t)) => token(t).await,
        None => serve(args).await.map(|()| 0).map_err(CliError::from),
    }
}

/// Mint a token through the control API and print it. Redirected to a file, it is the token
/// alone, as a token file holds it (EKS's projected file has no newline, and the SDKs send the
/// file's bytes as they are); on a terminal, a line.
async fn token(args: TokenArgs) -> Result<u8, CliError> {
    let addr = endpoint_addr(&args.url).ok_or_else(|| {
        CliError::flag(
            "--url",
            format!(
                "{:?} is not http://IP:PORT; give the address `xinvoke local` printed",
                args.url
            ),
        )
    })?;
    let request = TokenRequest {
        issuer: args.issuer.clone(),
        aud: args.aud.clone().map(OneOrMany::One),
        ttl_s: args.ttl_s,
        ..TokenRequest::subject(args.sub.clone())
    };
    let token = ControlClient::new(addr).oidc_token(&request).await?;
    if args.output == Output::Json {
        super::print_json(&serde_json::json!({ "token": token.0 }));
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    let end = if out.is_terminal() { "\n" } else { "" };
    let _ = write!(out, "{}{end}", token.0);
    let _ = out.flush();
    Ok(0)
}

/// `http://IP:PORT[/]` as a socket address.
fn endpoint_addr(url: &str) -> Option<SocketAddr> {
    url.strip_prefix("http://")?.trim_end_matches('/').parse().ok()
}

/// Start the server, print `listening on http://HOST:PORT` as the first line of stdout,
/// serve until Ctrl-C or SIGTERM, then shut down gracefully.
async fn serve(args: LocalArgs) -> Result<(), LocalError> {
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
        let _ = match args.output {
            Output::Text => writeln!(out, "listening on {}", server.url()),
            Output::Json => writeln!(out, "{}", serde_json::json!({ "listening": server.url() })),
        };
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
    fn token_flags_parse_and_urls_become_addresses() {
        let c = Cli::try_parse_from(["x", "token", "--url", "http://127.0.0.1:9", "--sub", "s", "--aud", "a"]).unwrap();
        let Some(LocalCommand::Token(t)) = c.local.command else {
            panic!("token parses as the token subcommand");
        };
        assert_eq!(
            (t.url.as_str(), t.sub.as_str(), t.aud.as_deref()),
            ("http://127.0.0.1:9", "s", Some("a"))
        );
        assert!(Cli::try_parse_from(["x", "token"]).is_err(), "--sub is required");
        assert!(Cli::try_parse_from(["x", "--listen", "127.0.0.1:0", "token", "--sub", "s"]).is_err());
        assert_eq!(
            endpoint_addr("http://127.0.0.1:4590/"),
            Some("127.0.0.1:4590".parse().unwrap())
        );
        assert_eq!(endpoint_addr("https://127.0.0.1:4590"), None);
        assert_eq!(endpoint_addr("http://localhost:4590"), None);
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
            command: None,
            listen: "127.0.0.1:0".parse().unwrap(),
            scenario: Some(PathBuf::from("/nonexistent/scenario.toml")),
            output: Output::Text,
        };
        let err = run(args).await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent/scenario.toml"), "{err}");
    }
}
