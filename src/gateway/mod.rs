//! The HTTP front for cross-account functions (`xinvoke gateway`, and the invoker Lambda behind
//! API Gateway or a Function URL): a file of upstreams and routes ([`config`]), which route takes
//! a request ([`routes`]), and what a client gets back ([`answer`]) — all pure — around the
//! server ([`server`]), its metrics and the upstreams' services ([`upstreams`]).

pub mod answer;
pub mod config;
pub mod discovery;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod upstreams;
