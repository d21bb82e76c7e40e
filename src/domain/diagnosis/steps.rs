//! Each step of the checklist: a probe's result in, its [`Check`] out (what passed, what
//! failed and the fix).

use crate::domain::arn::{FunctionArn, RoleArn};
use crate::domain::class::Class;
use crate::domain::classify::{classify, state_reason_class, RawOutcome};
use crate::domain::diagnosis::check::{pretty, Check, Status};
use crate::domain::diagnosis::facts::{AliasInfo, CallerIdentity, FunctionConfig, Missing};
use crate::domain::diagnosis::organization::CallerOrg;
use crate::domain::policy;

/// Step 1 failed: GetCallerIdentity did not answer.
pub(crate) fn caller_identity_failed(o: &RawOutcome) -> Check {
    let c = classify(o);
    Check::fail(
        "caller_identity",
        Some(c.class),
        format!("STS GetCallerIdentity failed: {}", describe(o)),
        c.hint.unwrap_or_else(|| {
            "Check the credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID) and the endpoint.".into()
        }),
    )
}

/// Step 1 answered, with the caller's organization as far as it can see it.
pub(crate) fn caller_identity_ok(me: &CallerIdentity, org: &CallerOrg) -> Check {
    Check::new(
        "caller_identity",
        Status::Pass,
        format!("the caller is {} in account {}, {}", me.arn, me.account, org.describe()),
    )
}

/// Step 2 without a role.
pub(crate) fn no_role() -> Check {
    Check::new(
        "assume_role",
        Status::Skip,
        "no role configured (XINVOKE_ROLE_ARN): resource-based, the caller invokes with its own credentials",
    )
}

/// Step 2 answered.
pub(crate) fn assume_role_ok(role: &RoleArn, session_arn: &str) -> Check {
    Check::new("assume_role", Status::Pass, format!("assumed {role} as {session_arn}"))
}

/// Step 2 refused. `source` is the caller's principal (role) ARN. STS says only "not
/// authorized", whichever of the three conditions is missing, so the fix states all three.
pub(crate) fn assume_role_failed(o: &RawOutcome, me: &CallerIdentity, source: &str, role: &RoleArn) -> Check {
    let name = "assume_role";
    if code_of(o) == Some("AccessDenied") {
        return Check::fail(
            name,
            Some(Class::Credentials),
            format!("{} may not assume {role}: {}", me.arn, describe(o)),
            format!(
                "Both must hold. In account {} the role's trust policy must name the caller's role and require the external id you pass (XINVOKE_EXTERNAL_ID; your value in place of EXTERNAL_ID):\n{}\nIn account {} the caller's identity policy must allow the AssumeRole:\n{}",
                role.account,
                pretty(&policy::trust_statement(source, "EXTERNAL_ID")),
                me.account,
                pretty(&policy::assume_role_identity_statement(role)),
            ),
        );
    }
    let c = classify(o);
    Check::fail(
        name,
        Some(c.class),
        format!("AssumeRole of {role} failed: {}", describe(o)),
        c.hint
            .unwrap_or_else(|| "Check the role ARN, the session name and the STS endpoint.".into()),
    )
}

/// Step 2b: the answer to an AssumeRole made *without* the external id, after one with it
/// succeeded. It must be refused; if not, the trust policy lacks the confused-deputy guard.
pub fn trust_external_id(without: Result<(), &RawOutcome>, me: &CallerIdentity, source: &str, role: &RoleArn) -> Check {
    let name = "trust_external_id";
    match without {
        Ok(()) => Check::fail(
            name,
            Some(Class::Credentials),
            format!(
                "{role} lets {} assume it without an external id: its trust policy does not require sts:ExternalId",
                me.arn
            ),
            format!(
                "In account {}, replace the role's trust statement naming {source} with this one (your external id in place of EXTERNAL_ID):\n{}",
                role.account,
                pretty(&policy::trust_statement(source, "EXTERNAL_ID"))
            ),
        ),
        Err(o) if code_of(o) == Some("AccessDenied") => Check::new(
            name,
            Status::Pass,
            "the trust policy requires the external id (AssumeRole without it is refused)",
        ),
        Err(o) => Check::new(
            name,
            Status::Info,
            format!("could not probe AssumeRole without the external id: {}", describe(o)),
        ),
    }
}

