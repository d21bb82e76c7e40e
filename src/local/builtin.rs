//! Constants of the built-in scenario (`builtin.toml`), for other modules and tests: its
//! accounts, roles, keys and the target's ARNs, checked against the file by the scenario's
//! tests.
//!
//! ```
//! use xinvoke::local::{builtin, LocalServer, Scenario};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
//! let keys = aws_credential_types::Credentials::from_keys(
//!     builtin::SOURCE_ACCESS_KEY,
//!     builtin::SOURCE_SECRET_KEY,
//!     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
//! );
//! let config = xinvoke::endpoint_config(xinvoke::Timeouts::default(), server.url(), keys, builtin::REGION).await;
//! let sts = aws_sdk_sts::Client::new(&config);
//! let me = sts.get_caller_identity().send().await?;
//! assert_eq!(me.account(), Some(builtin::SOURCE_ACCOUNT));
//! assert_eq!(me.arn(), Some("arn:aws:sts::111111111111:assumed-role/xinvoke-source/xinvoke-local"));
//!
//! // Account 2's invoke role trusts the source role with the external id, and only with it.
//! let assume = || sts.assume_role().role_arn(builtin::INVOKE_ROLE_ARN).role_session_name("docs");
//! let session = assume().external_id(builtin::EXTERNAL_ID).send().await?;
//! let user = session.assumed_role_user().expect("an assumed role");
//! assert_eq!(user.arn(), "arn:aws:sts::222222222222:assumed-role/xinvoke-invoke/docs");
//! let refused = assume().send().await.unwrap_err().into_service_error();
//! assert_eq!(refused.meta().code(), Some("AccessDenied"));
//! server.shutdown().await;
//! # Ok(()) }
//! ```

/// Region served.
pub const REGION: &str = "us-east-1";
/// Account 1, where the invoker runs.
pub const SOURCE_ACCOUNT: &str = "111111111111";
/// Account 2, where the target runs.
pub const TARGET_ACCOUNT: &str = "222222222222";
/// The invoker's role in account 1.
pub const SOURCE_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/xinvoke-source";
/// Access key of a session of `xinvoke-source` (the invoker's execution role: Lambda
/// hands a function `ASIA` keys with a session token).
pub const SOURCE_ACCESS_KEY: &str = "ASIAXINVOKESOURCE001";
/// Secret key of that session.
pub const SOURCE_SECRET_KEY: &str = "xinvoke-local-source-secret";
/// Session token of that session (`AWS_SESSION_TOKEN`).
pub const SOURCE_SESSION_TOKEN: &str = "IQoJxinvokelocalsourcesessiontoken00000000000001";
/// Long-term access key of the IAM user `xinvoke-stranger` (account 1, no policy).
pub const STRANGER_ACCESS_KEY: &str = "AKIAXINVOKESTRANGER1";
/// Secret key of `xinvoke-stranger`.
pub const STRANGER_SECRET_KEY: &str = "xinvoke-local-stranger-secret";
/// Long-term access key of the operator, IAM user `xinvoke-admin` (account 2).
pub const ADMIN_ACCESS_KEY: &str = "AKIAXINVOKEADMIN0001";
/// Secret key of `xinvoke-admin`.
pub const ADMIN_SECRET_KEY: &str = "xinvoke-local-admin-secret";
/// The role in account 2 that `xinvoke-source` may assume.
pub const INVOKE_ROLE_ARN: &str = "arn:aws:iam::222222222222:role/xinvoke-invoke";
/// The ExternalId its trust policy requires.
pub const EXTERNAL_ID: &str = "xinvoke-local-external-id";
/// The target function.
pub const TARGET_FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:222222222222:function:target";
/// The target's alias `live` (→ version 1), the only ARN account 1 may invoke directly.
pub const TARGET_ALIAS_ARN: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";
/// The OIDC issuer of account 1's EKS cluster (`iss` of its service-account tokens).
pub const OIDC_ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
/// Its IAM OIDC identity provider in account 1.
pub const OIDC_PROVIDER_ARN: &str =
    "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
/// The audience (client id) the provider accepts, as EKS writes it in pods' tokens.
pub const OIDC_AUDIENCE: &str = "sts.amazonaws.com";
/// The role account 1's pods get with their token (AssumeRoleWithWebIdentity); it may
/// assume [`INVOKE_ROLE_ARN`] with [`EXTERNAL_ID`].
pub const WEB_IDENTITY_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/xinvoke-web-identity";
/// The subject its trust policy requires: service account `gateway` of namespace `xinvoke`.
pub const WEB_IDENTITY_SUBJECT: &str = "system:serviceaccount:xinvoke:gateway";
