//! `xinvoke demo`: the main job on the built-in local endpoint, no AWS needed. It starts the
//! local endpoint in-process, then invokes through both auth modes and through injected VPC
//! failures, printing each outcome as it would arrive from AWS.

use crate::adapters::clients;
use crate::adapters::config::{Context, Given, Settings, Timeouts};
use crate::cli::{print_json, CliError, Output};
use crate::core::classify::Class;
use crate::core::invocation::InvocationType;
use crate::core::record::InvokeRecord;
use crate::core::retry::RetryPolicy;
use crate::invoke::service::{Call, Service};
use crate::local::client::ControlClient;
use crate::local::{builtin, LocalServer, Scenario};
use aws_credential_types::Credentials;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Run the built-in tour: the local endpoint, both auth modes, the VPC failures.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Print each outcome record as JSON after the table
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
    /// text: the table; json: {endpoint, steps: [{step, auth, expected, as_expected, record}],
    /// assume_role_calls, unexpected}, nothing else
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Use the default retry waits instead of ones shortened 10x for the tour
    #[arg(long)]
    pub real_waits: bool,
    /// Instead of the tour, measure docs/lambdas.md's delivery table: each trigger (direct
    /// sync, direct async, schedule, SQS, HTTP route) x class, how often the target ran, the
    /// attempts and where the message ended
    #[arg(long, conflicts_with_all = ["json", "real_waits"])]
    pub delivery: bool,
}

