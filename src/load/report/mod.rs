//! Reports of a finished run: text (stdout), JSON (`--json`, schema `xinvoke.load.v1`,
//! described by `schemas/load-report.schema.json`) and one self-contained HTML page.
//! They read a [`Report`](crate::load::stats::Report) only.

pub mod html;
pub mod text;

use crate::load::stats::Report;

/// The JSON report, pretty-printed.
/// Every class a comparison of phases shows: final outcomes and failed attempts of any phase.
pub fn compared_classes(
    phases: &[crate::load::stats::PhaseReport],
) -> std::collections::BTreeSet<crate::core::classify::Class> {
    phases
        .iter()
        .flat_map(|p| {
            p.classes
                .iter()
                .map(|c| c.class)
                .chain(p.attempt_classes.iter().map(|a| a.class))
        })
        .collect()
}

pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Where a phase breaks: each failure class with the second it first appeared and the
/// requests sent in that second, earliest first.
pub fn breaks(p: &crate::load::stats::PhaseReport) -> Vec<(crate::core::classify::Class, u64, u64)> {
    let mut v: Vec<_> = p
        .classes
        .iter()
        .filter(|c| c.class != crate::core::classify::Class::Ok)
        .filter_map(|c| Some((c.class, c.first_second?, c.rate_at_first.unwrap_or(0))))
        .collect();
    v.sort_by_key(|(c, s, _)| (*s, *c));
    v
}

/// `breaks` in words: `throttled at 2s (79 sent/s) → eni_limit at 2s (79 sent/s)`.
pub fn breaks_line(p: &crate::load::stats::PhaseReport) -> Option<String> {
    let b = breaks(p);
    (!b.is_empty()).then(|| {
        b.iter()
            .map(|(c, s, r)| format!("{c} at {s}s ({r}/s)"))
            .collect::<Vec<_>>()
            .join(" → ")
    })
}
