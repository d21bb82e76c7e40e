//! Log set-up: JSON lines on stderr (or stdout in Lambda), `RUST_LOG` to filter, INFO by
//! default. TRACE is never on by default because lambda_runtime logs raw events there.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// JSON logs for the Lambdas, one object a line.
pub fn init_json() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Human logs on stderr for the CLI: errors only unless `RUST_LOG` says otherwise (the
/// commands print their own results on stdout).
pub fn init_cli() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
