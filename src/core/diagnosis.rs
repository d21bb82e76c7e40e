//! Doctor's judgement: what each probe result of a cross-account invoke's set-up means, as a
//! checklist line with ✓/✗/· and, under each failure, exactly what to attach or run. Pure: the
//! probes' results in (plain data and the core's [`RawOutcome`]), [`Check`]s out. The probes
//! themselves are `adapters::probes`; `xinvoke doctor` prints the [`Diagnosis`].

use crate::core::arn::{FunctionArn, RoleArn};
use crate::core::classify::{classify, state_reason_class, Class, RawOutcome};
use crate::core::policy;
use serde::Serialize;

/// The caller as STS sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    pub account: String,
    /// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, or an IAM user's ARN.
    pub arn: String,
}

/// What GetFunctionConfiguration says about readiness and networking.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FunctionConfig {
    pub state: Option<String>,
    pub state_reason_code: Option<String>,
    pub last_update_status: Option<String>,
    pub last_update_status_reason_code: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// What GetAlias says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasInfo {
    pub name: String,
    pub function_version: String,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine (✓).
    Pass,
    /// A problem; `fix` says what to do (✗).
    Fail,
    /// Neutral: not visible to this caller, or worth knowing (·).
    Info,
    /// Not applicable, or not run because an earlier check failed (·).
    Skip,
}

impl Status {
    fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Info | Status::Skip => "·",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Stable name: `caller_identity`, `assume_role`, `trust_external_id`, `invoke_permission`,
    /// `function`, `alias` (or `version` for a version-qualified target).
    pub name: &'static str,
    pub status: Status,
    /// One sentence.
    pub summary: String,
    /// The class of the failure, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    /// What to attach or run (failures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A check without a fix (pass, info, skip).
    pub fn new(name: &'static str, status: Status, summary: impl Into<String>) -> Check {
        Check {
            name,
            status,
            summary: summary.into(),
            class: None,
            fix: None,
        }
    }

    /// A failed check with its class and fix.
    pub fn fail(name: &'static str, class: Option<Class>, summary: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            summary: summary.into(),
            class,
            fix: Some(fix.into()),
        }
    }
}

/// Everything doctor found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    pub target: String,
    /// `resource` (the caller's own credentials) or `role` (role chaining).
    pub auth: &'static str,
    /// The caller's ARN as STS reports it, when known.
    pub caller: Option<String>,
    /// No check failed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Diagnosis {
    /// An empty report for a target; `auth` is `resource` or `role`.
    pub fn new(target: &FunctionArn, auth: &'static str) -> Diagnosis {
        Diagnosis {
            target: target.to_string(),
            auth,
            caller: None,
            ok: true,
            checks: Vec::new(),
        }
    }

    /// Settle `ok` once every check is in.
    pub fn finish(mut self) -> Diagnosis {
        self.ok = self.failed().is_empty();
        self
    }

    /// The check of that name.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The names of the failed checks, in order.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.name)
            .collect()
    }

    /// 0 when nothing failed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.ok {
            0
        } else {
            1
        }
    }

    /// The checklist as text: one line a check, the fix indented under each failure.
    pub fn render(&self) -> String {
        let mut out = format!("xinvoke doctor: {} ({} auth)\n", self.target, self.auth);
        for c in &self.checks {
            out.push_str(&format!("{} {:<18} {}\n", c.status.symbol(), c.name, c.summary));
            if let Some(fix) = &c.fix {
                for (i, line) in fix.lines().enumerate() {
                    let lead = if i == 0 { "fix: " } else { "     " };
                    out.push_str(&format!("    {lead}{line}\n"));
                }
            }
        }
        let failed = self.failed();
        if failed.is_empty() {
            out.push_str("no problems found\n");
        } else {
            out.push_str(&format!("{} problem(s): {}\n", failed.len(), failed.join(", ")));
        }
        out
    }
}

/// A JSON document, indented for pasting.
pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The error code and message of a failure, for a sentence.
pub fn describe(outcome: &RawOutcome) -> String {
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
pub fn code_of(outcome: &RawOutcome) -> Option<&str> {
    match outcome {
        RawOutcome::Failed(e) => Some(&e.code),
        RawOutcome::CredentialsFailed(f) => f.code.as_deref(),
        _ => None,
    }
}

/// Any of the AccessDenied classes.
pub fn is_denied(class: Class) -> bool {
    matches!(
        class,
        Class::AccessDenied | Class::AccessDeniedIdentity | Class::AccessDeniedResource
    )
}

/// What a ResourceNotFound on the qualified target means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The function exists; its alias or version does not.
    Qualifier,
    /// The function does not exist.
    Function,
    /// One of the two; the caller may not see which.
    Either,
}

