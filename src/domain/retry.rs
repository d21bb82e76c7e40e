//! The retry policy: given what just happened, wait (how long) or stop (why). Pure: time comes
//! in as an argument (what is left before the deadline, so no clock lives here), randomness as
//! a number in [0, 1), and the shared [`RetryBudget`] is the only state. Step Functions'
//! retrier shape per class: first interval, backoff rate, max attempts, max delay, jitter.

use crate::domain::class::Class;
use crate::domain::classify::Classification;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How a computed wait is spread, so that many clients failing at once do not retry at once.
///
/// ```
/// use xinvoke::{Class, Jitter, RetryPolicy};
/// // Named in XINVOKE_RETRY as `full`, `equal` or `none`.
/// let jitter: Jitter = serde_json::from_str(r#""equal""#).unwrap();
/// assert_eq!(jitter, Jitter::Equal);
/// // The defaults: full jitter, except EC2's ENI classes, whose waits never drop below half.
/// let defaults = RetryPolicy::default();
/// assert_eq!(defaults.class(Class::Throttled).jitter, Jitter::Full);
/// assert_eq!(defaults.class(Class::EniLimit).jitter, Jitter::Equal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// Uniform in [0, computed] (the AWS SDKs' standard mode): the least synchronised, but a
    /// wait can be near zero.
    Full,
    /// Uniform in [computed / 2, computed]: never shorter than half the computed wait, for
    /// failures that only time can heal (EC2's ENI work), where an early retry adds load.
    Equal,
    /// Exactly the computed wait.
    None,
}

/// How one class is retried: retry `n` (1 = the first) waits at most
/// `min(interval_s × backoff_rate^(n-1), max_delay_s)`, spread by `jitter`, and never less than
/// the service's `Retry-After`.
///
/// Here the waits are counted on a real run: Lambda (the local endpoint) throttles the first
/// two attempts, under a `throttled` policy 100 times faster than the default.
///
/// ```
/// use serde_json::json;
/// use xinvoke::local::{builtin, ControlClient, LocalServer, Scenario};
/// use xinvoke::{Call, Class, ClassPolicy, Jitter, RetryPolicy, Service, Settings, StopReason};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let default = RetryPolicy::default().class(Class::Throttled);
/// assert_eq!(
///     default,
///     ClassPolicy { interval_s: 1.0, backoff_rate: 2.0, max_retries: 3, max_delay_s: 20.0, jitter: Jitter::Full, cost: 5 }
/// );
/// let fast = ClassPolicy { interval_s: 0.01, max_delay_s: 0.2, ..default };
/// let retry = json!({ "classes": { "throttled": fast } }).to_string();
///
/// let aws = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// let settings = Settings::from_lookup(|name| match name {
///     "XINVOKE_TARGET_ARN" => Some(builtin::TARGET_ALIAS_ARN.to_string()),
///     "XINVOKE_RETRY" => Some(retry.clone()),
///     _ => None,
/// })?;
/// let credentials = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let base = xinvoke::endpoint_config(settings.timeouts(), aws.url(), credentials, builtin::REGION).await;
/// let service = Service::new(settings, &base).await;
/// ControlClient::new(aws.addr())
///     .fault(&json!({ "function": "target", "error": "TooManyRequestsException", "retry_after_s": 0, "times": 2 }))
///     .await?;
///
/// let record = service.invoke(Call::payload(b"{}".to_vec()), None).await?;
/// assert_eq!((record.class(), record.attempts, record.stop), (Class::Ok, 3, StopReason::Succeeded));
/// for (retry, attempt) in record.attempt_log.iter().enumerate().skip(1) {
///     let ceiling_ms = 1000.0 * (fast.interval_s * fast.backoff_rate.powi(retry as i32 - 1)).min(fast.max_delay_s);
///     assert!((0.0..=ceiling_ms + 1e-3).contains(&attempt.wait_before_ms), "{attempt:?}");
/// }
/// // Each retry took `cost` tokens of the budget (500); the answer gave the last one's back.
/// assert_eq!(service.budget_available(), 500 - 2 * fast.cost + fast.cost);
/// aws.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassPolicy {
    /// Wait before the first retry, seconds.
    pub interval_s: f64,
    /// Each retry's wait is the previous one times this.
    pub backoff_rate: f64,
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// No wait is longer than this, seconds.
    pub max_delay_s: f64,
    /// How the wait is spread.
    pub jitter: Jitter,
    /// Tokens one retry of this class takes from the process-wide budget.
    pub cost: u32,
}