/// A step of the tour.
struct Step {
    title: &'static str,
    auth: &'static str,
    /// Faults or state changes to apply first.
    setup: Vec<(&'static str, Value)>,
    payload: Value,
    invocation_type: InvocationType,
    expect: Class,
}

fn steps() -> Vec<Step> {
    use InvocationType::*;
    let step = |title, auth, setup, payload, invocation_type, expect| Step {
        title,
        auth,
        setup,
        payload,
        invocation_type,
        expect,
    };
    vec![
        step(
            "sync invoke of target:live",
            "resource",
            vec![],
            json!({"hello": "world"}),
            RequestResponse,
            Class::Ok,
        ),
        step(
            "async invoke (Event)",
            "resource",
            vec![],
            json!({"order": 1}),
            Event,
            Class::Ok,
        ),
        step(
            "permission check (DryRun)",
            "resource",
            vec![],
            json!({}),
            DryRun,
            Class::Ok,
        ),
        step(
            "sync invoke via the assumed role",
            "role",
            vec![],
            json!({"hello": "role"}),
            RequestResponse,
            Class::Ok,
        ),
        step(
            "unqualified target, resource policy grants :live only",
            "unqualified",
            vec![],
            json!({}),
            RequestResponse,
            Class::AccessDeniedResource,
        ),
        step(
            "a role with no identity policy",
            "stranger",
            vec![],
            json!({}),
            RequestResponse,
            Class::AccessDeniedIdentity,
        ),
        step(
            "assume role with the wrong external id",
            "wrong-external-id",
            vec![],
            json!({}),
            RequestResponse,
            Class::Credentials,
        ),
        step(
            "target throws",
            "resource",
            vec![],
            json!({"fail": "boom"}),
            RequestResponse,
            Class::FunctionError,
        ),
        step(
            "EC2 throttles ENI set-up once, then recovers",
            "role",
            vec![(
                "fault",
                json!({"function": "target", "error": "EC2ThrottledException", "times": 1}),
            )],
            json!({}),
            RequestResponse,
            Class::Ok,
        ),
        step(
            "ENI quota used up (stays)",
            "resource",
            vec![(
                "fault",
                json!({"function": "target", "error": "ENILimitReachedException", "times": 5}),
            )],
            json!({}),
            RequestResponse,
            Class::EniLimit,
        ),
        step(
            "EC2 RequestLimitExceeded (stays)",
            "role",
            vec![(
                "fault",
                json!({"function": "target", "error": "EC2UnexpectedException", "ec2_error_code": "RequestLimitExceeded", "times": 5}),
            )],
            json!({}),
            RequestResponse,
            Class::Ec2RequestLimit,
        ),
        step(
            "subnets out of IP addresses (stays)",
            "resource",
            vec![(
                "fault",
                json!({"function": "target", "error": "SubnetIPAddressLimitReachedException", "times": 5}),
            )],
            json!({}),
            RequestResponse,
            Class::SubnetIpLimit,
        ),
        step(
            "throttled with Retry-After: 1",
            "resource",
            vec![(
                "fault",
                json!({"function": "target", "error": "TooManyRequestsException", "reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "retry_after_s": 1, "times": 1}),
            )],
            json!({}),
            RequestResponse,
            Class::Ok,
        ),
        step(
            "invalid subnet (configuration: never retried)",
            "resource",
            vec![(
                "fault",
                json!({"function": "target", "error": "InvalidSubnetIDException", "times": 1}),
            )],
            json!({}),
            RequestResponse,
            Class::VpcConfig,
        ),
    ]
}

async fn service_for(server: &LocalServer, auth: &str, policy: &RetryPolicy) -> Result<Service, CliError> {
    let (creds, target, role) = match auth {
        "resource" => (source_creds(), builtin::TARGET_ALIAS_ARN, None),
        "role" => (source_creds(), builtin::TARGET_FUNCTION_ARN, Some(builtin::EXTERNAL_ID)),
        "unqualified" => (source_creds(), builtin::TARGET_FUNCTION_ARN, None),
        "stranger" => (
            Credentials::new(
                builtin::STRANGER_ACCESS_KEY,
                builtin::STRANGER_SECRET_KEY,
                None,
                None,
                "demo",
            ),
            builtin::TARGET_ALIAS_ARN,
            None,
        ),
        _ => (
            source_creds(),
            builtin::TARGET_FUNCTION_ARN,
            Some("not-the-external-id"),
        ),
    };
    let given = Given {
        target_arn: Some(target.parse().expect("the built-in ARNs are valid")),
        role_arn: role.map(|_| {
            builtin::INVOKE_ROLE_ARN
                .parse()
                .expect("the built-in role ARN is valid")
        }),
        external_id: role.map(|id| id.parse().expect("the demo's external ids are valid")),
        ..Given::default()
    };
    let mut settings = Settings::resolve(given, Context::Cli)?;
    settings.retry = policy.clone();
    let base = clients::endpoint_config(Timeouts::default(), server.url(), creds, builtin::REGION).await;
    Ok(Service::new(settings, &base).await)
}

fn source_creds() -> Credentials {
    Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        builtin::SOURCE_SECRET_KEY,
        Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
        None,
        "demo",
    )
}

/// Run the tour; exit code 0 when every step ended as expected.
pub async fn run(args: DemoArgs) -> Result<u8, CliError> {
    if args.delivery {
        // No log subscriber: the final records' ERROR lines (no failure queue here) are the
        // table's "ends" column.
        return super::demo_delivery::run(args.output).await;
    }
    crate::adapters::logging::init_cli();
    let server = LocalServer::start(Scenario::builtin(), ([127, 0, 0, 1], 0).into()).await?;
    let control = ControlClient::new(server.addr());
    let policy = if args.real_waits {
        RetryPolicy::default()
    } else {
        RetryPolicy::defaults_shortened(10.0)
    };
    let text = args.output == Output::Text;
    if text {
        println!(
            "xinvoke demo: local endpoint (built-in scenario) listening on {}",
            server.url()
        );
        println!(
            "account 1 {} (role xinvoke-source) invokes {} in account 2 {}",
            builtin::SOURCE_ACCOUNT,
            builtin::TARGET_FUNCTION_ARN,
            builtin::TARGET_ACCOUNT
        );
        if !args.real_waits {
            println!("retry waits are the defaults shortened 10x for the tour (--real-waits for the real ones)");
        }
        println!();
        println!(
            "{:>2}  {:<54} {:<18} {:<16} {:<23} {:>8} {:>9}",
            "#", "step", "auth", "type", "class", "attempts", "latency"
        );
    }
    let mut steps_json = Vec::new();
    let mut services: HashMap<&str, Service> = HashMap::new();
    let mut records: Vec<InvokeRecord> = Vec::new();
    let mut unexpected = 0;
    for (i, step) in steps().into_iter().enumerate() {
        for (kind, spec) in &step.setup {
            let path = if *kind == "fault" {
                "/_local/faults"
            } else {
                "/_local/state"
            };
            control.call("POST", path, Some(spec)).await?;
        }
        if !services.contains_key(step.auth) {
            services.insert(step.auth, service_for(&server, step.auth, &policy).await?);
        }
        let svc = &services[step.auth];
        let call = Call {
            payload: step.payload.to_string().into_bytes(),
            invocation_type: Some(step.invocation_type),
            ..Call::default()
        };
        let record = svc.invoke(call, None).await?;
        let mark = if record.class() == step.expect { " " } else { "!" };
        if record.class() != step.expect {
            unexpected += 1;
        }
        let auth = match step.auth {
            "resource" | "unqualified" | "stranger" => "resource-based",
            _ => "role chaining",
        };
        if text {
            println!(
                "{:>2}{mark} {:<54} {:<18} {:<16} {:<23} {:>8} {:>7.0}ms",
                i + 1,
                step.title,
                auth,
                record.invocation_type.as_str(),
                record.class().name(),
                record.attempts,
                record.latency_ms
            );
            if let Some(hint) = record.outcome.hint.as_deref().filter(|_| record.class() != Class::Ok) {
                println!("    {hint}");
            }
        } else {
            steps_json.push(json!({
                "step": step.title,
                "auth": auth,
                "expected": step.expect.name(),
                "as_expected": record.class() == step.expect,
                "record": record,
            }));
        }
        control.clear_faults().await?;
        records.push(record);
    }
    let stats = control.stats().await?;
    if !text {
        print_json(&json!({
            "endpoint": server.url(),
            "steps": steps_json,
            "assume_role_calls": stats["sts_assume_role"],
            "unexpected": unexpected,
        }));
        server.shutdown().await;
        return Ok(if unexpected > 0 { 1 } else { 0 });
    }
    println!();
    println!(
        "local endpoint: {} AssumeRole call(s) served every role-chained invoke; retries are counted in the attempts column",
        stats["sts_assume_role"]
    );
    if args.json {
        for r in &records {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    }
    server.shutdown().await;
    if unexpected > 0 {
        println!("{unexpected} step(s) ended differently than expected (marked !)");
        return Ok(1);
    }
    Ok(0)
}
