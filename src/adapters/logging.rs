//! Log set-up: JSON lines on stderr (or stdout in Lambda), `RUST_LOG` to filter, INFO by
//! default. TRACE is never on by default because lambda_runtime logs raw events there.
//!
//! Filters are `tracing_subscriber`'s `Targets` (`info`, `xinvoke=debug,hyper=warn`, ...):
//! the directives users write in `RUST_LOG`, without the regex engine `EnvFilter` carries.

use std::io::IsTerminal;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Lines other crates would write that a user should not see by default, each a duplicate of
/// one of xinvoke's own: lambda_runtime's ERROR line per failed event (the `Diagnostic`, whose
/// message is the outcome record, payload included: xinvoke logs the record without it), and
/// aws-config's WARN per refused AssumeRole (xinvoke logs the outcome with its hint). Panics are
/// logged by [`log_panics`] instead of lambda_runtime's line.
const QUIET: &str = "lambda_runtime::layers::panic=off,aws_config::sts=error,aws_config::web_identity_token=error";

/// `RUST_LOG` (taken as written), else the Lambda's own log level (`AWS_LAMBDA_LOG_LEVEL`, set
/// by the function's logging configuration), else `default`; the last two with [`QUIET`]. A
/// value that does not parse falls back too.
fn filter(default: &str, lambda: bool) -> Targets {
    // Lambda's levels are TRACE..FATAL; tracing has no FATAL, ERROR is the nearest.
    let from = |var: &str| {
        std::env::var(var)
            .ok()
            .map(|v| v.to_ascii_lowercase().replace("fatal", "error"))
    };
    if let Some(t) = from("RUST_LOG").and_then(|v| v.parse::<Targets>().ok()) {
        return t;
    }
    let level = if lambda { from("AWS_LAMBDA_LOG_LEVEL") } else { None };
    level
        .and_then(|l| format!("{l},{QUIET}").parse::<Targets>().ok())
        .unwrap_or_else(|| format!("{default},{QUIET}").parse().expect("a level is a valid filter"))
}

/// JSON logs for the Lambdas, one object a line, each naming the module that wrote it
/// (`target`), so a user can tell xinvoke's lines from a dependency's.
pub fn init_json() {
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(filter("info", true))
        .try_init();
    log_panics();
}

/// JSON logs on stderr for a long-running server (`xinvoke gateway`): one object a line with
/// its time and module, INFO by default (the access log is INFO); stdout stays for what the
/// command itself prints.
pub fn init_server() {
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(filter("info", false))
        .try_init();
    log_panics();
}

/// Log a panic as one ERROR line of xinvoke's (message and place), then let it unwind: the
/// Lambda runtime answers the event as a function error with the panic's message and serves
/// the next one (the release profile unwinds for this; see Cargo.toml).
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        tracing::error!(panic = %message, location = location.as_deref(), "panic");
    }));
}

/// Human logs on stderr for the CLI: errors only unless `RUST_LOG` says otherwise (the
/// commands print their own results on stdout).
pub(crate) fn init_cli() {
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(filter("error", false))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn the_default_filters_drop_the_duplicate_lines_of_dependencies() {
        let t: Targets = format!("info,{QUIET}").parse().unwrap();
        assert!(t.would_enable("xinvoke::invoke::service", &tracing::Level::WARN));
        assert!(!t.would_enable("lambda_runtime::layers::panic", &tracing::Level::ERROR));
        assert!(!t.would_enable("aws_config::sts::assume_role", &tracing::Level::WARN));
        assert!(t.would_enable("aws_config::sts::assume_role", &tracing::Level::ERROR));
        assert!(t.would_enable("aws_smithy_runtime::client", &tracing::Level::ERROR));
    }

    #[test]
    fn rust_log_directives_parse_as_users_write_them() {
        let t: Targets = "xinvoke=debug,hyper=warn".parse().unwrap();
        assert!(t.would_enable("xinvoke::adapters", &tracing::Level::DEBUG));
        assert!(!t.would_enable("hyper::proto", &tracing::Level::INFO));
        let level: Targets = "WARN".to_ascii_lowercase().parse().unwrap();
        assert_eq!(level.default_level(), Some(LevelFilter::WARN));
    }
}
