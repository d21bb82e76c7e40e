//! A function as the server runs it: its scenario definition plus what changes while serving
//! (lifecycle state, in-flight executions, the environment pool, counters). The hot path
//! touches only atomics unless the function is not Active or uses per-environment ENIs.

use crate::local::errors::ApiError;
use crate::local::iam::PolicyDocument;
use crate::local::scenario::{self, EniMode, FunctionStateName};
use crate::local::vpc::EnvironmentPool;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

/// Pending message of a ResourceConflictException.
pub const PENDING_MESSAGE: &str =
    "The operation cannot be performed at this time. The function is currently in the following state: Pending";

/// The lifecycle state and its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleState {
    /// State.
    pub state: FunctionStateName,
    /// `StateReasonCode`.
    pub reason_code: Option<String>,
    /// Server time (ms) at which the state ends and the function is Active again.
    pub until_ms: Option<i64>,
}

impl LifecycleState {
    /// `StateReason` as GetFunctionConfiguration reports it.
    pub fn reason(&self) -> Option<String> {
        match self.state {
            FunctionStateName::Active => None,
            FunctionStateName::Pending => Some("The function is being created.".into()),
            FunctionStateName::Inactive => {
                Some("The function is inactive and its VPC connection is no longer available.".into())
            }
            FunctionStateName::Failed => Some(format!(
                "Lambda was unable to configure access to your environment variables or VPC: {}",
                self.reason_code.as_deref().unwrap_or("InternalError")
            )),
        }
    }
}

/// The Invoke error of a Failed function, by its state reason code: the one table's
/// [`crate::core::errors::failed_state_error`], so invoking and reading the configuration
/// classify alike.
pub fn failed_error(reason_code: Option<&str>) -> ApiError {
    let (name, ec2_error_code) = crate::core::errors::failed_state_error(reason_code.unwrap_or_default());
    let mut e = ApiError::named(name);
    e.ec2_error_code = ec2_error_code.map(str::to_string);
    e
}

/// An alias at run time.
#[derive(Debug, Clone)]
pub struct AliasRuntime {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Resource policy.
    pub resource_policy: Option<PolicyDocument>,
    /// Revision id.
    pub revision_id: String,
}

/// A function at run time.
#[derive(Debug)]
pub struct FunctionRuntime {
    /// Scenario definition.
    pub def: scenario::Function,
    /// Owning account.
    pub account: String,
    /// Unqualified ARN.
    pub arn: String,
    /// Aliases.
    pub aliases: Vec<AliasRuntime>,
    /// Revision id of the function (and its policy).
    pub revision_id: String,
    active: AtomicBool,
    lifecycle: Mutex<LifecycleState>,
    last_invoke_ms: AtomicI64,
    /// Executions in flight.
    pub in_flight: AtomicU32,
    /// Invokes received (any outcome).
    pub invokes: AtomicU64,
    /// The environment pool (per_environment VPC mode only).
    pub pool: Option<Mutex<EnvironmentPool>>,
}

/// What a qualifier resolved to.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    /// Unqualified or `$LATEST`.
    Latest,
    /// A published version.
    Version(&'a str),
    /// An alias.
    Alias(&'a AliasRuntime),
}

impl<'a> Resolved<'a> {
    /// `X-Amz-Executed-Version`.
    pub fn executed_version(&self) -> &'a str {
        match self {
            Resolved::Latest => "$LATEST",
            Resolved::Version(v) => v,
            Resolved::Alias(a) => &a.version,
        }
    }
}

