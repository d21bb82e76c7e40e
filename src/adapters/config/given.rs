//! Settings as one source gives them ([`Given`]), and the environment as such a source.

use crate::adapters::config::auth::AssumeRole;
use crate::adapters::config::names::{keys, ConfigError, Context, Key, Name};
use crate::adapters::config::values::{ExternalId, GatewaySource, SessionName};
use crate::domain::arn::{FunctionArn, RoleArn};
use crate::domain::delivery::TargetDelivery;
use crate::domain::duration::{self, Unit};
use crate::domain::invocation::{InvocationType, TenantId};
use crate::domain::retry::RetryPolicy;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A target of `XINVOKE_TARGETS`, as given (the role's parts checked together).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTarget {
    pub arn: FunctionArn,
    pub role: Option<AssumeRole>,
    pub invocation_type: Option<InvocationType>,
    /// `durable` and `envelope`.
    pub delivery: TargetDelivery,
    /// The tenant of a target in tenant-isolation mode.
    pub tenant_id: Option<TenantId>,
}

/// Settings as one source gives them: typed, each optional. [`Given::or`] layers sources
/// (flags over the environment); [`Settings::resolve`] checks the whole.
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub target_arn: Option<FunctionArn>,
    pub role_arn: Option<RoleArn>,
    pub external_id: Option<ExternalId>,
    pub session_name: Option<SessionName>,
    pub invocation_type: Option<InvocationType>,
    /// The default target's tenant (`XINVOKE_TENANT_ID`).
    pub tenant_id: Option<TenantId>,
    pub targets: Option<BTreeMap<String, NamedTarget>>,
    pub default_target: Option<String>,
    pub retry: Option<RetryPolicy>,
    pub no_retry: Option<bool>,
    pub idempotent: Option<bool>,
    pub budget_capacity: Option<u32>,
    pub connect_timeout: Option<Duration>,
    pub attempt_timeout: Option<Duration>,
    pub deadline_margin: Option<Duration>,
    pub scheduled_payload: Option<Vec<u8>>,
    pub sqs_concurrency: Option<usize>,
    pub function_timeout: Option<Duration>,
    /// The default target's `XINVOKE_DURABLE` and `XINVOKE_ENVELOPE`.
    pub delivery: Option<TargetDelivery>,
    pub failure_queue_url: Option<String>,
    pub load_worker: Option<bool>,
    /// The invoker's HTTP routes (Lambda only).
    pub gateway: Option<GatewaySource>,
    /// `AWS_LAMBDA_FUNCTION_NAME`, for the default session name.
    pub function_name: Option<String>,
}

macro_rules! or_fields {
    ($hi:ident, $lo:ident; $($f:ident),*) => {
        Given { $($f: $hi.$f.or($lo.$f)),* }
    };
}

impl Given {
    /// These values, and `lower`'s where these have none.
    pub fn or(self, lower: Given) -> Given {
        let hi = self;
        or_fields!(hi, lower; target_arn, role_arn, external_id, session_name, invocation_type, tenant_id, targets,
            default_target, retry, no_retry, idempotent, budget_capacity, connect_timeout, attempt_timeout,
            deadline_margin, scheduled_payload, sqs_concurrency, function_timeout, delivery, failure_queue_url,
            load_worker, gateway, function_name)
    }

    /// Read the `XINVOKE_*` variables (and `AWS_LAMBDA_FUNCTION_NAME`) from `get`; a bad value
    /// is an error naming its variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>, ctx: Context) -> Result<Given, ConfigError> {
        let env = Env { get: &get, ctx };
        let mut given = Given {
            function_name: get("AWS_LAMBDA_FUNCTION_NAME"),
            ..Given::default()
        };
        env.read_target(&mut given)?;
        given.targets = env.read_named_targets()?;
        given.default_target = get(keys::DEFAULT_TARGET.var);
        env.read_retry(&mut given)?;
        env.read_timeouts(&mut given)?;
        env.read_lambda(&mut given)?;
        Ok(given)
    }
}

