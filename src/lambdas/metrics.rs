//! The invoker's metrics in CloudWatch's Embedded Metric Format (EMF): one JSON document a
//! line on stdout, which CloudWatch Logs turns into metrics with no API call and no metric
//! filter, as Powertools for AWS Lambda's Metrics does. One document per invoke (each SQS
//! record's too), and one per cold start.
//!
//! The specification: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.
//! A document is an object with `_aws` (`Timestamp` in epoch milliseconds, `CloudWatchMetrics`:
//! directives of `Namespace`, `Dimensions` (sets of at most 30 member names) and `Metrics`
//! (at most 100 `{Name, Unit}`)), and top-level members for every dimension (a string) and
//! metric (a number) it names.
//!
//! Per invoke: `Invokes` (1), `Failed` (1 unless ok), `Attempts`, `Retries`, `Latency`
//! (milliseconds), under each dimension set (default `service,target,class` and
//! `service,target,stop`); `ColdStart` (1) under `service,function_name`; `Undelivered` (1)
//! under the same for a final SQS record no failure queue took. Alarms then need no
//! metric filter: `Failed` by target, `Invokes` by class `throttled`, `Retries` by target.

use crate::adapters::config::ConfigError;
use crate::core::record::InvokeRecord;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// `XINVOKE_METRICS`: `on` (the default) or `off`.
const ENABLED: &str = "XINVOKE_METRICS";
/// The namespace: `XINVOKE_METRICS_NAMESPACE`, else Powertools' `POWERTOOLS_METRICS_NAMESPACE`,
/// else `xinvoke`.
const NAMESPACE: &str = "XINVOKE_METRICS_NAMESPACE";
/// Dimension sets, `;`-separated, each a `,`-separated list of `target`, `class`, `stop`,
/// `invocation_type`, `function_name`; `service` is in every set.
const DIMENSIONS: &str = "XINVOKE_METRICS_DIMENSIONS";
const DEFAULT_DIMENSIONS: &str = "target,class;target,stop";

/// What a dimension set may name, besides `service`.
const DIMENSION_NAMES: [&str; 5] = ["target", "class", "stop", "invocation_type", "function_name"];

/// The invoker's EMF writer, set up once at cold start.
#[derive(Debug, Clone)]
pub struct Emf {
    namespace: String,
    service: String,
    function_name: String,
    /// Each set begins with `service`.
    dimension_sets: Vec<Vec<String>>,
    /// The invoke document's parts that never change, rendered once: the directive after
    /// `"Timestamp":N`, and the `service` and `function_name` members.
    invoke_directive: String,
    constant_members: String,
    sink: Sink,
}

/// Where documents go: stdout (Lambda's log), or summed in memory (the invoker played in the
/// CLI's process, whose log is the load report): `Invokes` by class, so a long run's memory
/// stays flat.
#[derive(Debug, Clone)]
enum Sink {
    Stdout,
    Memory(Arc<Mutex<std::collections::BTreeMap<String, f64>>>),
}

/// One invoke as the metrics see it.
pub struct Sample<'a> {
    pub target: &'a str,
    pub class: &'a str,
    pub stop: &'a str,
    pub invocation_type: &'a str,
    pub attempts: u32,
    pub latency_ms: f64,
    /// Not a dimension (unbounded): a property of the document, for Logs Insights.
    pub request_id: &'a str,
    pub trace_id: Option<&'a str>,
}

