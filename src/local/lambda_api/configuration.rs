//! A function's configuration: GetFunctionConfiguration's answer (state, last update, VPC,
//! runtime) and UpdateFunctionConfiguration's body, checked and applied.

use crate::local::errors::ApiError;
use crate::local::function::{FunctionRuntime, NetConfig, Resolved, Settings, UpdateStatus};
use crate::local::lambda_api::request::FunctionRef;
use crate::local::lambda_api::validate::{self, Violations};
use crate::local::scenario::FunctionStateName;
use crate::local::world::World;

/// The body of UpdateFunctionConfiguration: the members the endpoint models (the others are
/// accepted and not modelled, as docs/local.md says).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UpdateConfiguration {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    timeout: Option<i64>,
    #[serde(default)]
    memory_size: Option<i64>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    runtime: Option<String>,
    #[serde(default)]
    handler: Option<String>,
    #[serde(default)]
    vpc_config: Option<VpcConfigUpdate>,
    #[serde(default)]
    pub(super) revision_id: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VpcConfigUpdate {
    #[serde(default)]
    subnet_ids: Option<Vec<String>>,
    #[serde(default)]
    security_group_ids: Option<Vec<String>>,
}

/// The runtimes UpdateFunctionConfiguration accepts, in the order AWS lists them when it
/// refuses another (LocalStack's recorded test_update_lambda_exceptions, January 2026): the
/// supported ones, fewer than the model's enum, which keeps deprecated names.
const RUNTIMES: [&str; 25] = [
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
];

