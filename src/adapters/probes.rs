//! The probes `xinvoke doctor` sends (STS GetCallerIdentity and AssumeRole, a DryRun Invoke,
//! GetFunctionConfiguration, GetAlias), each translated into plain data or the core's
//! [`RawOutcome`] for a failure. `invoke::doctor` makes them in order.

use crate::adapters::json_protocol::{JsonCallError, JsonService};
use crate::adapters::lambda::{sts_failure, SdkAttempter};
use crate::domain::arn::{FunctionArn, RoleArn};
use crate::domain::classify::Sent;
use crate::domain::classify::{RawOutcome, ServiceError};
use crate::domain::diagnosis::{AliasInfo, CallerIdentity, CallerOrg, FunctionConfig};
use crate::domain::invocation::{Attempter, InvokeRequest};
use crate::domain::invocation::{InvocationType, TenantId};
use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

/// A session of an assumed role; its credentials are kept out of `Debug`.
#[derive(Clone)]
pub struct AssumedRole {
    /// The session's ARN, `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    credentials: Credentials,
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedRole")
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

/// An STS client in the target's region: STS answers for its own partition only, and the
/// caller's credentials are of the target's partition (IAM grants nothing across partitions).
pub(crate) fn sts_client(base: &SdkConfig, region: &str) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::config::Builder::from(base).region(Region::new(region.to_string()));
    aws_sdk_sts::Client::from_conf(conf.build())
}

/// A Lambda client in the target's region, signing as the assumed role when given one.
pub(crate) fn lambda_client(base: &SdkConfig, region: &str, role: Option<&AssumedRole>) -> aws_sdk_lambda::Client {
    let mut conf = aws_sdk_lambda::config::Builder::from(base).region(Region::new(region.to_string()));
    if let Some(r) = role {
        conf = conf.credentials_provider(r.credentials.clone());
    }
    aws_sdk_lambda::Client::from_conf(conf.build())
}

/// Organizations' endpoint and signing region for a partition: the service is global, one
/// endpoint a partition (botocore's `organizations/2016-11-28/endpoint-rule-set-1.json`:
/// `organizations[-fips].us-east-1.amazonaws.com` in `aws`, `cn-northwest-1` in `aws-cn`,
/// `us-gov-west-1` in `aws-us-gov`), unless an endpoint is configured
/// (in code, `AWS_ENDPOINT_URL_ORGANIZATIONS`, then `AWS_ENDPOINT_URL`: the SDKs' order; then
/// signed for `region`). No Organizations SDK crate is built for this one call, so its endpoint
/// is not the SDK resolver's.
fn organizations_endpoint(
    base: &SdkConfig,
    partition: &str,
    region: &str,
    env: impl Fn(&str) -> Option<String>,
) -> (String, String) {
    let programmatic = base
        .endpoint_url()
        .filter(|_| base.get_origin("endpoint_url").is_client_config());
    let configured = programmatic
        .map(str::to_string)
        .or_else(|| env("AWS_ENDPOINT_URL_ORGANIZATIONS").filter(|v| !v.is_empty()))
        .or_else(|| base.endpoint_url().map(str::to_string));
    if let Some(url) = configured {
        return (url, region.to_string());
    }
    let fips = base.use_fips().unwrap_or(false);
    let (host, host_region) = match partition {
        "aws-cn" => ("organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"),
        "aws-us-gov" => ("organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        _ if fips => ("organizations-fips.us-east-1.amazonaws.com", "us-east-1"),
        _ => ("organizations.us-east-1.amazonaws.com", "us-east-1"),
    };
    (format!("https://{host}"), host_region.to_string())
}

/// The caller's organization (Organizations DescribeOrganization), as far as it may see it.
pub async fn caller_organization(base: &SdkConfig, partition: &str, region: &str) -> CallerOrg {
    let Some(credentials) = base.credentials_provider() else {
        return CallerOrg::Unknown("no credentials".into());
    };
    let (endpoint, signing_region) = organizations_endpoint(base, partition, region, |k| std::env::var(k).ok());
    let service = match JsonService::new(
        &endpoint,
        &signing_region,
        "organizations",
        "AWSOrganizationsV20161128",
        "application/x-amz-json-1.1",
        credentials,
    ) {
        Ok(s) => s,
        Err(e) => return CallerOrg::Unknown(e.to_string()),
    };
    match service.call("DescribeOrganization", &serde_json::json!({})).await {
        Ok(v) => match v["Organization"]["Id"].as_str() {
            Some(id) => CallerOrg::Member(id.to_string()),
            None => CallerOrg::Unknown("DescribeOrganization answered no Id".into()),
        },
        Err(JsonCallError::Service { code, .. }) if code == "AWSOrganizationsNotInUseException" => {
            CallerOrg::NotInOrganization
        }
        Err(JsonCallError::Service { code, .. }) => {
            CallerOrg::Unknown(format!("organizations:DescribeOrganization: {code}"))
        }
        Err(e) => CallerOrg::Unknown(format!("organizations:DescribeOrganization: {e}")),
    }
}

/// STS GetCallerIdentity.
pub async fn caller_identity(sts: &aws_sdk_sts::Client) -> Result<CallerIdentity, RawOutcome> {
    let out = sts.get_caller_identity().send().await.map_err(|e| sts_failure(&e))?;
    Ok(CallerIdentity {
        account: out.account().unwrap_or_default().to_string(),
        arn: out.arn().unwrap_or_default().to_string(),
    })
}

/// STS AssumeRole, with or without an external id (doctor probes both).
pub async fn assume_role(
    sts: &aws_sdk_sts::Client,
    role: &RoleArn,
    session_name: &str,
    external_id: Option<&str>,
) -> Result<AssumedRole, RawOutcome> {
    let out = sts
        .assume_role()
        .role_arn(role.to_string())
        .role_session_name(session_name)
        .set_external_id(external_id.map(str::to_string))
        .send()
        .await
        .map_err(|e| sts_failure(&e))?;
    let (Some(c), Some(user)) = (out.credentials(), out.assumed_role_user()) else {
        return Err(RawOutcome::Failed(ServiceError {
            status: 200,
            code: "IncompleteAssumeRoleResponse".into(),
            message: Some("AssumeRole answered without credentials".into()),
            ..Default::default()
        }));
    };
    Ok(AssumedRole {
        arn: user.arn().to_string(),
        credentials: Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "xinvoke-doctor",
        ),
    })
}

