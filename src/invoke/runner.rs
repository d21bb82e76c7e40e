//! The attempt loop: attempt, classify, ask the policy, wait, attempt again, and record every
//! attempt. The decisions are the core's; this loop only sleeps and measures.

use crate::domain::classify::{classify, RawOutcome};
use crate::domain::delivery::Allowance;
use crate::domain::invocation::{Attempter, InvocationType, InvokeRequest};
use crate::domain::record::{payload_value, AttemptRecord, InvokeRecord};
use crate::domain::retry::{Decision, RetryBudget, RetryPolicy, StopReason};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Runs invokes under one retry policy and one process-wide budget.
#[derive(Debug)]
pub struct Runner {
    policy: RetryPolicy,
    budget: Arc<RetryBudget>,
    rng: Mutex<fastrand::Rng>,
}

impl Runner {
    pub fn new(policy: RetryPolicy, budget: Arc<RetryBudget>) -> Runner {
        Runner {
            policy,
            budget,
            rng: Mutex::new(fastrand::Rng::new()),
        }
    }

    /// A runner whose jitter is reproducible.
    #[cfg(any(test, feature = "bench"))]
    pub fn with_seed(policy: RetryPolicy, budget: Arc<RetryBudget>, seed: u64) -> Runner {
        Runner {
            policy,
            budget,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// The shared budget.
    pub fn budget(&self) -> &RetryBudget {
        &self.budget
    }

    fn unit_random(&self) -> f64 {
        self.rng.lock().unwrap_or_else(|e| e.into_inner()).f64()
    }

    /// Invoke until the policy stops: success, a final failure, the deadline or the budget.
    ///
    /// `deadline` bounds everything: no attempt starts after it, a running attempt is cut at
    /// it (the attempt timeout is capped by the time left), and no retry wait crosses it.
    #[cfg(any(test, feature = "bench"))]
    pub async fn run<A: Attempter>(
        &self,
        attempter: &A,
        req: &InvokeRequest,
        deadline: Option<Instant>,
    ) -> InvokeRecord {
        self.run_with(attempter, req, deadline, Allowance::default()).await
    }

    /// As [`Runner::run`] for a message that has already spent `allowance.spent` attempts (an
    /// SQS record's earlier receives): the policy counts them, so a class's `max_retries` bounds
    /// the message across every layer, not each receive. With `allowance.rerun_safe` (an
    /// idempotent or durable target) a timeout or a lost connection is retried as for a target
    /// declared idempotent; with `allowance.no_retry` nothing is retried.
    pub async fn run_with<A: Attempter>(
        &self,
        attempter: &A,
        req: &InvokeRequest,
        deadline: Option<Instant>,
        allowance: Allowance,
    ) -> InvokeRecord {
        let adjusted;
        let policy =
            if (allowance.rerun_safe && !self.policy.idempotent) || (allowance.no_retry && !self.policy.disabled) {
                adjusted = RetryPolicy {
                    idempotent: self.policy.idempotent || allowance.rerun_safe,
                    disabled: self.policy.disabled || allowance.no_retry,
                    ..self.policy.clone()
                };
                &adjusted
            } else {
                &self.policy
            };
        let mut record = self
            .attempt_loop(attempter, req, deadline, policy, allowance.spent)
            .await;
        record.earlier_attempts = allowance.spent;
        record
    }

    async fn attempt_loop<A: Attempter>(
        &self,
        attempter: &A,
        req: &InvokeRequest,
        deadline: Option<Instant>,
        policy: &RetryPolicy,
        spent: u32,
    ) -> InvokeRecord {
        let started = Instant::now();
        if let Err(too_large) = req.invocation_type.check_payload(req.payload.len()) {
            return InvokeRecord::refused(
                &req.target,
                req.function.to_string(),
                req.invocation_type,
                "RequestEntityTooLargeException",
                too_large.to_string(),
            );
        }
        if deadline.is_some_and(|d| d <= started) {
            return InvokeRecord::not_started(
                &req.target,
                req.function.to_string(),
                req.invocation_type,
                DEADLINE_BEFORE_START,
            );
        }
        // Filled in by the first attempt below.
        let mut record = InvokeRecord::refused(
            &req.target,
            req.function.to_string(),
            req.invocation_type,
            "InvalidRequest",
            String::new(),
        );
        let mut wait_before = Duration::ZERO;
        let mut last_retry_cost = None;
        let mut any_may_have_run = false;
        loop {
            let attempt_started = Instant::now();
            let (raw, cut) = match deadline {
                Some(d) => match tokio::time::timeout_at(d, attempter.attempt(req)).await {
                    Ok(raw) => (raw, false),
                    Err(_) => (
                        RawOutcome::TimedOut {
                            sent: req.invocation_type.sent(),
                        },
                        true,
                    ),
                },
                None => (attempter.attempt(req).await, false),
            };
            let latency = attempt_started.elapsed();
            let mut outcome = classify(&raw);
            any_may_have_run |= outcome.may_have_run;
            record.attempts += 1;
            record.attempt_log.push(AttemptRecord {
                attempt: record.attempts,
                class: outcome.class,
                status: outcome.status,
                error_code: outcome.error_code.clone(),
                latency_ms: ms(latency),
                wait_before_ms: ms(wait_before),
                may_have_run: outcome.may_have_run,
            });
            let decision = if cut {
                outcome.hint = Some(DEADLINE_CUT.to_string());
                Decision::Stop(StopReason::Deadline)
            } else {
                let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                policy.decide(
                    &outcome,
                    spent.saturating_add(record.attempts),
                    remaining,
                    self.unit_random(),
                    &self.budget,
                )
            };
            outcome.may_have_run = any_may_have_run;
            record.outcome = outcome;
            match raw {
                RawOutcome::Answered {
                    executed_version,
                    durable_execution_arn,
                    payload,
                    ..
                } => {
                    self.budget.succeeded(last_retry_cost);
                    record.executed_version = executed_version;
                    record.durable_execution_arn = durable_execution_arn;
                    record.message = None;
                    if req.invocation_type == InvocationType::RequestResponse {
                        record.payload = Some(payload_value(&payload));
                        record.raw_payload = Some(payload);
                    }
                }
                RawOutcome::Failed(e) => record.message = e.message,
                RawOutcome::CredentialsFailed(f) => record.message = f.message,
                _ => record.message = None,
            }
            match decision {
                Decision::Stop(reason) => {
                    record.stop = reason;
                    break;
                }
                Decision::Retry { wait, cost } => {
                    last_retry_cost = Some(cost);
                    tokio::time::sleep(wait).await;
                    wait_before = wait;
                }
            }
        }
        record.latency_ms = ms(started.elapsed());
        record
    }
}

/// The hint of an attempt the deadline cut short.
const DEADLINE_CUT: &str = "The invocation's deadline (its time left, less XINVOKE_DEADLINE_MARGIN_MS) came before the answer: the attempt was cut short so the answer is still given in time; raise the function's timeout, or speed up the target.";

/// The hint of an invoke the deadline came before.
const DEADLINE_BEFORE_START: &str = "Not attempted: the invocation's deadline (its time left, less XINVOKE_DEADLINE_MARGIN_MS) came before it could start; raise the function's timeout, or let more records run at once (XINVOKE_SQS_CONCURRENCY).";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::class::Class;
    use crate::domain::classify::ServiceError;
    use std::collections::VecDeque;

    /// Answers from a script, counting attempts.
    struct Scripted(Mutex<VecDeque<RawOutcome>>);

    impl Attempter for Scripted {
        async fn attempt(&self, _req: &InvokeRequest) -> RawOutcome {
            self.0
                .lock()
                .unwrap()
                .pop_front()
                .expect("the script ran out: more attempts than expected")
        }
    }

    fn script(outcomes: Vec<RawOutcome>) -> Scripted {
        Scripted(Mutex::new(outcomes.into()))
    }

    fn req(ty: InvocationType, payload: &[u8]) -> InvokeRequest {
        InvokeRequest {
            target: "t".into(),
            function: "arn:aws:lambda:us-east-1:222222222222:function:target:live"
                .parse()
                .unwrap(),
            invocation_type: ty,
            payload: payload.to_vec(),
            client_context: None,
            trace_id: None,
            durable_execution_name: None,
            tenant_id: None,
        }
    }

    fn failed(status: u16, code: &str, retry_after: Option<u64>) -> RawOutcome {
        RawOutcome::Failed(ServiceError {
            status,
            code: code.into(),
            retry_after: retry_after.map(Duration::from_secs),
            ..Default::default()
        })
    }

    fn ok(payload: &[u8]) -> RawOutcome {
        RawOutcome::Answered {
            status: 200,
            function_error: None,
            executed_version: Some("1".into()),
            durable_execution_arn: None,
            payload: payload.to_vec(),
        }
    }

    fn runner(budget: u32) -> Runner {
        Runner::with_seed(RetryPolicy::default(), Arc::new(RetryBudget::new(budget)), 7)
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_then_success_is_ok_after_two_attempts_honouring_retry_after() {
        let a = script(vec![
            failed(429, "TooManyRequestsException", Some(3)),
            ok(br#"{"a":1}"#),
        ]);
        let r = runner(500)
            .run(&a, &req(InvocationType::RequestResponse, b"{}"), None)
            .await;
        assert_eq!(r.class(), Class::Ok);
        assert_eq!(r.attempts, 2);
        assert_eq!(r.attempt_log[0].class, Class::Throttled);
        assert!(r.attempt_log[1].wait_before_ms >= 3000.0, "{:?}", r.attempt_log);
        assert_eq!(r.payload, Some(serde_json::json!({"a":1})));
        assert_eq!(r.executed_version.as_deref(), Some("1"));
        assert_eq!(r.stop, StopReason::Succeeded);
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_failures_make_one_attempt() {
        let a = script(vec![failed(404, "ResourceNotFoundException", None)]);
        let r = runner(500).run(&a, &req(InvocationType::Event, b"{}"), None).await;
        assert_eq!(
            (r.class(), r.attempts, r.stop),
            (Class::NotFound, 1, StopReason::NotRetryable)
        );
        assert_eq!(r.payload, None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_retries_short() {
        let a = script(vec![
            failed(502, "EC2ThrottledException", None),
            failed(502, "EC2ThrottledException", None),
        ]);
        let deadline = Instant::now() + Duration::from_millis(100);
        let r = runner(500)
            .run(&a, &req(InvocationType::RequestResponse, b"{}"), Some(deadline))
            .await;
        // 2 s × jitter could fit in 100 ms only with a tiny draw; with seed 7 it does not.
        assert_eq!(r.class(), Class::Ec2Throttled);
        assert_eq!(r.stop, StopReason::Deadline);
        assert_eq!(r.attempts, 1);
    }

    /// Answers after `delay`, every time.
    struct Slow(Duration);

    impl Attempter for Slow {
        async fn attempt(&self, _req: &InvokeRequest) -> RawOutcome {
            tokio::time::sleep(self.0).await;
            ok(b"{}")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_still_running_at_the_deadline_is_cut_there() {
        let deadline = Instant::now() + Duration::from_millis(800);
        let r = runner(500)
            .run(
                &Slow(Duration::from_secs(25)),
                &req(InvocationType::RequestResponse, b"{}"),
                Some(deadline),
            )
            .await;
        assert_eq!(
            (r.class(), r.stop, r.attempts),
            (Class::Timeout, StopReason::Deadline, 1)
        );
        assert!(r.outcome.may_have_run, "a sync request was sent: it may be running");
        assert!((800.0..810.0).contains(&r.latency_ms), "{}", r.latency_ms);
        assert!(r.outcome.hint.unwrap().contains("deadline"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_invoke_whose_deadline_has_passed_is_not_attempted() {
        let deadline = Instant::now();
        tokio::time::advance(Duration::from_millis(1)).await;
        let r = runner(500)
            .run(
                &script(vec![]),
                &req(InvocationType::RequestResponse, b"{}"),
                Some(deadline),
            )
            .await;
        assert_eq!(
            (r.class(), r.stop, r.attempts),
            (Class::Timeout, StopReason::Deadline, 0)
        );
        assert!(!r.outcome.may_have_run);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retried_success_gives_the_budget_back_what_the_retry_took() {
        let a = script(vec![failed(502, "EC2ThrottledException", None), ok(b"{}")]);
        let r = Runner::with_seed(RetryPolicy::default(), Arc::new(RetryBudget::new(500)), 7);
        let record = r.run(&a, &req(InvocationType::RequestResponse, b"{}"), None).await;
        assert_eq!((record.class(), record.attempts), (Class::Ok, 2));
        assert_eq!(r.budget().available(), 500, "20 taken by the retry, 20 given back");
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_budget_means_no_retry() {
        let a = script(vec![failed(500, "ServiceException", None)]);
        let r = runner(5)
            .run(&a, &req(InvocationType::RequestResponse, b"{}"), None)
            .await;
        assert_eq!((r.attempts, r.stop), (1, StopReason::BudgetExhausted));
    }

    #[tokio::test(start_paused = true)]
    async fn oversize_payload_is_refused_before_any_attempt() {
        let a = script(vec![]);
        let big = vec![b'x'; 1024 * 1024 + 1];
        let r = runner(500).run(&a, &req(InvocationType::Event, &big), None).await;
        assert_eq!((r.class(), r.attempts), (Class::PayloadTooLarge, 0));
        assert!(r
            .outcome
            .hint
            .unwrap()
            .contains("1048577 bytes, over the 1048576-byte limit"));
    }

    #[tokio::test(start_paused = true)]
    async fn function_error_is_final_and_keeps_the_error_payload() {
        let a = script(vec![RawOutcome::Answered {
            status: 200,
            function_error: Some("Unhandled".into()),
            executed_version: Some("1".into()),
            durable_execution_arn: None,
            payload: br#"{"errorType":"TargetFailure","errorMessage":"boom"}"#.to_vec(),
        }]);
        let r = runner(500)
            .run(&a, &req(InvocationType::RequestResponse, b"{}"), None)
            .await;
        assert_eq!((r.class(), r.attempts), (Class::FunctionError, 1));
        assert_eq!(r.payload.unwrap()["errorMessage"], "boom");
    }
}
