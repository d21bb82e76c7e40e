//! Log set-up: JSON lines on stderr (or stdout in Lambda), `RUST_LOG` to filter, INFO by
//! default. TRACE is never on by default because lambda_runtime logs raw events there.
//!
//! Filters are `tracing_subscriber`'s `Targets` (`info`, `xinvoke=debug,hyper=warn`, ...):
//! the directives users write in `RUST_LOG`, without the regex engine `EnvFilter` carries.

use std::io::IsTerminal;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `RUST_LOG`, else the Lambda's own log level (`AWS_LAMBDA_LOG_LEVEL`, set by the function's
/// logging configuration), else `default`. A value that does not parse falls back too.
fn filter(default: &str, lambda: bool) -> Targets {
    // Lambda's levels are TRACE..FATAL; tracing has no FATAL, ERROR is the nearest.
    let from = |var: &str| {
        let v = std::env::var(var).ok()?.to_ascii_lowercase().replace("fatal", "error");
        v.parse::<Targets>().ok()
    };
    from("RUST_LOG")
        .or_else(|| if lambda { from("AWS_LAMBDA_LOG_LEVEL") } else { None })
        .unwrap_or_else(|| default.parse().expect("a level is a valid filter"))
}

/// JSON logs for the Lambdas, one object a line.
pub fn init_json() {
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(filter("info", true))
        .try_init();
}

/// Human logs on stderr for the CLI: errors only unless `RUST_LOG` says otherwise (the
/// commands print their own results on stdout).
pub fn init_cli() {
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
    fn rust_log_directives_parse_as_users_write_them() {
        let t: Targets = "xinvoke=debug,hyper=warn".parse().unwrap();
        assert!(t.would_enable("xinvoke::adapters", &tracing::Level::DEBUG));
        assert!(!t.would_enable("hyper::proto", &tracing::Level::INFO));
        let level: Targets = "WARN".to_ascii_lowercase().parse().unwrap();
        assert_eq!(level.default_level(), Some(LevelFilter::WARN));
    }
}
