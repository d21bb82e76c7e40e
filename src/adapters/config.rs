//! Configuration, read once at start from the environment and validated there, so a bad
//! value fails the cold start with a message naming the variable and the fix. Secrets (the
//! external id) never appear in `Debug` output or errors.

use crate::core::arn::{ArnError, FunctionArn, RoleArn};
use crate::core::invocation::InvocationType;
use crate::core::retry::{RetryBudget, RetryPolicy};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
use thiserror::Error;

/// A configuration error: always names the variable (or file) and what to set.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{var}: {source}")]
    Arn { var: String, source: ArnError },
    #[error("{var} is set, so role chaining is on, but XINVOKE_EXTERNAL_ID is not: set XINVOKE_EXTERNAL_ID to the external id the role's trust policy requires (sts:ExternalId)")]
    MissingExternalId { var: String },
    #[error(
        "{var} must be 2-1224 characters of letters, digits and +=,.@:/-; check the value given to the account-2 admin"
    )]
    BadExternalId { var: String },
    #[error("{var} is set without XINVOKE_ROLE_ARN: an external id is only used when assuming a role; set XINVOKE_ROLE_ARN too, or unset {var}")]
    ExternalIdWithoutRole { var: String },
    #[error("{var} must be 2-64 characters of letters, digits and +=,.@_- (it becomes the assumed-role session name)")]
    BadSessionName { var: String },
    #[error("{var}: {detail}")]
    Invalid { var: String, detail: String },
    #[error("no target is configured: set XINVOKE_TARGET_ARN to the target's full function ARN (e.g. arn:aws:lambda:us-east-1:222222222222:function:target:live), or XINVOKE_TARGETS / XINVOKE_TARGETS_FILE to named targets")]
    NoTarget,
    #[error("cannot read {path} (XINVOKE_TARGETS_FILE): {detail}")]
    File { path: String, detail: String },
}

/// An event or command names a target that is not configured.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TargetError {
    #[error("unknown target {name:?}: configured targets are {known}")]
    Unknown { name: String, known: String },
    #[error("the event names no target and there is no default: add \"target\": one of {known}, or set XINVOKE_DEFAULT_TARGET")]
    NoDefault { known: String },
}

/// The external id of an assumed role: a shared secret between the accounts, kept out of
/// logs, `Debug` output and errors.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    /// The value, for the one place that needs it: the AssumeRole request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExternalId(<redacted>)")
    }
}

fn check_external_id(var: &str, v: &str) -> Result<ExternalId, ConfigError> {
    let ok = (2..=1224).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
    if ok {
        Ok(ExternalId(v.to_string()))
    } else {
        Err(ConfigError::BadExternalId { var: var.to_string() })
    }
}

fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// A session name from the Lambda function's name (or `cli`), made valid.
pub fn default_session_name(function_name: Option<&str>) -> String {
    let tail: String = function_name
        .unwrap_or("cli")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut s = format!("xinvoke-{tail}");
    s.truncate(64);
    s
}

/// How the invoker is allowed to call a target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Resource-based: the invoker's own credentials; the target's resource policy names it.
    ExecutionRole,
    /// Role chaining: assume a role in the target's account first.
    AssumeRole(AssumeRole),
}

/// The role to assume and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssumeRole {
    pub role_arn: RoleArn,
    pub external_id: ExternalId,
    pub session_name: String,
}

/// One named target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    pub name: String,
    pub arn: FunctionArn,
    pub auth: Auth,
    pub invocation_type: InvocationType,
}

/// Timeouts chosen on purpose (aws-config sets only a connect timeout by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// One attempt, from send to the last byte of the answer.
    pub attempt: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_millis(2_000),
            attempt: Duration::from_secs(30),
        }
    }
}

