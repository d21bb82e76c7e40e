//! xinvoke: invoke AWS Lambda functions across accounts, classify every outcome, retry with
//! judgement, and load-test the path. See README.md for the two commands that matter.

pub mod adapters;
#[cfg(feature = "cli")]
pub mod cli;
pub mod domain;
pub mod gateway;
pub mod invoke;
pub mod lambdas;
pub mod load;
pub mod local;
pub mod serve;
