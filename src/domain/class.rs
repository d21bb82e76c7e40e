//! The classes every outcome falls into: the vocabulary the error table, the classifier, the
//! retry policy and every record share, so each of them can name a class without the others.
//! (Which class an error name has is the table's fact: [`Class::of_lambda_error`], in
//! `classify`.)

use serde::{Deserialize, Serialize};
use std::fmt;

/// The classes every outcome falls into. Names are stable (snake_case in JSON and reports).
///
/// A record's `X-Xinvoke-Class` header or JSON carries the name; read it back with
/// [`Class::from_name`]:
///
/// ```
/// use xinvoke::Class;
/// assert_eq!(Class::from_name("eni_limit"), Some(Class::EniLimit));
/// assert_eq!(Class::EniLimit.name(), "eni_limit");
/// assert_eq!(Class::EniLimit.to_string(), "eni_limit");
/// assert_eq!(serde_json::to_string(&Class::NotReady).unwrap(), r#""not_ready""#);
/// assert_eq!(Class::from_name("EniLimit"), None); // names are snake_case only
/// // ALL lists each class once, and every name reads back.
/// assert_eq!(Class::ALL.len(), 26);
/// assert!(Class::ALL.iter().all(|c| Class::from_name(c.name()) == Some(*c)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// The function ran and answered.
    Ok,
    /// The function ran and failed (`X-Amz-Function-Error`): never retried, it ran.
    FunctionError,
    /// Lambda throttled the invoke (`TooManyRequestsException`, 429).
    Throttled,
    /// EC2 throttled Lambda while it set up the function's VPC network.
    Ec2Throttled,
    /// The function's VPC has no room for another network interface.
    EniLimit,
    /// EC2's request limit was reached while Lambda set up the VPC network.
    Ec2RequestLimit,
    /// The function's subnets have no free IP address.
    SubnetIpLimit,
    /// EC2 answered Lambda with an unexpected error.
    Ec2Unexpected,
    /// The function's VPC configuration is wrong (subnet, security group).
    VpcConfig,
    /// The function is not ready yet (Pending, or waking from Inactive).
    NotReady,
    /// The caller's identity policy does not allow the invoke.
    AccessDeniedIdentity,
    /// The target's resource policy does not name the caller.
    AccessDeniedResource,
    /// Access was denied, and the answer does not say which side.
    AccessDenied,
    /// The function, version or alias does not exist.
    NotFound,
    /// The request itself is wrong (parameters, payload, mode).
    InvalidRequest,
    /// The payload or the answer is over Lambda's size limit.
    PayloadTooLarge,
    /// A service quota is exceeded.
    Quota,
    /// The function's KMS key cannot be used.
    Kms,
    /// The function's file system cannot be mounted.
    Efs,
    /// Lambda failed on its side (5xx).
    Service,
    /// No answer within the attempt timeout: the target may have run.
    Timeout,
    /// The connection failed: the request was not sent.
    Connect,
    /// No credentials to sign with, or the role could not be assumed.
    Credentials,
    /// STS throttled the call that opens the assumed-role session.
    StsThrottled,
    /// STS failed (5xx) or could not reach an identity provider while opening the session.
    StsUnavailable,
    /// A durable target already has an execution of this message's name (Invoke's
    /// `DurableExecutionAlreadyStartedException`): the message's work is started, never retried.
    AlreadyDone,
}

impl Class {
    /// The class of a snake_case name (as headers and JSON carry it).
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Every class, in report order.
    pub const ALL: [Class; 26] = [
        Class::Ok,
        Class::FunctionError,
        Class::Throttled,
        Class::Ec2Throttled,
        Class::EniLimit,
        Class::Ec2RequestLimit,
        Class::SubnetIpLimit,
        Class::Ec2Unexpected,
        Class::VpcConfig,
        Class::NotReady,
        Class::AccessDeniedIdentity,
        Class::AccessDeniedResource,
        Class::AccessDenied,
        Class::NotFound,
        Class::InvalidRequest,
        Class::PayloadTooLarge,
        Class::Quota,
        Class::Kms,
        Class::Efs,
        Class::Service,
        Class::Timeout,
        Class::Connect,
        Class::Credentials,
        Class::StsThrottled,
        Class::StsUnavailable,
        Class::AlreadyDone,
    ];

    /// The class's stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::FunctionError => "function_error",
            Class::Throttled => "throttled",
            Class::Ec2Throttled => "ec2_throttled",
            Class::EniLimit => "eni_limit",
            Class::Ec2RequestLimit => "ec2_request_limit",
            Class::SubnetIpLimit => "subnet_ip_limit",
            Class::Ec2Unexpected => "ec2_unexpected",
            Class::VpcConfig => "vpc_config",
            Class::NotReady => "not_ready",
            Class::AccessDeniedIdentity => "access_denied_identity",
            Class::AccessDeniedResource => "access_denied_resource",
            Class::AccessDenied => "access_denied",
            Class::NotFound => "not_found",
            Class::InvalidRequest => "invalid_request",
            Class::PayloadTooLarge => "payload_too_large",
            Class::Quota => "quota",
            Class::Kms => "kms",
            Class::Efs => "efs",
            Class::Service => "service",
            Class::Timeout => "timeout",
            Class::Connect => "connect",
            Class::Credentials => "credentials",
            Class::StsThrottled => "sts_throttled",
            Class::StsUnavailable => "sts_unavailable",
            Class::AlreadyDone => "already_done",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
