//! `xinvoke demo`: the tour, or with `--delivery` the delivery table, on the built-in local
//! endpoint (the library's `demo`); this module parses the flags and prints each step or cell
//! as it comes.

use crate::cli::{print_json, CliError, Output};
use crate::demo::{Delivery, DemoError, Tour, Trigger};
use crate::domain::class::Class;
use crate::local::builtin;
use serde_json::json;

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

/// Run the tour (or the delivery table); exit code 0 when every step ended as expected.
pub async fn run(args: DemoArgs) -> Result<u8, CliError> {
    if args.delivery {
        // No log subscriber: the final records' ERROR lines (no failure queue here) are the
        // table's "ends" column.
        return Ok(delivery(args.output).await?);
    }
    crate::adapters::logging::init_cli();
    Ok(tour(&args).await?)
}

/// The tour: a header, a line per step as it ends (or one JSON document at the end).
async fn tour(args: &DemoArgs) -> Result<u8, DemoError> {
    let mut tour = Tour::start(args.real_waits).await?;
    let text = args.output == Output::Text;
    if text {
        println!(
            "xinvoke demo: local endpoint (built-in scenario) listening on {}",
            tour.endpoint()
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
    let mut records = Vec::new();
    let mut unexpected = 0;
    while let Some(step) = tour.next().await? {
        let record = &step.record;
        if !step.as_expected() {
            unexpected += 1;
        }
        if text {
            let mark = if step.as_expected() { " " } else { "!" };
            println!(
                "{:>2}{mark} {:<54} {:<18} {:<16} {:<23} {:>8} {:>7.0}ms",
                step.number,
                step.title,
                step.auth,
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
                "auth": step.auth,
                "expected": step.expected.name(),
                "as_expected": step.as_expected(),
                "record": record,
            }));
        }
        records.push(step.record);
    }
    let endpoint = tour.endpoint();
    let assume_role_calls = tour.finish().await;
    if !text {
        print_json(&json!({
            "endpoint": endpoint,
            "steps": steps_json,
            "assume_role_calls": assume_role_calls,
            "unexpected": unexpected,
        }));
        return Ok(u8::from(unexpected > 0));
    }
    println!();
    println!(
        "local endpoint: {assume_role_calls} AssumeRole call(s) served every role-chained invoke; retries are counted in the attempts column"
    );
    if args.json {
        for r in &records {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    }
    if unexpected > 0 {
        println!("{unexpected} step(s) ended differently than expected (marked !)");
        return Ok(1);
    }
    Ok(0)
}

/// The delivery table: a header, a row per cell as it is measured (or one JSON document at the
/// end), and whether every cell is as docs/lambdas.md says.
async fn delivery(output: Output) -> Result<u8, DemoError> {
    let mut table = Delivery::start().await?;
    let text = output == Output::Text;
    if text {
        println!("xinvoke demo --delivery: each trigger x class, one message, counted by the local endpoint");
        println!("(SQS with no retry budget: every retry is a redelivery; waits are the defaults / 100)");
        println!();
        println!(
            "{:<13} {:<15} {:>11} {:>9} {:>9}  ends",
            "trigger", "class", "target runs", "attempts", "receives"
        );
    }
    let mut rows = Vec::new();
    let mut unexpected = 0;
    while let Some(cell) = table.next().await? {
        if !cell.as_documented {
            unexpected += 1;
        }
        if text {
            let mark = if cell.as_documented { "" } else { " !" };
            println!(
                "{:<13} {:<15} {:>11} {:>9} {:>9}  {}{mark}",
                cell.trigger.name(),
                cell.class.name(),
                if cell.runs == 1 {
                    "once".to_string()
                } else {
                    cell.runs.to_string()
                },
                cell.attempts,
                if cell.trigger == Trigger::Sqs {
                    cell.receives.to_string()
                } else {
                    "-".into()
                },
                cell.ends
            );
        } else {
            rows.push(json!({
                "trigger": cell.trigger.name(),
                "class": cell.class.name(),
                "target_runs": cell.runs,
                "attempts": cell.attempts,
                "receives": cell.receives,
                "ends": cell.ends,
                "as_documented": cell.as_documented,
            }));
        }
    }
    table.finish().await;
    if !text {
        print_json(&json!({"cells": rows, "unexpected": unexpected}));
    } else if unexpected > 0 {
        println!("{unexpected} cell(s) measured differently than docs/lambdas.md says (marked !)");
    } else {
        println!();
        println!("every cell as docs/lambdas.md's table says: nothing ran twice");
    }
    Ok(u8::from(unexpected > 0))
}
