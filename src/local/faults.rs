//! Fault injection: the control API installs rules that make Invoke answer any Lambda error of
//! the one table (`domain::errors`), or an STS action (`"action": "sts:AssumeRole"`) answer any
//! STS error of it, a fixed number of times or with a seeded probability, optionally after a
//! delay, so a client's handling of rare AWS answers can be tested on demand.

use crate::domain::errors::{self, Origin};
use crate::local::errors::{lambda_error_index, lambda_error_names, ApiError, StsError};
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A fault rule as posted to `POST /_local/faults`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Function name the rule applies to (Invoke).
    #[serde(default)]
    pub function: Option<String>,
    /// Or the STS action it applies to: `sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`,
    /// `sts:GetCallerIdentity`.
    #[serde(default)]
    pub action: Option<String>,
    /// Only calls with this qualifier (default: any).
    #[serde(default)]
    pub qualifier: Option<String>,
    /// Error name from the table (absent: only add latency).
    #[serde(default)]
    pub error: Option<String>,
    /// Message (default: the error's usual message).
    #[serde(default)]
    pub message: Option<String>,
    /// Apply to the next N matching calls.
    #[serde(default)]
    pub times: Option<u64>,
    /// Or apply with this probability (0..=1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Seed for the probability.
    #[serde(default)]
    pub seed: Option<u64>,
    /// `EC2ErrorCode` of an EC2UnexpectedException.
    #[serde(default)]
    pub ec2_error_code: Option<String>,
    /// `Reason` of a TooManyRequestsException.
    #[serde(default)]
    pub reason: Option<String>,
    /// `Retry-After` of a TooManyRequestsException.
    #[serde(default)]
    pub retry_after_s: Option<u64>,
    /// Delay added before answering.
    #[serde(default)]
    pub latency_ms: Option<u64>,
}

/// Why a fault rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// Unknown error name.
    #[error("unknown error {0:?}; use one of: {1}")]
    UnknownError(String, String),
    /// Probability outside 0..=1.
    #[error("probability must be between 0 and 1")]
    Probability,
    /// Both or neither of times / probability with an error.
    #[error("give either \"times\" or \"probability\" (with an optional \"seed\"), not both")]
    Both,
    /// Neither or both of function / action.
    #[error("give either \"function\" (a function name, for Invoke) or \"action\" (sts:AssumeRole, sts:AssumeRoleWithWebIdentity or sts:GetCallerIdentity), not both")]
    Scope,
    /// An action that is not an STS action the endpoint serves.
    #[error("unknown action {0:?}; use sts:AssumeRole, sts:AssumeRoleWithWebIdentity or sts:GetCallerIdentity")]
    UnknownAction(String),
    /// An STS error name the table does not have.
    #[error("unknown STS error {0:?}; use one of: {1}")]
    UnknownStsError(String, String),
}

/// When an Invoke's fault rules are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A synchronous (or DryRun) invoke: every rule.
    Sync,
    /// An `Event` invoke being accepted: delays, and the errors Lambda answers before queueing
    /// (4xx but throttles: not found, access, size, parameters).
    Accept,
    /// A queued event being run: throttles and 5xx (the errors met while running it), which
    /// the queue then retries as Lambda does.
    Execute,
}

impl Phase {
    fn covers(self, spec: &FaultSpec) -> bool {
        let runtime_error = spec
            .error
            .as_deref()
            .and_then(crate::domain::errors::lambda_error)
            .is_some_and(|r| r.status >= 500 || r.status == 429);
        match self {
            Phase::Sync => true,
            Phase::Accept => !runtime_error,
            Phase::Execute => runtime_error,
        }
    }
}

/// The STS actions a fault can name.
const STS_ACTIONS: [&str; 3] = [
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:GetCallerIdentity",
];

#[derive(Debug)]
struct Rule {
    spec: FaultSpec,
    remaining: Option<u64>,
    rng: fastrand::Rng,
}

/// What a matching rule asks for.
#[derive(Debug, Clone, Default)]
pub struct Injection<E> {
    /// Delay first.
    pub latency: Duration,
    /// Then answer this error (or proceed normally).
    pub error: Option<E>,
}

