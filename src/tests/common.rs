//! The crate's tests' set-up: `tests/common` (the local endpoint, its control API, SDK clients,
//! services built as the invoker builds them), and what only the crate's insides can say.
#![allow(dead_code)]

#[path = "../../tests/common/mod.rs"]
mod shared;
pub(crate) use shared::*;

/// Whether a fault of this error applies when a queued event runs (a throttle or a 5xx), not
/// when the `Event` invoke is accepted.
pub fn applies_when_run(error: &str) -> bool {
    xinvoke::domain::errors::lambda_error(error).is_some_and(|r| r.status >= 500 || r.status == 429)
}