/// Step 3: the DryRun Invoke of the target. `invoker` is the principal ARN that invoked
/// (the caller's role, or the assumed role); `assumed` says which.
pub fn invoke_permission(
    arn: &FunctionArn,
    dry: &RawOutcome,
    invoker: &str,
    assumed: bool,
    missing: Option<Missing>,
) -> Check {
    let name = "invoke_permission";
    let c = classify(dry);
    let invoker_account = invoker.split(':').nth(4).unwrap_or_default();
    let identity_fix = || {
        let attach_to = if assumed {
            "the assumed role"
        } else {
            "the caller's role"
        };
        format!(
            "Attach to {attach_to} {invoker} (account {invoker_account}) an identity policy allowing exactly this ARN:\n{}",
            pretty(&policy::document(vec![policy::invoke_identity_statement(arn)]))
        )
    };
    let resource_fix = || {
        let mut fix = format!(
            "In account {}, grant the caller on exactly this ARN:\n{}\n(the statement it adds to the resource policy: {})",
            arn.account,
            policy::add_permission_command(arn, invoker),
            serde_json::to_string(&policy::invoke_resource_statement(arn, invoker)).unwrap_or_default()
        );
        if arn.qualifier.is_none() {
            fix.push_str("\nThe target is unqualified: if the permission is on an alias, grant on the unqualified ARN or invoke the alias (XINVOKE_TARGET_ARN=ARN:ALIAS); the command above grants on the unqualified ARN.");
        }
        fix
    };
    match c.class {
        Class::Ok => Check::new(
            name,
            Status::Pass,
            format!("{invoker} may invoke {arn} (DryRun Invoke answered {})", c.status.unwrap_or(204)),
        ),
        Class::AccessDeniedIdentity => Check::fail(
            name,
            Some(c.class),
            format!("denied on the identity side: no identity-based policy of {invoker} allows lambda:InvokeFunction on {arn}"),
            identity_fix(),
        ),
        Class::AccessDeniedResource => Check::fail(
            name,
            Some(c.class),
            format!("denied on the resource side: the resource policy of {arn} does not let {invoker} invoke it"),
            resource_fix(),
        ),
        Class::AccessDenied => Check::fail(
            name,
            Some(c.class),
            format!("denied, and AWS did not say by which policy: {}", describe(dry)),
            format!("Check both.\n{}\n{}", identity_fix(), resource_fix()),
        ),
        Class::NotFound if missing == Some(Missing::Function) => Check::new(
            name,
            Status::Skip,
            "not checked: the function does not exist (see function)",
        ),
        Class::NotFound => Check::new(
            name,
            Status::Skip,
            format!("not checked: {arn} does not exist (see {})", qualifier_check_name(arn)),
        ),
        _ => Check::fail(
            name,
            Some(c.class),
            format!("the DryRun Invoke failed: {}", describe(dry)),
            c.hint.unwrap_or_else(|| "Check the endpoint and the credentials.".into()),
        ),
    }
}

/// Which ARN to read the configuration of: the target's, or the function's when the
/// qualifier may not exist.
pub(crate) fn configuration_arn(arn: &FunctionArn, missing: Option<Missing>) -> FunctionArn {
    if missing.is_some() {
        arn.with_qualifier(None)
    } else {
        arn.clone()
    }
}

/// Step 4: GetFunctionConfiguration of `read` (from [`configuration_arn`]). Returns the check
/// and what is now known to be missing.
pub fn function(
    read: &FunctionArn,
    result: Result<&FunctionConfig, &RawOutcome>,
    invoker: &str,
    missing: Option<Missing>,
) -> (Check, Option<Missing>) {
    let name = "function";
    match result {
        Ok(cfg) => (configuration_check(read, cfg), missing.map(|_| Missing::Qualifier)),
        Err(o) => {
            let c = classify(o);
            if is_denied(c.class) {
                let check = Check::new(
                    name,
                    Status::Info,
                    format!(
                        "configuration not visible to {invoker} (AccessDenied on GetFunctionConfiguration): normal across accounts, whose resource policies grant invokes, not reads; the DryRun Invoke is what an invoke needs"
                    ),
                );
                (check, missing)
            } else if c.class == Class::NotFound && missing != Some(Missing::Qualifier) {
                let check = Check::fail(
                    name,
                    Some(Class::NotFound),
                    format!(
                        "the function {} does not exist in account {} ({})",
                        read.unqualified(),
                        read.account,
                        read.region
                    ),
                    "Check the target ARN's region, account and function name (XINVOKE_TARGET_ARN).",
                );
                (check, Some(Missing::Function))
            } else {
                let check = Check::new(
                    name,
                    Status::Info,
                    format!("could not read the configuration: {}", describe(o)),
                );
                (check, missing)
            }
        }
    }
}

