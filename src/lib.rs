//! xinvoke: invoke AWS Lambda functions across accounts, classify every outcome, retry with
//! judgement, and load-test the path.
//!
//! The library is what the `invoker` Lambda function runs, for a function of your own: a
//! [`Service`] built once from [`Settings`] (the targets, how to reach each: the function's own
//! role or a role to assume in the target's account, the retry policy, the deadline margin) and
//! an AWS config, then one [`Service::invoke`] per [`Call`], which answers an [`InvokeRecord`]:
//! every attempt, each outcome's [`Class`], why it stopped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // XINVOKE_TARGET_ARN, XINVOKE_ROLE_ARN, XINVOKE_EXTERNAL_ID, ... (docs/configuration.md)
//! let settings = xinvoke::Settings::from_env()?;
//! let base = xinvoke::base_config(settings.timeouts()).await;
//! let service = xinvoke::Service::new(settings, &base).await;
//! let record = service.invoke(xinvoke::Call::payload(br#"{"hello":"world"}"#.to_vec()), None).await?;
//! println!("{}: {} attempt(s)", record.class(), record.attempts);
//! # Ok(()) }
//! ```
//!
//! [`Service`]'s own example does the same against the crate's local endpoint, without AWS.
//!
//! The rest is reached through one entry point each: the two Lambda functions
//! ([`lambdas`]), the local AWS endpoint ([`local`]), the HTTP gateway ([`gateway`]) and the
//! command line (`cli`, feature `cli`). Everything else is the crate's own
//! (docs/architecture.md).
#![warn(missing_docs)]
// The Lambda bootstraps build without the `cli` feature: the policy printer, the diagnosis, the
// load reports and the probes are compiled there but only the command line calls them (LTO
// drops them from the bootstrap). Dead code is found by the default build, which clippy checks
// with -D warnings; this keeps `cargo lambda build` and `sam build` free of ~190 warnings.
#![cfg_attr(not(feature = "cli"), allow(dead_code, unused_imports))]

mod adapters;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
mod demo;
mod domain;
pub mod gateway;
mod invoke;
pub mod lambdas;
mod load;
pub mod local;
mod serve;

#[cfg(test)]
mod tests;

/// The insides `examples/xbench.rs` measures (feature `bench`, built by `scripts/bench.sh`):
/// the retry loop on a stand-in attempt, the statistics, the local endpoint's handler. Not an
/// API: it follows the code, not semver.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench {
    pub use crate::domain::classify::{RawOutcome, ServiceError};
    pub use crate::domain::invocation::{Attempter, InvocationType, InvokeRequest};
    pub use crate::domain::retry::{RetryBudget, RetryPolicy};
    pub use crate::invoke::runner::Runner;
    pub use crate::load::record::{LoadRecord, PhaseInfo};
    pub use crate::load::stats::Metrics;
    pub use crate::local::lambda_api::handle as local_handle;
    pub use crate::local::sigv4::ReceivedRequest;
    pub use crate::local::world::World;
}

// The tests moved here from `tests/` name the crate as its users do.
#[cfg(test)]
extern crate self as xinvoke;

pub use adapters::clients::{base_config, endpoint_config};
pub use adapters::config::{ConfigError, Settings, TargetError, Timeouts};
pub use adapters::signed::{InvokePath, UnknownPath};
pub use adapters::transport::sdk_http_client as http_client;
pub use domain::class::Class;
pub use domain::classify::Classification;
pub use domain::invocation::InvocationType;
pub use domain::record::{AttemptRecord, InvokeRecord, ATTEMPTS_HEADER, CLASS_HEADER};
pub use domain::retry::{ClassPolicy, Jitter, RetryPolicy, StopReason};
pub use invoke::service::{Call, Service};
pub use serve::ServeLimits;