impl UpdateConfiguration {
    /// The body, its model constraints checked into `v` (Role's pattern, Timeout's and
    /// MemorySize's ranges, Description's length).
    pub(super) fn checked(body: &[u8], v: &mut Violations) -> Result<UpdateConfiguration, ApiError> {
        let update: UpdateConfiguration = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                "InvalidRequestContentException",
                format!("Could not parse request body into json: {e}"),
            )
        })?;
        if let Some(role) = &update.role {
            v.pattern("role", role, &validate::ROLE_ARN);
        }
        v.range("timeout", update.timeout, 1, 900);
        v.range("memorySize", update.memory_size, 128, 10_240);
        if let Some(d) = update.description.as_deref().filter(|d| d.chars().count() > 256) {
            v.too_long("description", d, 256);
        }
        Ok(update)
    }

    /// A runtime Lambda does not support answers InvalidParameterValueException with AWS's
    /// list (not the model's ValidationException).
    pub(super) fn check_runtime(&self) -> Result<(), ApiError> {
        match self.runtime.as_deref() {
            Some(r) if !RUNTIMES.contains(&r) => Err(ApiError::new(
                "InvalidParameterValueException",
                format!(
                    "Value {r} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}] or be a valid ARN",
                    RUNTIMES.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The configuration `current` becomes.
    pub(super) fn apply(&self, current: &Settings) -> Settings {
        let vpc = match &self.vpc_config {
            None => current.vpc.clone(),
            Some(v) => Some(NetConfig {
                subnet_ids: v
                    .subnet_ids
                    .clone()
                    .unwrap_or_else(|| current.vpc.as_ref().map(|c| c.subnet_ids.clone()).unwrap_or_default()),
                security_group_ids: v.security_group_ids.clone().unwrap_or_else(|| {
                    current
                        .vpc
                        .as_ref()
                        .map(|c| c.security_group_ids.clone())
                        .unwrap_or_default()
                }),
            }),
        };
        let pick = |new: &Option<String>, old: &String| new.clone().unwrap_or_else(|| old.clone());
        Settings {
            description: pick(&self.description, &current.description),
            timeout_s: self.timeout.map_or(current.timeout_s, |t| t as u32),
            memory_mb: self.memory_size.map_or(current.memory_mb, |m| m as u32),
            runtime: pick(&self.runtime, &current.runtime),
            role: pick(&self.role, &current.role),
            handler: pick(&self.handler, &current.handler),
            vpc,
        }
    }
}

pub(super) fn configuration(
    world: &World,
    f: &FunctionRuntime,
    fref: &FunctionRef,
    resolved: Resolved<'_>,
) -> serde_json::Value {
    let life = f.lifecycle(world.clock.now_ms());
    let shown = life.shown();
    let version = resolved.executed_version();
    // A create is the first update: InProgress while the function is Pending (Creating), and
    // Failed with the state's reason when the function Failed. AWS reports an update in
    // progress with the reason code `Creating` too, a value the model's
    // LastUpdateStatusReasonCode does not list (LocalStack's recorded test_function_lifecycle:
    // UpdateFunctionConfiguration answers "InProgress", "The function is being created.",
    // "Creating").
    let (update_status, update_code, update_reason) =
        match (life.state, life.reason_code.as_deref(), life.update.status) {
            (FunctionStateName::Pending, Some("Creating"), _) => (
                UpdateStatus::InProgress,
                None,
                Some("The function is being created.".to_string()),
            ),
            (_, _, UpdateStatus::InProgress) => (
                UpdateStatus::InProgress,
                Some("Creating".to_string()),
                Some("The function is being created.".to_string()),
            ),
            (FunctionStateName::Failed, code, UpdateStatus::Successful) => {
                (UpdateStatus::Failed, code.map(str::to_string), life.reason())
            }
            _ => (
                life.update.status,
                life.update.reason_code.clone(),
                life.update_reason(),
            ),
        };
    let mut v = serde_json::json!({
        "FunctionName": f.def.name,
        "FunctionArn": fref.arn(&world.region),
        "Runtime": shown.runtime,
        "Role": shown.role,
        "Handler": shown.handler,
        "CodeSize": 1_048_576,
        "Description": shown.description,
        "Timeout": shown.timeout_s,
        "MemorySize": shown.memory_mb,
        "LastModified": "2026-01-01T00:00:00.000+0000",
        "CodeSha256": "eHhpbnZva2UtbG9jYWwtY29kZS1zaGEyNTYtMDAwMDA=",
        "Version": version,
        "TracingConfig": { "Mode": "PassThrough" },
        "RevisionId": f.revisions.of(resolved),
        "State": state_name(life.state),
        "LastUpdateStatus": update_status.name(),
        "PackageType": "Zip",
        "Architectures": ["arm64"],
        "EphemeralStorage": { "Size": 512 },
        // What AWS returns for a function that set none of them (LocalStack's recorded
        // test_function_lifecycle and test_list_functions).
        "LoggingConfig": { "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", f.def.name) },
        "SnapStart": { "ApplyOn": "None", "OptimizationStatus": "Off" },
        "RuntimeVersionConfig": { "RuntimeVersionArn": runtime_version_arn(&world.region, &shown.runtime) },
    });
    if let (Some(def), Some(net)) = (&f.def.vpc, &shown.vpc) {
        v["VpcConfig"] = serde_json::json!({
            "SubnetIds": net.subnet_ids,
            "SecurityGroupIds": net.security_group_ids,
            "VpcId": def.vpc_id,
            "Ipv6AllowedForDualStack": false,
        });
    }
    if f.def.tenant_isolation.is_some() {
        v["TenancyConfig"] = serde_json::json!({ "TenantIsolationMode": "PER_TENANT" });
    }
    if let Some(reason) = life.reason() {
        v["StateReason"] = reason.into();
    }
    if let Some(code) = &life.reason_code {
        v["StateReasonCode"] = code.clone().into();
    }
    if let Some(reason) = update_reason {
        v["LastUpdateStatusReason"] = reason.into();
    }
    if let Some(code) = update_code {
        v["LastUpdateStatusReasonCode"] = code.into();
    }
    v
}

/// The ARN of the runtime version a function runs (`arn:aws:lambda:REGION::runtime:HASH`, as
/// AWS writes it: no account), one per runtime.
fn runtime_version_arn(region: &str, runtime: &str) -> String {
    let hash = crate::local::sigv4::sha256_hex(runtime.as_bytes());
    format!("arn:aws:lambda:{region}::runtime:{}", &hash[..64])
}

/// The model's `State` name.
fn state_name(state: FunctionStateName) -> &'static str {
    match state {
        FunctionStateName::Active => "Active",
        FunctionStateName::Pending => "Pending",
        FunctionStateName::Inactive => "Inactive",
        FunctionStateName::Failed => "Failed",
    }
}