/// Variables and how errors name them.
struct Env<'a, F: Fn(&str) -> Option<String>> {
    get: &'a F,
    ctx: Context,
}

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn value(&self, key: Key) -> Option<String> {
        (self.get)(key.var)
    }

    fn name(&self, key: Key) -> Name {
        Name::of(key, self.ctx)
    }

    fn invalid(&self, key: Key, detail: String) -> ConfigError {
        ConfigError::Invalid {
            name: self.name(key),
            detail,
        }
    }

    /// The default target's parts: `XINVOKE_TARGET_ARN`, the role, its external id and
    /// session name, the invocation type.
    fn read_target(&self, given: &mut Given) -> Result<(), ConfigError> {
        given.target_arn = self
            .value(keys::TARGET_ARN)
            .map(|v| {
                v.parse().map_err(|source| ConfigError::Arn {
                    name: self.name(keys::TARGET_ARN),
                    source,
                })
            })
            .transpose()?;
        given.role_arn = self
            .value(keys::ROLE_ARN)
            .map(|v| {
                v.parse().map_err(|source| ConfigError::Arn {
                    name: self.name(keys::ROLE_ARN),
                    source,
                })
            })
            .transpose()?;
        given.external_id = self
            .value(keys::EXTERNAL_ID)
            .map(|v| {
                v.parse().map_err(|_| ConfigError::BadExternalId {
                    name: self.name(keys::EXTERNAL_ID),
                })
            })
            .transpose()?;
        given.session_name = self
            .value(keys::SESSION_NAME)
            .map(|v| {
                v.parse().map_err(|_| ConfigError::BadSessionName {
                    name: self.name(keys::SESSION_NAME),
                })
            })
            .transpose()?;
        given.tenant_id = self
            .value(keys::TENANT_ID)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse()
                    .map_err(|e: crate::domain::invocation::TenantIdError| self.invalid(keys::TENANT_ID, e.to_string()))
            })
            .transpose()?;
        let durable = self
            .value(keys::DURABLE)
            .map(|v| self.boolean(keys::DURABLE, &v))
            .transpose()?;
        let envelope = self
            .value(keys::ENVELOPE)
            .map(|v| self.boolean(keys::ENVELOPE, &v))
            .transpose()?;
        if durable.is_some() || envelope.is_some() {
            given.delivery = Some(TargetDelivery {
                durable: durable.unwrap_or(false),
                envelope: envelope.unwrap_or(false),
            });
        }
        given.invocation_type = self
            .value(keys::INVOCATION_TYPE)
            .map(|v| {
                v.parse().map_err(|e: crate::domain::invocation::InvocationTypeError| {
                    self.invalid(keys::INVOCATION_TYPE, e.to_string())
                })
            })
            .transpose()?;
        Ok(())
    }

    /// `XINVOKE_TARGETS` (JSON) or the file `XINVOKE_TARGETS_FILE` names.
    fn read_named_targets(&self) -> Result<Option<BTreeMap<String, NamedTarget>>, ConfigError> {
        let (within, json) = match (self.value(keys::TARGETS), self.value(keys::TARGETS_FILE)) {
            (Some(json), _) => (keys::TARGETS.var.to_string(), json),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                (format!("XINVOKE_TARGETS_FILE ({path})"), text)
            }
            (None, None) => return Ok(None),
        };
        let whole = || Name::var(within.clone());
        let specs: BTreeMap<String, TargetSpec> = serde_json::from_str(&json).map_err(|e| ConfigError::Invalid {
            name: whole(),
            detail: format!(
                "not a JSON object of named targets ({e}); expected e.g. {{\"orders\": {{\"arn\": \"arn:aws:lambda:us-east-1:222222222222:function:orders:live\", \"role_arn\": \"arn:aws:iam::222222222222:role/xinvoke-invoke\", \"external_id\": \"...\"}}}}"
            ),
        })?;
        let mut targets = BTreeMap::new();
        for (name, spec) in specs {
            if !valid_target_name(&name) {
                return Err(ConfigError::Invalid {
                    name: whole(),
                    detail: format!("target name {name:?} must be 1-64 letters, digits, - or _"),
                });
            }
            let target = named_target(spec, |field| Name::field(&within, &name, field))?;
            targets.insert(name, target);
        }
        Ok(Some(targets))
    }

    /// `XINVOKE_RETRY`, `XINVOKE_NO_RETRY`, `XINVOKE_IDEMPOTENT`, `XINVOKE_RETRY_BUDGET`.
    fn read_retry(&self, given: &mut Given) -> Result<(), ConfigError> {
        given.retry = self
            .value(keys::RETRY)
            .map(|json| {
                serde_json::from_str::<RetryPolicy>(&json).map_err(|e| self.invalid(keys::RETRY, format!("not a retry policy ({e}); expected e.g. {{\"classes\": {{\"throttled\": {{\"interval_s\": 1, \"backoff_rate\": 2, \"max_retries\": 3, \"max_delay_s\": 20, \"jitter\": \"full\", \"cost\": 5}}}}}}")))
            })
            .transpose()?;
        given.no_retry = self
            .value(keys::NO_RETRY)
            .map(|v| self.boolean(keys::NO_RETRY, &v))
            .transpose()?;
        given.idempotent = self
            .value(keys::IDEMPOTENT)
            .map(|v| self.boolean(keys::IDEMPOTENT, &v))
            .transpose()?;
        given.budget_capacity = self
            .value(keys::RETRY_BUDGET)
            .map(|v| {
                self.number(keys::RETRY_BUDGET, &v, 0, u64::from(u32::MAX))
                    .map(|n| n as u32)
            })
            .transpose()?;
        Ok(())
    }

    /// `XINVOKE_CONNECT_TIMEOUT_MS`, `XINVOKE_ATTEMPT_TIMEOUT_MS`, `XINVOKE_DEADLINE_MARGIN_MS`.
    fn read_timeouts(&self, given: &mut Given) -> Result<(), ConfigError> {
        given.connect_timeout = self.millis(keys::CONNECT_TIMEOUT_MS, 1, 60_000)?;
        given.attempt_timeout = self.millis(keys::ATTEMPT_TIMEOUT_MS, 1, 900_000)?;
        given.deadline_margin = self.millis(keys::DEADLINE_MARGIN_MS, 0, 60_000)?;
        Ok(())
    }

    /// What only the invoker Lambda reads: the scheduled payload, SQS concurrency, the
    /// stand-in function timeout, and (in a Lambda) where its HTTP routes are.
    fn read_lambda(&self, given: &mut Given) -> Result<(), ConfigError> {
        if self.ctx == Context::Lambda {
            given.gateway = self.gateway()?;
        }
        given.scheduled_payload = self
            .value(keys::PAYLOAD)
            .map(|p| {
                serde_json::from_str::<serde_json::Value>(&p)
                    .map(|_| p.into_bytes())
                    .map_err(|e| self.invalid(keys::PAYLOAD, format!("must be a JSON document ({e})")))
            })
            .transpose()?;
        given.sqs_concurrency = self
            .value(keys::SQS_CONCURRENCY)
            .map(|v| self.number(keys::SQS_CONCURRENCY, &v, 1, 10_000).map(|n| n as usize))
            .transpose()?;
        given.function_timeout = self.millis(keys::FUNCTION_TIMEOUT_MS, 1, 900_000)?;
        given.failure_queue_url = self
            .value(keys::FAILURE_QUEUE_URL)
            .map(|url| {
                if url.starts_with("https://") || url.starts_with("http://") {
                    Ok(url)
                } else {
                    Err(self.invalid(
                        keys::FAILURE_QUEUE_URL,
                        format!("{url:?} is not a queue URL: give the failure queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME; the template's FailureQueue output), not its ARN or name"),
                    ))
                }
            })
            .transpose()?;
        given.load_worker = self
            .value(keys::LOAD_WORKER)
            .map(|v| self.boolean(keys::LOAD_WORKER, &v))
            .transpose()?;
        Ok(())
    }

    /// One of `XINVOKE_GATEWAY_CONFIG` (a path), `XINVOKE_GATEWAY_CONFIG_SSM` (a parameter) or
    /// `XINVOKE_GATEWAY_CONFIG_TEXT` (the file's text); an empty one counts as unset. The file or
    /// parameter itself is read where the routes are built (`lambdas::http`).
    fn gateway(&self) -> Result<Option<GatewaySource>, ConfigError> {
        let given = |key: Key| self.value(key).filter(|v| !v.trim().is_empty()).map(|v| (key, v));
        let set: Vec<(Key, String)> = [
            keys::GATEWAY_CONFIG,
            keys::GATEWAY_CONFIG_SSM,
            keys::GATEWAY_CONFIG_TEXT,
        ]
        .into_iter()
        .filter_map(given)
        .collect();
        match set.as_slice() {
            [] => Ok(None),
            [(key, v)] if *key == keys::GATEWAY_CONFIG => Ok(Some(GatewaySource::File(v.into()))),
            [(key, v)] if *key == keys::GATEWAY_CONFIG_SSM => Ok(Some(GatewaySource::Ssm(v.clone()))),
            [(_, v)] => Ok(Some(GatewaySource::Text(v.clone()))),
            [(first, _), (second, _), ..] => Err(self.invalid(
                *second,
                format!(
                    "is set together with {}: keep one (a file of the deployment package, an SSM parameter, or the routes as text)",
                    first.var
                ),
            )),
        }
    }

    fn boolean(&self, key: Key, v: &str) -> Result<bool, ConfigError> {
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(self.invalid(key, format!("{v:?} is not a boolean: use true or false"))),
        }
    }

    fn number(&self, key: Key, v: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
        v.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.invalid(key, format!("{v:?} must be a whole number from {min} to {max}")))
    }

    /// A `*_MS` variable: the one duration syntax (`30s`, `1500ms`), a bare number in ms.
    fn millis(&self, key: Key, min: u64, max: u64) -> Result<Option<Duration>, ConfigError> {
        let (min, max) = (Duration::from_millis(min), Duration::from_millis(max));
        self.value(key)
            .map(|v| duration::parse_in(&v, Unit::Millis, min, max).map_err(|e| self.invalid(key, e.to_string())))
            .transpose()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    arn: String,
    role_arn: Option<String>,
    external_id: Option<String>,
    session_name: Option<String>,
    invocation_type: Option<String>,
    /// A durable function (the key goes as `DurableExecutionName`).
    #[serde(default)]
    durable: bool,
    /// Async invokes carry the key in the envelope.
    #[serde(default)]
    envelope: bool,
    tenant_id: Option<String>,
}

