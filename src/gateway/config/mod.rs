//! The gateway's file: upstreams (an account's Lambda functions and how to be allowed to invoke
//! them) and routes (HTTP matchers to a function). Two spellings load into one model:
//!
//! - xinvoke's own, `upstreams:` and `routes:` (YAML, TOML or JSON), with Gloo's field names;
//! - Gloo Edge resources, `kind: Upstream` (`spec.aws`) and `kind: VirtualService`
//!   (`spec.virtualHost.routes`), as Gloo's guides write them, several documents in one file.
//!
//! Every error names the file, the field (`routes[1].matchers[0].regex`) and the fix.

mod check;
mod error;
mod file;
mod gloo;
mod load;
mod model;

pub use error::ConfigError;
pub use load::Format;
pub use model::*;
