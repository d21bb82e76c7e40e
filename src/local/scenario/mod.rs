//! What the local endpoint simulates: accounts, roles with their keys and policies, functions
//! with versions, aliases, resource policies, VPC model and concurrency limits. Read once from
//! TOML or JSON and validated up front, so a mistake is reported with its file, field and fix
//! instead of surfacing as a puzzling AccessDenied later.
//!
//! The built-in scenario (`src/local/builtin.toml`) is the reference example of the format;
//! `tests/scenarios/*.toml` show the VPC and concurrency knobs. In short:
//!
//! ```toml
//! region = "us-east-1"
//!
//! [[accounts]]
//! id = "111111111111"
//! concurrency_limit = 1000            # optional, default 1000
//! org_id = "o-example"                # optional, for aws:PrincipalOrgID
//! ou = "ou-ab12-11111111"             # optional: its OU in a declared [[organizations]]
//!                                     # (default: the root), for aws:PrincipalOrgPaths
//! oidc_providers = [{ issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
//!                     audiences = ["sts.amazonaws.com"] }]   # optional, for web identity
//! parameters = [{ name = "/xinvoke/routes", value = "...", type = "SecureString" }]
//!                                     # optional: SSM parameters (GetParameter)
//!
//! [[accounts.roles]]
//! name = "caller"
//! credentials = { access_key_id = "AKIA...", secret_access_key = "..." }   # optional
//! session_name = "xinvoke-local"      # optional: the session a static key reports as
//! max_session_s = 3600                # optional
//! policy = { Statement = [{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "*" }] }
//! trust = { Statement = [ ... ] }     # optional: who may AssumeRole it (or, with
//!                                     # Principal = { Federated = "arn:...:oidc-provider/..." },
//!                                     # AssumeRoleWithWebIdentity)
//!
//! [[accounts.functions]]
//! name = "target"
//! versions = ["1"]
//! behaviour = "builtin"               # or { upstream = "http://127.0.0.1:9000/..." }
//! reserved_concurrency = 10           # optional
//! tenant_isolation = "PER_TENANT"     # optional: every invoke names a tenant (X-Amz-Tenant-Id)
//! resource_policy = { Statement = [ ... ] }   # unqualified calls
//! aliases = [{ name = "live", version = "1", resource_policy = { Statement = [ ... ] } }]
//! vpc = { vpc_id = "vpc-1", subnet_ids = ["subnet-a"], security_group_ids = ["sg-1"],
//!         eni_mode = "per_environment", eni_quota = 250, free_ips_per_subnet = 250,
//!         ec2_api_rate = 10.0, ec2_api_burst = 20, eni_setup_ms = 100 }
//!
//! [[organizations]]                   # optional: lays out an org_id's OUs
//! id = "o-example"
//! root = "r-ab12"
//! units = [{ id = "ou-ab12-11111111", parent = "r-ab12" },
//!          { id = "ou-ab12-22222222", parent = "ou-ab12-11111111" }]
//! ```
//!
//! Any number of accounts may be declared; `scenarios/organization.toml` has four, three of
//! them in one organization's OUs.

use crate::local::iam::PolicyDocument;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

mod validate;

/// A secret string (secret key): never shown by `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A whole simulated world.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The one region served.
    pub region: String,
    pub accounts: Vec<Account>,
    /// Updates the endpoint makes by itself, at times of its clock from the world's start: a
    /// deployment during load.
    #[serde(default)]
    pub updates: Vec<ScheduledUpdate>,
    /// Fault rules in place from the start (the rules `POST /_local/faults` takes), e.g. for a
    /// load run that starts the endpoint in-process.
    #[serde(default)]
    pub faults: Vec<crate::local::faults::FaultSpec>,
    /// AWS Organizations: each organization's root and OUs, where accounts sit by their `ou`.
    #[serde(default)]
    pub organizations: Vec<Organization>,
}

/// An organization's tree: its root and organizational units.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// `o-` and 10-32 lowercase letters or digits.
    pub id: String,
    /// The root's id, `r-` and 4-32 lowercase letters or digits.
    pub root: String,
    /// The management account, when the scenario names it (DescribeOrganization's
    /// `MasterAccountId`).
    #[serde(default)]
    pub management_account: Option<String>,
    /// The OUs; each names its parent (the root or an OU listed before it).
    #[serde(default)]
    pub units: Vec<OrganizationalUnit>,
}

