//! A function as the server runs it: its scenario definition plus what changes while serving
//! (lifecycle state and last update, resource policies, in-flight executions, the environment
//! pool, counters). The hot path touches only atomics unless the function is not Active or uses
//! per-environment ENIs.
//!
//! States follow the Lambda guide ("Lambda function states"): a function being created is
//! Pending (reason `Creating`) and invokes fail; an update keeps it Active with
//! `LastUpdateStatus` InProgress while invokes run on the previous configuration; a VPC
//! function idle long enough goes Inactive (reason `Idle`), its next invoke fails with
//! ResourceNotReadyException and it is Pending (`Restoring`) until its ENI is back; a create,
//! update or wake-up whose ENI cannot be made Fails with the reason code AWS gives.

use crate::local::errors::ApiError;
use crate::local::hyperplane::{self, Hyperplane};
use crate::local::iam::PolicyDocument;
use crate::local::scenario::{self, EniMode, FunctionStateName};
use crate::local::vpc::EnvironmentPool;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Pending message of a ResourceConflictException.
const PENDING_MESSAGE: &str =
    "The operation cannot be performed at this time. The function is currently in the following state: Pending";

/// How long a non-VPC function stays Pending when created, ms.
const CREATE_MS: u64 = 1000;

/// `LastUpdateStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStatus {
    Successful,
    InProgress,
    Failed,
}

impl UpdateStatus {
    /// The model's name.
    pub fn name(self) -> &'static str {
        match self {
            UpdateStatus::Successful => "Successful",
            UpdateStatus::InProgress => "InProgress",
            UpdateStatus::Failed => "Failed",
        }
    }
}

/// The configuration an update changes, as GetFunctionConfiguration reports it: what invokes
/// run with while it is in force, and what an update in progress moves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub description: String,
    pub timeout_s: u32,
    pub memory_mb: u32,
    pub runtime: String,
    pub role: String,
    pub handler: String,
    pub vpc: Option<NetConfig>,
}

/// A function's subnets and security groups, as its configuration reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

impl NetConfig {
    /// Its Hyperplane ENIs: one per subnet, for its security groups.
    fn keys(&self) -> Vec<String> {
        hyperplane::enis_of(&self.subnet_ids, &self.security_group_ids)
    }
}

/// The last update: its status, its reason when it failed, and what it moves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUpdate {
    pub status: UpdateStatus,
    /// `LastUpdateStatusReasonCode` of a failed update.
    pub reason_code: Option<String>,
    /// Server time (ms) the InProgress update ends.
    until_ms: Option<i64>,
    /// How it ends: the reason code of a failure, or success.
    fails_with: Option<String>,
    /// The configuration it moves to.
    next: Option<Settings>,
}

impl LastUpdate {
    fn done() -> LastUpdate {
        LastUpdate {
            status: UpdateStatus::Successful,
            reason_code: None,
            until_ms: None,
            fails_with: None,
            next: None,
        }
    }
}

/// The lifecycle state, its reason and the last update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleState {
    pub state: FunctionStateName,
    /// `StateReasonCode` (the model's values: Creating, Restoring, Idle, EniLimitExceeded, ...).
    pub reason_code: Option<String>,
    /// Server time (ms) at which a Pending state ends and the function is Active again.
    pub until_ms: Option<i64>,
    pub update: LastUpdate,
    /// The configuration in force (invokes use it; an update replaces it when done).
    pub settings: Settings,
}

impl LifecycleState {
    /// The configuration GetFunctionConfiguration shows: an update's as soon as it is
    /// requested (with `LastUpdateStatus` InProgress), though invokes keep running the one in
    /// force until it completes.
    pub fn shown(&self) -> &Settings {
        match (&self.update.status, &self.update.next) {
            (UpdateStatus::InProgress, Some(next)) => next,
            _ => &self.settings,
        }
    }

    /// `StateReason` as GetFunctionConfiguration reports it.
    pub fn reason(&self) -> Option<String> {
        match self.state {
            FunctionStateName::Active => None,
            FunctionStateName::Pending if self.reason_code.as_deref() == Some("Restoring") => {
                Some("The function is being restored.".into())
            }
            FunctionStateName::Pending => Some("The function is being created.".into()),
            FunctionStateName::Inactive => {
                Some("The function is inactive and its VPC connection is no longer available.".into())
            }
            FunctionStateName::Failed => Some(failure_reason(self.reason_code.as_deref())),
        }
    }