/// Everything read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Targets by name.
    pub targets: BTreeMap<String, TargetConfig>,
    /// The target used when an event names none.
    pub default_target: Option<String>,
    pub retry: RetryPolicy,
    pub budget_capacity: u32,
    pub timeouts: Timeouts,
    /// Kept free at the end of the Lambda's time: no retry wait may eat into it.
    pub deadline_margin: Duration,
    /// The payload a scheduled event sends (`XINVOKE_PAYLOAD`, default `{}`).
    pub scheduled_payload: Vec<u8>,
    /// How many records of an SQS batch run at once (`XINVOKE_SQS_CONCURRENCY`; default: all).
    pub sqs_concurrency: Option<usize>,
    /// The function's timeout, for runtimes that give no usable deadline
    /// (`XINVOKE_FUNCTION_TIMEOUT_MS`): emulators such as `cargo lambda watch` send a fixed
    /// deadline in 1970. Lambda always gives a real one, which wins.
    pub function_timeout: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    arn: String,
    role_arn: Option<String>,
    external_id: Option<String>,
    session_name: Option<String>,
    invocation_type: Option<String>,
}

impl Settings {
    /// Read the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Read from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let function_name = get("AWS_LAMBDA_FUNCTION_NAME");
        let default_session = default_session_name(function_name.as_deref());
        let default_type = parse_type("XINVOKE_INVOCATION_TYPE", get("XINVOKE_INVOCATION_TYPE").as_deref())?;

