//! The invoker Lambda's handler as a value the load harness calls in this process (`--via
//! handler`, and the invoker function the local endpoint forwards to for `--via invoker` and
//! `--via lambda-workers`). `lambdas` provides it (`lambdas::invoker::handler`); `load` never
//! names `lambdas`, which uses the load engine for its own `load` event.

use crate::invoke::service::Service;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// The invoker's handler: an event and the service it invokes through in, its answer or its
/// error out. One value serves a whole run; the service is the phase's (fresh clients, its
/// retry policy).
pub trait InvokerHandler: Send + Sync + 'static {
    /// Handle one event as the invoker Lambda would.
    fn handle<'a>(&'a self, service: &'a Service, event: Value) -> HandlerFuture<'a>;

    /// The EMF documents the invoker wrote since last asked (its metrics, as CloudWatch would
    /// read them from its log).
    fn metrics(&self) -> Vec<Value> {
        Vec::new()
    }
}

/// The invoker's answer to one event, or its error.
pub(crate) type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, HandlerError>> + Send + 'a>>;

/// An invoker's error answer, as Lambda reports a function error.
#[derive(Debug, Clone)]
pub struct HandlerError {
    /// `errorType`: the outcome's class, or `invalid_event`.
    pub error_type: String,
    /// `errorMessage`: the record as JSON, or what was wrong with the event.
    pub error_message: String,
}