fn revision(seed: &str) -> String {
    let h = crate::local::sigv4::sha256_hex(seed.as_bytes());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl FunctionRuntime {
    /// Build the run-time function of `def` in `account`/`region`.
    pub fn new(def: scenario::Function, account: &str, region: &str, now_ms: i64) -> FunctionRuntime {
        let arn = format!("arn:aws:lambda:{region}:{account}:function:{}", def.name);
        let aliases = def
            .aliases
            .iter()
            .map(|a| AliasRuntime {
                name: a.name.clone(),
                version: a.version.clone(),
                resource_policy: a.resource_policy.clone(),
                revision_id: revision(&format!("{arn}:{}", a.name)),
            })
            .collect();
        let pool = def
            .vpc
            .as_ref()
            .filter(|v| v.eni_mode == EniMode::PerEnvironment)
            .map(|v| Mutex::new(EnvironmentPool::new(v, now_ms)));
        let lifecycle = LifecycleState {
            state: def.state,
            reason_code: def.state_reason_code.clone(),
            until_ms: None,
        };
        FunctionRuntime {
            revision_id: revision(&arn),
            account: account.to_string(),
            arn,
            aliases,
            active: AtomicBool::new(def.state == FunctionStateName::Active),
            lifecycle: Mutex::new(lifecycle),
            last_invoke_ms: AtomicI64::new(now_ms),
            in_flight: AtomicU32::new(0),
            invokes: AtomicU64::new(0),
            pool,
            def,
        }
    }

    /// Resolve a qualifier (`None` = unqualified).
    pub fn resolve(&self, qualifier: Option<&str>) -> Option<Resolved<'_>> {
        match qualifier {
            None | Some("$LATEST") => Some(Resolved::Latest),
            Some(q) => {
                if let Some(v) = self.def.versions.iter().find(|v| v.as_str() == q) {
                    Some(Resolved::Version(v))
                } else {
                    self.aliases.iter().find(|a| a.name == q).map(Resolved::Alias)
                }
            }
        }
    }

    /// The resource policy that governs calls with this qualifier.
    pub fn resource_policy<'a>(&'a self, resolved: Resolved<'a>) -> Option<&'a PolicyDocument> {
        match resolved {
            Resolved::Alias(a) => a.resource_policy.as_ref(),
            Resolved::Latest => self.def.resource_policy.as_ref(),
            Resolved::Version(_) => None,
        }
    }

    fn lock_lifecycle(&self) -> std::sync::MutexGuard<'_, LifecycleState> {
        self.lifecycle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current lifecycle state, after applying timed transitions.
    pub fn lifecycle(&self, now_ms: i64) -> LifecycleState {
        let mut st = self.lock_lifecycle();
        self.advance(&mut st, now_ms);
        st.clone()
    }

    fn advance(&self, st: &mut LifecycleState, now_ms: i64) {
        if st.state == FunctionStateName::Active {
            if let Some(v) = self.def.vpc.as_ref().filter(|v| v.eni_mode == EniMode::Hyperplane) {
                let idle_ms = (v.inactive_after_idle_s as i64).saturating_mul(1000);
                if now_ms - self.last_invoke_ms.load(Ordering::Relaxed) >= idle_ms {
                    st.state = FunctionStateName::Inactive;
                    st.reason_code = Some("IdleFunction".into());
                    st.until_ms = None;
                    self.active.store(false, Ordering::Release);
                }
            }
        }
        if let Some(until) = st.until_ms {
            if now_ms >= until {
                *st = LifecycleState {
                    state: FunctionStateName::Active,
                    reason_code: None,
                    until_ms: None,
                };
                self.active.store(true, Ordering::Release);
            }
        }
    }

    /// Set the state (control API). `for_ms` returns it to Active after that long.
    pub fn set_state(&self, state: FunctionStateName, reason_code: Option<String>, for_ms: Option<u64>, now_ms: i64) {
        let mut st = self.lock_lifecycle();
        *st = LifecycleState {
            state,
            reason_code,
            until_ms: for_ms.map(|ms| now_ms.saturating_add(ms as i64)),
        };
        // Leaving Inactive must not be undone at once by the idle check.
        self.last_invoke_ms.store(now_ms, Ordering::Relaxed);
        self.active.store(state == FunctionStateName::Active, Ordering::Release);
    }

    /// May an invoke run now? The answer for a function that is not Active.
    pub fn check_ready(&self, now_ms: i64) -> Result<(), ApiError> {
        let idle_limit = self
            .def
            .vpc
            .as_ref()
            .filter(|v| v.eni_mode == EniMode::Hyperplane)
            .map(|v| (v.inactive_after_idle_s as i64).saturating_mul(1000));
        let last = self.last_invoke_ms.swap(now_ms, Ordering::Relaxed);
        let idle_too_long = idle_limit.is_some_and(|l| now_ms - last >= l);
        if self.active.load(Ordering::Acquire) && !idle_too_long {
            return Ok(());
        }
        let mut st = self.lock_lifecycle();
        if idle_too_long && st.state == FunctionStateName::Active {
            st.state = FunctionStateName::Inactive;
            st.reason_code = Some("IdleFunction".into());
            st.until_ms = None;
        }
        if st.state != FunctionStateName::Inactive {
            self.advance(&mut st, now_ms);
        }
        let result = match st.state {
            FunctionStateName::Active => Ok(()),
            FunctionStateName::Pending => Err(ApiError::new("ResourceConflictException", PENDING_MESSAGE)),
            FunctionStateName::Inactive => {
                let pending_ms = self.def.vpc.as_ref().map(|v| v.pending_ms).unwrap_or(2000);
                *st = LifecycleState {
                    state: FunctionStateName::Pending,
                    reason_code: Some("Restoring".into()),
                    until_ms: Some(now_ms.saturating_add(pending_ms as i64)),
                };
                Err(ApiError::named("ResourceNotReadyException"))
            }
            FunctionStateName::Failed => Err(failed_error(st.reason_code.as_deref())),
        };
        self.active
            .store(st.state == FunctionStateName::Active, Ordering::Release);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(toml_text: &str) -> FunctionRuntime {
        let def: scenario::Function = toml::from_str(toml_text).unwrap();
        FunctionRuntime::new(def, "222222222222", "us-east-1", 0)
    }

    #[test]
    fn resolves_versions_aliases_and_latest() {
        let f = function("name = \"t\"\nversions = [\"1\"]\naliases = [{ name = \"live\", version = \"1\" }]");
        assert_eq!(f.resolve(None).unwrap().executed_version(), "$LATEST");
        assert_eq!(f.resolve(Some("1")).unwrap().executed_version(), "1");
        assert_eq!(f.resolve(Some("live")).unwrap().executed_version(), "1");
        assert!(f.resolve(Some("2")).is_none());
    }

    #[test]
    fn pending_answers_409_until_its_time_is_up() {
        let f = function("name = \"t\"");
        f.set_state(FunctionStateName::Pending, None, Some(1000), 0);
        let e = f.check_ready(500).unwrap_err();
        assert_eq!(e.name(), "ResourceConflictException");
        assert_eq!(e.message, PENDING_MESSAGE);
        assert!(f.check_ready(1000).is_ok());
    }

    #[test]
    fn inactive_fails_once_then_pending_then_active() {
        let f = function("name = \"t\"\nvpc = { subnet_ids = [\"s\"], pending_ms = 100 }");
        f.set_state(FunctionStateName::Inactive, None, None, 0);
        assert_eq!(f.check_ready(10).unwrap_err().name(), "ResourceNotReadyException");
        assert_eq!(f.check_ready(20).unwrap_err().name(), "ResourceConflictException");
        assert!(f.check_ready(111).is_ok());
    }

    #[test]
    fn hyperplane_function_goes_inactive_after_idling() {
        let f = function("name = \"t\"\nvpc = { subnet_ids = [\"s\"], inactive_after_idle_s = 60, pending_ms = 10 }");
        assert!(f.check_ready(1000).is_ok());
        assert_eq!(f.check_ready(62_000).unwrap_err().name(), "ResourceNotReadyException");
        assert!(f.check_ready(62_011).is_ok());
    }

    #[test]
    fn failed_reason_codes_map_to_their_invoke_errors() {
        let cases = [
            ("EniLimitExceeded", "ENILimitReachedException"),
            ("SubnetOutOfIPAddresses", "SubnetIPAddressLimitReachedException"),
            ("EC2RequestLimitExceeded", "EC2UnexpectedException"),
            ("InvalidSubnet", "InvalidSubnetIDException"),
            ("InvalidSecurityGroup", "InvalidSecurityGroupIDException"),
        ];
        for (code, name) in cases {
            let f = function("name = \"t\"");
            f.set_state(FunctionStateName::Failed, Some(code.into()), None, 0);
            assert_eq!(f.check_ready(1).unwrap_err().name(), name);
        }
    }
}
