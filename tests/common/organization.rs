//! The organization scenario's callers (`scenarios/organization.toml`): four accounts, three of
//! them in an organization with two OUs. Shared by `tests/it/organization.rs` (the binaries) and
//! the crate's `src/tests/organization.rs` (policy documents and doctor, in-process).

use std::path::Path;
use xinvoke::local::{LocalServer, Scenario};

pub const TARGET: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";
pub const INVOKE_ROLE: &str = "arn:aws:iam::222222222222:role/xinvoke-invoke";
pub const ORG: &str = "o-a1b2c3d4e5";
pub const WORKLOADS: &str = "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*";
pub const PATTERN: &str = "xinvoke-invoker-*";
pub const EXTERNAL_ID: &str = "xinvoke-org-external-id";

/// The scenario's callers: (who, access key of a session of the role, secret).
pub const MEMBER: (&str, &str, &str) = (
    "111111111111 invoker",
    "ASIAXINVOKEORGMEMBER",
    "xinvoke-org-member-secret",
);
pub const DEPLOYER: (&str, &str, &str) = (
    "111111111111 deployer",
    "ASIAXINVOKEORGDEPLOY",
    "xinvoke-org-deployer-secret",
);
pub const TARGET_SIDE: (&str, &str, &str) = (
    "222222222222 invoker",
    "ASIAXINVOKEORGTARGET",
    "xinvoke-org-target-secret",
);
pub const SANDBOX: (&str, &str, &str) = (
    "333333333333 invoker",
    "ASIAXINVOKEORGSANDBX",
    "xinvoke-org-sandbox-secret",
);
pub const OUTSIDER: (&str, &str, &str) = (
    "444444444444 invoker",
    "ASIAXINVOKEORGOUTSDR",
    "xinvoke-org-outsider-secret",
);

pub fn scenario() -> Scenario {
    Scenario::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/organization.toml"))
        .expect("scenarios/organization.toml loads")
}

pub async fn start() -> LocalServer {
    LocalServer::start(scenario(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("local endpoint starts")
}

/// The settings of the role grant's invokes.
pub const ROLE_ENV: &[(&str, &str)] = &[("XINVOKE_ROLE_ARN", INVOKE_ROLE), ("XINVOKE_EXTERNAL_ID", EXTERNAL_ID)];
