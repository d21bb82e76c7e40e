//! The HTML report: one self-contained page (inline CSS and SVG, no scripts, fonts or links),
//! readable offline. Per phase: outcomes stacked per second with the intended rate, latency
//! percentiles over time, target-side gauges, and the latency distribution.

use crate::load::stats::{PhaseReport, Report};
use std::fmt::Write;

/// The colour of a class in every chart.
pub fn colour(class: &str) -> &'static str {
    match class {
        "ok" => "#2e7d32",
        "throttled" => "#f9a825",
        "ec2_throttled" => "#d84315",
        "eni_limit" => "#6a1b9a",
        "subnet_ip_limit" => "#1565c0",
        "ec2_request_limit" => "#ad1457",
        "ec2_unexpected" => "#4e342e",
        "timeout" => "#455a64",
        "function_error" => "#c62828",
        "cancelled" => "#9e9e9e",
        "not_ready" => "#00838f",
        _ => "#ef6c00",
    }
}

/// Colour of the p50 line.
const P50: &str = "#0277bd";
/// Colour of the p99 line.
pub const P99: &str = "#c2185b";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Render the page.
pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let title = format!("xinvoke load: {}", r.run.target);
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{}</title><style>
body{{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#212121;background:#fff}}
h1{{font-size:20px;margin:0 0 4px}}h2{{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #ddd}}
h3{{font-size:14px;margin:14px 0 4px}}.note{{color:#616161;margin:2px 0}}
table{{border-collapse:collapse;margin:6px 0}}td,th{{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}}
th:first-child,td:first-child{{text-align:left}}.sw{{display:inline-block;width:10px;height:10px;margin-right:6px}}
.charts{{display:flex;flex-wrap:wrap;gap:16px}}.bad{{color:#c62828;font-weight:600}}
svg text{{font:11px sans-serif;fill:#424242}}
</style></head><body>"#,
        esc(&title)
    );
    let _ = write!(h, "<h1>{}</h1>", esc(&title));
    let _ = write!(
        h,
        r#"<p class="note">via {} · on {} · started {} · xinvoke {} · schema {}</p>"#,
        esc(&r.run.via),
        esc(&r.run.environment),
        esc(&r.run.started_at),
        esc(&r.run.version),
        esc(&r.schema)
    );
    for n in &r.run.notes {
        let _ = write!(h, r#"<p class="note">{}</p>"#, esc(n));
    }
    let _ = write!(h, r#"<p class="note">{}</p>"#, esc(&r.latency_note));
    if r.phases.len() > 1 {
        comparison(&mut h, &r.phases);
    }
    for (i, p) in r.phases.iter().enumerate() {
        phase(&mut h, i, p);
    }
    h.push_str("</body></html>\n");
    h
}

fn comparison(h: &mut String, phases: &[PhaseReport]) {
    h.push_str("<h2>Comparison</h2><table><tr><th>final outcome (failed attempts)</th>");
    for p in phases {
        let _ = write!(h, "<th>{}</th>", esc(&p.name));
    }
    h.push_str("</tr>");
    let classes = super::compared_classes(phases);
    for class in classes {
        let _ = write!(
            h,
            r#"<tr><td><span class="sw" style="background:{}"></span>{}</td>"#,
            colour(class.name()),
            class.name()
        );
        for p in phases {
            let _ = write!(h, "<td>{}</td>", super::comparison_cell(p, class));
        }
        h.push_str("</tr>");
    }
    for (name, counts) in super::invoker_rows(phases) {
        let _ = write!(h, "<tr><td>{}</td>", esc(&name));
        for n in counts {
            let _ = write!(h, "<td>{n}</td>");
        }
        h.push_str("</tr>");
    }
    for (name, f) in [
        (
            "sent",
            (|p: &PhaseReport| p.sent.to_string()) as fn(&PhaseReport) -> String,
        ),
        ("cancelled", |p| p.cancelled.to_string()),
        ("success rate", |p| format!("{:.1}%", (1.0 - p.error_rate) * 100.0)),
        ("latency p99", |p| format!("{:.1} ms", p.latency.p99_ms)),
        ("ended", |p| p.end.name().to_string()),
    ] {
        let _ = write!(h, "<tr><td>{name}</td>");
        for p in phases {
            let _ = write!(h, "<td>{}</td>", esc(&f(p)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}

fn phase(h: &mut String, i: usize, p: &PhaseReport) {
    let _ = write!(
        h,
        "<h2>Phase {}: {}</h2><p class=\"note\">{} loop · {} · {} after {:.1}s · retries {}</p>",
        i + 1,
        esc(&p.name),
        esc(&p.model),
        esc(&p.load),
        p.end.name(),
        p.duration_s,
        if p.retries { "on" } else { "off" }
    );
    let _ = write!(
        h,
        "<p>sent <b>{}</b> = ok <b>{}</b> + failed <b>{}</b> + cancelled <b>{}</b> {} · {:.1}/s sent · {} attempts ({} retries)</p>",
        p.sent,
        p.ok,
        p.errors,
        p.cancelled,
        if p.accounted { "" } else { "<span class=\"bad\">accounting mismatch</span>" },
        p.achieved_rate,
        p.attempts.total,
        p.attempts.retries
    );
    if let Some(b) = super::breaks_line(p) {
        let _ = write!(h, "<p><b>Where it breaks:</b> {}</p>", esc(&b));
    }
    h.push_str("<table><tr><th>final outcome</th><th>count</th><th>share</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>first seen</th></tr>");
    for c in &p.classes {
        let first = match (c.first_second, c.rate_at_first) {
            (Some(s), Some(r)) => format!("second {s} ({r} sent)"),
            _ => String::new(),
        };
        let _ = write!(
            h,
            r#"<tr><td><span class="sw" style="background:{}"></span>{}</td><td>{}</td><td>{:.1}%</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td></tr>"#,
            colour(c.class.name()),
            c.class.name(),
            c.count,
            c.share * 100.0,
            c.latency.p50_ms,
            c.latency.p99_ms,
            c.latency.max_ms,
            first
        );
    }
    let l = &p.latency;
    let _ = write!(
        h,
        "</table><p>latency (corrected) p50 {:.1} · p90 {:.1} · p99 {:.1} · p99.9 {:.1} · max {:.1} ms; uncorrected p99 {:.1} ms</p>",
        l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, p.latency_uncorrected.p99_ms
    );
    if let Some(f) = &p.cancelled_in_flight {
        let _ = write!(
            h,
            "<p class=\"note\">The latency is of the {} completed requests; the {} cancelled (in flight p50 {:.1} · max {:.1} ms when given up) are not in it.</p>",
            p.completed, p.cancelled, f.p50_ms, f.max_ms
        );
    }
    if let Some(hops) = &p.hops {
        h.push_str("<table><tr><th>hop</th><th>outcomes</th></tr>");
        for (name, counts) in [
            ("invoker (account 1)", &hops.invoker),
            ("target (account 2)", &hops.target),
        ] {
            let cells: Vec<String> = counts.iter().map(|(k, v)| format!("{} {v}", esc(k))).collect();
            let _ = write!(h, "<tr><td>{name}</td><td>{}</td></tr>", cells.join(" · "));
        }
        h.push_str("</table>");
    }
    h.push_str("<div class=\"charts\">");
    outcomes_chart(h, p);
    latency_chart(h, p);
    if !p.gauges_peak.is_empty() {
        gauges_chart(h, p);
    }
    distribution_chart(h, p);
    h.push_str("</div>");
}

const W: f64 = 540.0;
const H: f64 = 240.0;
const L: f64 = 48.0;
const R: f64 = 12.0;
const T: f64 = 24.0;
const B: f64 = 30.0;

/// A chart frame: title, axes, y ticks; returns (x scale, y scale) closures' parameters.
fn frame(h: &mut String, title: &str, x_max: f64, y_max: f64, x_label: &str, y_label: &str) {
    let _ = write!(
        h,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img"><title>{}</title><rect width="{W}" height="{H}" fill="#fafafa"/><text x="{L}" y="15" style="font-weight:600">{}</text>"##,
        esc(title),
        esc(title)
    );
    let (pw, ph) = (W - L - R, H - T - B);
    for k in 0..=4 {
        let v = y_max * f64::from(k) / 4.0;
        let y = T + ph - ph * f64::from(k) / 4.0;
        let _ = write!(
            h,
            r##"<line x1="{L}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            L + pw,
            L - 4.0,
            y + 4.0,
            tick(v)
        );
    }
    // Whole-number ticks, about five of them; none when the caller labels its own buckets.
    let step = if x_label.starts_with('\u{2264}') {
        f64::INFINITY
    } else {
        (x_max / 5.0).ceil().max(1.0)
    };
    let mut v = 0.0;
    while v <= x_max {
        let x = L + pw * v / x_max.max(1.0);
        let _ = write!(
            h,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            T + ph + 14.0,
            tick(v)
        );
        v += step;
    }
    let _ = write!(
        h,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text x="4" y="{:.1}">{}</text><line x1="{L}" x2="{L}" y1="{T}" y2="{:.1}" stroke="#9e9e9e"/><line x1="{L}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#9e9e9e"/>"##,
        L + pw,
        H - 2.0,
        esc(x_label),
        T - 6.0,
        esc(y_label),
        T + ph,
        L + pw,
        T + ph,
        T + ph
    );
}

fn tick(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn nice(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if max <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// A line through one value a second (none: no point that second), drawn with `style`.
fn polyline(h: &mut String, values: impl Iterator<Item = Option<f64>>, seconds: f64, y_max: f64, style: &str) {
    let (pw, ph) = (W - L - R, H - T - B);
    let bw = pw / seconds;
    let points: Vec<String> = values
        .enumerate()
        .filter_map(|(i, v)| {
            Some(format!(
                "{:.1},{:.1}",
                L + bw * (i as f64 + 0.5),
                T + ph - ph * v? / y_max
            ))
        })
        .collect();
    if !points.is_empty() {
        let _ = write!(h, r#"<polyline points="{}" fill="none" {style}/>"#, points.join(" "));
    }
}

fn legend(h: &mut String, items: &[(String, &str)]) {
    let mut x = L + 4.0;
    for (name, col) in items {
        let _ = write!(
            h,
            r#"<rect x="{x:.1}" y="{:.1}" width="9" height="9" fill="{col}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            T + 2.0,
            x + 12.0,
            T + 10.0,
            esc(name)
        );
        x += 18.0 + name.len() as f64 * 6.2;
    }
}

fn outcomes_chart(h: &mut String, p: &PhaseReport) {
    let n = p.series.len().max(1) as f64;
    let y_max = nice(
        p.series
            .iter()
            .map(|s| (s.sent as f64).max(s.intended_rate.unwrap_or(0.0)))
            .fold(0.0, f64::max),
    );
    frame(
        h,
        "Outcomes per second (stacked) and intended rate",
        n,
        y_max,
        "second",
        "requests",
    );
    let (pw, ph) = (W - L - R, H - T - B);
    let bw = pw / n;
    let mut classes: Vec<String> = p.classes.iter().map(|c| c.class.name().to_string()).collect();
    classes.push("cancelled".into());
    for (i, s) in p.series.iter().enumerate() {
        let mut y = T + ph;
        for c in &classes {
            let v = if c == "cancelled" {
                s.cancelled
            } else {
                s.classes.get(c).copied().unwrap_or(0)
            };
            if v == 0 {
                continue;
            }
            let hgt = ph * v as f64 / y_max;
            y -= hgt;
            let _ = write!(
                h,
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{hgt:.1}" fill="{}"/>"#,
                L + bw * i as f64 + bw * 0.08,
                (bw * 0.84).max(1.0),
                colour(c)
            );
        }
    }
    let intended = p.series.iter().map(|s| s.intended_rate);
    polyline(
        h,
        intended,
        n,
        y_max,
        r##"stroke="#212121" stroke-width="1.5" stroke-dasharray="4 3""##,
    );
    let items: Vec<(String, &str)> = classes
        .iter()
        .filter(|c| *c != "cancelled" || p.cancelled > 0)
        .map(|c| (c.clone(), colour(c)))
        .collect();
    legend(h, &items);
    h.push_str("</svg>");
}

fn latency_chart(h: &mut String, p: &PhaseReport) {
    let n = p.series.len().max(1) as f64;
    let y_max = nice(p.series.iter().filter_map(|s| s.p99_ms).fold(0.0, f64::max));
    frame(h, "Latency per second (corrected)", n, y_max, "second", "ms");
    let p50 = p.series.iter().map(|s| s.p50_ms);
    polyline(h, p50, n, y_max, &format!(r#"stroke="{P50}" stroke-width="2.5""#));
    let p99 = p.series.iter().map(|s| s.p99_ms);
    polyline(h, p99, n, y_max, &format!(r#"stroke="{P99}" stroke-width="2.5""#));
    legend(h, &[("p50".into(), P50), ("p99".into(), P99)]);
    h.push_str("</svg>");
}

fn gauges_chart(h: &mut String, p: &PhaseReport) {
    let n = p.series.len().max(1) as f64;
    let y_max = nice(p.gauges_peak.values().copied().max().unwrap_or(1) as f64);
    frame(h, "Account 2 gauges (sampled each second)", n, y_max, "second", "count");
    let palette = ["#6a1b9a", "#00838f", "#f9a825", "#5d4037"];
    let mut items = Vec::new();
    for (k, name) in p.gauges_peak.keys().enumerate() {
        let col = palette[k % palette.len()];
        let values = p.series.iter().map(|s| s.gauges.get(name).map(|v| *v as f64));
        polyline(h, values, n, y_max, &format!(r#"stroke="{col}" stroke-width="2""#));
        items.push((name.clone(), col));
    }
    legend(h, &items);
    h.push_str("</svg>");
}

fn distribution_chart(h: &mut String, p: &PhaseReport) {
    let n = p.distribution.len().max(1) as f64;
    let y_max = nice(p.distribution.iter().map(|b| b.count).max().unwrap_or(1) as f64);
    frame(
        h,
        "Latency distribution (requests per bucket)",
        n,
        y_max,
        "≤ ms (log₂ buckets)",
        "requests",
    );
    let (pw, ph) = (W - L - R, H - T - B);
    let bw = pw / n;
    for (i, b) in p.distribution.iter().enumerate() {
        let hgt = ph * b.count as f64 / y_max;
        let x = L + bw * i as f64;
        let _ = write!(
            h,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{hgt:.1}" fill="#5c6bc0"/>"##,
            x + bw * 0.1,
            T + ph - hgt,
            (bw * 0.8).max(1.0)
        );
        if p.distribution.len() <= 24 || i % 2 == 0 {
            let _ = write!(
                h,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" style="font-size:9px">{}</text>"#,
                x + bw / 2.0,
                T + ph + 24.0,
                tick(b.le_ms)
            );
        }
    }
    h.push_str("</svg>");
}