const fn policy(interval_s: f64, backoff_rate: f64, max_retries: u32, max_delay_s: f64, cost: u32) -> ClassPolicy {
    ClassPolicy {
        interval_s,
        backoff_rate,
        max_retries,
        max_delay_s,
        jitter: Jitter::Full,
        cost,
    }
}

/// An EC2 class's policy: equal jitter, so the first wait is never below half the interval.
const fn ec2_policy(interval_s: f64, backoff_rate: f64, max_retries: u32, max_delay_s: f64, cost: u32) -> ClassPolicy {
    ClassPolicy {
        jitter: Jitter::Equal,
        ..policy(interval_s, backoff_rate, max_retries, max_delay_s, cost)
    }
}

/// Never retried.
const NEVER: ClassPolicy = policy(0.0, 1.0, 0, 0.0, 0);

/// The default policy of a class, with the reason in README's retry table.
fn default_class_policy(class: Class) -> ClassPolicy {
    match class {
        // Lambda's throttle: the SDK's standard shape (1 s base, x2, 20 s cap), Retry-After wins.
        Class::Throttled => policy(1.0, 2.0, 3, 20.0, 5),
        // EC2 classes: few, long, budget-heavy retries with a floor under every wait, so
        // retrying never adds to EC2's load.
        Class::Ec2Throttled | Class::Ec2RequestLimit => ec2_policy(2.0, 3.0, 2, 30.0, 20),
        Class::EniLimit | Class::SubnetIpLimit => ec2_policy(5.0, 2.0, 1, 30.0, 20),
        Class::Ec2Unexpected => ec2_policy(2.0, 2.0, 1, 20.0, 20),
        // Pending / Inactive take seconds to minutes: patient, the deadline bounds it.
        Class::NotReady => policy(2.0, 2.0, 5, 20.0, 5),
        Class::Service | Class::Efs => policy(0.5, 2.0, 2, 5.0, 10),
        Class::Timeout => policy(1.0, 2.0, 1, 5.0, 10),
        Class::Connect => policy(0.2, 2.0, 2, 2.0, 10),
        // STS: a throttle as the SDKs retry it, a failure as a transient error.
        Class::StsThrottled => policy(1.0, 2.0, 3, 20.0, 5),
        Class::StsUnavailable => policy(0.5, 2.0, 2, 5.0, 10),
        // Only an expired token is retryable: one quick retry lets the identity cache refresh.
        Class::Credentials => policy(0.1, 1.0, 1, 0.1, 10),
        _ => NEVER,
    }
}

/// The whole policy: one [`ClassPolicy`] per class, plus what holds for every invoke.
///
/// Its JSON is what `XINVOKE_RETRY` takes: overrides by class name; every class not named
/// keeps its default (docs/classes.md's table).
///
/// ```
/// use xinvoke::{Class, RetryPolicy};
/// let policy: RetryPolicy = serde_json::from_str(
///     r#"{"classes": {"throttled": {"interval_s": 0.5, "backoff_rate": 2, "max_retries": 5,
///                                  "max_delay_s": 10, "jitter": "full", "cost": 5}},
///         "idempotent": true}"#,
/// )
/// .unwrap();
/// assert_eq!(policy.class(Class::Throttled).max_retries, 5);
/// assert_eq!(policy.class(Class::Service), RetryPolicy::default().class(Class::Service));
/// assert_eq!(policy.class(Class::AccessDenied).max_retries, 0); // retrying cannot help
/// assert!(policy.idempotent && !policy.disabled);
/// // A misspelt field is refused, not ignored.
/// assert!(serde_json::from_str::<RetryPolicy>(r#"{"classes": {"throttled": {"interval": 1}}}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Overrides of the defaults, by class name.
    pub(crate) classes: BTreeMap<Class, ClassPolicy>,
    /// Retry `timeout` and a lost connection even when a synchronous target may have run (the
    /// target is idempotent).
    pub idempotent: bool,
    /// Retries off altogether: every outcome is final.
    pub disabled: bool,
}

