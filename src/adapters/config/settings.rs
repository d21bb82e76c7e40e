//! The settings, whole and checked: each target with its ARN, how it is reached and its
//! delivery; the retry policy, budget and timeouts; what the invoker serves besides. Built by
//! [`Settings::resolve`] from a [`Given`], which checks what only the whole can tell.

use crate::adapters::config::auth::{AssumeRole, Auth};
use crate::adapters::config::given::{process_env, Given};
use crate::adapters::config::names::{keys, ConfigError, Context, Key, Name, TargetError};
use crate::adapters::config::values::{default_session_name, GatewaySource};
use crate::domain::arn::{check_partition, FunctionArn};
use crate::domain::delivery::TargetDelivery;
use crate::domain::invocation::{InvocationType, TenantId};
use crate::domain::retry::{RetryBudget, RetryPolicy};
use std::collections::BTreeMap;
use std::time::Duration;

/// One named target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    pub name: String,
    pub arn: FunctionArn,
    pub auth: Auth,
    pub invocation_type: InvocationType,
    /// How it takes a message's idempotency key (durable, the async envelope).
    pub delivery: TargetDelivery,
    /// `X-Amz-Tenant-Id` for a target in tenant-isolation mode, unless a call names its own.
    pub tenant_id: Option<TenantId>,
}

/// Timeouts chosen on purpose (aws-config sets only a connect timeout by default): from
/// `XINVOKE_CONNECT_TIMEOUT_MS` and `XINVOKE_ATTEMPT_TIMEOUT_MS` through
/// [`Settings::timeouts`], or your own for [`base_config`](crate::base_config).
///
/// ```
/// use std::time::Duration;
/// use xinvoke::Timeouts;
/// let defaults = Timeouts::default();
/// assert_eq!((defaults.connect, defaults.attempt), (Duration::from_secs(2), Duration::from_secs(30)));
/// // A slow synchronous target: wait up to 5 minutes for its answer.
/// let slow = Timeouts { attempt: Duration::from_secs(300), ..Timeouts::default() };
/// assert_eq!(slow.connect, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening a connection (TCP and TLS).
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

/// Everything configured, checked: the `XINVOKE_*` variables of docs/configuration.md, read
/// by [`Settings::from_env`] in a Lambda or from any source by [`Settings::from_lookup`].
///
/// ```
/// use std::collections::HashMap;
/// use std::time::Duration;
/// use xinvoke::Settings;
/// let vars = HashMap::from([
///     ("XINVOKE_TARGET_ARN", "arn:aws:lambda:us-east-1:222222222222:function:target:live"),
///     ("XINVOKE_ATTEMPT_TIMEOUT_MS", "90s"),
/// ]);
/// let settings = Settings::from_lookup(|name| vars.get(name).map(|v| v.to_string()))?;
/// assert_eq!(settings.timeouts().attempt, Duration::from_secs(90));
/// assert_eq!(settings.timeouts().connect, Duration::from_secs(2)); // the default
/// # Ok::<(), xinvoke::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Settings {
    /// Targets by name.
    pub(crate) targets: BTreeMap<String, TargetConfig>,
    /// The target used when an event names none.
    pub(crate) default_target: Option<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) budget_capacity: u32,
    pub(crate) timeouts: Timeouts,
    /// Kept free at the end of the Lambda's time: no attempt runs and no retry waits into it.
    pub(crate) deadline_margin: Duration,
    /// The payload a scheduled event sends (`XINVOKE_PAYLOAD`, default `{}`).
    pub(crate) scheduled_payload: Vec<u8>,
    /// How many records of an SQS batch run at once (`XINVOKE_SQS_CONCURRENCY`; default: all).
    pub(crate) sqs_concurrency: Option<usize>,
    /// The function's timeout, for runtimes that give no usable deadline
    /// (`XINVOKE_FUNCTION_TIMEOUT_MS`): emulators such as `cargo lambda watch` send a fixed
    /// deadline in 1970. Lambda always gives a real one, which wins.
    pub(crate) function_timeout: Option<Duration>,
    /// The SQS queue the invoker sends final records to (`XINVOKE_FAILURE_QUEUE_URL`): the
    /// template's failure destination. Without it a final record leaves as an ERROR line.
    pub(crate) failure_queue_url: Option<String>,
    /// The function serves `{"load": ...}` events (`XINVOKE_LOAD_WORKER`; the load stack's
    /// setting). Off, a load event is refused: a Function URL's caller cannot start a load run.
    pub(crate) load_worker: bool,
    /// Where the invoker's HTTP routes are (`XINVOKE_GATEWAY_CONFIG` or
    /// `XINVOKE_GATEWAY_CONFIG_TEXT`); read only in a Lambda. Boxed: most settings have none,
    /// and settings travel by value (a load job's place holds them).
    pub(crate) gateway: Option<Box<GatewaySource>>,
}

