//! The pure core: ARNs and config types, the outcome record, `classify`, the retry policy and
//! budget, and the sample target's behaviour. Plain data in, plain data out: no SDK, no HTTP,
//! no runtime, no environment.

pub mod arn;
pub mod behaviour;
pub mod class;
pub mod classify;
pub mod delivery;
pub mod diagnosis;
pub mod duration;
pub mod errors;
pub mod invocation;
pub mod policy;
pub mod record;
pub mod retry;
pub mod sigv4;
pub mod utc;
