//! Doctor's judgement: what each probe result of a cross-account invoke's set-up means, as a
//! checklist line with ✓/✗/· and, under each failure, exactly what to attach or run. Pure: the
//! probes' results in (plain data and the core's [`RawOutcome`]), [`Check`]s out. The probes
//! themselves are `adapters::probes`; `xinvoke doctor` prints the [`Diagnosis`].

use crate::domain::arn::FunctionArn;
use crate::domain::class::Class;
use crate::domain::classify::RawOutcome;
use serde::Serialize;

mod organization;
mod steps;
pub use organization::*;
pub use steps::*;

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
    /// The function's timeout in seconds (what a load worker's slices must fit in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u32>,
    /// `TenancyConfig.TenantIsolationMode` (`PER_TENANT`): every invoke must name a tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_isolation: Option<String>,
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
    /// Works, but something that should be there is not; `fix` says what to set (!).
    Warn,
    /// Not applicable, or not run because an earlier check failed (·).
    Skip,
}

impl Status {
    fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
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

/// Where doctor calls a service: the URL its SDK resolved, or why none was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEndpoint {
    /// `lambda` or `sts`.
    pub service: &'static str,
    /// The URL, when one was resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why none was (the resolver's words).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ServiceEndpoint {
    /// A resolver's answer for `service`.
    pub fn new<E: std::fmt::Display>(service: &'static str, url: Result<String, E>) -> ServiceEndpoint {
        match url {
            Ok(url) => ServiceEndpoint {
                service,
                url: Some(url),
                error: None,
            },
            Err(e) => ServiceEndpoint {
                service,
                url: None,
                error: Some(e.to_string()),
            },
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

/// Everything doctor found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The endpoints called (Lambda's and STS's), printed first.
    pub endpoints: Vec<ServiceEndpoint>,
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
            endpoints: Vec::new(),
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

    /// The checklist as text: the endpoints first, then one line a check, the fix indented
    /// under each failure.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.endpoints {
            match (&e.url, &e.error) {
                (Some(url), _) => out.push_str(&format!("{} endpoint: {url}\n", e.service)),
                (None, why) => out.push_str(&format!(
                    "{} endpoint: none ({})\n",
                    e.service,
                    why.as_deref().unwrap_or("not resolved")
                )),
            }
        }
        out.push_str(&format!("xinvoke doctor: {} ({} auth)\n", self.target, self.auth));
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
pub(crate) fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
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
    pub(crate) fn from_unqualified(class: Class) -> Missing {
        match class {
            Class::NotFound => Missing::Function,
            Class::Ok | Class::AccessDeniedResource => Missing::Qualifier,
            _ => Missing::Either,
        }
    }
}

/// `alias`, or `version` for a target qualified with a version number.
pub(crate) fn qualifier_check_name(arn: &FunctionArn) -> &'static str {
    match &arn.qualifier {
        Some(q) if q.as_str().bytes().all(|b| b.is_ascii_digit()) => "version",
        _ => "alias",
    }
}

/// The names of every check, in order, for a target (role chaining adds two).
fn check_names(arn: &FunctionArn, role: bool) -> Vec<&'static str> {
    let mut names = vec!["caller_identity", "assume_role"];
    if role {
        names.push("trust_external_id");
    }
    names.extend(["invoke_permission", "function", qualifier_check_name(arn)]);
    names
}

/// Mark every check not yet in the report as skipped, and settle `ok`.
pub(crate) fn skip_rest(report: &mut Diagnosis, arn: &FunctionArn, role: bool, why: &str) {
    for name in check_names(arn, role) {
        if report.check(name).is_none() {
            report
                .checks
                .push(Check::new(name, Status::Skip, format!("not run: {why}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::classify::ServiceError;

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