    /// `LastUpdateStatusReason`.
    pub(crate) fn update_reason(&self) -> Option<String> {
        match self.update.status {
            UpdateStatus::Successful => None,
            UpdateStatus::InProgress => Some("The function is being created.".into()),
            UpdateStatus::Failed => Some(failure_reason(self.update.reason_code.as_deref())),
        }
    }
}

fn failure_reason(code: Option<&str>) -> String {
    format!(
        "Lambda was unable to configure access to your environment variables or VPC: {}",
        code.unwrap_or("InternalError")
    )
}

/// The Invoke error of a Failed function, by its state reason code: the one table's
/// [`crate::domain::errors::failed_state_error`], so invoking and reading the configuration
/// classify alike.
fn failed_error(reason_code: Option<&str>) -> ApiError {
    let (name, ec2_error_code) = crate::domain::errors::failed_state_error(reason_code.unwrap_or_default());
    let mut e = ApiError::named(name);
    e.ec2_error_code = ec2_error_code.map(str::to_string);
    e
}

/// An alias at run time.
#[derive(Debug)]
pub struct AliasRuntime {
    pub name: String,
    /// The version it points to (UpdateAlias moves it).
    version: RwLock<String>,
    /// DeleteAlias: the alias answers 404 from then on.
    deleted: AtomicBool,
}

impl AliasRuntime {
    /// The version it points to now.
    pub fn version(&self) -> String {
        self.version.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The `RevisionId`s of a function (`$LATEST`), its aliases and its versions. Every change of
/// a configuration or its resource policy gives the one it changed a new id (the Lambda
/// guide; LocalStack's recorded TestLambdaRevisions: a create completing, an update starting
/// and completing, AddPermission, RemovePermission); a write carrying an older one answers
/// 412 PreconditionFailedException.
#[derive(Debug, Default)]
pub struct Revisions(Mutex<HashMap<RevisionKey, String>>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RevisionKey {
    Latest,
    Version(String),
    Alias(String),
}

impl RevisionKey {
    fn of(resolved: Resolved<'_>) -> RevisionKey {
        match resolved {
            Resolved::Latest => RevisionKey::Latest,
            Resolved::Version(v) => RevisionKey::Version(v.to_string()),
            Resolved::Alias(a) => RevisionKey::Alias(a.name.clone()),
        }
    }
}

/// Which API a stale RevisionId's message sends the caller to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionOf {
    /// The function's configuration or an alias ("Call the GetFunction/GetAlias API").
    Configuration,
    /// A resource policy ("Call the GetPolicy API").
    Policy,
}

impl Revisions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RevisionKey, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current id of what `resolved` names.
    pub fn of(&self, resolved: Resolved<'_>) -> String {
        self.lock()
            .entry(RevisionKey::of(resolved))
            .or_insert_with(new_revision)
            .clone()
    }

    /// Refuse `given` unless it is the current id of what `resolved` names (none given: no
    /// check), with AWS's message.
    pub fn check(&self, resolved: Resolved<'_>, given: Option<&str>, of: RevisionOf) -> Result<(), ApiError> {
        let Some(given) = given else {
            return Ok(());
        };
        if self.of(resolved) == given {
            return Ok(());
        }
        let api = match of {
            RevisionOf::Configuration => "GetFunction/GetAlias",
            RevisionOf::Policy => "GetPolicy",
        };
        Err(ApiError::new(
            "PreconditionFailedException",
            format!("The Revision Id provided does not match the latest Revision Id. Call the {api} API to retrieve the latest Revision Id"),
        ))
    }

    /// What `resolved` names changed: a new id.
    pub fn bump(&self, resolved: Resolved<'_>) {
        self.lock().insert(RevisionKey::of(resolved), new_revision());
    }
}

/// A fresh revision id, in AWS's UUID form.
fn new_revision() -> String {
    crate::local::ids::request_id()
}

/// The resource policies of a function: on the function itself (unqualified and `$LATEST`
/// calls), on each alias, on each published version; each governs only calls qualified with
/// it, as on AWS.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub function: Option<PolicyDocument>,
    pub aliases: HashMap<String, PolicyDocument>,
    pub versions: HashMap<String, PolicyDocument>,
}

