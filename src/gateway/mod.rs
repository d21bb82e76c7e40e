//! The HTTP front for cross-account functions (`xinvoke gateway`, and the invoker Lambda behind
//! API Gateway or a Function URL): a file of upstreams and routes (`config`), which route takes
//! a request (`routes`), and what a client gets back (`answer`) — all pure — around the
//! server (`server`), its metrics and the upstreams' services (`upstreams`). One request's
//! way from route to answer is `Gateway::handle`, which both fronts use.
//!
//! Embedders start a [`GatewayServer`] (its example serves `examples/gateway.yaml` in front of
//! the local endpoint); [`Options`] and [`TlsFiles`] say how it runs, [`GatewayError`] why it
//! does not.

pub(crate) mod answer;
pub(crate) mod config;
pub(crate) mod discovery;
pub(crate) mod front;
pub(crate) mod metrics;
pub(crate) mod routes;
pub(crate) mod server;
pub(crate) mod upstreams;

pub(crate) use front::Gateway;
pub use server::{GatewayError, GatewayServer, Options, TlsFiles};
