//! What the probes found, as plain data: the caller, the function's configuration and aliases,
//! the endpoints in use, and which part of a target's ARN was not found.

use crate::domain::class::Class;
use serde::Serialize;

/// The caller as STS sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    pub account: String,
    /// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, or an IAM user's ARN.
    pub arn: String,
}

/// What GetFunctionConfiguration says about readiness and networking.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FunctionConfig {
    pub state: Option<String>,
    pub state_reason_code: Option<String>,
    pub last_update_status: Option<String>,
    pub last_update_status_reason_code: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// The function's timeout in seconds (what a load worker's slices must fit in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u32>,
    /// `TenancyConfig.TenantIsolationMode` (`PER_TENANT`): every invoke must name a tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_isolation: Option<String>,
}

/// What GetAlias says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasInfo {
    pub name: String,
    pub function_version: String,
}

/// Where doctor calls a service: the URL its SDK resolved, or why none was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEndpoint {
    /// `lambda` or `sts`.
    pub service: &'static str,
    /// The URL, when one was resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why none was (the resolver's words).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ServiceEndpoint {
    /// A resolver's answer for `service`.
    pub fn new<E: std::fmt::Display>(service: &'static str, url: Result<String, E>) -> ServiceEndpoint {
        match url {
            Ok(url) => ServiceEndpoint {
                service,
                url: Some(url),
                error: None,
            },
            Err(e) => ServiceEndpoint {
                service,
                url: None,
                error: Some(e.to_string()),
            },
        }
    }
}

/// What a ResourceNotFound on the qualified target means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The function exists; its alias or version does not.
    Qualifier,
    /// The function does not exist.
    Function,
    /// One of the two; the caller may not see which.
    Either,
}

impl Missing {
    /// From the class of a DryRun Invoke of the unqualified function, made after the qualified
    /// one answered ResourceNotFound. Lambda checks existence before the resource policy, so a
    /// resource-side denial also proves the function exists; an identity-side one proves nothing.
    pub(crate) fn from_unqualified(class: Class) -> Missing {
        match class {
            Class::NotFound => Missing::Function,
            Class::Ok | Class::AccessDeniedResource => Missing::Qualifier,
            _ => Missing::Either,
        }
    }
}
