//! The tour: the built-in local endpoint, invoked once per situation a cross-account caller
//! meets: both auth modes (resource-based and role chaining), sync, async and DryRun, the
//! denied paths, and injected VPC failures, each with the class it should end in.

use super::error::DemoError;
use super::world;
use crate::adapters::config::{Context, Given, Settings};
use crate::domain::class::Class;
use crate::domain::invocation::InvocationType;
use crate::domain::record::InvokeRecord;
use crate::domain::retry::RetryPolicy;
use crate::invoke::service::{Call, Service};
use crate::local::client::ControlClient;
use crate::local::{builtin, LocalServer};
use aws_credential_types::Credentials;
use serde_json::{json, Value};
use std::collections::HashMap;

/// How a step's caller reaches the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Auth {
    /// Account 1's role, the target's `live` alias, its resource policy.
    Resource,
    /// Account 1's role assumes `xinvoke-invoke` in account 2 (the right external id).
    Role,
    /// Account 1's role, the unqualified target (the resource policy grants `:live` only).
    Unqualified,
    /// An IAM user of account 1 with no identity policy.
    Stranger,
    /// Account 1's role assumes the role with the wrong external id.
    WrongExternalId,
}

impl Auth {
    /// The auth mode the step shows.
    fn mode(self) -> &'static str {
        match self {
            Auth::Resource | Auth::Unqualified | Auth::Stranger => "resource-based",
            Auth::Role | Auth::WrongExternalId => "role chaining",
        }
    }
}

/// A step of the tour.
struct Step {
    title: &'static str,
    auth: Auth,
    /// Fault rules to install first (`POST /_local/faults`), cleared after the step.
    faults: Vec<Value>,
    payload: Value,
    invocation_type: InvocationType,
    expect: Class,
}