        let mut targets = BTreeMap::new();
        let mut default_target = None;
        if let Some(arn) = get("XINVOKE_TARGET_ARN") {
            let spec = TargetSpec {
                arn,
                role_arn: get("XINVOKE_ROLE_ARN"),
                external_id: get("XINVOKE_EXTERNAL_ID"),
                session_name: get("XINVOKE_SESSION_NAME"),
                invocation_type: None,
            };
            let t = target_from_spec("default", spec, "XINVOKE_", &default_session, default_type)?;
            targets.insert(t.name.clone(), t);
            default_target = Some("default".to_string());
        } else {
            for var in ["XINVOKE_ROLE_ARN", "XINVOKE_EXTERNAL_ID", "XINVOKE_SESSION_NAME"] {
                if get(var).is_some() && get("XINVOKE_TARGETS").is_none() && get("XINVOKE_TARGETS_FILE").is_none() {
                    return Err(ConfigError::Invalid {
                        var: var.to_string(),
                        detail: "is set but XINVOKE_TARGET_ARN is not: set XINVOKE_TARGET_ARN to the target's full function ARN".into(),
                    });
                }
            }
        }
        let named = match (get("XINVOKE_TARGETS"), get("XINVOKE_TARGETS_FILE")) {
            (Some(json), _) => Some(("XINVOKE_TARGETS".to_string(), json)),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                Some((format!("XINVOKE_TARGETS_FILE ({path})"), text))
            }
            (None, None) => None,
        };
        if let Some((var, json)) = named {
            let specs: BTreeMap<String, TargetSpec> = serde_json::from_str(&json).map_err(|e| ConfigError::Invalid {
                var: var.clone(),
                detail: format!(
                    "not a JSON object of named targets ({e}); expected e.g. {{\"orders\": {{\"arn\": \"arn:aws:lambda:us-east-1:222222222222:function:orders:live\", \"role_arn\": \"arn:aws:iam::222222222222:role/xinvoke-invoke\", \"external_id\": \"...\"}}}}"
                ),
            })?;
            for (name, spec) in specs {
                if !valid_target_name(&name) {
                    return Err(ConfigError::Invalid {
                        var,
                        detail: format!("target name {name:?} must be 1-64 letters, digits, - or _"),
                    });
                }
                if targets.contains_key(&name) {
                    return Err(ConfigError::Invalid {
                        var,
                        detail: format!("target {name:?} is also defined by XINVOKE_TARGET_ARN: rename one"),
                    });
                }
                let t = target_from_spec(&name, spec, &format!("{var}.{name}."), &default_session, default_type)?;
                targets.insert(name, t);
            }
        }
        if targets.is_empty() {
            return Err(ConfigError::NoTarget);
        }
        if let Some(d) = get("XINVOKE_DEFAULT_TARGET") {
            if !targets.contains_key(&d) {
                return Err(ConfigError::Invalid {
                    var: "XINVOKE_DEFAULT_TARGET".into(),
                    detail: format!("names {d:?}, which is not a configured target ({})", names(&targets)),
                });
            }
            default_target = Some(d);
        } else if default_target.is_none() && targets.len() == 1 {
            default_target = targets.keys().next().cloned();
        }

        let mut retry = match get("XINVOKE_RETRY") {
            Some(json) => serde_json::from_str::<RetryPolicy>(&json).map_err(|e| ConfigError::Invalid {
                var: "XINVOKE_RETRY".into(),
                detail: format!("not a retry policy ({e}); expected e.g. {{\"classes\": {{\"throttled\": {{\"interval_s\": 1, \"backoff_rate\": 2, \"max_retries\": 3, \"max_delay_s\": 20, \"full_jitter\": true, \"cost\": 5}}}}}}"),
            })?,
            None => RetryPolicy::default(),
        };
        if let Some(v) = get("XINVOKE_NO_RETRY") {
            retry.disabled = parse_bool("XINVOKE_NO_RETRY", &v)?;
        }
        if let Some(v) = get("XINVOKE_IDEMPOTENT") {
            retry.idempotent = parse_bool("XINVOKE_IDEMPOTENT", &v)?;
        }
        let budget_capacity = match get("XINVOKE_RETRY_BUDGET") {
            Some(v) => parse_u64("XINVOKE_RETRY_BUDGET", &v, 0, u32::MAX as u64)? as u32,
            None => RetryBudget::DEFAULT_CAPACITY,
        };
        let defaults = Timeouts::default();
        let timeouts = Timeouts {
            connect: ms_var(&get, "XINVOKE_CONNECT_TIMEOUT_MS", defaults.connect, 1, 60_000)?,
            attempt: ms_var(&get, "XINVOKE_ATTEMPT_TIMEOUT_MS", defaults.attempt, 1, 900_000)?,
        };
        let deadline_margin = ms_var(
            &get,
            "XINVOKE_DEADLINE_MARGIN_MS",
            Duration::from_millis(500),
            0,
            60_000,
        )?;
        let scheduled_payload = match get("XINVOKE_PAYLOAD") {
            Some(p) => {
                serde_json::from_str::<serde_json::Value>(&p).map_err(|e| ConfigError::Invalid {
                    var: "XINVOKE_PAYLOAD".into(),
                    detail: format!("must be a JSON document ({e})"),
                })?;
                p.into_bytes()
            }
            None => b"{}".to_vec(),
        };
        let sqs_concurrency = get("XINVOKE_SQS_CONCURRENCY")
            .map(|v| parse_u64("XINVOKE_SQS_CONCURRENCY", &v, 1, 10_000))
            .transpose()?
            .map(|n| n as usize);
        let function_timeout = get("XINVOKE_FUNCTION_TIMEOUT_MS")
            .map(|v| parse_u64("XINVOKE_FUNCTION_TIMEOUT_MS", &v, 1, 900_000).map(Duration::from_millis))
            .transpose()?;
        Ok(Settings {
            targets,
            default_target,
            retry,
            budget_capacity,
            timeouts,
            deadline_margin,
            scheduled_payload,
            sqs_concurrency,
            function_timeout,
        })
    }

    /// The target an event names, or the default one.
    pub fn target(&self, name: Option<&str>) -> Result<&TargetConfig, TargetError> {
        match name.or(self.default_target.as_deref()) {
            Some(n) => self.targets.get(n).ok_or_else(|| TargetError::Unknown {
                name: n.to_string(),
                known: names(&self.targets),
            }),
            None => Err(TargetError::NoDefault {
                known: names(&self.targets),
            }),
        }
    }
}

fn names(targets: &BTreeMap<String, TargetConfig>) -> String {
    targets.keys().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
}

