//! The two Lambda handlers: `invoker` (account 1) and `target` (account 2). Thin: decode the
//! event, call the core through the service (or, for HTTP requests, the gateway's routes),
//! encode the answer.

pub mod event;
pub mod http;
pub mod invoker;
pub mod metrics;
pub mod target;