/// Why no further attempt is made: an [`InvokeRecord`](crate::InvokeRecord)'s `stop`.
///
/// ```
/// use xinvoke::StopReason;
/// let all = [
///     StopReason::Succeeded,
///     StopReason::NotRetryable,
///     StopReason::RetriesDisabled,
///     StopReason::AttemptsExhausted,
///     StopReason::Deadline,
///     StopReason::BudgetExhausted,
/// ];
/// for stop in all {
///     // The name is the JSON's (records, logs, the gateway's x-xinvoke-stop header).
///     assert_eq!(serde_json::to_value(stop).unwrap(), stop.name());
/// }
/// assert_eq!(serde_json::from_str::<StopReason>(r#""budget_exhausted""#).unwrap(), StopReason::BudgetExhausted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The last attempt succeeded.
    Succeeded,
    /// The outcome is final: another attempt cannot help, or the target may have run.
    NotRetryable,
    /// Retries are off (the policy, or the call's `no_retry`).
    RetriesDisabled,
    /// The class's retries, or the message's allowance, are spent.
    AttemptsExhausted,
    /// The invocation's deadline: no time for the wait, or the attempt was cut short at it,
    /// or it came before the first attempt.
    Deadline,
    /// The shared retry budget is empty: many invokes are failing at once.
    BudgetExhausted,
}

impl StopReason {
    /// The stable snake_case name (as in JSON).
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Succeeded => "succeeded",
            StopReason::NotRetryable => "not_retryable",
            StopReason::RetriesDisabled => "retries_disabled",
            StopReason::AttemptsExhausted => "attempts_exhausted",
            StopReason::Deadline => "deadline",
            StopReason::BudgetExhausted => "budget_exhausted",
        }
    }
}

/// The policy's answer after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Wait, then attempt again; `cost` tokens were taken from the budget for it.
    Retry {
        wait: Duration,
        cost: u32,
    },
    Stop(StopReason),
}

impl RetryPolicy {
    /// The default policy with every wait (first interval and cap) divided by `factor`: for
    /// rehearsals against the local endpoint, where real waits would only slow the run.
    pub(crate) fn defaults_shortened(factor: f64) -> RetryPolicy {
        let classes = Class::ALL
            .into_iter()
            .map(|c| {
                let mut p = default_class_policy(c);
                p.interval_s /= factor;
                p.max_delay_s /= factor;
                (c, p)
            })
            .collect();
        RetryPolicy {
            classes,
            ..RetryPolicy::default()
        }
    }

    /// The same policy making at most `attempts` attempts of any class.
    pub(crate) fn with_max_attempts(&self, attempts: u32) -> RetryPolicy {
        let classes = Class::ALL
            .into_iter()
            .map(|c| {
                let mut p = self.class(c);
                p.max_retries = p.max_retries.min(attempts.saturating_sub(1));
                (c, p)
            })
            .collect();
        RetryPolicy {
            classes,
            ..self.clone()
        }
    }

    /// The policy of one class (override or default).
    pub fn class(&self, class: Class) -> ClassPolicy {
        self.classes
            .get(&class)
            .copied()
            .unwrap_or_else(|| default_class_policy(class))
    }

    /// Decide after attempt number `attempt` (1-based) ended as `outcome`.
    ///
    /// `remaining`: time left before the deadline, if there is one. `unit_random` in [0, 1)
    /// drives the jitter. The budget is charged only when the answer is `Retry`; what a
    /// success gives back is [`RetryBudget::succeeded`]'s business.
    pub(crate) fn decide(
        &self,
        outcome: &Classification,
        attempt: u32,
        remaining: Option<Duration>,
        unit_random: f64,
        budget: &RetryBudget,
    ) -> Decision {
        if outcome.class == Class::Ok {
            return Decision::Stop(StopReason::Succeeded);
        }
        // A timeout or a lost connection may have run a sync target: only an idempotent one may run again.
        let retry_allowed =
            outcome.retryable || (self.idempotent && matches!(outcome.class, Class::Timeout | Class::Connect));
        if !retry_allowed {
            return Decision::Stop(StopReason::NotRetryable);
        }
        if self.disabled {
            return Decision::Stop(StopReason::RetriesDisabled);
        }
        let p = self.class(outcome.class);
        if attempt > p.max_retries {
            return Decision::Stop(StopReason::AttemptsExhausted);
        }
        let wait = backoff(&p, attempt, unit_random, outcome.retry_after_s);
        if remaining.is_some_and(|left| wait >= left) {
            return Decision::Stop(StopReason::Deadline);
        }
        if !budget.try_withdraw(p.cost) {
            return Decision::Stop(StopReason::BudgetExhausted);
        }
        Decision::Retry { wait, cost: p.cost }
    }
}

