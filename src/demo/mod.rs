//! `xinvoke demo`: two runs on the built-in local endpoint, no AWS needed. The tour
//! (`tour`) invokes once per situation, both auth modes and the VPC failures; the delivery
//! table (`delivery`) measures docs/lambdas.md's table, each trigger x class. Both are
//! scenarios run through the same entry points as everything else: the endpoint is
//! [`LocalServer::start`](crate::local::LocalServer::start) with the built-in
//! [`Scenario`](crate::local::Scenario) (what `xinvoke local` serves), faults go through its
//! control API, the invokes through the invoker's `Service` and handler. Each run is a value
//! the CLI steps through and prints: `start`, `next` until none is left, `finish`.

mod delivery;
mod error;
mod tour;
mod world;

pub(crate) use delivery::{Delivery, Trigger};
pub(crate) use error::DemoError;
pub(crate) use tour::Tour;
