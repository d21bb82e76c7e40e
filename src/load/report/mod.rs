//! Reports of a finished run: text (stdout), JSON (`--json`, schema `xinvoke.load.v1`,
//! described by `schemas/load-report.schema.json`) and one self-contained HTML page.
//! They read a [`Report`](crate::load::stats::Report) only.

pub mod html;
pub mod text;

use crate::load::stats::Report;

/// The JSON report, pretty-printed.
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
