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

pub(crate) mod accounts;
mod file;
pub(crate) mod functions;
mod validate;

pub use accounts::{Jwk, Network, ParameterType, Secret};
pub use file::{Scenario, ScenarioError};
pub use functions::{Behaviour, EniMode, Function, FunctionStateName, ScheduledUpdate, Vpc};