/// The wait before retry number `attempt` (1 = first retry): `interval × rate^(attempt-1)`,
/// capped, jittered as the class says, and never shorter than the service's `Retry-After`.
pub fn backoff(p: &ClassPolicy, attempt: u32, unit_random: f64, retry_after_s: Option<f64>) -> Duration {
    let exp = p.interval_s * p.backoff_rate.powi(attempt.saturating_sub(1).min(64) as i32);
    let capped = exp.min(p.max_delay_s).max(0.0);
    let r = unit_random.clamp(0.0, 1.0);
    let jittered = match p.jitter {
        Jitter::Full => capped * r,
        Jitter::Equal => capped / 2.0 + capped / 2.0 * r,
        Jitter::None => capped,
    };
    let floor = retry_after_s.unwrap_or(0.0).clamp(0.0, 900.0);
    Duration::from_secs_f64(jittered.max(floor))
}

/// A process-wide retry budget: a token bucket shared by every invoke of the process, so
/// retries cannot multiply load during an outage. It keeps the AWS SDKs' standard-mode
/// accounting (botocore `retries/standard.py` `RetryQuotaChecker`, smithy-rs' token bucket):
/// a retry takes its class's cost; a call answered (2xx) without a retry puts one token back;
/// a call answered after retries puts back what its last retry took. Empty bucket: no retries
/// until answers refill it.
#[derive(Debug)]
pub struct RetryBudget {
    tokens: AtomicU32,
    capacity: u32,
}

impl RetryBudget {
    /// The SDKs' default capacity.
    pub(crate) const DEFAULT_CAPACITY: u32 = 500;
    /// What an answer without retries puts back.
    const NO_RETRY_INCREMENT: u32 = 1;

    pub fn new(capacity: u32) -> RetryBudget {
        RetryBudget {
            tokens: AtomicU32::new(capacity),
            capacity,
        }
    }

    /// Take `cost` tokens if there are that many.
    fn try_withdraw(&self, cost: u32) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// The service answered (2xx) an invoke whose last retry took `last_retry_cost` tokens
    /// (`None`: it was not retried).
    pub fn succeeded(&self, last_retry_cost: Option<u32>) {
        self.release(last_retry_cost.unwrap_or(Self::NO_RETRY_INCREMENT));
    }