fn valid_target_name(n: &str) -> bool {
    (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn target_from_spec(
    name: &str,
    spec: TargetSpec,
    prefix: &str,
    default_session: &str,
    default_type: InvocationType,
) -> Result<TargetConfig, ConfigError> {
    let var = |field: &str| {
        if prefix == "XINVOKE_" {
            format!("XINVOKE_{}", field.to_ascii_uppercase())
        } else {
            format!("{prefix}{field}")
        }
    };
    let arn = spec.arn.parse().map_err(|source| ConfigError::Arn {
        var: var("target_arn"),
        source,
    })?;
    let auth = match spec.role_arn {
        Some(role) => {
            let role_arn = role.parse().map_err(|source| ConfigError::Arn {
                var: var("role_arn"),
                source,
            })?;
            let external_id = match spec.external_id {
                Some(id) => check_external_id(&var("external_id"), &id)?,
                None => return Err(ConfigError::MissingExternalId { var: var("role_arn") }),
            };
            let session_name = match spec.session_name {
                Some(s) if valid_session_name(&s) => s,
                Some(_) => {
                    return Err(ConfigError::BadSessionName {
                        var: var("session_name"),
                    })
                }
                None => default_session.to_string(),
            };
            Auth::AssumeRole(AssumeRole {
                role_arn,
                external_id,
                session_name,
            })
        }
        None => {
            if spec.external_id.is_some() {
                return Err(ConfigError::ExternalIdWithoutRole {
                    var: var("external_id"),
                });
            }
            Auth::ExecutionRole
        }
    };
    let invocation_type = match spec.invocation_type {
        Some(t) => parse_type(&var("invocation_type"), Some(&t))?,
        None => default_type,
    };
    Ok(TargetConfig {
        name: name.to_string(),
        arn,
        auth,
        invocation_type,
    })
}

fn parse_type(var: &str, v: Option<&str>) -> Result<InvocationType, ConfigError> {
    v.map(|s| {
        s.parse()
            .map_err(|e: crate::core::invocation::InvocationTypeError| ConfigError::Invalid {
                var: var.to_string(),
                detail: e.to_string(),
            })
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

fn parse_bool(var: &str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::Invalid {
            var: var.into(),
            detail: format!("{v:?} is not a boolean: use true or false"),
        }),
    }
}

fn parse_u64(var: &str, v: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| ConfigError::Invalid {
            var: var.into(),
            detail: format!("{v:?} must be a whole number from {min} to {max}"),
        })
}

fn ms_var(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
    default: Duration,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    match get(var) {
        Some(v) => parse_u64(var, &v, min, max).map(Duration::from_millis),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ARN: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";
    const ROLE: &str = "arn:aws:iam::222222222222:role/xinvoke-invoke";

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn target_arn_alone_is_resource_based_sync() {
        let s = settings(&[("XINVOKE_TARGET_ARN", ARN)]).unwrap();
        let t = s.target(None).unwrap();
        assert_eq!(t.arn.to_string(), ARN);
        assert_eq!(t.auth, Auth::ExecutionRole);
        assert_eq!(t.invocation_type, InvocationType::RequestResponse);
        assert!(!s.retry.disabled);
        assert_eq!(s.timeouts, Timeouts::default());
    }

    #[test]
    fn role_arn_needs_an_external_id_and_gets_a_default_session_name() {
        let e = settings(&[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_ROLE_ARN", ROLE)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("XINVOKE_EXTERNAL_ID"), "{e}");
        let s = settings(&[
            ("XINVOKE_TARGET_ARN", ARN),
            ("XINVOKE_ROLE_ARN", ROLE),
            ("XINVOKE_EXTERNAL_ID", "ext-123"),
            ("AWS_LAMBDA_FUNCTION_NAME", "my invoker"),
        ])
        .unwrap();
        let Auth::AssumeRole(a) = &s.target(None).unwrap().auth else {
            panic!("expected role chaining")
        };
        assert_eq!(a.session_name, "xinvoke-my-invoker");
        assert_eq!(a.external_id.expose(), "ext-123");
    }

    #[test]
    fn bad_values_name_their_variable_and_never_echo_the_external_id() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "XINVOKE_TARGET_ARN"),
            (&[("XINVOKE_TARGET_ARN", "target")], "XINVOKE_TARGET_ARN"),
            (
                &[
                    ("XINVOKE_TARGET_ARN", ARN),
                    ("XINVOKE_ROLE_ARN", "arn:aws:iam::2:role/x"),
                    ("XINVOKE_EXTERNAL_ID", "abc"),
                ],
                "XINVOKE_ROLE_ARN",
            ),
            (
                &[
                    ("XINVOKE_TARGET_ARN", ARN),
                    ("XINVOKE_ROLE_ARN", ROLE),
                    ("XINVOKE_EXTERNAL_ID", "sec ret!"),
                ],
                "XINVOKE_EXTERNAL_ID",
            ),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_EXTERNAL_ID", "secret-value")],
                "XINVOKE_EXTERNAL_ID",
            ),
            (
                &[
                    ("XINVOKE_TARGET_ARN", ARN),
                    ("XINVOKE_ROLE_ARN", ROLE),
                    ("XINVOKE_EXTERNAL_ID", "abc"),
                    ("XINVOKE_SESSION_NAME", "x"),
                ],
                "XINVOKE_SESSION_NAME",
            ),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_INVOCATION_TYPE", "sync")],
                "XINVOKE_INVOCATION_TYPE",
            ),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_ATTEMPT_TIMEOUT_MS", "soon")],
                "XINVOKE_ATTEMPT_TIMEOUT_MS",
            ),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_NO_RETRY", "maybe")],
                "XINVOKE_NO_RETRY",
            ),
            (&[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_RETRY", "{")], "XINVOKE_RETRY"),
            (
                &[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_PAYLOAD", "{")],
                "XINVOKE_PAYLOAD",
            ),
            (&[("XINVOKE_TARGETS", "[1]")], "XINVOKE_TARGETS"),
            (&[("XINVOKE_ROLE_ARN", ROLE)], "XINVOKE_TARGET_ARN"),
        ];
        for (vars, named) in cases {
            let e = settings(vars).unwrap_err().to_string();
            assert!(e.contains(named), "{vars:?}: {e}");
            assert!(!e.contains("sec ret!") && !e.contains("secret-value"), "{e}");
        }
    }

    #[test]
    fn named_targets_each_have_their_own_arn_and_auth() {
        let json = format!(
            r#"{{"orders": {{"arn": "{ARN}"}}, "billing": {{"arn": "arn:aws:lambda:us-east-1:333333333333:function:billing:2", "role_arn": "{ROLE}", "external_id": "xyz-1", "invocation_type": "Event"}}}}"#
        );
        let s = settings(&[("XINVOKE_TARGETS", &json), ("XINVOKE_DEFAULT_TARGET", "orders")]).unwrap();
        assert_eq!(s.targets.len(), 2);
        assert_eq!(s.target(None).unwrap().name, "orders");
        let b = s.target(Some("billing")).unwrap();
        assert_eq!(b.invocation_type, InvocationType::Event);
        assert!(matches!(b.auth, Auth::AssumeRole(_)));
        let e = s.target(Some("nope")).unwrap_err().to_string();
        assert!(e.contains("\"billing\", \"orders\""), "{e}");
        let no_default = settings(&[("XINVOKE_TARGETS", &json)]).unwrap();
        assert!(no_default
            .target(None)
            .unwrap_err()
            .to_string()
            .contains("XINVOKE_DEFAULT_TARGET"));
    }

    #[test]
    fn debug_output_hides_the_external_id() {
        let s = settings(&[
            ("XINVOKE_TARGET_ARN", ARN),
            ("XINVOKE_ROLE_ARN", ROLE),
            ("XINVOKE_EXTERNAL_ID", "very-secret-id"),
        ])
        .unwrap();
        let d = format!("{s:?}");
        assert!(!d.contains("very-secret-id"));
        assert!(d.contains("<redacted>"));
    }

    #[test]
    fn retry_switches_and_timeouts_are_read() {
        let s = settings(&[
            ("XINVOKE_TARGET_ARN", ARN),
            ("XINVOKE_NO_RETRY", "true"),
            ("XINVOKE_IDEMPOTENT", "1"),
            ("XINVOKE_RETRY_BUDGET", "50"),
            ("XINVOKE_ATTEMPT_TIMEOUT_MS", "1500"),
            ("XINVOKE_CONNECT_TIMEOUT_MS", "250"),
        ])
        .unwrap();
        assert!(s.retry.disabled && s.retry.idempotent);
        assert_eq!(s.budget_capacity, 50);
        assert_eq!(
            s.timeouts,
            Timeouts {
                connect: Duration::from_millis(250),
                attempt: Duration::from_millis(1500)
            }
        );
    }
}
