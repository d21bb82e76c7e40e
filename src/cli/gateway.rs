//! `xinvoke gateway`: serve HTTP routes to cross-account functions until Ctrl-C or SIGTERM.

use crate::cli::{print_json, CliError, Output};
use crate::gateway::config::GatewayConfig;
use crate::gateway::server::{GatewayError, GatewayServer};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Serve HTTP routes to Lambda functions in other accounts (Gloo Edge's Upstream and
/// VirtualService resources load as they are).
///
/// Prints `listening on http://HOST:PORT` first on stdout, then `admin on http://HOST:PORT`;
/// logs (one JSON access line per request) go to stderr. Reloads the file on SIGHUP and when it
/// changes, after the checks a start runs; a file that fails them keeps the routes in service.
/// The public listener serves routes only: `/metrics` (Prometheus), `/healthz` and `/readyz`
/// are on the admin listener.
/// Credentials: the standard AWS chain (variables, profile, web identity as IRSA sets it,
/// container credentials), or an upstream's `secretRef` / `profile`; every upstream's are
/// fetched at start and a missing link is named. Exit code 2 when it cannot start.
#[derive(clap::Args, Debug)]
pub struct GatewayArgs {
    /// The routes and upstreams (YAML, TOML or JSON; see docs/gateway.md)
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address of the admin listener: /metrics, /healthz, /readyz (keep it private; port 0
    /// picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9901")]
    pub admin_listen: SocketAddr,
    /// Serve the routes over TLS with this PEM certificate chain (HTTP/2 to clients that ask
    /// by ALPN, HTTP/1.1 to the others); read again on every reload
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Check the file, print its routes and exit
    #[arg(long)]
    pub check: bool,
    /// text: `listening on URL`, `admin on URL` (--check: the routes, one a line); json:
    /// {"listening": URL, "admin": URL} on one line (--check: {upstreams, routes})
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Run the command.
pub async fn run(args: GatewayArgs) -> Result<u8, CliError> {
    crate::adapters::logging::init_server();
    if args.check {
        let c = GatewayConfig::load(&args.config, crate::adapters::config::process_env).map_err(GatewayError::from)?;
        match args.output {
            Output::Text => print!("{}", describe_config(&c)),
            Output::Json => print_json(&config_json(&c)),
        }
        return Ok(0);
    }
    let options = crate::gateway::server::Options {
        admin: args.admin_listen,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(crate::gateway::server::TlsFiles { cert, key }),
            _ => None,
        },
        ..Default::default()
    };
    let mut server = GatewayServer::start_with(args.config.clone(), args.listen, options).await?;
    let stop = shutdown_signal().map_err(|e| CliError::flag("--listen", format!("cannot watch for signals: {e}")))?;
    {
        let mut out = std::io::stdout().lock();
        let _ = match args.output {
            Output::Text => writeln!(out, "listening on {}\nadmin on {}", server.url(), server.admin_url()),
            Output::Json => writeln!(
                out,
                "{}",
                serde_json::json!({ "listening": server.url(), "admin": server.admin_url() })
            ),
        };
        let _ = out.flush();
    }
    tokio::select! {
        _ = stop => {}
        r = server.wait() => {
            r.map_err(|e| CliError::flag("--listen", format!("serving stopped: {e}")))?;
        }
    }
    server.shutdown().await;
    Ok(0)
}

/// `--check`'s text: each upstream with its functions, then each route.
fn describe_config(c: &GatewayConfig) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for u in &c.upstreams {
        let _ = writeln!(
            out,
            "upstream {}: account {} in {}, {}",
            u.name,
            u.account,
            u.region,
            auth(u)
        );
        if u.assumes_without_external_id() {
            let _ = writeln!(out, "  note: {}", crate::gateway::config::NO_EXTERNAL_ID_NOTE);
        }
        for f in &u.functions {
            let arn = u
                .function_arn(&f.logical_name)
                .map(|a| a.to_string())
                .unwrap_or_default();
            let _ = writeln!(out, "  {} -> {arn}", f.logical_name);
        }
    }
    for r in &c.routes {
        let _ = writeln!(
            out,
            "route {}: {} -> {}/{} ({:?}, timeout {:?})",
            r.name,
            r.matchers.iter().map(describe).collect::<Vec<_>>().join(" | "),
            r.upstream,
            r.logical_name,
            r.style,
            r.timeout
        );
    }
    out
}

/// `--check --output json`: the same, as data.
fn config_json(c: &GatewayConfig) -> serde_json::Value {
    use serde_json::json;
    let upstreams: Vec<_> = c
        .upstreams
        .iter()
        .map(|u| {
            let functions: Vec<_> = u
                .functions
                .iter()
                .map(|f| {
                    json!({
                        "logical_name": f.logical_name,
                        "arn": u.function_arn(&f.logical_name).map(|a| a.to_string()),
                    })
                })
                .collect();
            let role = match &u.auth {
                crate::gateway::config::UpstreamAuth::Resource => None,
                crate::gateway::config::UpstreamAuth::Role { role, .. } => Some(role.to_string()),
            };
            json!({
                "name": u.name,
                "account": u.account,
                "region": u.region,
                "auth": if role.is_some() { "role" } else { "resource" },
                "role_arn": role,
                "profile": u.profile,
                "functions": functions,
                "notes": if u.assumes_without_external_id() {
                    vec![crate::gateway::config::NO_EXTERNAL_ID_NOTE]
                } else {
                    Vec::new()
                },
            })
        })
        .collect();
    let routes: Vec<_> = c
        .routes
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "matchers": r.matchers.iter().map(describe).collect::<Vec<_>>(),
                "upstream": r.upstream,
                "logical_name": r.logical_name,
                "style": match r.style {
                    crate::gateway::config::InvocationStyle::Sync => "sync",
                    crate::gateway::config::InvocationStyle::Async => "async",
                },
                "timeout_ms": r.timeout.as_millis() as u64,
            })
        })
        .collect();
    json!({ "upstreams": upstreams, "routes": routes })
}

/// How an upstream's invokes are allowed, in words.
fn auth(u: &crate::gateway::config::Upstream) -> String {
    match &u.auth {
        crate::gateway::config::UpstreamAuth::Resource => "resource-based".to_string(),
        crate::gateway::config::UpstreamAuth::Role { role, .. } => format!("role {role}"),
    }
}

fn describe(m: &crate::gateway::config::Matcher) -> String {
    use crate::gateway::config::PathMatch;
    let path = match &m.path {
        PathMatch::Prefix(p) => format!("{p}*"),
        PathMatch::Exact(p) => p.clone(),
        PathMatch::Regex(r) => format!("~{}", r.as_str()),
    };
    match m.methods.is_empty() {
        true => path,
        false => format!("{} {path}", m.methods.join(",")),
    }
}

/// Completes on Ctrl-C or SIGTERM; the handlers are in place on return.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
