//! `xinvoke doctor`'s checks, in order: who the caller is, the role (when configured), a DryRun
//! Invoke, the function's configuration, its alias; each probe's result goes to
//! `domain::diagnosis` for its meaning, and a failure that stops the later checks marks them
//! skipped.

use crate::adapters::config::{Auth, TargetConfig};
use crate::adapters::probes::{
    alias, assume_role, caller_identity, caller_organization, dry_run, function_configuration, lambda_client,
    sts_client,
};
use crate::adapters::{chain, endpoints};
use crate::domain::class::Class;
use crate::domain::classify::classify;
use crate::domain::diagnosis::{self, Diagnosis, Missing};
use crate::domain::policy::{self, OrgGrant};
use aws_config::SdkConfig;

/// Run every check of `xinvoke doctor` against one configured target, with the base SDK
/// configuration (the caller's credentials, region and endpoint), in order: who the caller is,
/// the role (when configured), a DryRun Invoke, the function's configuration, its alias. A
/// failure that stops the later checks marks them skipped.
#[cfg(test)]
pub async fn diagnose(target: &TargetConfig, base: &SdkConfig) -> Diagnosis {
    diagnose_grant(target, base, None).await
}

/// [`diagnose`] for a target that grants an organization (`grant`, as `xinvoke policy --org`
/// printed it): an `organization` check compares the caller's organization with it, and a
/// denial says which of its conditions left the caller out, with the statement to change.
pub async fn diagnose_grant(target: &TargetConfig, base: &SdkConfig, grant: Option<&OrgGrant>) -> Diagnosis {
    let arn = &target.arn;
    let role = matches!(target.auth, Auth::AssumeRole(_));
    let mut report = Diagnosis::new(arn, if role { "role" } else { "resource" });
    report.endpoints = vec![
        diagnosis::ServiceEndpoint::new("lambda", endpoints::lambda(base, &arn.region)),
        diagnosis::ServiceEndpoint::new("sts", endpoints::sts(base, &arn.region)),
    ];
    let sts = sts_client(base, &arn.region);

    // 1. Who am I.
    let me = match caller_identity(&sts).await {
        Ok(me) => me,
        Err(o) => {
            let mut check = diagnosis::caller_identity_failed(&o);
            // When the chain gives no credentials at all, that is the cause: name its missing link.
            let env = crate::adapters::config::process_env;
            if let Err(link) = chain::check(base, &Auth::ExecutionRole, &arn.region, None, &env).await {
                check.summary = "no credentials: the call was never signed".into();
                check.class = Some(Class::Credentials);
                check.fix = Some(link.to_string());
            }
            report.checks.push(check);
            diagnosis::skip_rest(&mut report, arn, role, "no working credentials");
            return report.finish();
        }
    };
    report.caller = Some(me.arn.clone());
    let org = caller_organization(base, &arn.partition, &arn.region).await;
    report.checks.push(diagnosis::caller_identity_ok(&me, &org));
    if let Some(g) = grant {
        report.checks.push(diagnosis::organization_check(g, &org));
    }
    let source = policy::principal_arn(&me.arn).unwrap_or_else(|| me.arn.clone());
    let invoke_role = match &target.auth {
        Auth::AssumeRole(a) => Some(&a.role_arn),
        Auth::ExecutionRole => None,
    };
    let annotate = |check: &mut diagnosis::Check| {
        if let Some(g) = grant.filter(|_| check.status == diagnosis::Status::Fail) {
            diagnosis::annotate_denial(check, g, &org, &source, arn, invoke_role);
        }
    };

    // 2. The role, when configured.
    let (session, invoker) = match &target.auth {
        Auth::ExecutionRole => {
            report.checks.push(diagnosis::no_role());
            (None, source.clone())
        }
        Auth::AssumeRole(a) => {
            match assume_role(
                &sts,
                &a.role_arn,
                &a.session_name,
                a.external_id.as_ref().map(|id| id.expose()),
            )
            .await
            {
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
                    let mut check = diagnosis::assume_role_failed(&o, &me, &source, &a.role_arn);
                    if diagnosis::code_of(&o) == Some("AccessDenied") {
                        annotate(&mut check);
                    }
                    report.checks.push(check);
                    diagnosis::skip_rest(&mut report, arn, role, "the role could not be assumed");
                    return report.finish();
                }
            }
        }
    };

    // 3. Permission to invoke, by DryRun; on ResourceNotFound, does the function exist?
    let lambda = lambda_client(base, &arn.region, session.as_ref());
    let tenant = target.tenant_id.as_ref();
    let dry = dry_run(&lambda, arn, tenant).await;
    let dry_class = classify(&dry).class;
    let missing = match (dry_class, &arn.qualifier) {
        (Class::NotFound, None) => Some(Missing::Function),
        (Class::NotFound, Some(_)) => {
            let unqualified = dry_run(&lambda, &arn.with_qualifier(None), tenant).await;
            Some(Missing::from_unqualified(classify(&unqualified).class))
        }
        _ => None,
    };
    let mut check = diagnosis::invoke_permission(arn, &dry, &invoker, session.is_some(), missing);
    // In role mode the invoke role is in the target's account: a denial there is not the grant's.
    if session.is_none() && matches!(dry_class, Class::AccessDeniedResource | Class::AccessDenied) {
        annotate(&mut check);
    }
    report.checks.push(check);

    // 4. The function's configuration.
    let read = diagnosis::configuration_arn(arn, missing);
    let config = function_configuration(&lambda, &read).await;
    let (check, missing) = diagnosis::function(&read, config.as_ref(), &invoker, missing);
    let tenancy = config
        .as_ref()
        .ok()
        .and_then(|cfg| diagnosis::tenancy(&read, cfg, tenant.map(|t| t.as_str())));
    report.checks.push(match tenancy {
        Some(mismatch) if check.status != diagnosis::Status::Fail => mismatch,
        _ => check,
    });

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
