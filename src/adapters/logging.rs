//! Log set-up: JSON lines on stderr (or stdout in Lambda), `RUST_LOG` to filter, INFO by
//! default. TRACE is never on by default because lambda_runtime logs raw events there.
//!
//! Filters are `tracing_subscriber`'s `Targets` (`info`, `xinvoke=debug,hyper=warn`, ...):
//! the directives users write in `RUST_LOG`, without the regex engine `EnvFilter` carries.

use std::io::Write;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
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
            .fmt_fields(PowertoolsFields)
            .event_format(Powertools::from_env())
            .with_writer(|| Out);
        registry.with(fmt).try_init()
    };
    log_panics();
}

/// The Lambdas' stdout, where Lambda's log stream takes every line. Within an event
/// ([`hold`]) lines are kept and written together at [`release`] (after each invoke: its log
/// line and its EMF document in one write) or when the event ends, so an invoke costs one write
/// and wakes the log reader once, not once per line. Outside an event (start-up,
/// lambda_runtime's own lines between events) every line is written at once.
pub struct Out;

struct Held {
    events: usize,
    lines: Vec<u8>,
}

static HELD: std::sync::Mutex<Held> = std::sync::Mutex::new(Held {
    events: 0,
    lines: Vec::new(),
});

/// What is kept past this size is written at once (a long SQS batch's lines).
const HELD_MAX: usize = 16 * 1024;

impl std::io::Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        if held.events == 0 {
            drop(held);
            return std::io::stdout().lock().write_all(buf);
        }
        held.lines.extend_from_slice(buf);
        if held.lines.len() >= HELD_MAX {
            write_held(&mut held);
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_held(held: &mut Held) {
    if !held.lines.is_empty() {
        let _ = std::io::stdout().lock().write_all(&held.lines);
        held.lines.clear();
    }
}

/// Keep the lines written until [`release`] or until the returned guard drops (the event's
/// end, a panic's unwinding included), which writes them.
pub fn hold() -> Holding {
    HELD.lock().unwrap_or_else(|p| p.into_inner()).events += 1;
    Holding(())
}

/// Write the lines kept so far, in one write.
pub fn release() {
    write_held(&mut HELD.lock().unwrap_or_else(|p| p.into_inner()));
}

/// See [`hold`].
pub struct Holding(());

impl Drop for Holding {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        held.events = held.events.saturating_sub(1);
        write_held(&mut held);
    }
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
fn powertools_name(field: &'static str) -> &'static str {
    match field {
        "requestId" => "function_request_id",
        "xrayTraceId" => "xray_trace_id",
        "tenantId" => "tenant_id",
        other => other,
    }
}

impl<S> FormatEvent<S, PowertoolsFields> for Powertools
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    /// The line is written straight out, member after member (one buffer, no tree of maps):
    /// every invoke writes one, on Lambda's CPU share. A member the event names itself (e.g. a
    /// panic's `location`) is written once, the event's.
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, PowertoolsFields>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut own = Members::default();
        event.record(&mut own);
        let mut line = Members::default();
        line.member("level", meta.level().as_str());
        line.member("timestamp", &timestamp_ms());
        line.member("service", &self.service);
        if let Some(name) = &self.function_name {
            line.member("function_name", name.as_str());
        }
        if let Some(m) = self.memory_size {
            line.member("function_memory_size", &m);
        }
        // The invocation's context: the fields of the spans the event is in, each rendered
        // once when its span began (`PowertoolsFields`).
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<FormattedFields<PowertoolsFields>>() {
                    line.buf.extend_from_slice(fields.fields.as_bytes());
                }
            }
        }
        line.buf.extend_from_slice(&own.buf);
        if !own.names.contains(&"target") {
            line.member("target", meta.target());
        }
        if let (Some(n), false) = (meta.line(), own.names.contains(&"location")) {
            line.member(
                "location",
                &format!("{}:{n}", meta.module_path().unwrap_or(meta.target())),
            );
        }
        // Every member begins with a comma; the first one's opens the object.
        line.buf[0] = b'{';
        line.buf.push(b'}');
        let text = std::str::from_utf8(&line.buf).map_err(|_| std::fmt::Error)?;
        writeln!(w, "{text}")
    }
}

/// Span fields as Powertools names them, rendered once as JSON members (`,"name":value`) when
/// the span begins (or records more), then copied into each line written within it.
struct PowertoolsFields;

impl<'writer> FormatFields<'writer> for PowertoolsFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> std::fmt::Result {
        let mut members = Members::default();
        fields.record(&mut members);
        writer.write_str(std::str::from_utf8(&members.buf).map_err(|_| std::fmt::Error)?)
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> std::fmt::Result {
        let mut members = Members::default();
        fields.record(&mut members);
        current
            .fields
            .push_str(std::str::from_utf8(&members.buf).map_err(|_| std::fmt::Error)?);
        Ok(())
    }
}

/// JSON members, each `,"name":value`, and the names written.
#[derive(Default)]
struct Members {
    buf: Vec<u8>,
    names: Vec<&'static str>,
}

impl Members {
    fn member<T: serde::Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        self.buf.extend_from_slice(b",\"");
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b"\":");
        // Writing into a Vec cannot fail; a value that does not serialize writes null.
        if serde_json::to_writer(&mut self.buf, value).is_err() {
            self.buf.extend_from_slice(b"null");
        }
    }

    fn field<T: serde::Serialize + ?Sized>(&mut self, field: &tracing::field::Field, value: &T) {
        let name = powertools_name(field.name());
        self.names.push(name);
        self.member(name, value);
    }
}

impl tracing::field::Visit for Members {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.field(field, value);
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.field(field, &value);
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.field(field, &value);
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.field(field, &value);
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.field(field, &value);
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.field(field, format!("{value:?}").as_str());
    }
}

/// Now, RFC 3339 in UTC with milliseconds (`2026-11-30T18:03:17.123Z`).
fn timestamp_ms() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = crate::domain::utc::iso8601(now.as_secs() as i64);
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
#[cfg(feature = "cli")]
pub(crate) fn init_cli() {
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
