//! The text report: what `xinvoke load` prints on stdout. Readable at a glance: per phase the
//! accounting line, latency, outcomes with where each first appeared, a per-second timeline,
//! then a side-by-side comparison of the phases.

use crate::domain::class::Class;
use crate::load::stats::{PhaseReport, Report, SecondRow};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Render the whole report.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let run = &r.run;
    let _ = writeln!(out, "xinvoke load: {} via {}", run.target, run.via);
    let _ = writeln!(
        out,
        "  on {} · started {} · xinvoke {}",
        run.environment, run.started_at, run.version
    );
    for n in &run.notes {
        let _ = writeln!(out, "  {n}");
    }
    let _ = writeln!(
        out,
        "  latency is counted from each request's intended send time (coordinated-omission corrected)"
    );
    for (i, p) in r.phases.iter().enumerate() {
        out.push('\n');
        phase(&mut out, i, p);
    }
    if r.phases.len() > 1 {
        out.push('\n');
        comparison(&mut out, &r.phases);
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn msf(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1}s", x / 1000.0)
    } else if x >= 100.0 {
        format!("{x:.0}ms")
    } else {
        format!("{x:.1}ms")
    }
}

fn phase(out: &mut String, i: usize, p: &PhaseReport) {
    let end = if p.end.is_early() {
        format!("STOPPED EARLY ({})", p.end.name())
    } else {
        "completed".to_string()
    };
    let _ = writeln!(
        out,
        "Phase {}: {} — {} loop, {} — {} after {:.1}s",
        i + 1,
        p.name,
        p.model,
        p.load,
        end,
        p.duration_s
    );
    let _ = writeln!(
        out,
        "  sent {} = ok {} + failed {} + cancelled {}   ({})",
        p.sent,
        p.ok,
        p.errors,
        p.cancelled,
        if p.accounted {
            "every request accounted for"
        } else {
            "ACCOUNTING MISMATCH"
        }
    );
    let _ = writeln!(
        out,
        "  rate {:.1}/s sent, {:.1}/s ok · attempts {} ({} retries, up to {} per invoke)",
        p.achieved_rate, p.throughput_ok, p.attempts.total, p.attempts.retries, p.attempts.max_per_invoke
    );
    if let Some(b) = super::breaks_line(p) {
        let _ = writeln!(out, "  where it breaks: {b}");
    }
    let l = &p.latency;
    let _ = writeln!(
        out,
        "  latency p50 {} · p90 {} · p99 {} · p99.9 {} · max {}   (uncorrected p99 {})",
        msf(l.p50_ms),
        msf(l.p90_ms),
        msf(l.p99_ms),
        msf(l.p999_ms),
        msf(l.max_ms),
        msf(p.latency_uncorrected.p99_ms)
    );
    if let Some(f) = &p.cancelled_in_flight {
        let _ = writeln!(
            out,
            "  the latency is of the {} completed requests; the {} cancelled, in flight p50 {} · max {} when given up, are not in it",
            p.completed,
            p.cancelled,
            msf(f.p50_ms),
            msf(f.max_ms)
        );
    }
    if p.attempts.retry_wait.count > 0 {
        let w = &p.attempts.retry_wait;
        let _ = writeln!(
            out,
            "  retry waits {} · p50 {} · max {}",
            w.count,
            msf(w.p50_ms),
            msf(w.max_ms)
        );
    }
    let stops: Vec<String> = p
        .stops
        .iter()
        .filter(|(k, _)| k.as_str() != "succeeded")
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if !stops.is_empty() {
        let _ = writeln!(out, "  failed invokes stopped because: {}", stops.join(" · "));
    }
    if !p.gauges_peak.is_empty() {
        let g: Vec<String> = p.gauges_peak.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  account 2 peaks: {}", g.join(" · "));
    }
    let _ = writeln!(
        out,
        "  {:<24} {:>7} {:>7} {:>9} {:>9}   first seen",
        "final outcome", "count", "share", "p50", "p99"
    );
    for c in &p.classes {
        let first = match (c.first_second, c.rate_at_first) {
            (Some(s), Some(r)) => format!("at {s}s, {r} sent that second"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:<24} {:>7} {:>7} {:>9} {:>9}   {}",
            c.class.name(),
            c.count,
            pct(c.share),
            msf(c.latency.p50_ms),
            msf(c.latency.p99_ms),
            first
        );
    }
    if p.cancelled > 0 {
        let _ = writeln!(out, "  {:<24} {:>7}", "cancelled (at stop)", p.cancelled);
    }
    let hidden: Vec<String> = p
        .attempt_classes
        .iter()
        .filter(|a| a.class != Class::Ok)
        .filter_map(|a| {
            let fin = p.classes.iter().find(|c| c.class == a.class).map_or(0, |c| c.count);
            (a.count > fin).then(|| format!("{} {}", a.class.name(), a.count - fin))
        })
        .collect();
    if !hidden.is_empty() {
        let _ = writeln!(out, "  failed attempts retried away: {}", hidden.join(" · "));
    }
    if p.targets.len() > 1 {
        let _ = writeln!(out, "  by target:");
        for t in &p.targets {
            let parts: Vec<String> = t.classes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(out, "    {:<16} {}", t.name, parts.join(" · "));
        }
    }
    if let Some(h) = &p.hops {
        let line = |counts: &std::collections::BTreeMap<String, u64>| {
            counts
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let _ = writeln!(out, "  by hop:");
        let _ = writeln!(out, "    {:<22} {}", "invoker (account 1)", line(&h.invoker));
        let _ = writeln!(out, "    {:<22} {}", "target (account 2)", line(&h.target));
        let _ = writeln!(
            out,
            "    {:<22} {} of the invoker (hop 1) · {} by the invoker of the target (hop 2)",
            "retries", h.retries.invoker, h.retries.target
        );
        if let Some(m) = &h.metrics {
            let _ = writeln!(
                out,
                "    {:<22} {}   (its EMF metrics: Invokes by class)",
                "invoker's metrics",
                line(m)
            );
        }
    }
    timeline(out, &p.series);
}

/// Rows of the per-second timeline: at most 20, seconds grouped when the run is longer.
fn timeline(out: &mut String, series: &[SecondRow]) {
    if series.is_empty() {
        return;
    }
    let classes: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| s.classes.keys().map(String::as_str))
        .filter(|c| *c != "ok")
        .collect();
    let gauges: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| s.gauges.keys().map(String::as_str))
        .collect();
    // First-hop failures (`--via invoker`), as `inv:CLASS` beside the end-to-end classes.
    let invoker: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| s.invoker_errors.keys().map(String::as_str))
        .collect();
    let inv = |c: &str| format!("inv:{}", short(c));
    let group = series.len().div_ceil(20).max(1);
    let mut head = format!("  {:>7} {:>6} {:>6}", "second", "sent", "ok");
    for c in &classes {
        let _ = write!(head, " {:>w$}", short(c), w = short(c).len().max(5));
    }
    for c in &invoker {
        let _ = write!(head, " {:>w$}", inv(c), w = inv(c).len());
    }
    let _ = write!(head, " {:>8}", "p99");
    for g in &gauges {
        let _ = write!(head, " {:>w$}", short(g), w = short(g).len().max(5));
    }
    let _ = writeln!(out, "{head}");
    for chunk in series.chunks(group) {
        let first = chunk[0].second;
        let label = if chunk.len() == 1 {
            format!("{first}")
        } else {
            format!("{first}-{}", first + chunk.len() as u64 - 1)
        };
        let sent: u64 = chunk.iter().map(|s| s.sent).sum();
        let ok: u64 = chunk.iter().map(|s| s.ok).sum();
        let mut line = format!("  {label:>7} {sent:>6} {ok:>6}");
        for c in &classes {
            let n: u64 = chunk.iter().map(|s| s.classes.get(*c).copied().unwrap_or(0)).sum();
            let cell = if n == 0 { "·".to_string() } else { n.to_string() };
            let _ = write!(line, " {:>w$}", cell, w = short(c).len().max(5));
        }
        for c in &invoker {
            let n: u64 = chunk
                .iter()
                .map(|s| s.invoker_errors.get(*c).copied().unwrap_or(0))
                .sum();
            let cell = if n == 0 { "·".to_string() } else { n.to_string() };
            let _ = write!(line, " {:>w$}", cell, w = inv(c).len());
        }
        let p99 = chunk
            .iter()
            .filter_map(|s| s.p99_ms)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        let _ = write!(line, " {:>8}", p99.map(msf).unwrap_or_else(|| "-".into()));
        for g in &gauges {
            let v = chunk.iter().filter_map(|s| s.gauges.get(*g)).max();
            let _ = write!(
                line,
                " {:>w$}",
                v.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                w = short(g).len().max(5)
            );
        }
        let _ = writeln!(out, "{line}");
    }
}

