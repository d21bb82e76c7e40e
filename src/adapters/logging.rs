//! Log set-up: JSON lines on stderr (or stdout in Lambda), `RUST_LOG` to filter, INFO by
//! default. TRACE is never on by default because lambda_runtime logs raw events there.
//!
//! Filters are `tracing_subscriber`'s `Targets` (`info`, `xinvoke=debug,hyper=warn`, ...):
//! the directives users write in `RUST_LOG`, without the regex engine `EnvFilter` carries.

use std::io::IsTerminal;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
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

/// The Lambdas' logs as Lambda's advanced logging controls ask: `AWS_LAMBDA_LOG_FORMAT`
/// `JSON` (the default here) gives one JSON object a line with the fields Powertools for AWS
/// Lambda's Logger writes ([`Powertools`]); `Text` gives plain lines (Lambda adds the time).
/// The level is `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`): see [`filter`].
pub fn init_json() {
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let registry = tracing_subscriber::registry().with(filter("info", true));
    let _ = if text {
        let fmt = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(true)
            .without_time();
        registry.with(fmt).try_init()
    } else {
        let fmt = tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(Powertools::from_env());
        registry.with(fmt).try_init()
    };
    log_panics();
}

/// A log line as Powertools for AWS Lambda's Logger writes it, so Logs Insights queries and
/// dashboards written for Powertools work on xinvoke's: `level`, `message`, `timestamp`
/// (RFC 3339, milliseconds), `service` (`POWERTOOLS_SERVICE_NAME`, else the function's name),
/// `location`, `function_name`, `function_memory_size`, and within an invocation
/// `function_request_id`, `xray_trace_id`, `function_arn` and `cold_start`; then the event's
/// own fields, top level. `target` names the module that wrote the line.
struct Powertools {
    service: String,
    function_name: Option<String>,
    memory_size: Option<u64>,
}

impl Powertools {
    fn from_env() -> Powertools {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let function_name = var("AWS_LAMBDA_FUNCTION_NAME");
        Powertools {
            service: var("POWERTOOLS_SERVICE_NAME")
                .or_else(|| function_name.clone())
                .unwrap_or_else(|| "xinvoke".into()),
            function_name,
            memory_size: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.parse().ok()),
        }
    }
}

/// The names Powertools gives the fields of lambda_runtime's invocation span.
fn powertools_name(field: &str) -> &str {
    match field {
        "requestId" => "function_request_id",
        "xrayTraceId" => "xray_trace_id",
        "tenantId" => "tenant_id",
        other => other,
    }
}

impl<S, N> FormatEvent<S, N> for Powertools
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut line = serde_json::Map::new();
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("timestamp".into(), timestamp_ms().into());
        line.insert("service".into(), self.service.clone().into());
        if let Some(name) = &self.function_name {
            line.insert("function_name".into(), name.clone().into());
        }
        if let Some(m) = self.memory_size {
            line.insert("function_memory_size".into(), m.into());
        }
        // The invocation's context: the fields of the spans the event is in (JSON, as
        // `JsonFields` formatted them).
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(fields) {
                    for (k, v) in map {
                        line.insert(powertools_name(&k).to_string(), v);
                    }
                }
            }
        }
        event.record(&mut Fields(&mut line));
        line.insert("target".into(), meta.target().into());
        if let Some(n) = meta.line() {
            line.insert(
                "location".into(),
                format!("{}:{n}", meta.module_path().unwrap_or(meta.target())).into(),
            );
        }
        writeln!(w, "{}", serde_json::Value::Object(line))
    }
}

/// An event's fields as JSON members.
struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

/// Now, RFC 3339 in UTC with milliseconds (`2026-11-30T18:03:17.123Z`).
fn timestamp_ms() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = crate::core::utc::iso8601(now.as_secs() as i64);
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), now.subsec_millis())
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
