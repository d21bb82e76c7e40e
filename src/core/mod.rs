//! The pure core: ARNs and config types, the outcome record, `classify`, the retry policy and
//! budget, and the sample target's behaviour. Plain data in, plain data out: no SDK, no HTTP,
//! no runtime, no environment.

pub mod behaviour;