/// Column titles short enough for a terminal.
fn short(name: &str) -> &str {
    match name {
        "ec2_throttled" => "ec2_thr",
        "ec2_request_limit" => "ec2_req",
        "subnet_ip_limit" => "subnet",
        "function_error" => "fn_err",
        "access_denied_identity" => "ad_id",
        "access_denied_resource" => "ad_res",
        "concurrency_peak" => "conc_pk",
        "enis_in_use" => "enis",
        other => other,
    }
}

fn comparison(out: &mut String, phases: &[PhaseReport]) {
    let _ = writeln!(out, "Comparison: final outcomes (failed attempts in brackets)");
    let mut head = format!("  {:<24}", "");
    for p in phases {
        let _ = write!(head, " {:>22}", truncate(&p.name, 22));
    }
    let _ = writeln!(out, "{head}");
    let classes = super::compared_classes(phases);
    for class in classes {
        let mut line = format!("  {:<24}", class.name());
        for p in phases {
            let _ = write!(line, " {:>22}", super::comparison_cell(p, class));
        }
        let _ = writeln!(out, "{line}");
    }
    for (name, counts) in super::invoker_rows(phases) {
        let mut line = format!("  {name:<24}");
        for n in counts {
            let _ = write!(line, " {n:>22}");
        }
        let _ = writeln!(out, "{line}");
    }
    type Cell = fn(&PhaseReport) -> String;
    let rows: [(&str, Cell); 6] = [
        ("sent", |p| p.sent.to_string()),
        ("cancelled", |p| p.cancelled.to_string()),
        ("success rate", |p| pct(1.0 - p.error_rate)),
        ("attempts / retries", |p| {
            format!("{} / {}", p.attempts.total, p.attempts.retries)
        }),
        ("latency p50 / p99", |p| {
            format!("{} / {}", msf(p.latency.p50_ms), msf(p.latency.p99_ms))
        }),
        ("ended", |p| p.end.name().to_string()),
    ];
    for (name, f) in rows {
        let mut line = format!("  {name:<24}");
        for p in phases {
            let _ = write!(line, " {:>22}", f(p));
        }
        let _ = writeln!(out, "{line}");
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
