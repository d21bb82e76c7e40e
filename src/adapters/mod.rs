//! Adapters: the only code that touches the AWS SDK, HTTP, tokio's clock and the environment.
//! They translate between the outside world and the core, and decide nothing themselves.

pub mod checks;
pub mod clients;
pub mod config;
pub mod credentials;
pub mod fast;
pub mod lambda;
pub mod logging;
pub mod runner;
pub mod service;
pub mod sigv4;
pub mod transport;
