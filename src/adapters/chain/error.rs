//! What broke: the link of the chain, said with its fix ([`ChainError`]), and what the base
//! chain said when it gave nothing (read by each link's explanation).

/// The link of the chain that broke, each said with its fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The configuration has no credentials provider at all.
    #[error("no credentials provider is configured")]
    NoProvider,
    /// The base chain gave nothing: the missing link (a variable, a token file, a profile, an
    /// SSO token, a container endpoint) and what to do, as `explain_base` says it.
    #[error("{0}")]
    Base(String),
    /// STS refused AssumeRole: the role's trust, or the caller's permission.
    #[error("STS refused AssumeRole on {role}: its trust policy (in account {account}) must name the gateway's role as Principal with Condition StringEquals sts:ExternalId = the upstream's external id, and the gateway's role needs sts:AssumeRole on {role} (`xinvoke policy --mode role` prints both)")]
    AssumeRoleRefused {
        /// The role.
        role: String,
        /// The role's account.
        account: String,
    },
    /// STS answered AssumeRole with another error.
    #[error("STS answered {code} to AssumeRole on {role} in {region}")]
    AssumeRoleAnswered {
        /// STS's error code.
        code: String,
        /// The role.
        role: String,
        /// The region asked.
        region: String,
    },
    /// STS could not be reached.
    #[error("STS in {region} did not answer AssumeRole on {role}: check the network path to sts.{region}.amazonaws.com (or AWS_ENDPOINT_URL_STS)")]
    StsUnreachable {
        /// The role.
        role: String,
        /// The region asked.
        region: String,
    },
    /// AssumeRole failed otherwise: the SDK's error chain, on one line.
    #[error("AssumeRole on {role} failed: {cause}")]
    AssumeRoleFailed {
        /// The role.
        role: String,
        /// The error and its causes.
        cause: String,
    },
}

/// What the base chain said when it gave nothing.
#[derive(Debug, Default)]
pub(super) struct Failure {
    /// The error and its causes, on one line.
    pub(super) cause: String,
    /// The code STS answered (web identity), if any.
    pub(super) code: Option<String>,
    /// A service the chain called (an SSO portal, STS) could not be reached at all.
    pub(super) unreachable: bool,
}
