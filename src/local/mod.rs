//! The local endpoint: an HTTP server that answers like AWS Lambda and STS, so real SDK
//! clients (Rust, boto3) pointed at it with `endpoint_url` see what they would see from AWS:
//! SigV4 checks, IAM decisions with AWS's wording, Invoke's statuses, headers and limits,
//! lifecycle states, throttles and the VPC/ENI failures that emerge under concurrency. It is
//! the test bed of the whole project and the `xinvoke local` command.
//!
//! ```no_run
//! # async fn demo() -> Result<(), xinvoke::local::LocalError> {
//! use xinvoke::local::{LocalServer, Scenario};
//! let server = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Any SDK or the AWS CLI works against it with the keys of [`builtin`], e.g.
//! `AWS_ACCESS_KEY_ID=ASIAXINVOKESOURCE001 AWS_SECRET_ACCESS_KEY=xinvoke-local-source-secret
//! AWS_SESSION_TOKEN=IQoJxinvokelocalsourcesessiontoken00000000000001 aws --endpoint-url http://127.0.0.1:4590 --region us-east-1 lambda invoke
//! --function-name arn:aws:lambda:us-east-1:222222222222:function:target:live out.json`.
//!
//! Choices where AWS is silent or the model simplifies:
//! - A role's fixed credentials are a session of it, as Lambda hands a function its
//!   execution role's: an `ASIA` key with a session token, whose identity is
//!   `arn:aws:sts::ACCT:assumed-role/ROLE/<session_name>` (default `xinvoke-local`) and whose
//!   AssumeRole calls are role chaining (1 hour at most). Long-term `AKIA` keys are IAM
//!   users' (`arn:aws:iam::ACCT:user/NAME`).
//! - `X-Amz-Log-Type: Tail` across accounts answers 403 AccessDeniedException
//!   "Cross-account log access is not allowed".
//! - 4xx errors carry `"Type":"User"`, 5xx `"Type":"Service"`.
//! - Per-environment ENIs: the ENI quota, subnet IPs and EC2 API bucket are per function (one
//!   VPC per function). Hyperplane ENIs: per account (`hyperplane`).
//! - An `Event` invoke checks existence, permission, size and JSON before it is queued (and
//!   answers those errors at once); state, throttles, network and 5xx are met when the queue
//!   runs it, and retried as Lambda does (`async_invoke`). Injected 4xx faults apply when it
//!   is accepted, throttles and 5xx when it runs.
//! - Inactive reclaims the function's Hyperplane ENI at once when no other function uses its
//!   combination (AWS reclaims it after weeks idle; the function is Inactive by then).
//! - The control API is described in `control`.

pub(crate) mod async_invoke;
pub mod builtin;
pub(crate) mod client;
pub(crate) mod clock;
pub(crate) mod control;
pub(crate) mod errors;
pub(crate) mod executions;
pub(crate) mod faults;
pub(crate) mod function;
pub(crate) mod hyperplane;
pub(crate) mod iam;
pub(crate) mod ids;
pub(crate) mod json_answer;
pub(crate) mod json_protocol;
pub(crate) mod lambda_api;
mod name_map;
pub(crate) mod oidc;
pub(crate) mod organizations;
pub(crate) mod scenario;
pub(crate) mod server;
pub(crate) mod shared;
pub(crate) mod sigv4;
pub(crate) mod ssm;
pub(crate) mod stats;
pub(crate) mod sts;
pub(crate) mod upstream;
pub(crate) mod vpc;
pub(crate) mod world;

pub use client::{ControlClient, ControlError};
pub use oidc::TokenRequest;
pub use scenario::{Scenario, ScenarioError, Secret};
pub use server::{LocalError, LocalServer};
pub use stats::Stats;

pub(crate) use name_map::NameMap;
