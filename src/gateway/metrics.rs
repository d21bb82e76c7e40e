//! The gateway's counters, served at `/metrics` in Prometheus' text exposition format (0.0.4):
//! requests by route and class, a latency histogram by route, retries by route, STS session
//! refreshes and configuration reloads.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: BTreeMap<(String, &'static str), u64>,
    latency: BTreeMap<String, Histogram>,
    retries: BTreeMap<String, u64>,
    reloads: BTreeMap<&'static str, u64>,
}

/// Everything `/metrics` shows, updated per request.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

impl Metrics {
    /// One answered request: its route (a configured name, `no_route`, `none` or
    /// `discovered:UPSTREAM`), class (a closed set: nothing a function answers becomes a label),
    /// retries and time.
    pub fn request(&self, route: &str, class: &'static str, retries: u32, took: Duration) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.requests.entry((route.to_string(), class)).or_default() += 1;
        *c.retries.entry(route.to_string()).or_default() += u64::from(retries);
        let h = c.latency.entry(route.to_string()).or_default();
        let s = took.as_secs_f64();
        h.count += 1;
        h.sum += s;
        for (i, le) in BUCKETS.iter().enumerate() {
            if s <= *le {
                h.counts[i] += 1;
            }
        }
    }

    /// A configuration (re)load that succeeded or failed.
    pub fn reload(&self, ok: bool) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.reloads.entry(if ok { "ok" } else { "failed" }).or_default() += 1;
    }

    /// The text exposition; `sts_refreshes` is the process's count of assumed-role sessions
    /// opened (AssumeRole calls).
    pub fn render(&self, sts_refreshes: u64) -> String {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP xinvoke_gateway_requests_total Requests answered, by route and outcome class.\n");
        out.push_str("# TYPE xinvoke_gateway_requests_total counter\n");
        for ((route, class), n) in &c.requests {
            let _ = writeln!(
                out,
                "xinvoke_gateway_requests_total{{route=\"{}\",class=\"{}\"}} {n}",
                label(route),
                label(class)
            );
        }
        out.push_str(
            "# HELP xinvoke_gateway_request_duration_seconds Time from a request's arrival to its answer, by route.\n",
        );
        out.push_str("# TYPE xinvoke_gateway_request_duration_seconds histogram\n");
        for (route, h) in &c.latency {
            let route = label(route);
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "xinvoke_gateway_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "xinvoke_gateway_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "xinvoke_gateway_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "xinvoke_gateway_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP xinvoke_gateway_retries_total Retries made (attempts after the first), by route.\n");
        out.push_str("# TYPE xinvoke_gateway_retries_total counter\n");
        for (route, n) in &c.retries {
            let _ = writeln!(out, "xinvoke_gateway_retries_total{{route=\"{}\"}} {n}", label(route));
        }
        out.push_str(
            "# HELP xinvoke_gateway_sts_refreshes_total Assumed-role sessions opened (STS AssumeRole calls).\n",
        );
        out.push_str("# TYPE xinvoke_gateway_sts_refreshes_total counter\n");
        let _ = writeln!(out, "xinvoke_gateway_sts_refreshes_total {sts_refreshes}");
        out.push_str("# HELP xinvoke_gateway_config_reloads_total Configuration reloads, by result.\n");
        out.push_str("# TYPE xinvoke_gateway_config_reloads_total counter\n");
        for (result, n) in &c.reloads {
            let _ = writeln!(out, "xinvoke_gateway_config_reloads_total{{result=\"{result}\"}} {n}");
        }
        out
    }
}

/// A label value escaped as the text format wants (`\`, `"` and newlines).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histograms_render_in_the_text_format() {
        let m = Metrics::default();
        m.request("target", "ok", 0, Duration::from_millis(3));
        m.request("target", "ok", 1, Duration::from_millis(30));
        m.request("target", "throttled", 2, Duration::from_millis(300));
        m.reload(true);
        let text = m.render(4);
        for line in [
            "xinvoke_gateway_requests_total{route=\"target\",class=\"ok\"} 2",
            "xinvoke_gateway_requests_total{route=\"target\",class=\"throttled\"} 1",
            "xinvoke_gateway_request_duration_seconds_bucket{route=\"target\",le=\"0.005\"} 1",
            "xinvoke_gateway_request_duration_seconds_bucket{route=\"target\",le=\"0.05\"} 2",
            "xinvoke_gateway_request_duration_seconds_bucket{route=\"target\",le=\"+Inf\"} 3",
            "xinvoke_gateway_request_duration_seconds_count{route=\"target\"} 3",
            "xinvoke_gateway_retries_total{route=\"target\"} 3",
            "xinvoke_gateway_sts_refreshes_total 4",
            "xinvoke_gateway_config_reloads_total{result=\"ok\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in:\n{text}");
        }
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