/// A DryRun Invoke of exactly `function` (as `tenant`, for a tenant-isolated target): checks
/// permission without running the target.
pub(crate) async fn dry_run(
    lambda: &aws_sdk_lambda::Client,
    function: &FunctionArn,
    tenant: Option<&TenantId>,
) -> RawOutcome {
    SdkAttempter::new(lambda.clone(), None)
        .attempt(&InvokeRequest {
            target: "doctor".into(),
            function: function.clone(),
            invocation_type: InvocationType::DryRun,
            payload: b"{}".to_vec(),
            client_context: None,
            trace_id: None,
            durable_execution_name: None,
            tenant_id: tenant.cloned(),
        })
        .await
}

/// GetFunctionConfiguration of `function` (its qualifier included).
pub(crate) async fn function_configuration(
    lambda: &aws_sdk_lambda::Client,
    function: &FunctionArn,
) -> Result<FunctionConfig, RawOutcome> {
    let out = lambda
        .get_function_configuration()
        .function_name(function.unqualified())
        .set_qualifier(function.qualifier.as_ref().map(|q| q.to_string()))
        .send()
        .await
        .map_err(translate)?;
    let vpc = out.vpc_config();
    Ok(FunctionConfig {
        state: out.state().map(|s| s.as_str().to_string()),
        state_reason_code: out.state_reason_code().map(|s| s.as_str().to_string()),
        last_update_status: out.last_update_status().map(|s| s.as_str().to_string()),
        last_update_status_reason_code: out.last_update_status_reason_code().map(|s| s.as_str().to_string()),
        vpc_id: vpc
            .and_then(|v| v.vpc_id())
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
        security_group_ids: vpc.map(|v| v.security_group_ids().to_vec()).unwrap_or_default(),
        timeout_s: out.timeout().and_then(|t| u32::try_from(t).ok()),
        tenant_isolation: out
            .tenancy_config()
            .map(|t| t.tenant_isolation_mode().as_str().to_string()),
    })
}

/// GetAlias `name` of `function` (whose own qualifier is ignored).
pub async fn alias(
    lambda: &aws_sdk_lambda::Client,
    function: &FunctionArn,
    name: &str,
) -> Result<AliasInfo, RawOutcome> {
    let out = lambda
        .get_alias()
        .function_name(function.unqualified())
        .name(name)
        .send()
        .await
        .map_err(translate)?;
    Ok(AliasInfo {
        name: out.name().unwrap_or(name).to_string(),
        function_version: out.function_version().unwrap_or_default().to_string(),
    })
}

/// Translate any operation's error into the core's terms: the status and error code of a
/// service answer, or the transport failure.
fn translate<E: ProvideErrorMetadata>(err: SdkError<E>) -> RawOutcome {
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = ctx.err();
            RawOutcome::Failed(ServiceError {
                status,
                code: e.code().unwrap_or("UnknownError").to_string(),
                message: e.message().map(str::to_string),
                ..Default::default()
            })
        }
        SdkError::TimeoutError(_) => RawOutcome::TimedOut { sent: Sent::No },
        SdkError::DispatchFailure(d) if d.is_timeout() => RawOutcome::TimedOut { sent: Sent::No },
        SdkError::ResponseError(r) => RawOutcome::Failed(ServiceError {
            status: r.raw().status().as_u16(),
            code: "UnreadableResponse".into(),
            ..Default::default()
        }),
        SdkError::ConstructionFailure(_) => RawOutcome::Rejected {
            code: "InvalidRequest".into(),
            message: "the SDK could not build the request".into(),
        },
        _ => RawOutcome::ConnectFailed,
    }
}
