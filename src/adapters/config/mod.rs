//! Configuration, read once at start and validated there, so a bad value fails the cold start
//! (or the command) with a message naming the setting and the fix. Two sources give typed
//! values ([`Given`]): the environment (`XINVOKE_*`, what the Lambdas read) and, for the CLI,
//! flags already parsed by clap; flags win. [`Settings::resolve`] then checks what only the
//! whole can tell (a role needs an external id, ...). An error names its setting as data
//! ([`Name`]): the variable in a Lambda, the flag and its variable on the command line. Secrets
//! (the external id) never appear in `Debug` output or errors.

mod auth;
mod given;
mod names;
mod settings;
mod values;

pub use auth::{AssumeRole, Auth};
pub use given::{process_env, Given, NamedTarget};
pub use names::{flag_name, keys, ConfigError, Context, TargetError};
pub use settings::{Settings, TargetConfig, Timeouts};
pub use values::{ExternalId, GatewaySource, SessionName};
