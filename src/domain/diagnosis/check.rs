//! One line of doctor's checklist: its status (✓, ✗, ·), what was found, and under a failure
//! exactly what to attach or run.

use crate::domain::class::Class;
use serde::Serialize;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine (✓).
    Pass,
    /// A problem; `fix` says what to do (✗).
    Fail,
    /// Neutral: not visible to this caller, or worth knowing (·).
    Info,
    /// Works, but something that should be there is not; `fix` says what to set (!).
    Warn,
    /// Not applicable, or not run because an earlier check failed (·).
    Skip,
}

impl Status {
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
            Status::Info | Status::Skip => "·",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Stable name: `caller_identity`, `assume_role`, `trust_external_id`, `invoke_permission`,
    /// `function`, `alias` (or `version` for a version-qualified target).
    pub name: &'static str,
    pub status: Status,
    /// One sentence.
    pub summary: String,
    /// The class of the failure, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    /// What to attach or run (failures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A check without a fix (pass, info, skip).
    pub fn new(name: &'static str, status: Status, summary: impl Into<String>) -> Check {
        Check {
            name,
            status,
            summary: summary.into(),
            class: None,
            fix: None,
        }
    }

    /// A failed check with its class and fix.
    pub fn fail(name: &'static str, class: Option<Class>, summary: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            summary: summary.into(),
            class,
            fix: Some(fix.into()),
        }
    }
}

/// A JSON document, indented for pasting.
pub(crate) fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
