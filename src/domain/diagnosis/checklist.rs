//! The whole diagnosis: the checks in their order, those skipped once one fails, the exit code
//! and the printed checklist.

use crate::domain::arn::FunctionArn;
use crate::domain::diagnosis::check::{Check, Status};
use crate::domain::diagnosis::facts::ServiceEndpoint;
use crate::domain::diagnosis::steps::qualifier_check_name;
use serde::Serialize;

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
    use crate::domain::class::Class;
    use crate::domain::classify::RawOutcome;
    use crate::domain::classify::ServiceError;
    use crate::domain::diagnosis::*;

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