/// The installed rules.
#[derive(Debug, Default)]
pub struct Faults {
    any: AtomicBool,
    rules: Mutex<Vec<Rule>>,
}

impl FaultSpec {
    fn to_sts_error(&self) -> Option<StsError> {
        StsError::named(self.error.as_deref()?, self.message.clone())
    }

    fn to_error(&self) -> Option<ApiError> {
        let name = self.error.as_deref()?;
        let mut e = match &self.message {
            Some(m) => ApiError::new(name, m.clone()),
            None => ApiError::named(name),
        };
        if name == "TooManyRequestsException" {
            e.reason = Some(self.reason.clone().unwrap_or_else(|| "CallerRateLimitExceeded".into()));
            e.retry_after_s = Some(self.retry_after_s.unwrap_or(1));
        }
        if name == "EC2UnexpectedException" {
            e.ec2_error_code = Some(
                self.ec2_error_code
                    .clone()
                    .unwrap_or_else(|| "Client.RequestLimitExceeded".into()),
            );
        }
        Some(e)
    }
}

impl Faults {
    /// Install a rule.
    pub fn add(&self, spec: FaultSpec) -> Result<(), FaultError> {
        match (&spec.function, &spec.action) {
            (Some(_), None) => {
                if let Some(name) = &spec.error {
                    if lambda_error_index(name).is_none() {
                        return Err(FaultError::UnknownError(name.clone(), lambda_error_names()));
                    }
                }
            }
            (None, Some(action)) => {
                if !STS_ACTIONS.contains(&action.as_str()) {
                    return Err(FaultError::UnknownAction(action.clone()));
                }
                if let Some(name) = &spec.error {
                    if errors::sts_error(name).is_none() {
                        let known: Vec<_> = errors::ERRORS
                            .iter()
                            .filter(|r| r.origin == Origin::Sts)
                            .map(|r| r.code)
                            .collect();
                        return Err(FaultError::UnknownStsError(name.clone(), known.join(", ")));
                    }
                }
            }
            _ => return Err(FaultError::Scope),
        }
        if let Some(p) = spec.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(FaultError::Probability);
            }
            if spec.times.is_some() {
                return Err(FaultError::Both);
            }
        }
        let rng = fastrand::Rng::with_seed(spec.seed.unwrap_or(0));
        let remaining = spec.times;
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        rules.push(Rule { spec, remaining, rng });
        self.any.store(true, Ordering::Release);
        Ok(())
    }

    /// Remove every rule.
    pub fn clear(&self) {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        rules.clear();
        self.any.store(false, Ordering::Release);
    }

    /// The injection for an Invoke of `function` with `qualifier`, if a rule fires.
    #[cfg(test)]
    pub fn check(&self, function: &str, qualifier: Option<&str>) -> Option<Injection<ApiError>> {
        self.check_in(Phase::Sync, function, qualifier)
    }

    /// As [`Faults::check`], for one phase of an invoke.
    pub(crate) fn check_in(
        &self,
        phase: Phase,
        function: &str,
        qualifier: Option<&str>,
    ) -> Option<Injection<ApiError>> {
        self.fire(
            |spec| {
                spec.function.as_deref() == Some(function)
                    && spec.qualifier.as_deref().is_none_or(|q| Some(q) == qualifier)
                    && phase.covers(spec)
            },
            FaultSpec::to_error,
        )
    }

    /// The injection for a call of the STS action `action` (e.g. `sts:AssumeRole`), if a rule fires.
    pub(crate) fn check_sts(&self, action: &str) -> Option<Injection<StsError>> {
        self.fire(|spec| spec.action.as_deref() == Some(action), FaultSpec::to_sts_error)
    }

    fn fire<E>(
        &self,
        matches: impl Fn(&FaultSpec) -> bool,
        error: impl Fn(&FaultSpec) -> Option<E>,
    ) -> Option<Injection<E>> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let mut fired = None;
        for rule in rules.iter_mut() {
            if !matches(&rule.spec) {
                continue;
            }
            let fires = match (rule.remaining, rule.spec.probability) {
                (Some(0), _) => false,
                (Some(n), _) => {
                    rule.remaining = Some(n - 1);
                    true
                }
                (None, Some(p)) => rule.rng.f64() < p,
                (None, None) => true,
            };
            if fires {
                fired = Some(Injection {
                    latency: Duration::from_millis(rule.spec.latency_ms.unwrap_or(0)),
                    error: error(&rule.spec),
                });
                break;
            }
        }
        rules.retain(|r| r.remaining != Some(0));
        if rules.is_empty() {
            self.any.store(false, Ordering::Release);
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn times_fires_exactly_n_times() {
        let f = Faults::default();
        f.add(spec(
            r#"{"function":"target","error":"EC2ThrottledException","times":2}"#,
        ))
        .unwrap();
        for _ in 0..2 {
            let e = f.check("target", None).unwrap().error.unwrap();
            assert_eq!(e.name(), "EC2ThrottledException");
            assert_eq!(e.spec().status, 502);
        }
        assert!(f.check("target", None).is_none());
    }

    #[test]
    fn seeded_probability_is_reproducible() {
        let run = || {
            let f = Faults::default();
            f.add(spec(
                r#"{"function":"target","error":"ServiceException","probability":0.5,"seed":7}"#,
            ))
            .unwrap();
            (0..100).map(|_| f.check("target", None).is_some()).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|&&x| x).count();
        assert!((30..70).contains(&hits), "{hits}");
    }

    #[test]
    fn throttle_and_ec2_faults_carry_their_extras() {
        let f = Faults::default();
        f.add(spec(r#"{"function":"target","error":"TooManyRequestsException","times":1,"reason":"ConcurrentInvocationLimitExceeded","retry_after_s":3}"#)).unwrap();
        let e = f.check("target", None).unwrap().error.unwrap();
        assert_eq!(
            (e.reason.as_deref(), e.retry_after_s),
            (Some("ConcurrentInvocationLimitExceeded"), Some(3))
        );
        f.add(spec(r#"{"function":"target","error":"EC2UnexpectedException","times":1,"ec2_error_code":"Client.NetworkInterfaceLimitExceeded"}"#)).unwrap();
        let e = f.check("target", None).unwrap().error.unwrap();
        assert_eq!(
            e.ec2_error_code.as_deref(),
            Some("Client.NetworkInterfaceLimitExceeded")
        );
    }

    #[test]
    fn qualifier_and_function_filter_rules() {
        let f = Faults::default();
        f.add(spec(
            r#"{"function":"target","qualifier":"live","error":"ServiceException","times":5}"#,
        ))
        .unwrap();
        assert!(f.check("target", None).is_none());
        assert!(f.check("other", Some("live")).is_none());
        assert!(f.check("target", Some("live")).is_some());
        f.clear();
        assert!(f.check("target", Some("live")).is_none());
    }

    #[test]
    fn sts_actions_fail_with_sts_errors_of_the_table() {
        let f = Faults::default();
        f.add(spec(r#"{"action":"sts:AssumeRole","error":"Throttling","times":1}"#))
            .unwrap();
        assert!(f.check("target", None).is_none(), "an STS rule does not touch Invoke");
        let e = f.check_sts("sts:AssumeRole").unwrap().error.unwrap();
        assert_eq!((e.status, e.code), (400, "Throttling"));
        assert!(f.check_sts("sts:AssumeRole").is_none());
        for bad in [
            r#"{"action":"sts:AssumeRole","error":"EC2ThrottledException","times":1}"#,
            r#"{"action":"lambda:Invoke","error":"Throttling","times":1}"#,
            r#"{"function":"target","action":"sts:AssumeRole","times":1}"#,
            r#"{"error":"Throttling","times":1}"#,
        ] {
            assert!(f.add(spec(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_error_names_list_the_valid_ones() {
        let f = Faults::default();
        let err = f
            .add(spec(r#"{"function":"target","error":"Nope","times":1}"#))
            .unwrap_err();
        assert!(err.to_string().contains("EC2ThrottledException"));
    }
}
