//! Why a demo could not run: the local endpoint, its control API, the settings or routes it
//! builds. Each says what failed as the part that failed says it.

use crate::adapters::config::{ConfigError, TargetError};
use crate::lambdas::http::RoutesError;
use crate::local::client::ControlError;
use crate::local::LocalError;

/// Why a demo could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Routes(#[from] RoutesError),
    /// The delivery table's routes gave no gateway.
    #[error("--delivery: the demo's routes did not load")]
    NoRoutes,
}