impl Settings {
    /// The connect and attempt timeouts, for the AWS config the service is built on
    /// ([`crate::base_config`]).
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Read the process environment (the Lambdas).
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(process_env)
    }

    /// Read from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Settings::resolve(Given::from_env(get, Context::Lambda)?, Context::Lambda)
    }

    /// Check what only the whole can tell and fill in the defaults: the default target (with
    /// its role, which needs an external id), the named targets, which one is the default, the
    /// retry policy and timeouts.
    pub(crate) fn resolve(given: Given, ctx: Context) -> Result<Settings, ConfigError> {
        let name = |key: Key| Name::of(key, ctx);
        let default_session = default_session_name(given.function_name.as_deref());
        let default_type = given.invocation_type.unwrap_or_default();
        let mut targets = BTreeMap::new();
        let mut default_target = None;
        if let Some(arn) = given.target_arn {
            let auth = match (given.role_arn, given.external_id) {
                (Some(role_arn), Some(external_id)) => Auth::AssumeRole(AssumeRole {
                    role_arn,
                    external_id: Some(external_id),
                    session_name: given
                        .session_name
                        .map(|s| s.0)
                        .unwrap_or_else(|| default_session.clone()),
                }),
                (Some(_), None) => {
                    return Err(ConfigError::MissingExternalId {
                        role: name(keys::ROLE_ARN),
                        external_id: name(keys::EXTERNAL_ID),
                    })
                }
                (None, Some(_)) => {
                    return Err(ConfigError::ExternalIdWithoutRole {
                        name: name(keys::EXTERNAL_ID),
                        role: name(keys::ROLE_ARN),
                    })
                }
                (None, None) => Auth::ExecutionRole,
            };
            targets.insert(
                "default".to_string(),
                TargetConfig {
                    name: "default".into(),
                    arn,
                    auth,
                    invocation_type: default_type,
                    delivery: given.delivery.unwrap_or_default(),
                    tenant_id: given.tenant_id.clone(),
                },
            );
            default_target = Some("default".to_string());
        } else if given.targets.is_none() {
            let stray = [
                (given.role_arn.is_some(), keys::ROLE_ARN),
                (given.external_id.is_some(), keys::EXTERNAL_ID),
                (given.session_name.is_some(), keys::SESSION_NAME),
            ];
            if let Some((_, key)) = stray.iter().find(|(set, _)| *set) {
                return Err(ConfigError::Invalid {
                    name: name(*key),
                    detail: format!(
                        "is set but {} is not: set {} to the target's full function ARN",
                        name(keys::TARGET_ARN),
                        name(keys::TARGET_ARN)
                    ),
                });
            }
        }
        for (target_name, t) in given.targets.unwrap_or_default() {
            if targets.contains_key(&target_name) {
                return Err(ConfigError::Invalid {
                    name: name(keys::TARGETS),
                    detail: format!(
                        "target {target_name:?} is also defined by {}: rename one",
                        name(keys::TARGET_ARN)
                    ),
                });
            }
            let auth = match t.role {
                Some(mut role) => {
                    if role.session_name.is_empty() {
                        role.session_name = default_session.clone();
                    }
                    Auth::AssumeRole(role)
                }
                None => Auth::ExecutionRole,
            };
            targets.insert(
                target_name.clone(),
                TargetConfig {
                    name: target_name,
                    arn: t.arn,
                    auth,
                    invocation_type: t.invocation_type.unwrap_or(default_type),
                    delivery: t.delivery,
                    tenant_id: t.tenant_id,
                },
            );
        }
        for t in targets.values() {
            let name = if t.name == "default" && default_target.as_deref() == Some("default") {
                name(keys::TARGET_ARN)
            } else {
                name(keys::TARGETS)
            };
            let mismatch = t.arn.check_partition().err().or_else(|| match &t.auth {
                Auth::AssumeRole(a) => {
                    check_partition(&a.role_arn.to_string(), &a.role_arn.partition, &t.arn.region).err()
                }
                Auth::ExecutionRole => None,
            });
            if let Some(m) = mismatch {
                return Err(ConfigError::Invalid {
                    name,
                    detail: m.to_string(),
                });
            }
        }
        if targets.is_empty() {
            return Err(ConfigError::NoTarget {
                target: name(keys::TARGET_ARN),
            });
        }
        if let Some(d) = given.default_target {
            if !targets.contains_key(&d) {
                return Err(ConfigError::Invalid {
                    name: name(keys::DEFAULT_TARGET),
                    detail: format!("names {d:?}, which is not a configured target ({})", names(&targets)),
                });
            }
            default_target = Some(d);
        } else if default_target.is_none() && targets.len() == 1 {
            default_target = targets.keys().next().cloned();
        }
        let mut retry = given.retry.unwrap_or_default();
        if let Some(off) = given.no_retry {
            retry.disabled = off;
        }
        if let Some(idempotent) = given.idempotent {
            retry.idempotent = idempotent;
        }
        let defaults = Timeouts::default();
        Ok(Settings {
            targets,
            default_target,
            retry,
            budget_capacity: given.budget_capacity.unwrap_or(RetryBudget::DEFAULT_CAPACITY),
            timeouts: Timeouts {
                connect: given.connect_timeout.unwrap_or(defaults.connect),
                attempt: given.attempt_timeout.unwrap_or(defaults.attempt),
            },
            deadline_margin: given.deadline_margin.unwrap_or(Duration::from_millis(500)),
            scheduled_payload: given.scheduled_payload.unwrap_or_else(|| b"{}".to_vec()),
            sqs_concurrency: given.sqs_concurrency,
            function_timeout: given.function_timeout,
            failure_queue_url: given.failure_queue_url,
            load_worker: given.load_worker.unwrap_or(false),
            gateway: given.gateway.map(Box::new),
        })
    }

    /// The target an event names, or the default one.
    pub(crate) fn target(&self, name: Option<&str>) -> Result<&TargetConfig, TargetError> {
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
        assert_eq!(a.external_id.as_ref().unwrap().expose(), "ext-123");
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
    fn the_gateway_config_is_a_file_or_text_never_both_and_its_text_stays_out_of_debug() {
        let s = settings(&[
            ("XINVOKE_TARGET_ARN", ARN),
            ("XINVOKE_GATEWAY_CONFIG", "/var/task/gateway.yaml"),
        ])
        .unwrap();
        assert_eq!(
            s.gateway.as_deref(),
            Some(&GatewaySource::File("/var/task/gateway.yaml".into()))
        );
        let text = "upstreams: []\nroutes: []\n# externalId: very-secret-id";
        let s = settings(&[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_GATEWAY_CONFIG_TEXT", text)]).unwrap();
        assert_eq!(s.gateway.as_deref(), Some(&GatewaySource::Text(text.into())));
        assert!(!format!("{s:?}").contains("very-secret-id"));
        assert_eq!(settings(&[("XINVOKE_TARGET_ARN", ARN)]).unwrap().gateway, None);
        let e = settings(&[
            ("XINVOKE_TARGET_ARN", ARN),
            ("XINVOKE_GATEWAY_CONFIG", "/var/task/gateway.yaml"),
            ("XINVOKE_GATEWAY_CONFIG_TEXT", text),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("XINVOKE_GATEWAY_CONFIG_TEXT")
                && e.contains("XINVOKE_GATEWAY_CONFIG:")
                && e.contains("keep one"),
            "{e}"
        );
        assert!(!e.contains("very-secret-id"), "{e}");
    }

    #[test]
    fn ms_variables_take_the_one_duration_syntax_and_a_bare_number_is_milliseconds() {
        for (attempt, connect, margin, want) in [
            ("30s", "1500ms", "1s", (30_000, 1500, 1000)),
            ("25000", "250", "0", (25_000, 250, 0)),
            ("2m", "0.5s", "500", (120_000, 500, 500)),
        ] {
            let s = settings(&[
                ("XINVOKE_TARGET_ARN", ARN),
                ("XINVOKE_ATTEMPT_TIMEOUT_MS", attempt),
                ("XINVOKE_CONNECT_TIMEOUT_MS", connect),
                ("XINVOKE_DEADLINE_MARGIN_MS", margin),
            ])
            .unwrap();
            let got = (
                s.timeouts.attempt.as_millis() as u64,
                s.timeouts.connect.as_millis() as u64,
                s.deadline_margin.as_millis() as u64,
            );
            assert_eq!(got, want, "{attempt} {connect} {margin}");
        }
        let e = settings(&[("XINVOKE_TARGET_ARN", ARN), ("XINVOKE_CONNECT_TIMEOUT_MS", "5m")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("XINVOKE_CONNECT_TIMEOUT_MS") && e.contains("from 1ms to 1m"),
            "{e}"
        );
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
