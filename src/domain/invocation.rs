//! What one invoke asks for: the request, the invocation type and the payload limits Lambda
//! enforces (so an oversize payload is refused before it leaves the process), and the one
//! method every way of sending it implements ([`Attempter`]).

use crate::domain::arn::FunctionArn;
use crate::domain::classify::{RawOutcome, Sent};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use thiserror::Error;

/// Lambda's three invocation types: `as_str` and `Display` give the `X-Amz-Invocation-Type`
/// value, which `FromStr` (and `XINVOKE_INVOCATION_TYPE`) reads back.
///
/// ```
/// use xinvoke::InvocationType;
/// assert_eq!(InvocationType::default(), InvocationType::RequestResponse);
/// assert_eq!(InvocationType::Event.as_str(), "Event");
/// assert_eq!("DryRun".parse::<InvocationType>().ok(), Some(InvocationType::DryRun));
/// let refused = "Async".parse::<InvocationType>().unwrap_err();
/// assert!(refused.to_string().contains("RequestResponse"), "{refused}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum InvocationType {
    /// Synchronous: waits for the function's result.
    #[default]
    RequestResponse,
    /// Asynchronous: Lambda queues the event and answers 202.
    Event,
    /// Checks parameters and permission only, answers 204.
    DryRun,
}

/// A tenant of a function in tenant-isolation mode (Invoke's `TenantId`, sent as
/// `X-Amz-Tenant-Id`): 1-256 of letters, digits and `._:/=+-@` and space, the Lambda service
/// model's `TenantId` shape (botocore `lambda/2015-03-31/service-2.json`). Such a function
/// refuses an invoke without one, and a function without tenant isolation one with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

/// Why a string is not a tenant id.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{0:?} is not a tenant id: 1-256 of letters, digits, space and ._:/=+-@ (Invoke's TenantId)")]
pub struct TenantIdError(pub String);

impl FromStr for TenantId {
    type Err = TenantIdError;
    fn from_str(s: &str) -> Result<TenantId, TenantIdError> {
        let ok = (1..=256).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:/=+-@ ".contains(&b));
        ok.then(|| TenantId(s.to_string()))
            .ok_or_else(|| TenantIdError(s.to_string()))
    }
}

impl TryFrom<String> for TenantId {
    type Error = TenantIdError;
    fn try_from(s: String) -> Result<TenantId, TenantIdError> {
        s.parse()
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}

impl TenantId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One invoke to make.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// The configured target's name (for records and logs).
    pub target: String,
    pub function: FunctionArn,
    pub invocation_type: InvocationType,
    pub payload: Vec<u8>,
    /// Base64 client context (sync only).
    pub client_context: Option<String>,
    /// The caller's trace context (`X-Amzn-Trace-Id`: `Root=...;Parent=...;Sampled=...`), sent
    /// with the Invoke so the target's execution joins the caller's trace (X-Ray).
    pub trace_id: Option<String>,
    /// `X-Amz-Durable-Execution-Name`, for a durable target: the message's idempotency key as
    /// a name, so Lambda starts one execution per message however often it is invoked.
    pub durable_execution_name: Option<String>,
    /// `X-Amz-Tenant-Id`: the tenant of a target in tenant-isolation mode.
    pub tenant_id: Option<TenantId>,
}

/// Makes one attempt: the SDK path, or any other way of sending an Invoke.
pub trait Attempter: Send + Sync {
    fn attempt(&self, req: &InvokeRequest) -> impl Future<Output = RawOutcome> + Send;
}

/// Synchronous request limit (6 MB).
const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Asynchronous request limit (1 MB since late 2025).
const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// The invocation type named is not one of the three.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{0:?} is not an invocation type: use RequestResponse, Event or DryRun")]
pub struct InvocationTypeError(pub String);

/// A payload over Lambda's limit for its invocation type.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("the payload is {size} bytes, over the {limit}-byte limit for {kind} invokes: send less, or pass a reference such as an S3 key")]
pub struct PayloadTooLarge {
    pub size: usize,
    pub limit: usize,
    pub kind: InvocationType,
}

impl InvocationType {
    /// The name as sent in `X-Amz-Invocation-Type`.
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
            InvocationType::DryRun => "DryRun",
        }
    }

    /// What a request of this type may have done once sent.
    pub(crate) fn sent(self) -> Sent {
        match self {
            InvocationType::RequestResponse => Sent::Sync,
            InvocationType::Event => Sent::Event,
            InvocationType::DryRun => Sent::No,
        }
    }

    /// The request payload limit Lambda enforces for this type.
    fn payload_limit(self) -> usize {
        match self {
            InvocationType::Event => ASYNC_PAYLOAD_LIMIT,
            InvocationType::RequestResponse | InvocationType::DryRun => SYNC_PAYLOAD_LIMIT,
        }
    }

    /// Refuse a payload Lambda would refuse.
    pub(crate) fn check_payload(self, size: usize) -> Result<(), PayloadTooLarge> {
        let limit = self.payload_limit();
        if size > limit {
            Err(PayloadTooLarge {
                size,
                limit,
                kind: self,
            })
        } else {
            Ok(())
        }
    }
}

impl FromStr for InvocationType {
    type Err = InvocationTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RequestResponse" => Ok(InvocationType::RequestResponse),
            "Event" => Ok(InvocationType::Event),
            "DryRun" => Ok(InvocationType::DryRun),
            other => Err(InvocationTypeError(other.to_string())),
        }
    }
}

impl fmt::Display for InvocationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_six_mb_sync_and_one_mb_async() {
        assert!(InvocationType::RequestResponse
            .check_payload(SYNC_PAYLOAD_LIMIT)
            .is_ok());
        let e = InvocationType::RequestResponse
            .check_payload(SYNC_PAYLOAD_LIMIT + 1)
            .unwrap_err();
        assert!(e
            .to_string()
            .contains("6291457 bytes, over the 6291456-byte limit for RequestResponse"));
        assert!(InvocationType::Event.check_payload(ASYNC_PAYLOAD_LIMIT).is_ok());
        assert!(InvocationType::Event.check_payload(ASYNC_PAYLOAD_LIMIT + 1).is_err());
    }

    #[test]
    fn names_parse_exactly() {
        for t in [
            InvocationType::RequestResponse,
            InvocationType::Event,
            InvocationType::DryRun,
        ] {
            assert_eq!(t.as_str().parse::<InvocationType>().unwrap(), t);
        }
        let e = "event".parse::<InvocationType>().unwrap_err().to_string();
        assert!(e.contains("RequestResponse, Event or DryRun"));
    }
}