impl<'a> Sample<'a> {
    pub fn of(record: &'a InvokeRecord, request_id: &'a str, trace_id: Option<&'a str>) -> Sample<'a> {
        Sample {
            target: &record.target,
            class: record.class().name(),
            stop: record.stop.name(),
            invocation_type: record.invocation_type.as_str(),
            attempts: record.attempts,
            latency_ms: record.latency_ms,
            request_id,
            trace_id,
        }
    }
}

impl Emf {
    /// From the function's environment; `None` when `XINVOKE_METRICS=off`.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Emf>, ConfigError> {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        match get(ENABLED).as_deref().map(str::trim) {
            None | Some("on") => {}
            Some("off") => return Ok(None),
            Some(_) => return Err(ConfigError::invalid_var(ENABLED, "must be on or off")),
        }
        let namespace = get(NAMESPACE)
            .or_else(|| get("POWERTOOLS_METRICS_NAMESPACE"))
            .unwrap_or_else(|| "xinvoke".into());
        if namespace.len() > 255
            || !namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c))
        {
            return Err(ConfigError::invalid_var(
                NAMESPACE,
                "must be 1 to 255 letters, digits or . _ - / # : (CloudWatch's namespace)",
            ));
        }
        let function_name = get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "xinvoke-invoker".into());
        let service = get("POWERTOOLS_SERVICE_NAME").unwrap_or_else(|| function_name.clone());
        let spec = get(DIMENSIONS).unwrap_or_else(|| DEFAULT_DIMENSIONS.into());
        let mut dimension_sets = Vec::new();
        for set in spec.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let mut names = vec!["service".to_string()];
            for name in set.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if !DIMENSION_NAMES.contains(&name) {
                    return Err(ConfigError::invalid_var(
                        DIMENSIONS,
                        "dimension sets are ;-separated lists of target, class, stop, invocation_type, function_name (e.g. target,class;target,stop)",
                    ));
                }
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
            dimension_sets.push(names);
        }
        if dimension_sets.is_empty() {
            dimension_sets.push(vec!["service".into()]);
        }
        let directive = json!({
            "Namespace": namespace,
            "Dimensions": dimension_sets,
            "Metrics": INVOKE_METRICS.iter().map(|(n, u)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
        });
        let invoke_directive = format!(r#","CloudWatchMetrics":[{directive}]}}"#);
        let constant_members = format!(
            r#","service":{},"function_name":{}"#,
            Value::from(service.as_str()),
            Value::from(function_name.as_str())
        );
        Ok(Some(Emf {
            namespace,
            service,
            function_name,
            dimension_sets,
            invoke_directive,
            constant_members,
            sink: Sink::Stdout,
        }))
    }

    /// The defaults, writing into memory: the invoker played in this process
    /// (`xinvoke load --via invoker` on the local endpoint) keeps its documents for the
    /// report ([`Emf::take`]).
    pub fn in_memory() -> Emf {
        let mut emf = Emf::from_lookup(&|_: &str| None)
            .ok()
            .flatten()
            .expect("the defaults are valid");
        emf.sink = Sink::Memory(Arc::default());
        emf
    }

    /// What the documents kept in memory said so far, one `{"class", "Invokes"}` summary a
    /// class (none when writing to stdout), emptied.
    pub fn take(&self) -> Vec<Value> {
        match &self.sink {
            Sink::Stdout => Vec::new(),
            Sink::Memory(sums) => sums
                .lock()
                .map(|mut s| std::mem::take(&mut *s))
                .unwrap_or_default()
                .into_iter()
                .map(|(class, n)| json!({"class": class, "Invokes": n}))
                .collect(),
        }
    }

    /// The document of one invoke, at `now_ms`.
    pub fn invoke_document(&self, s: &Sample<'_>, now_ms: i64) -> Value {
        let metrics: Vec<(&str, &str, f64)> = INVOKE_METRICS
            .iter()
            .zip(invoke_values(s))
            .map(|((n, u), v)| (*n, *u, v))
            .collect();
        let mut doc = self.document(now_ms, &self.dimension_sets, &metrics);
        let members = doc.as_object_mut().expect("a document is an object");
        for (k, v) in invoke_properties(s) {
            members.insert(k.into(), v.into());
        }
        if let Some(t) = s.trace_id {
            members.insert("xray_trace_id".into(), t.into());
        }
        doc
    }

    /// [`Emf::invoke_document`] as its line, written straight from the parts rendered at cold
    /// start: an invoke's document costs one string, not a tree of maps (the invoker writes one
    /// per invoke, on Lambda's CPU share).
    pub fn invoke_line(&self, s: &Sample<'_>, now_ms: i64) -> String {
        use std::fmt::Write as _;
        let mut line = String::with_capacity(self.invoke_directive.len() + self.constant_members.len() + 400);
        let _ = write!(line, r#"{{"_aws":{{"Timestamp":{now_ms}"#);
        line.push_str(&self.invoke_directive);
        line.push_str(&self.constant_members);
        for ((name, _), value) in INVOKE_METRICS.iter().zip(invoke_values(s)) {
            // serde_json's own rendering of an f64 (`1.0`), as in the document.
            let _ = write!(line, r#","{name}":{}"#, Value::from(value));
        }
        for (k, v) in invoke_properties(s) {
            push_member(&mut line, k, v);
        }
        if let Some(t) = s.trace_id {
            push_member(&mut line, "xray_trace_id", t);
        }
        line.push('}');
        line
    }

    /// Write the document of one invoke (see [`Emf::emit`]).
    pub fn emit_invoke(&self, s: &Sample<'_>) {
        match &self.sink {
            Sink::Stdout => {
                let mut line = self.invoke_line(s, now_ms());
                line.push('\n');
                let _ = crate::adapters::logging::Out.write_all(line.as_bytes());
            }
            Sink::Memory(sums) => count(sums, s.class, 1.0),
        }
    }

    /// The document of a cold start.
    pub fn cold_start_document(&self, now_ms: i64) -> Value {
        let sets = [vec!["service".to_string(), "function_name".to_string()]];
        self.document(now_ms, &sets, &[("ColdStart", "Count", 1.0)])
    }

    /// The document of a final SQS record no failure queue took (`Undelivered`, 1, under
    /// `service,function_name`): alarm on it, the record is only in the ERROR line beside it.
    pub fn undelivered_document(&self, now_ms: i64) -> Value {
        let sets = [vec!["service".to_string(), "function_name".to_string()]];
        self.document(now_ms, &sets, &[("Undelivered", "Count", 1.0)])
    }

    fn document(&self, now_ms: i64, sets: &[Vec<String>], metrics: &[(&str, &str, f64)]) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": now_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": sets,
                    "Metrics": metrics.iter().map(|(n, u, _)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
                }],
            }),
        );
        doc.insert("service".into(), self.service.clone().into());
        doc.insert("function_name".into(), self.function_name.clone().into());
        for (name, _, value) in metrics {
            doc.insert((*name).into(), json!(value));
        }
        Value::Object(doc)
    }

    /// Write a document as one line on stdout, where Lambda's log stream takes it.
    pub fn emit(&self, doc: &Value) {
        match &self.sink {
            Sink::Stdout => {
                let _ = crate::adapters::logging::Out.write_all(format!("{doc}\n").as_bytes());
            }
            Sink::Memory(sums) => {
                if let (Some(class), Some(n)) = (doc["class"].as_str(), doc["Invokes"].as_f64()) {
                    count(sums, class, n);
                }
            }
        }
    }
}