/// One target of `XINVOKE_TARGETS`, its fields checked together; `name(field)` names them.
fn named_target(spec: TargetSpec, name: impl Fn(&str) -> Name) -> Result<NamedTarget, ConfigError> {
    let arn = spec.arn.parse().map_err(|source| ConfigError::Arn {
        name: name("arn"),
        source,
    })?;
    let role = match (spec.role_arn, spec.external_id) {
        (Some(role), Some(id)) => Some(AssumeRole {
            role_arn: role.parse().map_err(|source| ConfigError::Arn {
                name: name("role_arn"),
                source,
            })?,
            external_id: Some(id.parse().map_err(|_| ConfigError::BadExternalId {
                name: name("external_id"),
            })?),
            session_name: match spec.session_name {
                Some(s) => {
                    s.parse::<SessionName>()
                        .map_err(|_| ConfigError::BadSessionName {
                            name: name("session_name"),
                        })?
                        .0
                }
                None => String::new(),
            },
        }),
        (Some(_), None) => {
            return Err(ConfigError::MissingExternalId {
                role: name("role_arn"),
                external_id: name("external_id"),
            })
        }
        (None, Some(_)) => {
            return Err(ConfigError::ExternalIdWithoutRole {
                name: name("external_id"),
                role: name("role_arn"),
            })
        }
        (None, None) => None,
    };
    let invocation_type = spec
        .invocation_type
        .map(|t| {
            t.parse().map_err(
                |e: crate::domain::invocation::InvocationTypeError| ConfigError::Invalid {
                    name: name("invocation_type"),
                    detail: e.to_string(),
                },
            )
        })
        .transpose()?;
    let tenant_id = spec
        .tenant_id
        .map(|t| {
            t.parse()
                .map_err(|e: crate::domain::invocation::TenantIdError| ConfigError::Invalid {
                    name: name("tenant_id"),
                    detail: e.to_string(),
                })
        })
        .transpose()?;
    Ok(NamedTarget {
        arn,
        role,
        invocation_type,
        delivery: TargetDelivery {
            durable: spec.durable,
            envelope: spec.envelope,
        },
        tenant_id,
    })
}

/// A target's name in `XINVOKE_TARGETS`: 1-64 letters, digits, `-` and `_`.
fn valid_target_name(n: &str) -> bool {
    (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A variable of this process; set to the empty string counts as unset.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}