/// Judge a visible configuration: State, StateReasonCode, LastUpdateStatus and its reason
/// code, with the VPC hints of [`state_reason_class`].
pub(crate) fn configuration_check(read: &FunctionArn, cfg: &FunctionConfig) -> Check {
    let name = "function";
    let state = cfg.state.as_deref().unwrap_or("unknown");
    let update = cfg.last_update_status.as_deref().unwrap_or("unknown");
    let vpc = match &cfg.vpc_id {
        Some(v) => format!(
            "; VPC {v}, {} subnet(s), {} security group(s)",
            cfg.subnet_ids.len(),
            cfg.security_group_ids.len()
        ),
        None => String::new(),
    };
    let reason = cfg
        .state_reason_code
        .as_deref()
        .or(cfg.last_update_status_reason_code.as_deref());
    let reason_class = reason.and_then(state_reason_class);
    let with_reason = |what: String| match reason {
        Some(r) => format!("{what} with reason {r}"),
        None => what,
    };
    let fail = |summary: String, fallback_class: Class, fallback_fix: &str| match reason_class {
        Some((class, hint)) => Check::fail(name, Some(class), summary, hint),
        None => Check::fail(name, Some(fallback_class), summary, fallback_fix),
    };
    match state {
        "Failed" => fail(
            with_reason(format!("{read} is Failed")) + ": every invoke is refused until it is fixed",
            Class::InvalidRequest,
            "Read StateReason (aws lambda get-function-configuration) and fix the function's configuration in account 2, then update it.",
        ),
        "Pending" => fail(
            with_reason(format!("{read} is Pending")) + ": invokes are refused (409) until it is Active",
            Class::NotReady,
            "Wait for State Active (aws lambda wait function-active-v2); if it stays Pending, read StateReason.",
        ),
        "Inactive" => Check::new(
            name,
            Status::Info,
            format!("{read} is Inactive (idle): the next invoke answers ResourceNotReadyException once while Lambda rebuilds its VPC connection, which xinvoke retries{vpc}"),
        ),
        _ if update == "Failed" => fail(
            with_reason(format!("{read} is {state} but its last update Failed")),
            Class::InvalidRequest,
            "Read LastUpdateStatusReason and fix the configuration change in account 2.",
        ),
        _ => Check::new(name, Status::Pass, format!("{read} is {state}, last update {update}{vpc}")),
    }
}

/// Step 4, tenancy: a visible configuration's tenant isolation against the tenant the caller
/// sends (`XINVOKE_TENANT_ID`, `--tenant-id`, a target's `tenant_id`). A mismatch replaces the
/// `function` check: Lambda refuses every such invoke with InvalidParameterValueException.
pub fn tenancy(read: &FunctionArn, cfg: &FunctionConfig, tenant: Option<&str>) -> Option<Check> {
    let name = "function";
    match (cfg.tenant_isolation.as_deref(), tenant) {
        (Some(mode), None) => Some(Check::fail(
            name,
            Some(Class::InvalidRequest),
            format!("{read} is tenant-isolated ({mode}) and no tenant id is configured: every invoke without one is refused (InvalidParameterValueException)"),
            "Send a tenant with every invoke: XINVOKE_TENANT_ID (or --tenant-id, or a target's tenant_id in XINVOKE_TARGETS) for a fixed one, or per event the direct event's tenant_id, an SQS record's tenant_id message attribute.",
        )),
        (None, Some(t)) => Some(Check::fail(
            name,
            Some(Class::InvalidRequest),
            format!("{read} has no tenant isolation, but tenant id {t:?} is configured: Lambda refuses an invoke that names a tenant (InvalidParameterValueException)"),
            "Remove the tenant id (XINVOKE_TENANT_ID, --tenant-id, the target's tenant_id), or invoke a function created with TenancyConfig PER_TENANT.",
        )),
        _ => None,
    }
}

/// Whether step 5 needs GetAlias: an alias-qualified target whose function may exist.
pub(crate) fn needs_alias_read(arn: &FunctionArn, missing: Option<Missing>) -> bool {
    arn.qualifier.is_some() && qualifier_check_name(arn) == "alias" && missing != Some(Missing::Function)
}