impl Policies {
    /// The policy of calls resolved so.
    pub fn of(&self, resolved: Resolved<'_>) -> Option<&PolicyDocument> {
        match resolved {
            Resolved::Latest => self.function.as_ref(),
            Resolved::Version(v) => self.versions.get(v),
            Resolved::Alias(a) => self.aliases.get(&a.name),
        }
    }

    /// Change the policy of calls resolved so (`None`: there is none, or remove it).
    pub fn edit<R>(&mut self, resolved: Resolved<'_>, f: impl FnOnce(&mut Option<PolicyDocument>) -> R) -> R {
        fn in_map<R>(
            m: &mut HashMap<String, PolicyDocument>,
            k: &str,
            f: impl FnOnce(&mut Option<PolicyDocument>) -> R,
        ) -> R {
            let mut slot = m.remove(k);
            let r = f(&mut slot);
            if let Some(doc) = slot {
                m.insert(k.to_string(), doc);
            }
            r
        }
        match resolved {
            Resolved::Latest => f(&mut self.function),
            Resolved::Version(v) => in_map(&mut self.versions, v, f),
            Resolved::Alias(a) => in_map(&mut self.aliases, &a.name, f),
        }
    }
}

/// Why the control API cannot delete a version or change an alias (what Lambda's
/// DeleteFunction and UpdateAlias would refuse, said for the tester).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("{function} has no version {version:?}")]
    NoVersion { function: String, version: String },
    #[error("alias {alias:?} points to version {version}: a version an alias uses cannot be deleted")]
    VersionInUse { alias: String, version: String },
    #[error("version {version} is already deleted")]
    AlreadyDeleted { version: String },
    #[error("{function} has no alias {alias:?}")]
    NoAlias { function: String, alias: String },
    #[error("{function} has no version {version:?} to point {alias} to")]
    NoTargetVersion {
        function: String,
        version: String,
        alias: String,
    },
}

/// A function at run time.
#[derive(Debug)]
pub struct FunctionRuntime {
    /// Scenario definition.
    pub def: scenario::Function,
    pub account: String,
    /// Unqualified ARN.
    pub arn: String,
    pub aliases: Vec<AliasRuntime>,
    /// Revision ids of the function, its aliases and versions (configurations and policies).
    pub revisions: Revisions,
    /// Resource policies, changed by AddPermission / RemovePermission.
    pub policies: RwLock<Policies>,
    active: AtomicBool,
    lifecycle: Mutex<LifecycleState>,
    last_invoke_ms: AtomicI64,
    /// The timeout in force, s.
    timeout_s: AtomicU32,
    /// Server time (ms) an update in progress completes (`i64::MAX`: none), so that the
    /// invoke's fast path applies it in time.
    update_due_ms: AtomicI64,
    /// The Hyperplane ENIs of published versions published on another network than the
    /// function's (`version_networks`): held until the version is deleted.
    version_enis: HashMap<String, Vec<String>>,
    /// Published versions deleted since the world began.
    deleted_versions: RwLock<Vec<String>>,
    /// Idle warm execution environments of synchronous invokes: one taken is a warm start,
    /// none a cold start (`Init Duration` in the REPORT line). A new configuration or going
    /// Inactive leaves none.
    pub warm: AtomicU32,
    /// Executions in flight.
    pub in_flight: AtomicU32,
    /// Invokes received (any outcome).
    pub invokes: AtomicU64,
    /// The environment pool (per_environment VPC mode only).
    pub pool: Option<Mutex<EnvironmentPool>>,
    /// The account's Hyperplane ENIs (hyperplane VPC mode only).
    pub hyperplane: Option<Arc<Hyperplane>>,
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
    pub fn executed_version(&self) -> Cow<'a, str> {
        match self {
            Resolved::Latest => Cow::Borrowed("$LATEST"),
            Resolved::Version(v) => Cow::Borrowed(v),
            Resolved::Alias(a) => Cow::Owned(a.version()),
        }
    }
}

