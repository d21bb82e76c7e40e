//! The running world: the scenario compiled into lookup tables (keys, roles, functions) plus
//! everything that changes while serving (STS sessions, faults, the clock, counters).
//! `POST /_local/reset` replaces the whole world with a fresh one.

use crate::local::async_invoke::EventQueue;
use crate::local::clock::Clock;
use crate::local::errors::ApiError;
use crate::local::faults::Faults;
use crate::local::function::{FunctionRuntime, NetConfig, Settings};
use crate::local::hyperplane::Hyperplane;
use crate::local::iam::{Caller, PolicyDocument};
use crate::local::oidc;
use crate::local::scenario::{Scenario, ScheduledUpdate, Secret};
use crate::local::sigv4::{self, AuthFailure, KeySecret, ReceivedRequest};
use crate::local::stats::{Counters, Stats};
use crate::local::NameMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

/// A role at run time.
#[derive(Debug)]
pub struct RoleRuntime {
    pub account: String,
    pub name: String,
    /// `arn:aws:iam::ACCT:role/NAME`.
    pub arn: String,
    /// `AROA...`.
    pub role_id: String,
    /// Identity policy.
    pub policy: Option<PolicyDocument>,
    /// Trust policy.
    pub trust: Option<PolicyDocument>,
    /// Longest session.
    pub max_session_s: u32,
}

/// An account at run time.
#[derive(Debug)]
pub struct AccountRuntime {
    pub org_id: Option<String>,
    /// `aws:PrincipalOrgPaths` of the account's principals.
    pub org_paths: Vec<String>,
    /// Concurrency left for functions without reserved concurrency: the account's limit less
    /// every reserved concurrency (the Lambda guide, "unreserved account concurrency").
    pub unreserved_limit: u32,
    /// Executions in flight in this account.
    pub in_flight: AtomicU32,
    /// Executions in flight of functions without reserved concurrency: what the unreserved
    /// pool holds (reserved functions' executions use their own reservation).
    pub unreserved_in_flight: AtomicU32,
    /// The account's Hyperplane ENIs.
    pub hyperplane: Arc<Hyperplane>,
    /// The account's IAM OIDC identity providers.
    pub oidc_providers: Vec<oidc::Provider>,
}

/// Credentials of the scenario: a role session's (with its token) or a user's long-term key.
#[derive(Debug)]
struct StaticKey {
    secret: Secret,
    session_token: Option<Secret>,
    caller: Arc<Caller>,
}

/// An STS session issued by AssumeRole or AssumeRoleWithWebIdentity.
#[derive(Debug)]
pub struct Session {
    /// Secret access key.
    pub secret: Secret,
    pub token: Secret,
    /// Who it acts as.
    pub caller: Arc<Caller>,
    /// Server time (ms) at which it expires.
    pub expires_ms: i64,
}

/// The running world.
#[derive(Debug)]
pub struct World {
    /// The scenario it was built from.
    pub scenario: Scenario,
    pub region: String,
    pub clock: Clock,
    static_keys: NameMap<StaticKey>,
    /// Roles by ARN.
    pub roles: NameMap<RoleRuntime>,
    /// Users' identity policies, by user ARN.
    user_policies: NameMap<Option<PolicyDocument>>,
    /// Accounts by id.
    pub accounts: NameMap<AccountRuntime>,
    /// Functions by `ACCOUNT:NAME`.
    pub functions: NameMap<Arc<FunctionRuntime>>,
    sessions: RwLock<NameMap<Arc<Session>>>,
    signing_keys: sigv4::SigningKeyCache,
    pub faults: Faults,
    pub counters: Counters,
    /// The OIDC issuers' signing keys (kept across resets: see [`oidc::Issuers`]).
    pub issuers: Arc<oidc::Issuers>,
    /// Accepted `Event` invokes and where failed ones went.
    pub events: EventQueue,
    /// The last invokes received, with the trace header each carried.
    pub invocations: InvocationLog,
    /// Per message: invokes and executions; durable executions by name.
    pub executions: crate::local::executions::Executions,
    /// Server time the world began (scenario `updates` count from it), ms.
    pub started_ms: i64,
    /// Scenario `updates` already made.
    updates_made: std::sync::atomic::AtomicUsize,
}