/// One organizational unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationalUnit {
    /// `ou-` + the root's suffix + `-` + 8-32 lowercase letters or digits.
    pub id: String,
    /// The root's id or an earlier OU's.
    pub parent: String,
}

impl Organization {
    /// The path IAM gives `aws:PrincipalOrgPaths` for an account in `ou` (the root when
    /// `None`): `o-ID/r-ROOT/ou-A/ou-B/`, from the root down, ending in `/`. `None` when the OU
    /// is not in this organization.
    pub(crate) fn path_of(&self, ou: Option<&str>) -> Option<String> {
        let mut chain = Vec::new();
        let mut at = ou;
        while let Some(id) = at.filter(|id| *id != self.root) {
            if chain.len() > self.units.len() {
                return None;
            }
            let unit = self.units.iter().find(|u| u.id == id)?;
            chain.push(unit.id.as_str());
            at = Some(unit.parent.as_str());
        }
        chain.reverse();
        let mut path = format!("{}/{}/", self.id, self.root);
        for id in chain {
            path.push_str(id);
            path.push('/');
        }
        Some(path)
    }
}

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

/// An account's Hyperplane networking (today's VPC model): its ENI quota, what one ENI
/// carries, and the pace of the EC2 calls Lambda makes for it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// Hyperplane ENIs the account may hold (AWS: 250 per VPC by default).
    pub hyperplane_eni_quota: u32,
    /// Executions one Hyperplane ENI carries (AWS documents 65,000 connections).
    pub connections_per_eni: u32,
    /// EC2 API calls per second for ENIs, and their burst.
    pub ec2_api_rate: f64,
    pub ec2_api_burst: u32,
    /// How long making one ENI takes, ms (the function is Pending, or its update
    /// InProgress, meanwhile).
    pub eni_create_ms: u64,
    /// How long after the last function or version using an ENI is deleted the ENI is
    /// released, s on the endpoint's clock (AWS releases it some minutes later; modelled).
    pub eni_release_s: u64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            hyperplane_eni_quota: 250,
            connections_per_eni: 65_000,
            ec2_api_rate: 5.0,
            ec2_api_burst: 10,
            eni_create_ms: 1000,
            eni_release_s: 1200,
        }
    }
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

/// One account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// 12-digit account id.
    pub id: String,
    /// Organization id, for `aws:PrincipalOrgID` conditions.
    #[serde(default)]
    pub org_id: Option<String>,
    /// The account's OU in its organization (declared in `organizations`), for
    /// `aws:PrincipalOrgPaths`; the root when absent.
    #[serde(default)]
    pub ou: Option<String>,
    /// Account-wide concurrent executions.
    #[serde(default = "default_concurrency")]
    pub concurrency_limit: u32,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// IAM users (long-term keys).
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub functions: Vec<Function>,
    /// Hyperplane networking of the account's VPC functions.
    #[serde(default)]
    pub network: Network,
    /// IAM OIDC identity providers (IAM's CreateOpenIDConnectProvider): the issuers whose
    /// tokens AssumeRoleWithWebIdentity accepts for this account's roles.
    #[serde(default)]
    pub oidc_providers: Vec<OidcProvider>,
    /// Systems Manager parameters (GetParameter), e.g. the invoker's routes.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}

/// One SSM parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// `/xinvoke/routes` or `routes`.
    pub name: String,
    /// Its value (never shown by `Debug`).
    pub value: Secret,
    #[serde(rename = "type", default)]
    pub kind: ParameterType,
}

/// `String` or `SecureString` (decrypted only when asked with WithDecryption).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum ParameterType {
    String,
    #[default]
    SecureString,
}

/// An IAM OIDC identity provider. Its ARN is `arn:aws:iam::ACCOUNT:oidc-provider/` followed by
/// the issuer without `https://`; trust policies name it as `Principal: {"Federated": ARN}`
/// with conditions on `HOST/PATH:sub` and `HOST/PATH:aud`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// The issuer URL, `https://...`: a token's `iss`.
    pub issuer: String,
    /// Client ids (IAM's ClientIDList): a token's `aud` must hold one.
    pub audiences: Vec<String>,
    /// The issuer's public keys, for tokens the endpoint does not mint itself (e.g. a real
    /// cluster's service-account tokens, RS256): its JWKS, `{ keys = [...] }`. Tokens minted by
    /// the endpoint (`POST /_local/oidc/token`) verify without it.
    #[serde(default)]
    pub jwks: Option<Jwks>,
}

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One key of a JWKS: `{"kty":"RSA","kid","n","e"}` or `{"kty":"EC","crv":"P-256","kid","x","y"}`
/// (other members, such as `use`, `alg` or `x5c`, are ignored).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