/// The in-memory sink's sum: `n` more invokes of `class`.
fn count(sums: &Mutex<std::collections::BTreeMap<String, f64>>, class: &str, n: f64) {
    if let Ok(mut sums) = sums.lock() {
        *sums.entry(class.to_string()).or_default() += n;
    }
}

/// The metrics of an invoke's document, in order, with their units ([`invoke_values`]).
const INVOKE_METRICS: [(&str, &str); 5] = [
    ("Invokes", "Count"),
    ("Failed", "Count"),
    ("Attempts", "Count"),
    ("Retries", "Count"),
    ("Latency", "Milliseconds"),
];

fn invoke_values(s: &Sample<'_>) -> [f64; 5] {
    [
        1.0,
        f64::from(u8::from(s.class != "ok")),
        f64::from(s.attempts),
        f64::from(s.attempts.saturating_sub(1)),
        s.latency_ms,
    ]
}

/// The dimensions and properties of an invoke's document, besides the constant ones.
fn invoke_properties<'a>(s: &Sample<'a>) -> [(&'static str, &'a str); 5] {
    [
        ("target", s.target),
        ("class", s.class),
        ("stop", s.stop),
        ("invocation_type", s.invocation_type),
        ("function_request_id", s.request_id),
    ]
}

/// `,"key":"value"`, the value escaped as JSON.
fn push_member(line: &mut String, key: &str, value: &str) {
    line.push_str(",\"");
    line.push_str(key);
    line.push_str("\":");
    line.push_str(&Value::from(value).to_string());
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn an_invoke_line_is_the_invoke_document() {
        let e = Emf::from_lookup(&env(&[("XINVOKE_METRICS_DIMENSIONS", "target,class;invocation_type")]))
            .unwrap()
            .unwrap();
        for (class, trace, latency) in [("ok", None, 12.5), ("throttled", Some("Root=1-a-b;Sampled=1"), 0.0)] {
            let s = Sample {
                target: "tgt \"quoted\"",
                class,
                stop: "done",
                invocation_type: "RequestResponse",
                attempts: 3,
                latency_ms: latency,
                request_id: "r-1",
                trace_id: trace,
            };
            let line = e.invoke_line(&s, 1_700_000_000_123);
            assert!(!line.contains('\n'), "{line}");
            let parsed: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(parsed, e.invoke_document(&s, 1_700_000_000_123), "{line}");
        }
    }

    #[test]
    fn settings_default_to_powertools_names_and_refuse_what_cloudwatch_would() {
        let e = Emf::from_lookup(&env(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "inv"),
            ("POWERTOOLS_METRICS_NAMESPACE", "Team/X"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((e.namespace.as_str(), e.service.as_str()), ("Team/X", "inv"));
        assert_eq!(
            e.dimension_sets,
            vec![vec!["service", "target", "class"], vec!["service", "target", "stop"]]
        );
        assert!(Emf::from_lookup(&env(&[("XINVOKE_METRICS", "off")])).unwrap().is_none());
        for (k, v, says) in [
            ("XINVOKE_METRICS", "maybe", "on or off"),
            ("XINVOKE_METRICS_NAMESPACE", "has space", "namespace"),
            ("XINVOKE_METRICS_DIMENSIONS", "target,payload", "target, class, stop"),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(k, v)]));
            let err = Emf::from_lookup(&env(pairs)).unwrap_err().to_string();
            assert!(err.contains(k) && err.contains(says), "{err}");
        }
    }
}