/// Step 5: the alias (GetAlias's answer, when [`needs_alias_read`]) or version.
pub fn qualifier(
    arn: &FunctionArn,
    alias: Option<Result<&AliasInfo, &RawOutcome>>,
    dry_ok: bool,
    missing: Option<Missing>,
) -> Check {
    let name = qualifier_check_name(arn);
    let Some(q) = &arn.qualifier else {
        return Check::new(
            name,
            Status::Skip,
            "the target ARN has no qualifier: invokes run $LATEST, and permissions on an alias do not cover them",
        );
    };
    if missing == Some(Missing::Function) {
        return Check::new(name, Status::Skip, "not checked: the function does not exist");
    }
    let function = arn.unqualified();
    if name == "version" {
        return match missing {
            Some(_) => Check::fail(
                name,
                Some(Class::NotFound),
                format!("version {q} of {function} does not exist (the DryRun Invoke answered ResourceNotFoundException)"),
                format!("Invoke a published version or an alias (XINVOKE_TARGET_ARN), or publish one in account {}: aws lambda publish-version --function-name {function}", arn.account),
            ),
            None if dry_ok => Check::new(name, Status::Pass, format!("version {q} exists (the DryRun Invoke resolved it)")),
            None => Check::new(name, Status::Info, format!("version {q}: not checked apart from the DryRun Invoke")),
        };
    }
    let create = format!(
        "Create it in account {}: aws lambda create-alias --function-name {function} --name {q} --function-version VERSION (then grant on it), or invoke an alias that exists (XINVOKE_TARGET_ARN).",
        arn.account
    );
    let not_found = |o: &RawOutcome| classify(o).class == Class::NotFound;
    match alias {
        Some(Ok(a)) => Check::new(
            name,
            Status::Pass,
            format!("alias {q} exists and points at version {}", a.function_version),
        ),
        Some(Err(o)) if not_found(o) => Check::fail(
            name,
            Some(Class::NotFound),
            format!("alias {q} does not exist on {function}"),
            create,
        ),
        other => {
            match missing {
                Some(m) => Check::fail(
                    name,
                    Some(Class::NotFound),
                    if m == Missing::Qualifier {
                        format!("alias {q} does not exist on {function} (the DryRun Invoke of the alias answered ResourceNotFoundException, of the function did not)")
                    } else {
                        format!("alias {q} (or the function) does not exist: the DryRun Invoke answered ResourceNotFoundException")
                    },
                    create,
                ),
                None => {
                    let why = other.and_then(Result::err).and_then(code_of).unwrap_or("no answer");
                    if dry_ok {
                        Check::new(
                        name,
                        Status::Pass,
                        format!("alias {q} exists (the DryRun Invoke resolved it; where it points is not visible: {why})"),
                    )
                    } else {
                        Check::new(
                            name,
                            Status::Info,
                            format!("alias {q} not visible to this caller: {why}"),
                        )
                    }
                }
            }
        }
    }
}

/// Whether final failures have somewhere to go: the failure queue the invoker's settings name
/// (`XINVOKE_FAILURE_QUEUE_URL`). Without one, an SQS record that must not be redelivered
/// leaves the invoker only as an ERROR line: a warning, not a failure (invokes still work).
pub fn failure_destination(queue_url: Option<&str>) -> Check {
    const NAME: &str = "failure_queue";
    match queue_url {
        Some(url) => Check::new(NAME, Status::Pass, format!("final records go to the failure queue {url}")),
        None => Check {
            name: NAME,
            status: Status::Warn,
            summary: "the invoker has no failure destination (XINVOKE_FAILURE_QUEUE_URL is unset): a final SQS record, one whose target may have run, would leave only as an ERROR line".into(),
            class: None,
            fix: Some("set XINVOKE_FAILURE_QUEUE_URL to an SQS queue the invoker may sqs:SendMessage to: the template's FailureQueueUrl output (the template always sets it, and uses the queue as the async OnFailure destination)".into()),
        },
    }
}

/// The error code and message of a failure, for a sentence.
pub(crate) fn describe(outcome: &RawOutcome) -> String {
    match outcome {
        RawOutcome::Failed(e) => match &e.message {
            Some(m) => format!("{} ({}): {m}", e.code, e.status),
            None => format!("{} ({})", e.code, e.status),
        },
        RawOutcome::TimedOut { .. } => "no answer in time".into(),
        RawOutcome::ConnectFailed | RawOutcome::ConnectionLost { .. } => "no connection to the endpoint".into(),
        RawOutcome::CredentialsFailed(f) => match (&f.code, f.status, &f.message) {
            (Some(code), Some(status), Some(m)) => format!("{code} ({status}): {m}"),
            (Some(code), Some(status), None) => format!("{code} ({status})"),
            _ => format!("credentials failed ({})", f.code.as_deref().unwrap_or("?")),
        },
        RawOutcome::Rejected { code, message } => format!("{code}: {message}"),
        RawOutcome::Answered { status, .. } => format!("answered {status}"),
    }
}

/// The error code of a service answer.
pub(crate) fn code_of(outcome: &RawOutcome) -> Option<&str> {
    match outcome {
        RawOutcome::Failed(e) => Some(&e.code),
        RawOutcome::CredentialsFailed(f) => f.code.as_deref(),
        _ => None,
    }
}

/// Any of the AccessDenied classes.
pub(crate) fn is_denied(class: Class) -> bool {
    matches!(
        class,
        Class::AccessDenied | Class::AccessDeniedIdentity | Class::AccessDeniedResource
    )
}

/// `alias`, or `version` for a target qualified with a version number.
pub(crate) fn qualifier_check_name(arn: &FunctionArn) -> &'static str {
    match &arn.qualifier {
        Some(q) if q.as_str().bytes().all(|b| b.is_ascii_digit()) => "version",
        _ => "alias",
    }
}
