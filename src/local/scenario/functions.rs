//! A function as a scenario declares it: versions, aliases, resource policies, behaviour,
//! concurrency, lifecycle timings, VPC attachment and asynchronous settings; and the updates
//! made to functions at a time.

use crate::local::iam::PolicyDocument;
use serde::Deserialize;

/// An update of one or more functions (UpdateFunctionConfiguration), now or at a time.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduledUpdate {
    /// Seconds after the world's start (scenario `updates` only).
    #[serde(default)]
    pub at_s: f64,
    /// The functions updated, all at once.
    pub functions: Vec<String>,
    /// A new subnet list (a new combination needs a new Hyperplane ENI).
    #[serde(default)]
    pub subnet_ids: Option<Vec<String>>,
    /// A new security group list.
    #[serde(default)]
    pub security_group_ids: Option<Vec<String>>,
}

/// The subnets and security groups a published version keeps.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VersionNetwork {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// A function's asynchronous invocation settings (Lambda's EventInvokeConfig and
/// DeadLetterConfig).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AsyncInvoke {
    /// Retries after a function error (`MaximumRetryAttempts`, 0-2).
    pub maximum_retry_attempts: u32,
    /// An event older than this is not tried again (`MaximumEventAgeInSeconds`, 60-21600).
    pub maximum_event_age_s: u32,
    /// Where a failed event goes (`DestinationConfig.OnFailure.Destination`), an ARN.
    pub on_failure: Option<String>,
    /// The dead-letter queue (`DeadLetterConfig.TargetArn`), when there is no destination.
    pub dead_letter_target: Option<String>,
}

impl Default for AsyncInvoke {
    fn default() -> Self {
        AsyncInvoke {
            maximum_retry_attempts: 2,
            maximum_event_age_s: 21_600,
            on_failure: None,
            dead_letter_target: None,
        }
    }
}

/// What a function does with a payload.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Behaviour {
    /// `"builtin"`: `xinvoke::domain::behaviour`.
    Named(BehaviourName),
    /// `{ upstream = "http://..." }`: forward the payload by HTTP POST.
    Upstream {
        /// URL to POST the payload to.
        upstream: String,
    },
}

/// The named behaviours.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum BehaviourName {
    /// The sample target's behaviour.
    #[serde(rename = "builtin")]
    Builtin,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour::Named(BehaviourName::Builtin)
    }
}

/// An alias.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    pub name: String,
    /// The version it points to.
    pub version: String,
    /// Resource policy on the alias (covers only calls qualified with it).
    #[serde(default)]
    pub resource_policy: Option<PolicyDocument>,
}

/// A function's lifecycle state at start.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, serde::Serialize)]
pub enum FunctionStateName {
    /// Ready.
    #[default]
    Active,
    /// Being set up: Invoke answers 409.
    Pending,
    /// Idle too long: the next Invoke answers 502 ResourceNotReadyException.
    Inactive,
    /// Setup failed: Invoke answers 502 by reason code.
    Failed,
}

/// How VPC networking is modelled.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum EniMode {
    /// Shared ENIs created at deploy: no per-invoke ENIs, Inactive after a long idle.
    #[default]
    #[serde(rename = "hyperplane")]
    Hyperplane,
    /// Pre-2019: each execution environment takes its own ENI and subnet IP.
    #[serde(rename = "per_environment")]
    PerEnvironment,
}

/// VPC configuration and model parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    /// VPC id.
    #[serde(default = "default_vpc_id")]
    pub vpc_id: String,
    /// Subnets (at least one).
    pub subnet_ids: Vec<String>,
    /// Security groups.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// How ENIs are used.
    #[serde(default)]
    pub eni_mode: EniMode,
    /// ENIs available to this function (per_environment).
    #[serde(default = "default_eni_quota")]
    pub eni_quota: u32,
    /// Free IP addresses in each subnet (per_environment).
    #[serde(default = "default_free_ips")]
    pub free_ips_per_subnet: u32,
    /// EC2 API calls per second Lambda may make to create ENIs (per_environment).
    #[serde(default = "default_ec2_rate")]
    pub ec2_api_rate: f64,
    /// Burst of the EC2 API token bucket.
    #[serde(default = "default_ec2_burst")]
    pub ec2_api_burst: u32,
    /// Time to set up a new environment's ENI, in ms (per_environment cold start).
    #[serde(default = "default_eni_setup_ms")]
    pub eni_setup_ms: u64,
    /// An idle environment releases its ENI and IP after this many seconds.
    #[serde(default = "default_env_idle_s")]
    pub env_idle_s: u64,
    /// Hyperplane: the function goes Inactive after this many idle seconds (server clock).
    #[serde(default = "default_inactive_after_s")]
    pub inactive_after_idle_s: u64,
    /// How long the function stays Pending while its VPC connection is rebuilt, in ms.
    #[serde(default = "default_pending_ms")]
    pub pending_ms: u64,
}

