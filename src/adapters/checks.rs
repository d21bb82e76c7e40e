//! The SDK calls `xinvoke doctor` makes (STS GetCallerIdentity and AssumeRole, a DryRun Invoke,
//! GetFunctionConfiguration, GetAlias), each translated into plain data or the core's
//! [`RawOutcome`] for a failure, and [`diagnose`], which makes them in order and hands each
//! result to `core::diagnosis` for its meaning.

use crate::adapters::config::{Auth, TargetConfig};
use crate::adapters::lambda::{sts_failure, SdkAttempter};
use crate::adapters::runner::{Attempter, InvokeRequest};
use crate::core::arn::{FunctionArn, RoleArn};
use crate::core::classify::{classify, Class, RawOutcome, ServiceError};
use crate::core::diagnosis::{self, AliasInfo, CallerIdentity, FunctionConfig, Missing, Report};
use crate::core::invocation::{InvocationType, Sent};
use crate::core::policy;
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

/// An STS client in the target's region (the base config's region wins when set).
pub fn sts_client(base: &SdkConfig, region: &str) -> aws_sdk_sts::Client {
    let mut conf = aws_sdk_sts::config::Builder::from(base);
    if base.region().is_none() {
        conf = conf.region(Region::new(region.to_string()));
    }
    aws_sdk_sts::Client::from_conf(conf.build())
}

/// A Lambda client in the target's region, signing as the assumed role when given one.
pub fn lambda_client(base: &SdkConfig, region: &str, role: Option<&AssumedRole>) -> aws_sdk_lambda::Client {
    let mut conf = aws_sdk_lambda::config::Builder::from(base).region(Region::new(region.to_string()));
    if let Some(r) = role {
        conf = conf.credentials_provider(r.credentials.clone());
    }
    aws_sdk_lambda::Client::from_conf(conf.build())
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

/// A DryRun Invoke of exactly `function`: checks permission without running the target.
pub async fn dry_run(lambda: &aws_sdk_lambda::Client, function: &FunctionArn) -> RawOutcome {
    SdkAttempter::new(lambda.clone(), None)
        .attempt(&InvokeRequest {
            target: "doctor".into(),
            function: function.clone(),
            invocation_type: InvocationType::DryRun,
            payload: b"{}".to_vec(),
            client_context: None,
        })
        .await
}

/// GetFunctionConfiguration of `function` (its qualifier included).
pub async fn function_configuration(
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

/// Run every check of `xinvoke doctor` against one configured target, with the base SDK
/// configuration (the caller's credentials, region and endpoint), in order: who the caller is,
/// the role (when configured), a DryRun Invoke, the function's configuration, its alias. A
/// failure that stops the later checks marks them skipped.
pub async fn diagnose(target: &TargetConfig, base: &SdkConfig) -> Report {
    let arn = &target.arn;
    let role = matches!(target.auth, Auth::AssumeRole(_));
    let mut report = Report::new(arn, if role { "role" } else { "resource" });
    let sts = sts_client(base, &arn.region);

    // 1. Who am I.
    let me = match caller_identity(&sts).await {
        Ok(me) => me,
        Err(o) => {
            report.checks.push(diagnosis::caller_identity_failed(&o));
            diagnosis::skip_rest(&mut report, arn, role, "no working credentials");
            return report.finish();
        }
    };
    report.caller = Some(me.arn.clone());
    report.checks.push(diagnosis::caller_identity_ok(&me));
    let source = policy::principal_arn(&me.arn).unwrap_or_else(|| me.arn.clone());

    // 2. The role, when configured.
    let (session, invoker) = match &target.auth {
        Auth::ExecutionRole => {
            report.checks.push(diagnosis::no_role());
            (None, source.clone())
        }
        Auth::AssumeRole(a) => {
            match assume_role(&sts, &a.role_arn, &a.session_name, Some(a.external_id.expose())).await {
                Ok(s) => {
                    report.checks.push(diagnosis::assume_role_ok(&a.role_arn, &s.arn));
                    let without = assume_role(&sts, &a.role_arn, &a.session_name, None).await;
                    report.checks.push(diagnosis::trust_external_id(
                        without.as_ref().map(|_| ()),
                        &me,
                        &source,
                        &a.role_arn,
                    ));
                    let invoker = policy::principal_arn(&s.arn).unwrap_or_else(|| a.role_arn.to_string());
                    (Some(s), invoker)
                }
                Err(o) => {
                    report
                        .checks
                        .push(diagnosis::assume_role_failed(&o, &me, &source, &a.role_arn));
                    diagnosis::skip_rest(&mut report, arn, role, "the role could not be assumed");
                    return report.finish();
                }
            }
        }
    };

    // 3. Permission to invoke, by DryRun; on ResourceNotFound, does the function exist?
    let lambda = lambda_client(base, &arn.region, session.as_ref());
    let dry = dry_run(&lambda, arn).await;
    let dry_class = classify(&dry).class;
    let missing = match (dry_class, &arn.qualifier) {
        (Class::NotFound, None) => Some(Missing::Function),
        (Class::NotFound, Some(_)) => {
            let unqualified = dry_run(&lambda, &arn.with_qualifier(None)).await;
            Some(Missing::from_unqualified(classify(&unqualified).class))
        }
        _ => None,
    };
    report.checks.push(diagnosis::invoke_permission(
        arn,
        &dry,
        &invoker,
        session.is_some(),
        missing,
    ));

    // 4. The function's configuration.
    let read = diagnosis::configuration_arn(arn, missing);
    let config = function_configuration(&lambda, &read).await;
    let (check, missing) = diagnosis::function(&read, config.as_ref(), &invoker, missing);
    report.checks.push(check);

    // 5. The alias or version.
    let alias_read = if diagnosis::needs_alias_read(arn, missing) {
        let name = arn.qualifier.as_ref().map(|q| q.to_string()).unwrap_or_default();
        Some(alias(&lambda, arn, &name).await)
    } else {
        None
    };
    report.checks.push(diagnosis::qualifier(
        arn,
        alias_read.as_ref().map(Result::as_ref),
        dry_class == Class::Ok,
        missing,
    ));
    report.finish()
}
