//! The local endpoint: an HTTP server that answers like AWS Lambda and STS, so real SDK
//! clients (Rust, boto3) pointed at it with `endpoint_url` see what they would see from AWS:
//! SigV4 checks, IAM decisions with AWS's wording, Invoke's statuses, headers and limits,
//! lifecycle states, throttles and the VPC/ENI failures that emerge under concurrency. It is
//! the test bed of the whole project and the `xinvoke local` command.
//!
//! This one serves the built-in scenario on a free port, invokes the target's alias through
//! aws-sdk-lambda as account 1's invoker role, and counts what the endpoint answered:
//!
//! ```
//! use aws_sdk_lambda::primitives::Blob;
//! use xinvoke::local::{builtin, LocalServer, Scenario};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
//! assert_eq!(server.url(), format!("http://{}", server.addr()));
//! // The session Lambda would hand the invoker function (its execution role, account 1).
//! let keys = aws_credential_types::Credentials::from_keys(
//!     builtin::SOURCE_ACCESS_KEY,
//!     builtin::SOURCE_SECRET_KEY,
//!     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
//! );
//! let config = xinvoke::endpoint_config(xinvoke::Timeouts::default(), server.url(), keys, builtin::REGION).await;
//! let lambda = aws_sdk_lambda::Client::new(&config);
//! let answer = lambda
//!     .invoke()
//!     .function_name(builtin::TARGET_ALIAS_ARN)
//!     .payload(Blob::new(r#"{"order":42}"#))
//!     .send()
//!     .await?;
//! assert_eq!((answer.status_code(), answer.executed_version()), (200, Some("1")));
//! assert_eq!(answer.function_error(), None);
//!
//! let stats = server.stats(); // as GET /_local/stats answers
//! assert_eq!(stats.invokes, 1);
//! assert_eq!(stats.invokes_by_status.get("200"), Some(&1));
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