fn default_concurrency() -> u32 {
    1000
}

/// Static credentials of a role (as an execution role's would be).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticCredentials {
    /// `ASIA...` for a role's session, `AKIA...` for a user's long-term key.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: Secret,
    /// The session token a role's session carries (`X-Amz-Security-Token`); a user's
    /// long-term key has none.
    #[serde(default)]
    pub session_token: Option<Secret>,
}

/// One IAM user: long-term `AKIA` keys, reported by GetCallerIdentity as
/// `arn:aws:iam::ACCOUNT:user/NAME`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub credentials: StaticCredentials,
    /// Identity policy.
    #[serde(default)]
    pub policy: Option<PolicyDocument>,
}

/// One IAM role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    /// A session of this role with fixed credentials (`ASIA...` and a session token), as
    /// Lambda hands its execution role's to a function.
    #[serde(default)]
    pub credentials: Option<StaticCredentials>,
    /// The session name a static key reports (`assumed-role/NAME/SESSION`).
    #[serde(default = "default_session_name")]
    pub session_name: String,
    /// Longest AssumeRole session for this role, in seconds.
    #[serde(default = "default_max_session")]
    pub max_session_s: u32,
    /// Identity policy.
    #[serde(default)]
    pub policy: Option<PolicyDocument>,
    /// Trust policy.
    #[serde(default)]
    pub trust: Option<PolicyDocument>,
}

fn default_session_name() -> String {
    "xinvoke-local".to_string()
}

fn default_max_session() -> u32 {
    3600
}

/// What a function does with a payload.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Behaviour {
    /// `"builtin"`: `xinvoke::core::behaviour`.
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

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("cannot read scenario {path}: {source}; check the path given to --scenario")]
    Read { path: PathBuf, source: std::io::Error },
    /// Neither `.toml` nor `.json`.
    #[error("scenario {path}: unknown file type; name it *.toml or *.json")]
    Extension { path: PathBuf },
    /// Syntax or type error (the message names the field and line).
    #[error("scenario {path}: {message}")]
    Parse {
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Well-formed but inconsistent.
    #[error("scenario {path}: {field}: {problem}; {fix}")]
    Invalid {
        path: PathBuf,
        /// Dotted field path.
        field: String,
        /// What is wrong.
        problem: String,
        /// What to do.
        fix: String,
    },
}

const BUILTIN_TOML: &str = include_str!("../builtin.toml");

impl Scenario {
    /// The built-in scenario: the source account 1, the target account 2, the `target`
    /// function behind a VPC and an alias `live`. See [`crate::local::builtin`].
    pub fn builtin() -> Scenario {
        // A constant of this crate, checked by the unit tests: failing here is a build bug.
        Scenario::from_toml_str(BUILTIN_TOML, Path::new("<builtin>")).expect("the built-in scenario is valid")
    }

    /// Read a scenario from a `.toml` or `.json` file.
    pub fn from_path(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Scenario::from_toml_str(&text, path),
            Some("json") => {
                let s: Scenario = serde_json::from_str(&text).map_err(|e| ScenarioError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                s.validate(path)?;
                Ok(s)
            }
            _ => Err(ScenarioError::Extension {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Parse TOML text; `path` only names the source in errors.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " | "),
        })?;
        s.validate(path)?;
        Ok(s)
    }

    /// `aws:PrincipalOrgPaths` of an account: its path when its organization is laid out in
    /// `organizations`, else none (an `org_id` alone gives `aws:PrincipalOrgID` only).
    pub(crate) fn org_paths(&self, account: &Account) -> Vec<String> {
        let Some(org_id) = &account.org_id else {
            return Vec::new();
        };
        self.organizations
            .iter()
            .find(|o| &o.id == org_id)
            .and_then(|o| o.path_of(account.ou.as_deref()))
            .into_iter()
            .collect()
    }