fn default_vpc_id() -> String {
    "vpc-0xinvoke00000001".to_string()
}

fn default_eni_quota() -> u32 {
    250
}

fn default_free_ips() -> u32 {
    250
}

fn default_ec2_rate() -> f64 {
    20.0
}

fn default_ec2_burst() -> u32 {
    40
}

fn default_eni_setup_ms() -> u64 {
    50
}

fn default_env_idle_s() -> u64 {
    300
}

fn default_inactive_after_s() -> u64 {
    14 * 24 * 3600
}

fn default_pending_ms() -> u64 {
    2000
}

/// One function.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub name: String,
    /// Published versions.
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
    /// What it does.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// Resource policy for unqualified (and `$LATEST`) calls.
    #[serde(default)]
    pub resource_policy: Option<PolicyDocument>,
    /// State at start.
    #[serde(default)]
    pub state: FunctionStateName,
    /// Reason code when the start state is Failed or Inactive.
    #[serde(default)]
    pub state_reason_code: Option<String>,
    /// Reserved concurrency.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// VPC attachment.
    #[serde(default)]
    pub vpc: Option<Vpc>,
    /// Memory, MB (reported by GetFunctionConfiguration).
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    /// Timeout, s (reported by GetFunctionConfiguration).
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
    /// Resource policies of published versions (`add-permission --qualifier N`), by version.
    #[serde(default)]
    pub version_policies: std::collections::BTreeMap<String, PolicyDocument>,
    /// The network a published version was published with, when not the function's own
    /// (a version keeps its configuration, and a Hyperplane version its ENIs, until deleted).
    #[serde(default)]
    pub version_networks: std::collections::BTreeMap<String, VersionNetwork>,
    /// Asynchronous invocation: retries, event age, where failed events go.
    #[serde(default)]
    pub async_invoke: AsyncInvoke,
    /// How long an update stays InProgress, ms (without a new ENI to make).
    #[serde(default = "default_update_ms")]
    pub update_ms: u64,
    /// A durable function: an invoke's `DurableExecutionName` starts at most one execution
    /// ([`crate::local::executions`]).
    #[serde(default)]
    pub durable: bool,
    /// Tenant isolation (CreateFunction's `TenancyConfig`): every invoke must then name a tenant
    /// (`X-Amz-Tenant-Id`), and an invoke of a function without it must not.
    #[serde(default)]
    pub tenant_isolation: Option<TenantIsolationMode>,
}

/// `TenancyConfig.TenantIsolationMode`: the service model's one value.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum TenantIsolationMode {
    /// An execution environment per tenant.
    #[serde(rename = "PER_TENANT")]
    PerTenant,
}

fn default_update_ms() -> u64 {
    500
}

impl Function {
    /// A function with the given name and every other field at its default: the built-in
    /// behaviour, Active, no VPC, 128 MB, 30 s.
    pub fn named(name: &str) -> Function {
        Function {
            name: name.to_string(),
            versions: Vec::new(),
            aliases: Vec::new(),
            behaviour: Behaviour::default(),
            resource_policy: None,
            state: FunctionStateName::Active,
            state_reason_code: None,
            reserved_concurrency: None,
            vpc: None,
            memory_mb: default_memory(),
            timeout_s: default_timeout(),
            version_policies: Default::default(),
            version_networks: Default::default(),
            async_invoke: AsyncInvoke::default(),
            update_ms: default_update_ms(),
            durable: false,
            tenant_isolation: None,
        }
    }
}

fn default_memory() -> u32 {
    128
}

fn default_timeout() -> u32 {
    30
}