impl Missing {
    /// From the class of a DryRun Invoke of the unqualified function, made after the qualified
    /// one answered ResourceNotFound. Lambda checks existence before the resource policy, so a
    /// resource-side denial also proves the function exists; an identity-side one proves nothing.
    pub fn from_unqualified(class: Class) -> Missing {
        match class {
            Class::NotFound => Missing::Function,
            Class::Ok | Class::AccessDeniedResource => Missing::Qualifier,
            _ => Missing::Either,
        }
    }
}

/// `alias`, or `version` for a target qualified with a version number.
pub fn qualifier_check_name(arn: &FunctionArn) -> &'static str {
    match &arn.qualifier {
        Some(q) if q.as_str().bytes().all(|b| b.is_ascii_digit()) => "version",
        _ => "alias",
    }
}

/// The names of every check, in order, for a target (role chaining adds two).
pub fn check_names(arn: &FunctionArn, role: bool) -> Vec<&'static str> {
    let mut names = vec!["caller_identity", "assume_role"];
    if role {
        names.push("trust_external_id");
    }
    names.extend(["invoke_permission", "function", qualifier_check_name(arn)]);
    names
}

/// Mark every check not yet in the report as skipped, and settle `ok`.
pub fn skip_rest(report: &mut Diagnosis, arn: &FunctionArn, role: bool, why: &str) {
    for name in check_names(arn, role) {
        if report.check(name).is_none() {
            report
                .checks
                .push(Check::new(name, Status::Skip, format!("not run: {why}")));
        }
    }
}

