//! What is wrong with a gateway file: the file, the field, the problem and the fix, one line.

use std::fmt;

/// The file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, or `<config>`.
    pub source: String,
    /// The field, e.g. `routes[1].upstream`; empty for the whole file.
    pub field: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field.is_empty() {
            true => write!(f, "{}: {}", self.source, self.problem)?,
            false => write!(f, "{}: {}: {}", self.source, self.field, self.problem)?,
        }
        if !self.fix.is_empty() {
            write!(f, "; {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A parser's message on one line (YAML and TOML errors span several).
pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