/// Why an update cannot start.
fn update_conflict(arn: &str) -> ApiError {
    ApiError::new(
        "ResourceConflictException",
        format!("The operation cannot be performed at this time. An update is in progress for resource: {arn}"),
    )
}

impl FunctionRuntime {
    /// Build the run-time function of `def` in `account`/`region`, as the world begins at
    /// `now_ms`. A hyperplane VPC function takes its ENI from `hyperplane`: one that exists
    /// already (an Active function), or one made now (a function created Pending, which
    /// Fails when it cannot be made).
    pub fn new(
        def: scenario::Function,
        account: &str,
        region: &str,
        now_ms: i64,
        hyperplane: Option<Arc<Hyperplane>>,
    ) -> FunctionRuntime {
        let arn = format!("arn:aws:lambda:{region}:{account}:function:{}", def.name);
        let aliases = def
            .aliases
            .iter()
            .map(|a| AliasRuntime {
                name: a.name.clone(),
                version: RwLock::new(a.version.clone()),
                deleted: AtomicBool::new(false),
            })
            .collect();
        let policies = Policies {
            function: def.resource_policy.clone(),
            aliases: def
                .aliases
                .iter()
                .filter_map(|a| Some((a.name.clone(), a.resource_policy.clone()?)))
                .collect(),
            versions: def.version_policies.clone().into_iter().collect(),
        };
        let pool = def
            .vpc
            .as_ref()
            .filter(|v| v.eni_mode == EniMode::PerEnvironment)
            .map(|v| Mutex::new(EnvironmentPool::new(v, now_ms)));
        let hyperplane = hyperplane.filter(|_| def.vpc.as_ref().is_some_and(|v| v.eni_mode == EniMode::Hyperplane));
        let settings = Settings {
            description: String::new(),
            timeout_s: def.timeout_s,
            memory_mb: def.memory_mb,
            runtime: "provided.al2023".into(),
            role: format!("arn:aws:iam::{account}:role/{}-execution", def.name),
            handler: "bootstrap".into(),
            vpc: def.vpc.as_ref().map(|v| NetConfig {
                subnet_ids: v.subnet_ids.clone(),
                security_group_ids: v.security_group_ids.clone(),
            }),
        };
        let mut lifecycle = LifecycleState {
            state: def.state,
            reason_code: def.state_reason_code.clone(),
            until_ms: None,
            update: LastUpdate::done(),
            settings,
        };
        let version_enis: HashMap<String, Vec<String>> = match &hyperplane {
            Some(h) => def
                .version_networks
                .iter()
                .map(|(v, n)| {
                    let keys = hyperplane::enis_of(&n.subnet_ids, &n.security_group_ids);
                    h.existing(&keys);
                    (v.clone(), keys)
                })
                .collect(),
            None => HashMap::new(),
        };
        let pending_ms = def.vpc.as_ref().map(|v| v.pending_ms).unwrap_or(CREATE_MS);
        match (def.state, &hyperplane, &lifecycle.settings.vpc) {
            (FunctionStateName::Active, Some(h), Some(net)) => h.existing(&net.keys()),
            (FunctionStateName::Pending, Some(h), Some(net)) => match h.attach(&net.keys(), now_ms) {
                Ok(made) => {
                    let eni_ms = if made { h.eni_create_ms } else { 0 };
                    lifecycle.until_ms = Some(now_ms + (pending_ms + eni_ms) as i64);
                }
                Err(failure) => {
                    lifecycle.state = FunctionStateName::Failed;
                    lifecycle.reason_code = Some(failure.reason_code().into());
                }
            },
            (FunctionStateName::Pending, _, _) => lifecycle.until_ms = Some(now_ms + pending_ms as i64),
            _ => {}
        }
        if lifecycle.reason_code.is_none() {
            lifecycle.reason_code = match lifecycle.state {
                FunctionStateName::Pending => Some("Creating".into()),
                FunctionStateName::Inactive => Some("Idle".into()),
                _ => None,
            };
        }
        FunctionRuntime {
            revisions: Revisions::default(),
            timeout_s: AtomicU32::new(lifecycle.settings.timeout_s),
            warm: AtomicU32::new(0),
            update_due_ms: AtomicI64::new(i64::MAX),
            version_enis,
            deleted_versions: RwLock::new(Vec::new()),
            account: account.to_string(),
            arn,
            aliases,
            policies: RwLock::new(policies),
            active: AtomicBool::new(lifecycle.state == FunctionStateName::Active),
            lifecycle: Mutex::new(lifecycle),
            last_invoke_ms: AtomicI64::new(now_ms),
            in_flight: AtomicU32::new(0),
            invokes: AtomicU64::new(0),
            pool,
            hyperplane,
            def,
        }
    }

