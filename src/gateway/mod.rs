//! The HTTP front for cross-account functions (`xinvoke gateway`, and the invoker Lambda behind
//! API Gateway or a Function URL): a file of upstreams and routes ([`config`]), which route takes
//! a request ([`routes`]), and what a client gets back ([`answer`]) — all pure — around the
//! server ([`server`]), its metrics and the upstreams' services ([`upstreams`]). One request's
//! way from route to answer is [`Gateway::handle`], which both fronts use.

pub mod answer;
pub mod config;
pub mod discovery;
pub mod front;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod upstreams;

pub use front::{Gateway, Routed};
