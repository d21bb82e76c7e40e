//! Reports of a finished run: text (stdout), JSON (`--json`, schema `xinvoke.load.v1`,
//! described by `schemas/load-report.schema.json`) and one self-contained HTML page.
//! They read a [`Report`](crate::load::stats::Report) only.

pub mod html;
pub mod text;

use crate::domain::class::Class;
use crate::load::stats::{PhaseReport, Report};
use std::collections::BTreeSet;

/// Every class a comparison of phases shows: final outcomes and failed attempts of any phase.
pub(crate) fn compared_classes(phases: &[PhaseReport]) -> BTreeSet<Class> {
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

/// A phase's cell in the comparison: the invokes that ended in `class`, and beside them in
/// brackets the attempts that met it when retries hid some (`3 (41)`).
pub(crate) fn comparison_cell(p: &PhaseReport, class: Class) -> String {
    let finals = p.classes.iter().find(|c| c.class == class).map_or(0, |c| c.count);
    let attempts = p
        .attempt_classes
        .iter()
        .find(|a| a.class == class)
        .map_or(0, |a| a.count);
    if class == Class::Ok || attempts == finals {
        finals.to_string()
    } else {
        format!("{finals} ({attempts})")
    }
}

/// `--via invoker`: the comparison's rows of first-hop failures (`invoker: CLASS`), with each
/// phase's count.
pub fn invoker_rows(phases: &[PhaseReport]) -> Vec<(String, Vec<u64>)> {
    let classes: BTreeSet<&String> = phases
        .iter()
        .filter_map(|p| p.hops.as_ref())
        .flat_map(|h| h.invoker.keys())
        .filter(|c| c.as_str() != "ok")
        .collect();
    classes
        .into_iter()
        .map(|c| {
            let counts = phases
                .iter()
                .map(|p| p.hops.as_ref().and_then(|h| h.invoker.get(c)).copied().unwrap_or(0))
                .collect();
            (format!("invoker: {c}"), counts)
        })
        .collect()
}

/// The JSON report, pretty-printed.
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Where a phase breaks: each failure class with the second it first appeared and the
/// requests sent in that second, earliest first.
pub(crate) fn breaks(p: &PhaseReport) -> Vec<(Class, u64, u64)> {
    let mut v: Vec<_> = p
        .classes
        .iter()
        .filter(|c| c.class != Class::Ok)
        .filter_map(|c| Some((c.class, c.first_second?, c.rate_at_first.unwrap_or(0))))
        .collect();
    v.sort_by_key(|(c, s, _)| (*s, *c));
    v
}

/// `breaks` in words: `throttled at 2s (79 sent/s) → eni_limit at 2s (79 sent/s)`.
pub(crate) fn breaks_line(p: &PhaseReport) -> Option<String> {
    let b = breaks(p);
    (!b.is_empty()).then(|| {
        b.iter()
            .map(|(c, s, r)| format!("{c} at {s}s ({r}/s)"))
            .collect::<Vec<_>>()
            .join(" → ")
    })
}
