//! Adapters: the only code that touches the outside: the AWS SDK, HTTP, credentials, the
//! environment, logs. They translate between the outside world and the core, and decide
//! nothing themselves.

pub mod chain;
pub mod clients;
pub mod cloudwatch;
pub mod config;
pub mod credentials;
pub mod endpoints;
pub mod failure_queue;
pub mod json_protocol;
pub mod lambda;
pub mod logging;
pub mod probes;
pub mod signed;
pub mod sigv4;
pub mod ssm;
pub mod transport;
