//! The application: what a caller of xinvoke uses to invoke, built from the core's decisions
//! and the adapters' clients. The attempt loop ([`runner`]), the service that holds the
//! configured targets and their clients ([`service`]), and doctor's checks in order
//! ([`doctor`]). Nothing here touches the SDK or HTTP itself: the adapters do.

pub mod doctor;
pub mod runner;
pub mod service;