    /// Put `n` tokens back, up to capacity.
    fn release(&self, n: u32) {
        let _ = self.tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
            (t < self.capacity).then(|| t.saturating_add(n).min(self.capacity))
        });
    }

    /// Tokens left.
    pub(crate) fn available(&self) -> u32 {
        self.tokens.load(Ordering::Acquire)
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(Self::DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::classify::Sent;
    use crate::domain::classify::{classify, RawOutcome, ServiceError};

    fn outcome(status: u16, code: &str) -> Classification {
        classify(&RawOutcome::Failed(ServiceError {
            status,
            code: code.into(),
            ..Default::default()
        }))
    }

    fn ok() -> Classification {
        classify(&RawOutcome::Answered {
            status: 200,
            function_error: None,
            executed_version: None,
            durable_execution_arn: None,
            payload: vec![],
        })
    }

    #[test]
    fn backoff_grows_by_the_rate_and_stops_at_the_cap() {
        let p = ClassPolicy {
            jitter: Jitter::None,
            ..policy(1.0, 2.0, 10, 20.0, 1)
        };
        let waits: Vec<f64> = (1..=7).map(|a| backoff(&p, a, 0.5, None).as_secs_f64()).collect();
        assert_eq!(waits, vec![1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]);
    }

    #[test]
    fn full_jitter_spreads_the_wait_uniformly_below_the_computed_value() {
        let p = policy(2.0, 2.0, 3, 30.0, 1);
        assert_eq!(backoff(&p, 2, 0.0, None), Duration::ZERO);
        assert_eq!(backoff(&p, 2, 0.25, None), Duration::from_secs(1));
        assert!(backoff(&p, 2, 0.999, None) < Duration::from_secs(4));
    }

    #[test]
    fn retry_after_is_a_floor_under_the_jittered_wait() {
        let p = policy(1.0, 2.0, 3, 20.0, 5);
        assert_eq!(backoff(&p, 1, 0.0, Some(3.0)), Duration::from_secs(3));
        let decided = RetryPolicy::default().decide(
            &Classification {
                retry_after_s: Some(2.0),
                ..outcome(429, "TooManyRequestsException")
            },
            1,
            None,
            0.1,
            &RetryBudget::default(),
        );
        assert_eq!(
            decided,
            Decision::Retry {
                wait: Duration::from_secs(2),
                cost: 5
            }
        );
    }

    #[test]
    fn decisions_follow_the_table() {
        let budget = RetryBudget::default();
        let policy = RetryPolicy::default();
        // (outcome, attempt, expected)
        let cases: Vec<(Classification, u32, Option<StopReason>)> = vec![
            (ok(), 1, Some(StopReason::Succeeded)),
            (
                outcome(404, "ResourceNotFoundException"),
                1,
                Some(StopReason::NotRetryable),
            ),
            (outcome(403, "AccessDeniedException"), 1, Some(StopReason::NotRetryable)),
            (outcome(429, "TooManyRequestsException"), 1, None),
            (outcome(429, "TooManyRequestsException"), 3, None),
            (
                outcome(429, "TooManyRequestsException"),
                4,
                Some(StopReason::AttemptsExhausted),
            ),
            (outcome(502, "EC2ThrottledException"), 2, None),
            (
                outcome(502, "EC2ThrottledException"),
                3,
                Some(StopReason::AttemptsExhausted),
            ),
            (
                outcome(502, "ENILimitReachedException"),
                2,
                Some(StopReason::AttemptsExhausted),
            ),
            (
                outcome(502, "InvalidSubnetIDException"),
                1,
                Some(StopReason::NotRetryable),
            ),
            (outcome(502, "KMSDisabledException"), 1, Some(StopReason::NotRetryable)),
            (outcome(500, "ServiceException"), 1, None),
        ];
        for (o, attempt, expected) in cases {
            let d = policy.decide(&o, attempt, None, 0.5, &budget);
            match expected {
                Some(r) => assert_eq!(d, Decision::Stop(r), "{:?} attempt {attempt}", o.error_code),
                None => assert!(
                    matches!(d, Decision::Retry { .. }),
                    "{:?} attempt {attempt}: {d:?}",
                    o.error_code
                ),
            }
        }
    }

    #[test]
    fn ec2_classes_wait_longer_and_cost_more_than_a_plain_throttle() {
        let t = default_class_policy(Class::Throttled);
        for c in [
            Class::Ec2Throttled,
            Class::Ec2RequestLimit,
            Class::EniLimit,
            Class::SubnetIpLimit,
            Class::Ec2Unexpected,
        ] {
            let p = default_class_policy(c);
            assert!(p.interval_s > t.interval_s, "{c}");
            assert!(p.cost > t.cost, "{c}");
            assert!(p.max_retries < t.max_retries, "{c}");
        }
    }

    #[test]
    fn no_retry_whose_wait_would_pass_the_deadline() {
        let policy = RetryPolicy::default();
        let budget = RetryBudget::default();
        let throttled = Classification {
            retry_after_s: Some(5.0),
            ..outcome(429, "TooManyRequestsException")
        };
        assert_eq!(
            policy.decide(&throttled, 1, Some(Duration::from_secs(4)), 0.5, &budget),
            Decision::Stop(StopReason::Deadline)
        );
        assert!(matches!(
            policy.decide(&throttled, 1, Some(Duration::from_secs(6)), 0.5, &budget),
            Decision::Retry { .. }
        ));
        assert_eq!(
            budget.available(),
            RetryBudget::DEFAULT_CAPACITY - 5,
            "only the retry made is charged"
        );
    }

    #[test]
    fn an_empty_budget_stops_retries_and_answers_refill_it() {
        let budget = RetryBudget::new(25);
        let policy = RetryPolicy::default();
        let ec2 = outcome(502, "EC2ThrottledException");
        assert!(matches!(
            policy.decide(&ec2, 1, None, 0.5, &budget),
            Decision::Retry { cost: 20, .. }
        ));
        assert_eq!(budget.available(), 5);
        assert_eq!(
            policy.decide(&ec2, 1, None, 0.5, &budget),
            Decision::Stop(StopReason::BudgetExhausted)
        );
        let throttle = outcome(429, "TooManyRequestsException");
        assert!(matches!(
            policy.decide(&throttle, 1, None, 0.5, &budget),
            Decision::Retry { .. }
        ));
        assert_eq!(
            policy.decide(&throttle, 1, None, 0.5, &budget),
            Decision::Stop(StopReason::BudgetExhausted)
        );
        for _ in 0..30 {
            budget.succeeded(None);
        }
        assert_eq!(budget.available(), 25, "deposits stop at capacity");
    }

    #[test]
    fn a_retried_call_that_succeeds_gives_back_what_its_last_retry_took() {
        // The SDKs' standard mode (botocore RetryQuotaChecker.release_retry_quota): an answer
        // after retries returns the last retry's cost; one without retries returns 1.
        let budget = RetryBudget::new(500);
        let policy = RetryPolicy::default();
        let Decision::Retry { cost, .. } = policy.decide(&outcome(502, "EC2ThrottledException"), 1, None, 0.5, &budget)
        else {
            panic!("an EC2 throttle is retried")
        };
        assert_eq!(budget.available(), 480);
        budget.succeeded(Some(cost));
        assert_eq!(budget.available(), 500, "the retry's cost came back");
        // After a storm of 25 EC2 retries emptied the budget, 25 recovered calls refill it.
        let storm = RetryBudget::new(500);
        for _ in 0..25 {
            assert!(storm.try_withdraw(20));
        }
        assert_eq!(storm.available(), 0);
        for _ in 0..25 {
            storm.succeeded(Some(20));
        }
        assert_eq!(storm.available(), 500);
    }

    #[test]
    fn ec2_waits_are_never_near_zero() {
        // Equal jitter: the first wait of an EC2 class is at least half its interval, whatever
        // the draw (README promises a 2 s first wait for ec2_throttled, 5 s for eni_limit).
        for class in [
            Class::Ec2Throttled,
            Class::Ec2RequestLimit,
            Class::EniLimit,
            Class::SubnetIpLimit,
        ] {
            let p = default_class_policy(class);
            assert_eq!(p.jitter, Jitter::Equal, "{class}");
            for draw in [0.0, 0.001, 0.5, 0.999] {
                let wait = backoff(&p, 1, draw, None).as_secs_f64();
                assert!(
                    wait >= p.interval_s / 2.0 && wait <= p.interval_s,
                    "{class} {draw}: {wait}"
                );
            }
        }
        assert_eq!(
            backoff(&default_class_policy(Class::Ec2Throttled), 1, 0.0, None),
            Duration::from_secs(1)
        );
        assert_eq!(
            backoff(&default_class_policy(Class::EniLimit), 1, 0.0, None),
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn sync_timeouts_retry_only_when_declared_idempotent() {
        let budget = RetryBudget::default();
        let t = classify(&RawOutcome::TimedOut { sent: Sent::Sync });
        assert_eq!(
            RetryPolicy::default().decide(&t, 1, None, 0.5, &budget),
            Decision::Stop(StopReason::NotRetryable)
        );
        let idem = RetryPolicy {
            idempotent: true,
            ..RetryPolicy::default()
        };
        assert!(matches!(idem.decide(&t, 1, None, 0.5, &budget), Decision::Retry { .. }));
    }

    #[test]
    fn disabled_retries_stop_after_the_first_attempt_and_say_so() {
        let off = RetryPolicy {
            disabled: true,
            ..RetryPolicy::default()
        };
        let d = off.decide(
            &outcome(429, "TooManyRequestsException"),
            1,
            None,
            0.5,
            &RetryBudget::default(),
        );
        assert_eq!(d, Decision::Stop(StopReason::RetriesDisabled));
    }

    #[test]
    fn overrides_replace_a_class_default_and_parse_from_json() {
        let p: RetryPolicy = serde_json::from_str(
            r#"{"classes":{"throttled":{"interval_s":0.01,"backoff_rate":1.0,"max_retries":7,"max_delay_s":0.01,"jitter":"none","cost":1}}}"#,
        )
        .unwrap();
        assert_eq!(p.class(Class::Throttled).max_retries, 7);
        assert_eq!(p.class(Class::Service), default_class_policy(Class::Service));
        assert!(serde_json::from_str::<RetryPolicy>(r#"{"classes":{"nope":{}}}"#).is_err());
    }

    #[test]
    fn stop_reason_names_are_their_json() {
        for r in [
            StopReason::Succeeded,
            StopReason::NotRetryable,
            StopReason::RetriesDisabled,
            StopReason::AttemptsExhausted,
            StopReason::Deadline,
            StopReason::BudgetExhausted,
        ] {
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.name()));
        }
    }

    #[test]
    fn shortened_defaults_divide_every_wait_and_keep_the_rest() {
        let p = RetryPolicy::defaults_shortened(10.0);
        for c in Class::ALL {
            let (d, s) = (default_class_policy(c), p.class(c));
            assert_eq!(
                (s.max_retries, s.cost, s.backoff_rate),
                (d.max_retries, d.cost, d.backoff_rate),
                "{c}"
            );
            assert!((s.interval_s * 10.0 - d.interval_s).abs() < 1e-9, "{c}");
        }
    }
}
