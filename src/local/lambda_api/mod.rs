//! The Lambda REST API as the SDKs see it: `Invoke` (sync, Event, DryRun) with its limits,
//! authorization, lifecycle states, throttles and VPC failures, and the read calls
//! `GetFunctionConfiguration`, `GetPolicy`, `GetAlias`, `ListFunctions` and `ListAliases`.

mod configuration;
mod invoke;
mod list;
mod permissions;
mod request;
mod routing;
mod validate;

pub use invoke::run_event;
pub(crate) use invoke::sync_too_large;
pub use routing::handle;