/// The tour, in order.
fn steps() -> Vec<Step> {
    use InvocationType::*;
    let step = |title, auth, faults, payload, invocation_type, expect| Step {
        title,
        auth,
        faults,
        payload,
        invocation_type,
        expect,
    };
    vec![
        step(
            "sync invoke of target:live",
            Auth::Resource,
            vec![],
            json!({"hello": "world"}),
            RequestResponse,
            Class::Ok,
        ),
        step(
            "async invoke (Event)",
            Auth::Resource,
            vec![],
            json!({"order": 1}),
            Event,
            Class::Ok,
        ),
        step(
            "permission check (DryRun)",
            Auth::Resource,
            vec![],
            json!({}),
            DryRun,
            Class::Ok,
        ),
        step(
            "sync invoke via the assumed role",
            Auth::Role,
            vec![],
            json!({"hello": "role"}),
            RequestResponse,
            Class::Ok,
        ),
        step(
            "unqualified target, resource policy grants :live only",
            Auth::Unqualified,
            vec![],
            json!({}),
            RequestResponse,
            Class::AccessDeniedResource,
        ),
        step(
            "a role with no identity policy",
            Auth::Stranger,
            vec![],
            json!({}),
            RequestResponse,
            Class::AccessDeniedIdentity,
        ),
        step(
            "assume role with the wrong external id",
            Auth::WrongExternalId,
            vec![],
            json!({}),
            RequestResponse,
            Class::Credentials,
        ),
        step(
            "target throws",
            Auth::Resource,
            vec![],
            json!({"fail": "boom"}),
            RequestResponse,
            Class::FunctionError,
        ),
        step(
            "EC2 throttles ENI set-up once, then recovers",
            Auth::Role,
            vec![json!({"function": "target", "error": "EC2ThrottledException", "times": 1})],
            json!({}),
            RequestResponse,
            Class::Ok,
        ),
        step(
            "ENI quota used up (stays)",
            Auth::Resource,
            vec![json!({"function": "target", "error": "ENILimitReachedException", "times": 5})],
            json!({}),
            RequestResponse,
            Class::EniLimit,
        ),
        step(
            "EC2 RequestLimitExceeded (stays)",
            Auth::Role,
            vec![
                json!({"function": "target", "error": "EC2UnexpectedException", "ec2_error_code": "RequestLimitExceeded", "times": 5}),
            ],
            json!({}),
            RequestResponse,
            Class::Ec2RequestLimit,
        ),
        step(
            "subnets out of IP addresses (stays)",
            Auth::Resource,
            vec![json!({"function": "target", "error": "SubnetIPAddressLimitReachedException", "times": 5})],
            json!({}),
            RequestResponse,
            Class::SubnetIpLimit,
        ),
        step(
            "throttled with Retry-After: 1",
            Auth::Resource,
            vec![
                json!({"function": "target", "error": "TooManyRequestsException", "reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "retry_after_s": 1, "times": 1}),
            ],
            json!({}),
            RequestResponse,
            Class::Ok,
        ),
        step(
            "invalid subnet (configuration: never retried)",
            Auth::Resource,
            vec![json!({"function": "target", "error": "InvalidSubnetIDException", "times": 1})],
            json!({}),
            RequestResponse,
            Class::VpcConfig,
        ),
    ]
}

/// The service a step's caller invokes through, with `policy`.
async fn service_for(server: &LocalServer, auth: Auth, policy: &RetryPolicy) -> Result<Service, DemoError> {
    let (creds, target, external_id) = match auth {
        Auth::Resource => (world::source_credentials(), builtin::TARGET_ALIAS_ARN, None),
        Auth::Role => (
            world::source_credentials(),
            builtin::TARGET_FUNCTION_ARN,
            Some(builtin::EXTERNAL_ID),
        ),
        Auth::Unqualified => (world::source_credentials(), builtin::TARGET_FUNCTION_ARN, None),
        Auth::Stranger => (
            Credentials::new(
                builtin::STRANGER_ACCESS_KEY,
                builtin::STRANGER_SECRET_KEY,
                None,
                None,
                "demo",
            ),
            builtin::TARGET_ALIAS_ARN,
            None,
        ),
        Auth::WrongExternalId => (
            world::source_credentials(),
            builtin::TARGET_FUNCTION_ARN,
            Some("not-the-external-id"),
        ),
    };
    let given = Given {
        target_arn: Some(target.parse().expect("the built-in ARNs are valid")),
        role_arn: external_id.map(|_| {
            builtin::INVOKE_ROLE_ARN
                .parse()
                .expect("the built-in role ARN is valid")
        }),
        external_id: external_id.map(|id| id.parse().expect("the demo's external ids are valid")),
        ..Given::default()
    };
    let mut settings = Settings::resolve(given, Context::Cli)?;
    settings.retry = policy.clone();
    Ok(Service::new(settings, &world::caller(server, creds).await).await)
}

/// What one step came to.
pub(crate) struct TourStep {
    /// Its number, from 1.
    pub(crate) number: usize,
    pub(crate) title: &'static str,
    /// `resource-based` or `role chaining`.
    pub(crate) auth: &'static str,
    /// The class it should end in.
    pub(crate) expected: Class,
    pub(crate) record: InvokeRecord,
}

impl TourStep {
    /// It ended in the class it should.
    pub(crate) fn as_expected(&self) -> bool {
        self.record.class() == self.expected
    }
}

/// The tour, running: the endpoint, a service per auth mode as steps need them, the steps
/// still to go.
pub(crate) struct Tour {
    server: LocalServer,
    control: ControlClient,
    policy: RetryPolicy,
    services: HashMap<Auth, Service>,
    steps: std::iter::Enumerate<std::vec::IntoIter<Step>>,
}

impl Tour {
    /// Start the endpoint; retry waits are the defaults shortened 10x unless `real_waits`.
    pub(crate) async fn start(real_waits: bool) -> Result<Tour, DemoError> {
        let server = world::start().await?;
        Ok(Tour {
            control: ControlClient::new(server.addr()),
            server,
            policy: if real_waits {
                RetryPolicy::default()
            } else {
                RetryPolicy::defaults_shortened(10.0)
            },
            services: HashMap::new(),
            steps: steps().into_iter().enumerate(),
        })
    }

    /// The endpoint's URL.
    pub(crate) fn endpoint(&self) -> String {
        self.server.url()
    }

    /// Run the next step: its faults first, then its invoke; the faults are cleared after.
    /// None when the tour is over.
    pub(crate) async fn next(&mut self) -> Result<Option<TourStep>, DemoError> {
        let Some((i, step)) = self.steps.next() else {
            return Ok(None);
        };
        for spec in &step.faults {
            self.control.fault(spec).await?;
        }
        if !self.services.contains_key(&step.auth) {
            let service = service_for(&self.server, step.auth, &self.policy).await?;
            self.services.insert(step.auth, service);
        }
        let call = Call {
            payload: step.payload.to_string().into_bytes(),
            invocation_type: Some(step.invocation_type),
            ..Call::default()
        };
        let record = self.services[&step.auth].invoke(call, None).await?;
        self.control.clear_faults().await?;
        Ok(Some(TourStep {
            number: i + 1,
            title: step.title,
            auth: step.auth.mode(),
            expected: step.expect,
            record,
        }))
    }

    /// Stop the endpoint; the AssumeRole calls it served.
    pub(crate) async fn finish(self) -> u64 {
        let calls = self.server.stats().sts_assume_role;
        self.server.shutdown().await;
        calls
    }
}
