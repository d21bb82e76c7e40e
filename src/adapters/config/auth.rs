//! How the invoker is allowed to call a target: its own credentials (the target's resource
//! policy names it) or a role assumed in the target's account, with its external id and
//! session name.

use crate::adapters::config::values::ExternalId;
use crate::domain::arn::RoleArn;

/// How the invoker is allowed to call a target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Resource-based: the invoker's own credentials; the target's resource policy names it.
    ExecutionRole,
    /// Role chaining: assume a role in the target's account first.
    AssumeRole(AssumeRole),
}

/// The role to assume and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssumeRole {
    pub role_arn: RoleArn,
    /// The trust policy's `sts:ExternalId`. Only a gateway upstream may go without one (Gloo's
    /// resources have no such field); every flag and variable of the CLI and the invoker
    /// requires it.
    pub external_id: Option<ExternalId>,
    pub session_name: String,
}