/// One Invoke as received: which function, how, in which trace.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invocation {
    pub request_id: String,
    /// The ARN invoked (qualified as it was).
    pub function_arn: String,
    pub invocation_type: &'static str,
    /// The `X-Amzn-Trace-Id` header received (at most 256 characters), handed to the function
    /// it runs.
    pub trace_id: Option<String>,
    /// Server time, ms.
    pub at_ms: i64,
}

/// The last [`InvocationLog::CAPACITY`] invokes received (`GET /_local/invocations`).
#[derive(Debug, Default)]
pub struct InvocationLog(std::sync::Mutex<std::collections::VecDeque<Invocation>>);

impl InvocationLog {
    const CAPACITY: usize = 1000;

    pub fn push(&self, invocation: Invocation) {
        if let Ok(mut log) = self.0.lock() {
            if log.len() == Self::CAPACITY {
                log.pop_front();
            }
            log.push_back(invocation);
        }
    }

    /// Oldest first.
    pub fn list(&self) -> Vec<Invocation> {
        self.0.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }
}

/// `AROA` or `ASIA` followed by 16 uppercase base32-ish characters derived from `seed`.
fn id_from(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let hash = sigv4::sha256_hex(seed.as_bytes());
    let tail: String = hash
        .as_bytes()
        .iter()
        .take(16)
        .map(|b| ALPHABET[usize::from(*b) % 32] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// A random string of `n` characters from `alphabet`.
fn random_string(n: usize, alphabet: &[u8]) -> String {
    (0..n)
        .map(|_| alphabet[fastrand::usize(..alphabet.len())] as char)
        .collect()
}

impl World {
    /// Compile `scenario`, with fresh signing keys for its OIDC issuers.
    pub fn new(scenario: Scenario) -> World {
        let issuers = Arc::new(oidc::Issuers::new(
            scenario
                .accounts
                .iter()
                .flat_map(|a| &a.oidc_providers)
                .map(|p| p.issuer.as_str()),
        ));
        World::with_issuers(scenario, issuers)
    }

    /// Compile `scenario`, signing OIDC tokens with `issuers`.
    pub fn with_issuers(scenario: Scenario, issuers: Arc<oidc::Issuers>) -> World {
        let scenario_faults = scenario.faults.clone();
        let clock = Clock::new();
        let now = clock.now_ms();
        let mut static_keys = NameMap::default();
        let mut roles = NameMap::default();
        let mut user_policies = NameMap::default();
        let mut accounts = NameMap::default();
        let mut functions = NameMap::default();
        for acct in &scenario.accounts {
            accounts.insert(
                acct.id.clone(),
                AccountRuntime {
                    org_id: acct.org_id.clone(),
                    org_paths: scenario.org_paths(acct),
                    unreserved_limit: acct
                        .concurrency_limit
                        .saturating_sub(acct.functions.iter().filter_map(|f| f.reserved_concurrency).sum()),
                    in_flight: AtomicU32::new(0),
                    unreserved_in_flight: AtomicU32::new(0),
                    hyperplane: Arc::new(Hyperplane::new(&acct.network, now)),
                    oidc_providers: acct
                        .oidc_providers
                        .iter()
                        .filter_map(|p| {
                            let jwks = p.jwks.as_ref().map(|j| j.keys.as_slice()).unwrap_or_default();
                            oidc::Provider::new(&acct.id, &p.issuer, &p.audiences, jwks)
                        })
                        .collect(),
                },
            );
            for role in &acct.roles {
                let arn = format!("arn:aws:iam::{}:role/{}", acct.id, role.name);
                let role_id = id_from("AROA", &arn);
                let static_caller = Caller {
                    account: acct.id.clone(),
                    role_arn: arn.clone(),
                    session_arn: format!(
                        "arn:aws:sts::{}:assumed-role/{}/{}",
                        acct.id, role.name, role.session_name
                    ),
                    user_id: format!("{role_id}:{}", role.session_name),
                    org_id: acct.org_id.clone(),
                    org_paths: scenario.org_paths(acct),
                };
                if let Some(c) = &role.credentials {
                    static_keys.insert(
                        c.access_key_id.clone(),
                        StaticKey {
                            secret: c.secret_access_key.clone(),
                            session_token: c.session_token.clone(),
                            caller: Arc::new(static_caller),
                        },
                    );
                }
                roles.insert(
                    arn.clone(),
                    RoleRuntime {
                        account: acct.id.clone(),
                        name: role.name.clone(),
                        arn,
                        role_id,
                        policy: role.policy.clone(),
                        trust: role.trust.clone(),
                        max_session_s: role.max_session_s,
                    },
                );
            }
            for user in &acct.users {
                let arn = format!("arn:aws:iam::{}:user/{}", acct.id, user.name);
                // A user is its own principal: GetCallerIdentity and AWS's messages name
                // `user/NAME`, and its policy is found by that ARN.
                let caller = Caller {
                    account: acct.id.clone(),
                    role_arn: arn.clone(),
                    session_arn: arn.clone(),
                    user_id: id_from("AIDA", &arn),
                    org_id: acct.org_id.clone(),
                    org_paths: scenario.org_paths(acct),
                };
                static_keys.insert(
                    user.credentials.access_key_id.clone(),
                    StaticKey {
                        secret: user.credentials.secret_access_key.clone(),
                        session_token: None,
                        caller: Arc::new(caller),
                    },
                );
                user_policies.insert(arn, user.policy.clone());
            }
            let hyperplane = accounts
                .get(&acct.id)
                .map(|a: &AccountRuntime| Arc::clone(&a.hyperplane));
            for f in &acct.functions {
                functions.insert(
                    format!("{}:{}", acct.id, f.name),
                    Arc::new(FunctionRuntime::new(
                        f.clone(),
                        &acct.id,
                        &scenario.region,
                        now,
                        hyperplane.clone(),
                    )),
                );
            }
        }
        World {
            region: scenario.region.clone(),
            scenario,
            clock,
            static_keys,
            roles,
            user_policies,
            accounts,
            functions,
            sessions: RwLock::new(NameMap::default()),
            signing_keys: sigv4::SigningKeyCache::default(),
            faults: {
                let faults = Faults::default();
                for f in &scenario_faults {
                    // Checked when the scenario was validated.
                    let _ = faults.add(f.clone());
                }
                faults
            },
            counters: Counters::default(),
            issuers,
            events: EventQueue::default(),
            invocations: InvocationLog::default(),
            executions: Default::default(),
            started_ms: now,
            updates_made: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Update functions now (UpdateFunctionConfiguration on each, as a deployment does):
    /// each function's answer.
    pub fn update(&self, u: &ScheduledUpdate) -> Vec<(String, Result<(), ApiError>)> {
        let now = self.clock.now_ms();
        let mut out = Vec::new();
        for name in &u.functions {
            for f in self.functions.values().filter(|f| &f.def.name == name) {
                let edit = |current: &Settings| {
                    let vpc = match (&u.subnet_ids, &u.security_group_ids, &current.vpc) {
                        (None, None, vpc) => vpc.clone(),
                        (subnets, groups, vpc) => Some(NetConfig {
                            subnet_ids: subnets
                                .clone()
                                .or_else(|| vpc.as_ref().map(|c| c.subnet_ids.clone()))
                                .unwrap_or_default(),
                            security_group_ids: groups
                                .clone()
                                .or_else(|| vpc.as_ref().map(|c| c.security_group_ids.clone()))
                                .unwrap_or_default(),
                        }),
                    };
                    Settings { vpc, ..current.clone() }
                };
                out.push((name.clone(), f.begin_update(edit, now)));
            }
        }
        out
    }

    /// The scenario's updates that are due, made once each; their answers.
    pub(crate) fn due_updates(&self) -> Vec<(String, Result<(), ApiError>)> {
        let elapsed_ms = self.clock.now_ms() - self.started_ms;
        let mut out = Vec::new();
        loop {
            let i = self.updates_made.load(Ordering::Acquire);
            let Some(u) = self.scenario.updates.get(i) else {
                break;
            };
            if (u.at_s * 1000.0) as i64 > elapsed_ms {
                break;
            }
            if self
                .updates_made
                .compare_exchange(i, i + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                out.extend(self.update(u));
            }
        }
        out
    }

    /// Check the request's SigV4 signature and name its caller. `service` is the signing
    /// name the endpoint expects.
    pub fn authenticate(&self, req: &ReceivedRequest<'_>, service: &str) -> Result<Arc<Caller>, AuthFailure> {
        let auth = req.headers.get("authorization").ok_or(AuthFailure::Missing)?;
        let auth = auth.to_str().map_err(|_| AuthFailure::Missing)?;
        let header = sigv4::parse_authorization(auth)?;
        let real_now_s = Clock::real_ms() / 1000;
        if let Some(key) = self.static_keys.get(header.access_key) {
            sigv4::verify(
                req,
                &header,
                KeySecret {
                    secret: &key.secret.0,
                    session_token: key.session_token.as_ref().map(|t| t.0.as_str()),
                    cache: Some(&self.signing_keys),
                },
                real_now_s,
            )?;
            self.check_scope(&header, service)?;
            return Ok(Arc::clone(&key.caller));
        }
        let session = {
            let sessions = self.sessions.read().unwrap_or_else(|p| p.into_inner());
            sessions.get(header.access_key).cloned()
        };
        let Some(session) = session else {
            return Err(AuthFailure::UnknownKey);
        };
        sigv4::verify(
            req,
            &header,
            KeySecret {
                secret: &session.secret.0,
                session_token: Some(&session.token.0),
                cache: Some(&self.signing_keys),
            },
            real_now_s,
        )?;
        self.check_scope(&header, service)?;
        if session.expires_ms <= self.clock.now_ms() {
            return Err(AuthFailure::ExpiredToken);
        }
        Ok(Arc::clone(&session.caller))
    }

    fn check_scope(&self, header: &sigv4::AuthHeader<'_>, service: &str) -> Result<(), AuthFailure> {
        if header.region != self.region {
            return Err(AuthFailure::Malformed(format!(
                "Credential should be scoped to a valid region. Credential scope region {:?} does not match {:?}.",
                header.region, self.region
            )));
        }
        if header.service != service {
            return Err(AuthFailure::Malformed(format!(
                "Credential should be scoped to correct service: '{service}'."
            )));
        }
        Ok(())
    }

    /// Store a new session for `caller`, valid `duration_s` from the server clock.
    pub(crate) fn issue_session(&self, caller: Caller, duration_s: u32) -> (String, Arc<Session>) {
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let access_key = format!("ASIA{}", random_string(16, UPPER));
        let session = Arc::new(Session {
            secret: Secret(random_string(40, SECRET)),
            token: Secret(format!("IQoJxinvokelocal{}", random_string(300, SECRET))),
            caller: Arc::new(caller),
            expires_ms: self.clock.now_ms() + i64::from(duration_s) * 1000,
        });
        // Kept for the world's life, expired or not: AWS answers ExpiredToken to a session's
        // credentials for as long as anyone presents them, never "unknown key".
        let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        sessions.insert(access_key.clone(), Arc::clone(&session));
        (access_key, session)
    }

    /// The identity policy of the caller's role (or user).
    pub(crate) fn identity_policy(&self, caller: &Caller) -> Option<&PolicyDocument> {
        match self.roles.get(&caller.role_arn) {
            Some(r) => r.policy.as_ref(),
            None => self.user_policies.get(&caller.role_arn).and_then(Option::as_ref),
        }
    }

    /// A function by account and name.
    pub fn function(&self, account: &str, name: &str) -> Option<&Arc<FunctionRuntime>> {
        self.functions.get(&format!("{account}:{name}"))
    }

    /// The stats snapshot.
    pub fn stats(&self) -> Stats {
        let mut s = self.counters.snapshot();
        let now = self.clock.now_ms();
        for f in self.functions.values() {
            let n = f.invokes.load(Ordering::Relaxed);
            if n > 0 {
                *s.invokes_by_function.entry(f.def.name.clone()).or_default() += n;
            }
            if let Some(pool) = &f.pool {
                let mut pool = pool.lock().unwrap_or_else(|p| p.into_inner());
                s.enis_in_use += u64::from(pool.enis_in_use(now));
                s.cold_starts += pool.cold_starts();
            } else if f.hyperplane.is_some() {
                // Let idle functions go Inactive (and give their ENI back) before counting.
                let _ = f.lifecycle(now);
            }
        }
        for a in self.accounts.values() {
            a.hyperplane.release_due(now);
            s.enis_in_use += u64::from(a.hyperplane.enis());
            s.hyperplane_enis_created += a.hyperplane.created();
        }
        let e = &self.events;
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        s.events_queued = n(&e.queued);
        s.events_succeeded = n(&e.succeeded);
        s.events_retried = n(&e.retried);
        s.events_to_destination = n(&e.to_destination);
        s.events_to_dead_letter_queue = n(&e.to_dead_letter_queue);
        s.events_dropped = n(&e.dropped);
        s.events_waiting = e.waiting() as u64;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::builtin;
    use crate::local::ids::request_id;

    #[test]
    fn builtin_world_has_its_keys_roles_and_function() {
        let w = World::new(Scenario::builtin());
        assert!(w.static_keys.contains_key(builtin::SOURCE_ACCESS_KEY));
        assert!(w.roles.contains_key(builtin::INVOKE_ROLE_ARN));
        assert!(w.roles.contains_key(builtin::SOURCE_ROLE_ARN));
        let f = w.function(builtin::TARGET_ACCOUNT, "target").unwrap();
        assert_eq!(f.arn, builtin::TARGET_FUNCTION_ARN);
        assert!(w.roles.contains_key(builtin::WEB_IDENTITY_ROLE_ARN));
        let providers = &w.accounts[builtin::SOURCE_ACCOUNT].oidc_providers;
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].issuer, builtin::OIDC_ISSUER);
        assert_eq!(providers[0].arn, builtin::OIDC_PROVIDER_ARN);
        assert_eq!(providers[0].audiences, [builtin::OIDC_AUDIENCE]);
        assert!(
            w.issuers.verifying_key(builtin::OIDC_ISSUER).is_some(),
            "the issuer's key is made at start"
        );
    }

    #[test]
    fn debug_of_the_world_and_its_sessions_never_shows_secrets() {
        let w = World::new(Scenario::builtin());
        let caller = w.static_keys[builtin::SOURCE_ACCESS_KEY].caller.as_ref().clone();
        let (_, session) = w.issue_session(caller, 900);
        let text = format!("{w:?}");
        assert!(!text.contains(builtin::SOURCE_SECRET_KEY));
        assert!(!text.contains(builtin::SOURCE_SESSION_TOKEN));
        assert!(!text.contains(&session.secret.0));
        assert!(!text.contains(&session.token.0));
    }

    #[test]
    fn ids_have_aws_shapes() {
        let id = id_from("AROA", "x");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("AROA"));
        let rid = request_id();
        let groups: Vec<usize> = rid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{rid}");
        assert!(rid
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