    /// Which VPC model each VPC-attached function runs, in a sentence for a report's header:
    /// `None` when no function is VPC-attached.
    pub(crate) fn vpc_models(&self) -> Option<String> {
        let names = |mode: EniMode| -> Vec<&str> {
            self.accounts
                .iter()
                .flat_map(|a| &a.functions)
                .filter(|f| f.vpc.as_ref().is_some_and(|v| v.eni_mode == mode))
                .map(|f| f.name.as_str())
                .collect()
        };
        let (old, today) = (names(EniMode::PerEnvironment), names(EniMode::Hyperplane));
        let mut parts = Vec::new();
        if !today.is_empty() {
            parts.push(format!(
                "{} on today's shared Hyperplane ENIs (made at create/update, reclaimed when idle)",
                today.join(", ")
            ));
        }
        if !old.is_empty() {
            parts.push(format!(
                "{} on per-environment ENIs (Lambda before 2019: an ENI and an address per execution environment, so load meets EC2's limits; today only a burst of creates or updates does)",
                old.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::builtin;

    #[test]
    fn builtin_scenario_parses_and_matches_the_constants() {
        let s = Scenario::builtin();
        assert_eq!(s.region, builtin::REGION);
        let a1 = s.accounts.iter().find(|a| a.id == builtin::SOURCE_ACCOUNT).unwrap();
        let src = a1.roles.iter().find(|r| r.name == "xinvoke-source").unwrap();
        let c = src.credentials.as_ref().unwrap();
        assert_eq!(c.access_key_id, builtin::SOURCE_ACCESS_KEY);
        assert_eq!(c.secret_access_key.0, builtin::SOURCE_SECRET_KEY);
        assert_eq!(
            c.session_token.as_ref().map(|t| t.0.as_str()),
            Some(builtin::SOURCE_SESSION_TOKEN)
        );
        let a2 = s.accounts.iter().find(|a| a.id == builtin::TARGET_ACCOUNT).unwrap();
        let f = &a2.functions[0];
        assert_eq!(f.name, "target");
        assert_eq!(f.aliases[0].name, "live");
        assert_eq!(f.vpc.as_ref().unwrap().subnet_ids.len(), 2);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let text = format!("{:?}", Scenario::builtin());
        assert!(!text.contains(builtin::SOURCE_SECRET_KEY));
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn errors_name_the_file_field_and_fix() {
        let cases = [
            ("region = \"us-east-1\"\naccounts = [{ id = \"123\" }]", "accounts[0].id"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\n[[accounts.functions]]\nname = \"f\"\naliases = [{ name = \"live\", version = \"7\" }]", "accounts[0].functions[0].aliases[0].version"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\nbogus = 1", "bogus"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\noidc_providers = [{ issuer = \"http://oidc.example\", audiences = [\"sts.amazonaws.com\"] }]", "accounts[0].oidc_providers[0].issuer"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\noidc_providers = [{ issuer = \"https://oidc.example\", audiences = [] }]", "accounts[0].oidc_providers[0].audiences"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\noidc_providers = [{ issuer = \"https://oidc.example\", audiences = [\"a\"] }, { issuer = \"https://oidc.example/\", audiences = [\"b\"] }]", "accounts[0].oidc_providers[1].issuer"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\noidc_providers = [{ issuer = \"https://oidc.example\", audiences = [\"a\"], jwks = { keys = [{ kty = \"RSA\", n = \"AQAB\", e = \"AQAB\" }] } }]", "accounts[0].oidc_providers[0].jwks.keys[0]"),
        ];
        for (text, field) in cases {
            let err = Scenario::from_toml_str(text, Path::new("x.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("x.toml") && err.contains(field), "{err}");
        }
    }

    #[test]
    fn from_path_reads_toml_and_json_and_rejects_other_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("s.toml");
        std::fs::write(&toml_path, BUILTIN_TOML).unwrap();
        assert!(Scenario::from_path(&toml_path).is_ok());
        let json_path = dir.path().join("s.json");
        std::fs::write(
            &json_path,
            r#"{"region":"us-east-1","accounts":[{"id":"222222222222"}]}"#,
        )
        .unwrap();
        assert!(Scenario::from_path(&json_path).is_ok());
        let other = dir.path().join("s.yaml");
        std::fs::write(&other, "x").unwrap();
        assert!(matches!(
            Scenario::from_path(&other),
            Err(ScenarioError::Extension { .. })
        ));
        assert!(matches!(
            Scenario::from_path(&dir.path().join("none.toml")),
            Err(ScenarioError::Read { .. })
        ));
    }
}