/// Step 1 failed: GetCallerIdentity did not answer.
pub fn caller_identity_failed(o: &RawOutcome) -> Check {
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

/// Step 1 answered.
pub fn caller_identity_ok(me: &CallerIdentity) -> Check {
    Check::new(
        "caller_identity",
        Status::Pass,
        format!("the caller is {} in account {}", me.arn, me.account),
    )
}

/// Step 2 without a role.
pub fn no_role() -> Check {
    Check::new(
        "assume_role",
        Status::Skip,
        "no role configured (XINVOKE_ROLE_ARN): resource-based, the caller invokes with its own credentials",
    )
}

/// Step 2 answered.
pub fn assume_role_ok(role: &RoleArn, session_arn: &str) -> Check {
    Check::new("assume_role", Status::Pass, format!("assumed {role} as {session_arn}"))
}

/// Step 2 refused. `source` is the caller's principal (role) ARN. STS says only "not
/// authorized", whichever of the three conditions is missing, so the fix states all three.
pub fn assume_role_failed(o: &RawOutcome, me: &CallerIdentity, source: &str, role: &RoleArn) -> Check {
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
pub fn configuration_arn(arn: &FunctionArn, missing: Option<Missing>) -> FunctionArn {
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
pub fn configuration_check(read: &FunctionArn, cfg: &FunctionConfig) -> Check {
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

/// Whether step 5 needs GetAlias: an alias-qualified target whose function may exist.
pub fn needs_alias_read(arn: &FunctionArn, missing: Option<Missing>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classify::ServiceError;

    const LIVE: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";
    const SOURCE: &str = "arn:aws:iam::111111111111:role/xinvoke-source";

    fn arn(s: &str) -> FunctionArn {
        s.parse().unwrap()
    }

    fn failed(status: u16, code: &str, message: &str) -> RawOutcome {
        RawOutcome::Failed(ServiceError {
            status,
            code: code.into(),
            message: Some(message.into()),
            ..Default::default()
        })
    }

    fn config(state: &str, update: &str, reason: Option<&str>) -> FunctionConfig {
        FunctionConfig {
            state: Some(state.into()),
            state_reason_code: reason.map(str::to_string),
            last_update_status: Some(update.into()),
            ..Default::default()
        }
    }

    #[test]
    fn configuration_states_map_to_status_and_class() {
        let t = arn(LIVE);
        let cases: [(FunctionConfig, Status, Option<Class>); 7] = [
            (config("Active", "Successful", None), Status::Pass, None),
            (config("Inactive", "Successful", Some("Idle")), Status::Info, None),
            (
                config("Pending", "InProgress", None),
                Status::Fail,
                Some(Class::NotReady),
            ),
            (
                config("Pending", "InProgress", Some("SubnetOutOfIPAddresses")),
                Status::Fail,
                Some(Class::SubnetIpLimit),
            ),
            (
                config("Failed", "Failed", Some("EniLimitExceeded")),
                Status::Fail,
                Some(Class::EniLimit),
            ),
            (
                config("Failed", "Failed", Some("InvalidSubnet")),
                Status::Fail,
                Some(Class::VpcConfig),
            ),
            (
                FunctionConfig {
                    last_update_status_reason_code: Some("EC2RequestLimitExceeded".into()),
                    ..config("Active", "Failed", None)
                },
                Status::Fail,
                Some(Class::Ec2RequestLimit),
            ),
        ];
        for (cfg, status, class) in cases {
            let c = configuration_check(&t, &cfg);
            assert_eq!((c.status, c.class), (status, class), "{cfg:?}: {}", c.summary);
            assert_eq!(c.fix.is_some(), status == Status::Fail);
        }
    }

    #[test]
    fn denied_reads_are_neutral_notes() {
        let o = failed(403, "AccessDeniedException", "because no resource-based policy allows");
        let (c, missing) = function(&arn(LIVE), Err(&o), SOURCE, None);
        assert_eq!(c.status, Status::Info);
        assert_eq!(missing, None);
    }

    #[test]
    fn the_side_of_a_denied_dry_run_picks_the_fix() {
        let t = arn(LIVE);
        let identity = failed(403, "AccessDeniedException", "because no identity-based policy allows");
        let c = invoke_permission(&t, &identity, SOURCE, false, None);
        assert_eq!(c.class, Some(Class::AccessDeniedIdentity));
        assert!(c
            .fix
            .unwrap()
            .contains("\"Resource\": \"arn:aws:lambda:us-east-1:222222222222:function:target:live\""));
        let resource = failed(403, "AccessDeniedException", "because no resource-based policy allows");
        let c = invoke_permission(&t, &resource, SOURCE, false, None);
        assert_eq!(c.class, Some(Class::AccessDeniedResource));
        assert!(c
            .fix
            .unwrap()
            .contains("--function-name arn:aws:lambda:us-east-1:222222222222:function:target:live"));
        let neither = failed(403, "AccessDeniedException", "denied");
        let fix = invoke_permission(&t, &neither, SOURCE, false, None).fix.unwrap();
        assert!(fix.contains("add-permission") && fix.contains("identity policy"));
    }

    #[test]
    fn a_missing_qualifier_is_told_apart_from_a_missing_function() {
        assert_eq!(Missing::from_unqualified(Class::NotFound), Missing::Function);
        assert_eq!(Missing::from_unqualified(Class::Ok), Missing::Qualifier);
        assert_eq!(
            Missing::from_unqualified(Class::AccessDeniedResource),
            Missing::Qualifier
        );
        assert_eq!(Missing::from_unqualified(Class::AccessDeniedIdentity), Missing::Either);
        assert_eq!(qualifier_check_name(&arn(LIVE)), "alias");
        assert_eq!(
            qualifier_check_name(&arn("arn:aws:lambda:us-east-1:222222222222:function:t:7")),
            "version"
        );
        let c = qualifier(&arn(LIVE), None, false, Some(Missing::Either));
        assert_eq!((c.name, c.status), ("alias", Status::Fail));
        let c = qualifier(&arn(LIVE), None, false, Some(Missing::Function));
        assert_eq!(c.status, Status::Skip);
    }

    #[test]
    fn report_renders_symbols_and_fixes_and_counts_failures() {
        let mut r = Diagnosis::new(&arn(LIVE), "resource");
        r.checks.push(Check::new("caller_identity", Status::Pass, "ok"));
        r.checks
            .push(Check::fail("invoke_permission", None, "denied", "line 1\nline 2"));
        r.checks.push(Check::new("function", Status::Info, "not visible"));
        let r = r.finish();
        assert!(!r.ok);
        assert_eq!(r.exit_code(), 1);
        let text = r.render();
        assert!(text.contains("✓ caller_identity"));
        assert!(text.contains("✗ invoke_permission  denied\n    fix: line 1\n         line 2\n"));
        assert!(text.contains("· function"));
        assert!(text.ends_with("1 problem(s): invoke_permission\n"));
    }
}