    /// The aliases that exist (not deleted).
    pub fn live_aliases(&self) -> impl Iterator<Item = &AliasRuntime> {
        self.aliases.iter().filter(|a| !a.deleted.load(Ordering::Acquire))
    }

    /// Resolve a qualifier (`None` = unqualified).
    pub fn resolve(&self, qualifier: Option<&str>) -> Option<Resolved<'_>> {
        match qualifier {
            None | Some("$LATEST") => Some(Resolved::Latest),
            Some(q) => {
                let deleted = self.deleted_versions.read().unwrap_or_else(|p| p.into_inner());
                if let Some(v) = self
                    .def
                    .versions
                    .iter()
                    .find(|v| v.as_str() == q && !deleted.contains(v))
                {
                    Some(Resolved::Version(v))
                } else {
                    self.live_aliases().find(|a| a.name == q).map(Resolved::Alias)
                }
            }
        }
    }

    fn lock_lifecycle(&self) -> std::sync::MutexGuard<'_, LifecycleState> {
        self.lifecycle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pending_ms(&self) -> u64 {
        self.def.vpc.as_ref().map(|v| v.pending_ms).unwrap_or(CREATE_MS)
    }

    fn idle_limit_ms(&self) -> Option<i64> {
        self.def
            .vpc
            .as_ref()
            .filter(|v| v.eni_mode == EniMode::Hyperplane)
            .map(|v| (v.inactive_after_idle_s as i64).saturating_mul(1000))
    }

    /// The current lifecycle state, after applying timed transitions.
    pub fn lifecycle(&self, now_ms: i64) -> LifecycleState {
        let mut st = self.lock_lifecycle();
        self.advance(&mut st, now_ms);
        st.clone()
    }

    fn go_inactive(&self, st: &mut LifecycleState) {
        st.state = FunctionStateName::Inactive;
        st.reason_code = Some("Idle".into());
        st.until_ms = None;
        if let (Some(h), Some(net)) = (&self.hyperplane, &st.settings.vpc) {
            h.detach(&net.keys());
        }
        self.warm.store(0, Ordering::Relaxed);
        self.active.store(false, Ordering::Release);
    }

    fn advance(&self, st: &mut LifecycleState, now_ms: i64) {
        if st.state == FunctionStateName::Active
            && self
                .idle_limit_ms()
                .is_some_and(|l| now_ms - self.last_invoke_ms.load(Ordering::Relaxed) >= l)
        {
            self.go_inactive(st);
        }
        if st.state != FunctionStateName::Active && st.until_ms.is_some_and(|until| now_ms >= until) {
            st.state = FunctionStateName::Active;
            st.reason_code = None;
            st.until_ms = None;
            self.last_invoke_ms.store(now_ms, Ordering::Relaxed);
            // A state change is a configuration change (Pending to Active: a new RevisionId).
            self.revisions.bump(Resolved::Latest);
        }
        if st.update.status == UpdateStatus::InProgress && st.update.until_ms.is_some_and(|until| now_ms >= until) {
            let update = std::mem::replace(&mut st.update, LastUpdate::done());
            match update.fails_with {
                Some(reason) => {
                    st.update.status = UpdateStatus::Failed;
                    st.update.reason_code = Some(reason);
                }
                None => {
                    if let Some(next) = update.next {
                        let old_keys = st.settings.vpc.as_ref().map(NetConfig::keys);
                        if old_keys != next.vpc.as_ref().map(NetConfig::keys) {
                            if let (Some(h), Some(old)) = (&self.hyperplane, old_keys) {
                                h.detach(&old);
                            }
                        }
                        self.timeout_s.store(next.timeout_s, Ordering::Relaxed);
                        self.warm.store(0, Ordering::Relaxed);
                        st.settings = next;
                    }
                }
            }
            // The update completing is a change of its own (LocalStack's recorded
            // test_function_revisions_basic: rev5 from the update's answer, rev6 once done).
            self.revisions.bump(Resolved::Latest);
            self.update_due_ms.store(i64::MAX, Ordering::Release);
        }
        self.active
            .store(st.state == FunctionStateName::Active, Ordering::Release);
    }

    /// Set the state (control API). A Pending state always ends: after `for_ms`, else the
    /// function's usual pending time; other states end after `for_ms` when given.
    pub(crate) fn set_state(
        &self,
        state: FunctionStateName,
        reason_code: Option<String>,
        for_ms: Option<u64>,
        now_ms: i64,
    ) {
        let mut st = self.lock_lifecycle();
        let for_ms = match state {
            FunctionStateName::Pending => Some(for_ms.unwrap_or_else(|| self.pending_ms())),
            _ => for_ms,
        };
        let reason_code = reason_code.or_else(|| match state {
            FunctionStateName::Pending => Some("Creating".into()),
            FunctionStateName::Inactive => Some("Idle".into()),
            _ => None,
        });
        st.state = state;
        st.reason_code = reason_code;
        st.until_ms = for_ms.map(|ms| now_ms.saturating_add(ms as i64));
        // Leaving Inactive must not be undone at once by the idle check.
        self.last_invoke_ms.store(now_ms, Ordering::Relaxed);
        self.active.store(state == FunctionStateName::Active, Ordering::Release);
    }

    /// May an invoke run now? The answer for a function that is not Active.
    pub(crate) fn check_ready(&self, now_ms: i64) -> Result<(), ApiError> {
        let last = self.last_invoke_ms.swap(now_ms, Ordering::Relaxed);
        let idle_too_long = self.idle_limit_ms().is_some_and(|l| now_ms - last >= l);
        let update_due = now_ms >= self.update_due_ms.load(Ordering::Acquire);
        if self.active.load(Ordering::Acquire) && !idle_too_long && !update_due {
            return Ok(());
        }
        let mut st = self.lock_lifecycle();
        if idle_too_long && st.state == FunctionStateName::Active {
            self.go_inactive(&mut st);
        }
        if st.state != FunctionStateName::Inactive {
            self.advance(&mut st, now_ms);
        }
        let result = match st.state {
            FunctionStateName::Active => Ok(()),
            FunctionStateName::Pending => Err(ApiError::new("ResourceConflictException", PENDING_MESSAGE)),
            FunctionStateName::Inactive => {
                self.wake_up(&mut st, now_ms);
                Err(ApiError::named("ResourceNotReadyException"))
            }
            FunctionStateName::Failed => Err(failed_error(st.reason_code.as_deref())),
        };
        self.active
            .store(st.state == FunctionStateName::Active, Ordering::Release);
        result
    }

    /// An invoke met the function Inactive: it is Pending (Restoring) while its ENI is made
    /// again. When that cannot be done it goes back to Inactive, with the reason as its
    /// `StateReasonCode`, and the next invoke tries again (the Lambda guide, "Lambda function
    /// states": a function that cannot be reactivated returns to Inactive); nothing was
    /// updated, so `LastUpdateStatus` stays as it was.
    fn wake_up(&self, st: &mut LifecycleState, now_ms: i64) {
        let eni = match (&self.hyperplane, &st.settings.vpc) {
            (Some(h), Some(net)) => h
                .attach(&net.keys(), now_ms)
                .map(|made| if made { h.eni_create_ms } else { 0 }),
            _ => Ok(0),
        };
        match eni {
            Ok(eni_ms) => {
                st.state = FunctionStateName::Pending;
                st.reason_code = Some("Restoring".into());
                st.until_ms = Some(now_ms.saturating_add((self.pending_ms() + eni_ms) as i64));
            }
            Err(failure) => {
                st.state = FunctionStateName::Inactive;
                st.reason_code = Some(failure.reason_code().into());
                st.until_ms = None;
            }
        }
    }

    /// Start an update (UpdateFunctionConfiguration, or the control API's) to `next`: State
    /// stays Active and `LastUpdateStatus` is InProgress for the function's update time,
    /// during which invokes use the previous configuration. A new subnet / security-group
    /// combination needs its Hyperplane ENI: made now (the update lasts that much longer), or
    /// the update ends Failed with the reason code AWS gives. Refused while another update
    /// runs, or while the function is Pending. `edit` turns the configuration in force into
    /// the requested one.
    pub(crate) fn begin_update(&self, edit: impl FnOnce(&Settings) -> Settings, now_ms: i64) -> Result<(), ApiError> {
        let mut st = self.lock_lifecycle();
        self.advance(&mut st, now_ms);
        if st.update.status == UpdateStatus::InProgress {
            return Err(update_conflict(&self.arn));
        }
        if st.state == FunctionStateName::Pending {
            return Err(ApiError::new("ResourceConflictException", PENDING_MESSAGE));
        }
        let next = edit(&st.settings);
        let mut update = LastUpdate {
            status: UpdateStatus::InProgress,
            reason_code: None,
            until_ms: Some(now_ms.saturating_add(self.def.update_ms as i64)),
            fails_with: None,
            next: None,
        };
        let new_network = next.vpc.as_ref().filter(|n| Some(*n) != st.settings.vpc.as_ref());
        if let (Some(h), Some(net)) = (&self.hyperplane, new_network) {
            match h.attach(&net.keys(), now_ms) {
                Ok(made) => {
                    if made {
                        update.until_ms = update.until_ms.map(|u| u + h.eni_create_ms as i64);
                    }
                }
                Err(failure) => update.fails_with = Some(failure.reason_code().into()),
            }
        }
        if update.fails_with.is_none() {
            update.next = Some(next);
        }
        self.update_due_ms
            .store(update.until_ms.unwrap_or(i64::MAX), Ordering::Release);
        st.update = update;
        self.revisions.bump(Resolved::Latest);
        Ok(())
    }

    /// Delete the published version `version` (the control API): refused while an alias
    /// points to it, as Lambda refuses it; the ENIs it held are released `eni_release_s`
    /// later.
    pub(crate) fn delete_version(&self, version: &str, now_ms: i64) -> Result<(), ChangeError> {
        if !self.def.versions.iter().any(|v| v == version) {
            return Err(ChangeError::NoVersion {
                function: self.def.name.clone(),
                version: version.to_string(),
            });
        }
        if let Some(a) = self.live_aliases().find(|a| a.version() == version) {
            return Err(ChangeError::VersionInUse {
                alias: a.name.clone(),
                version: version.to_string(),
            });
        }
        let mut deleted = self.deleted_versions.write().unwrap_or_else(|p| p.into_inner());
        if deleted.iter().any(|v| v == version) {
            return Err(ChangeError::AlreadyDeleted {
                version: version.to_string(),
            });
        }
        deleted.push(version.to_string());
        if let (Some(h), Some(keys)) = (&self.hyperplane, self.version_enis.get(version)) {
            h.release_later(keys.clone(), now_ms);
        }
        Ok(())
    }

    /// UpdateAlias (`version`: point it there) or DeleteAlias (`None`), through the control
    /// API: either is a change of the alias (a new RevisionId); a deleted alias answers 404
    /// and its policy goes with it.
    pub(crate) fn change_alias(&self, alias: &str, version: Option<&str>) -> Result<(), ChangeError> {
        let Some(a) = self.live_aliases().find(|a| a.name == alias) else {
            return Err(ChangeError::NoAlias {
                function: self.def.name.clone(),
                alias: alias.to_string(),
            });
        };
        match version {
            Some(v) => {
                if self.resolve(Some(v)).is_none_or(|r| !matches!(r, Resolved::Version(_))) {
                    return Err(ChangeError::NoTargetVersion {
                        function: self.def.name.clone(),
                        version: v.to_string(),
                        alias: alias.to_string(),
                    });
                }
                *a.version.write().unwrap_or_else(|p| p.into_inner()) = v.to_string();
            }
            None => {
                let mut policies = self.policies.write().unwrap_or_else(|p| p.into_inner());
                policies.edit(Resolved::Alias(a), |doc| *doc = None);
                a.deleted.store(true, Ordering::Release);
            }
        }
        self.revisions.bump(Resolved::Alias(a));
        Ok(())
    }

    /// The timeout in force, s (an update changes it when it completes).
    pub(crate) fn timeout_s(&self) -> u32 {
        self.timeout_s.load(Ordering::Relaxed)
    }

    /// The Hyperplane ENIs of the configuration in force.
    pub(crate) fn network_keys(&self, now_ms: i64) -> Option<Vec<String>> {
        self.hyperplane.as_ref()?;
        let mut st = self.lock_lifecycle();
        self.advance(&mut st, now_ms);
        st.settings.vpc.as_ref().map(NetConfig::keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(toml_text: &str) -> FunctionRuntime {
        let def: scenario::Function = toml::from_str(toml_text).unwrap();
        let h = Arc::new(Hyperplane::new(&scenario::Network::default(), 0));
        FunctionRuntime::new(def, "222222222222", "us-east-1", 0, Some(h))
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
        assert!(f.check_ready(62_011).is_err(), "its ENI is made again first");
        assert!(f.check_ready(63_011).is_ok());
    }

    #[test]
    fn pending_set_without_a_time_ends_by_itself() {
        let f = function("name = \"t\"\nvpc = { subnet_ids = [\"s\"], pending_ms = 300 }");
        f.set_state(FunctionStateName::Pending, None, None, 0);
        let life = f.lifecycle(1);
        assert_eq!(
            (life.state, life.reason_code.as_deref()),
            (FunctionStateName::Pending, Some("Creating"))
        );
        assert!(f.check_ready(299).is_err());
        assert!(f.check_ready(300).is_ok());
    }

    #[test]
    fn an_idle_function_is_inactive_with_the_models_reason_then_restoring() {
        let f = function("name = \"t\"\nvpc = { subnet_ids = [\"s\"], inactive_after_idle_s = 60, pending_ms = 10 }");
        let life = f.lifecycle(61_000);
        assert_eq!(
            (life.state, life.reason_code.as_deref()),
            (FunctionStateName::Inactive, Some("Idle"))
        );
        assert_eq!(f.check_ready(61_001).unwrap_err().name(), "ResourceNotReadyException");
        let life = f.lifecycle(61_002);
        assert_eq!(
            (life.state, life.reason_code.as_deref()),
            (FunctionStateName::Pending, Some("Restoring"))
        );
    }

    #[test]
    fn an_update_keeps_the_function_active_and_ends_by_itself() {
        let f =
            function("name = \"t\"\nupdate_ms = 100\nvpc = { subnet_ids = [\"s\"], security_group_ids = [\"sg-1\"] }");
        let next = NetConfig {
            subnet_ids: vec!["s".into()],
            security_group_ids: vec!["sg-2".into()],
        };
        let edit = |s: &Settings| Settings {
            vpc: Some(next.clone()),
            ..s.clone()
        };
        let before = f.revisions.of(Resolved::Latest);
        f.begin_update(edit, 0).unwrap();
        let started = f.revisions.of(Resolved::Latest);
        assert_ne!(before, started, "the update's answer has a new RevisionId");
        let life = f.lifecycle(10);
        assert_eq!(
            (life.state, life.update.status),
            (FunctionStateName::Active, UpdateStatus::InProgress)
        );
        assert_eq!(
            life.settings.vpc.clone().unwrap().security_group_ids,
            ["sg-1"],
            "invokes use the previous configuration"
        );
        assert!(f.check_ready(10).is_ok());
        assert_eq!(
            f.begin_update(Settings::clone, 20).unwrap_err().name(),
            "ResourceConflictException",
            "one update at a time"
        );
        let life = f.lifecycle(1_200);
        assert_eq!(life.update.status, UpdateStatus::Successful);
        assert_eq!(life.settings.vpc, Some(next));
        assert_ne!(
            f.revisions.of(Resolved::Latest),
            started,
            "completing is a change of its own"
        );
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
