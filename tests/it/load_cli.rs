//! `xinvoke load` and `xinvoke report` as a user runs them: the built binary against the
//! built-in local endpoint in-process. Ctrl-C (SIGINT via `kill -INT`), --max-errors, the
//! JSON report against its schema, and a recording rendered again.

use crate::common::schema::schema_errors;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The built `xinvoke` (XINVOKE_TEST_BIN overrides it, e.g. when several work trees share
/// one target directory and another build may replace the binary mid-run).
fn bin() -> String {
    std::env::var("XINVOKE_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_xinvoke").to_string())
}

fn xinvoke(args: &[&str]) -> Output {
    let out = Command::new(bin()).args(args).output().expect("xinvoke runs");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"),
        "`xinvoke load` / `xinvoke report` are not wired into src/cli/mod.rs yet: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn schema() -> Value {
    serde_json::from_str(include_str!("../../schemas/load-report.schema.json")).unwrap()
}

fn assert_accounted(report: &Value) {
    for p in report["phases"].as_array().unwrap() {
        let classes: u64 = p["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["count"].as_u64().unwrap())
            .sum();
        let (sent, cancelled) = (p["sent"].as_u64().unwrap(), p["cancelled"].as_u64().unwrap());
        assert_eq!(
            sent,
            classes + cancelled,
            "phase {}: sent = Σ classes + cancelled",
            p["name"]
        );
        assert_eq!(p["accounted"], true);
    }
}

#[test]
fn ctrl_c_stops_the_run_with_a_partial_report_and_every_request_accounted() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    // Requests take 3 s; the grace period is 500 ms, so those in flight at Ctrl-C are cancelled.
    let child = Command::new(bin())
        .args([
            "load",
            "--local",
            "--rate",
            "40",
            "--duration",
            "60s",
            "--no-retry",
            "--grace",
            "500ms",
            "--payload",
            r#"{"sleep_ms":3000}"#,
            "--json",
        ])
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let started = Instant::now();
    // The shell's own `kill`: no libc or nix needed.
    let kill = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(started.elapsed() < Duration::from_secs(10), "stopped promptly");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("STOPPED EARLY (interrupted)"), "{stdout}");
    let r = read_json(&json);
    assert_eq!(schema_errors(&schema(), &r), Vec::<String>::new());
    let p = &r["phases"][0];
    assert_eq!(p["end"], "interrupted");
    assert!(p["sent"].as_u64().unwrap() >= 40, "{p}");
    assert!(p["cancelled"].as_u64().unwrap() > 0, "{p}");
    assert_accounted(&r);
    // The cancelled requests had been in flight 0.5-3 s (sent within the last 3 s, given the
    // 500 ms grace), and the latency figures say they leave them out.
    let in_flight = &p["cancelled_in_flight"];
    assert_eq!(in_flight["count"], p["cancelled"], "{p}");
    let max = in_flight["max_ms"].as_f64().unwrap();
    assert!((400.0..=3_600.0).contains(&max), "in flight up to {max} ms: {p}");
    assert!(stdout.contains("cancelled, in flight p50"), "{stdout}");
}

#[test]
fn max_errors_ends_the_run_early_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    // The target throws on every invoke: function_error, never retried.
    let out = xinvoke(&[
        "load",
        "--local",
        "--rate",
        "50",
        "--duration",
        "30s",
        "--max-errors",
        "10",
        "--payload",
        r#"{"fail":"boom"}"#,
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("STOPPED EARLY (max_errors)"), "{stdout}");
    let r = read_json(&json);
    let p = &r["phases"][0];
    assert_eq!(p["end"], "max_errors");
    assert!(p["errors"].as_u64().unwrap() >= 10);
    assert!(p["duration_s"].as_f64().unwrap() < 5.0, "{}", p["duration_s"]);
    assert_accounted(&r);
}

#[test]
fn the_json_report_meets_its_schema_and_a_recording_renders_the_same_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (json, html, rec) = (
        dir.path().join("r.json"),
        dir.path().join("r.html"),
        dir.path().join("r.ndjson"),
    );
    let (json2, html2) = (dir.path().join("r2.json"), dir.path().join("r2.html"));
    let out = xinvoke(&[
        "load",
        "--local",
        "--compare",
        "--steps",
        "20:1s,60:1s",
        "--payload",
        r#"{"sleep_ms":20}"#,
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = read_json(&json);
    assert_eq!(schema_errors(&schema(), &r), Vec::<String>::new());
    assert_eq!(r["schema"], "xinvoke.load.v1");
    assert_eq!(r["phases"].as_array().unwrap().len(), 2);
    assert_eq!(r["phases"][0]["sent"], 80);
    assert_accounted(&r);

    let again = xinvoke(&[
        "report",
        rec.to_str().unwrap(),
        "--json",
        json2.to_str().unwrap(),
        "--html",
        html2.to_str().unwrap(),
    ]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        std::fs::read(&json).unwrap(),
        std::fs::read(&json2).unwrap(),
        "JSON report from the recording"
    );
    assert_eq!(
        std::fs::read(&html).unwrap(),
        std::fs::read(&html2).unwrap(),
        "HTML report from the recording"
    );
    assert_eq!(out.stdout, again.stdout, "text report from the recording");
}

#[test]
fn the_schema_checker_catches_a_broken_report() {
    let mut r: Value = serde_json::json!({"schema": "xinvoke.load.v2", "run": {}, "phases": [{"sent": -1}]});
    let errors = schema_errors(&schema(), &r);
    assert!(errors.iter().any(|e| e.contains("xinvoke.load.v1")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("latency_note")), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("$.phases[0]") && e.contains("missing required \"accounted\"")),
        "{errors:?}"
    );
    r["extra"] = Value::Bool(true);
    assert!(schema_errors(&schema(), &r)
        .iter()
        .any(|e| e.contains("unexpected property \"extra\"")));
}

#[test]
fn with_no_arguments_the_builtin_job_shows_where_each_vpc_failure_and_the_throttles_appear() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = Command::new(bin())
        .args(["load", "--json"])
        .arg(&json)
        .env_remove("XINVOKE_TARGET_ARN")
        .env_remove("XINVOKE_TARGETS")
        .env_remove("XINVOKE_TARGETS_FILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "without retries",
        "with retries",
        "Comparison",
        "coordinated-omission corrected",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
    }
    let r = read_json(&json);
    assert_eq!(schema_errors(&schema(), &r), Vec::<String>::new());
    assert_accounted(&r);
    let without = &r["phases"][0];
    let seen: Vec<&str> = without["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    for class in ["ok", "ec2_throttled", "eni_limit", "subnet_ip_limit", "throttled"] {
        assert!(
            seen.contains(&class),
            "{class} did not emerge without retries: {seen:?}\n{stdout}"
        );
    }
    let with = &r["phases"][1];
    assert!(with["attempts"]["retries"].as_u64().unwrap() > 0);
    assert!(
        without["series"][0]["gauges"]["enis_in_use"].is_u64(),
        "local gauges sampled each second"
    );
}

#[test]
fn lambda_workers_fan_out_and_merge_to_the_totals_of_a_single_process_run() {
    // Three invocations of account 1's invoker (played in-process behind the local endpoint)
    // each run a third of the schedule; the merged report has the single run's totals.
    let dir = tempfile::tempdir().unwrap();
    let (single, fanned) = (dir.path().join("single.json"), dir.path().join("fanned.json"));
    let common = [
        "load",
        "--local",
        "--steps",
        "30:1s,60:1s",
        "--payload",
        r#"{"sleep_ms":10}"#,
        "--json",
    ];
    let a = xinvoke(&[&common[..], &[single.to_str().unwrap()]].concat());
    assert_eq!(a.status.code(), Some(0), "{}", String::from_utf8_lossy(&a.stderr));
    let b = xinvoke(
        &[
            &common[..],
            &[fanned.to_str().unwrap(), "--via", "lambda-workers", "--workers", "3"],
        ]
        .concat(),
    );
    assert_eq!(b.status.code(), Some(0), "{}", String::from_utf8_lossy(&b.stderr));
    let (a, b) = (read_json(&single), read_json(&fanned));
    assert_eq!(schema_errors(&schema(), &b), Vec::<String>::new());
    assert_eq!(b["run"]["via"], "lambda-workers");
    let (pa, pb) = (&a["phases"][0], &b["phases"][0]);
    for field in ["sent", "completed", "cancelled", "ok"] {
        assert_eq!(pa[field], pb[field], "{field}");
    }
    assert_eq!(pb["sent"], 90);
    assert_eq!(pb["latency"]["count"], 90);
    assert_eq!(
        pb["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sent"].as_u64().unwrap())
            .sum::<u64>(),
        90
    );
    assert_accounted(&b);
}

#[test]
fn the_schema_names_every_class_and_no_other() {
    let names: Vec<String> = schema()["$defs"]["class"]["enum"]
        .as_array()
        .expect("the schema defines class")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let classes: Vec<String> = xinvoke::Class::ALL.iter().map(|c| c.name().to_string()).collect();
    assert_eq!(names, classes);
}

#[test]
fn a_deployment_during_load_shows_when_its_new_enis_cannot_keep_up() {
    // scenarios/deploy-during-load.toml: Hyperplane ENIs, a deployment of api and worker to a
    // new security group 2 s in, batch idle (Inactive). Nothing injected.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/deploy-during-load.toml");
    let out = xinvoke(&[
        "load",
        "--scenario",
        scenario.to_str().unwrap(),
        "--no-retry",
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("VPC networking: api, worker, batch on today's shared Hyperplane ENIs"),
        "{stdout}"
    );
    let r = read_json(&json);
    assert_eq!(schema_errors(&schema(), &r), Vec::<String>::new());
    assert_accounted(&r);
    let phase = &r["phases"][0];
    let class = |name: &str| {
        phase["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["class"] == name)
            .cloned()
    };
    let throttled = class("ec2_throttled").expect("the deployment's new ENIs meet EC2's pace");
    // The deployment is at 2 s of the endpoint's clock, which starts before the load's
    // schedule does (by the harness's own start-up, most of a second on a busy machine): never
    // in the schedule's first second.
    assert!(
        throttled["first_second"].as_u64().unwrap() >= 1,
        "not before the deployment at 2 s of the endpoint's clock: {throttled}"
    );
    let target = |name: &str| {
        phase["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap()
    };
    for moved in ["api", "worker"] {
        assert!(
            target(moved)["classes"]["ec2_throttled"].as_u64().unwrap_or(0) > 0,
            "{moved}: {}",
            target(moved)
        );
    }
    let batch = target("batch");
    assert!(
        batch["classes"]["not_ready"].as_u64().unwrap_or(0) > 0,
        "batch wakes up: {batch}"
    );
    assert!(batch["classes"]["ok"].as_u64().unwrap_or(0) > 0, "then runs: {batch}");
}

/// The built-in scenario with account 1's invoker function given, and faults on it and on the
/// target from the start: a run through the invoker shows each in its hop.
fn two_hop_scenario(dir: &Path) -> std::path::PathBuf {
    let builtin = include_str!("../../src/local/builtin.toml");
    let account2 = builtin
        .find("\n[[accounts]]\nid = \"222222222222\"")
        .expect("account 2 in the built-in scenario");
    let text = format!(
        "{}\n[[accounts.functions]]\nname = \"xinvoke-invoker\"\ntimeout_s = 60\n{}\n[[faults]]\nfunction = \"xinvoke-invoker\"\nerror = \"TooManyRequestsException\"\ntimes = 6\n\n[[faults]]\nfunction = \"target\"\nerror = \"ENILimitReachedException\"\ntimes = 4\n",
        &builtin[..account2],
        &builtin[account2..]
    );
    let path = dir.join("two-hops.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn via_invoker_reports_both_hops_each_failure_in_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = two_hop_scenario(dir.path());
    let (json, rec, html) = (
        dir.path().join("r.json"),
        dir.path().join("r.ndjson"),
        dir.path().join("r.html"),
    );
    let out = xinvoke(&[
        "load",
        "--via",
        "invoker",
        "--scenario",
        scenario.to_str().unwrap(),
        "--no-retry",
        "--concurrency",
        "2",
        "--requests",
        "30",
        "--payload",
        "{}",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_json(&json);
    assert!(
        schema_errors(&schema(), &report).is_empty(),
        "{:?}",
        schema_errors(&schema(), &report)
    );
    assert_accounted(&report);
    let p = &report["phases"][0];
    let hops = &p["hops"];
    // The invoker's own throttles (hop 1) and the target's ENI failures (hop 2): without
    // retries in both hops (each event says "retries": false), none is tried again.
    assert_eq!(hops["invoker"]["throttled"], 6, "{hops}");
    assert_eq!(hops["invoker"]["ok"], 24, "{hops}");
    assert_eq!(hops["target"]["eni_limit"], 4, "the invoker did not retry them: {hops}");
    assert_eq!(
        hops["retries"],
        serde_json::json!({"invoker": 0, "target": 0}),
        "{hops}"
    );
    let reached: u64 = hops["target"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(reached, 24, "every answered request has the target's outcome: {hops}");
    // The invoker's own metrics (its EMF documents, one per invoke it made) say the same.
    assert_eq!(hops["metrics"], hops["target"], "the invoker's EMF metrics: {hops}");
    let inv_errors: u64 = p["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["invoker_errors"]["throttled"].as_u64())
        .sum();
    assert_eq!(inv_errors, 6, "the timeline shows the first hop's failures");
    assert!(
        text.contains("by hop:")
            && text.contains("invoker (account 1)")
            && text.contains("inv:throttled")
            && text.contains("0 of the invoker (hop 1) · 0 by the invoker of the target (hop 2)"),
        "{text}"
    );
    assert_eq!(report["run"]["via"], "invoker");
    let html_text = std::fs::read_to_string(&html).unwrap();
    assert!(
        html_text.contains("invoker (account 1)"),
        "the HTML report has the hop table"
    );

    // The recording carries both hops: `xinvoke report` rebuilds the same hop counts.
    let again_json = dir.path().join("again.json");
    let again = xinvoke(&["report", rec.to_str().unwrap(), "--json", again_json.to_str().unwrap()]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again = read_json(&again_json);
    for hop in ["invoker", "target"] {
        assert_eq!(again["phases"][0]["hops"][hop], hops[hop], "rebuilt from the recording");
    }
}

/// `xinvoke load --via lambda-workers` (the invoker function played in-process on the local
/// endpoint), `--quiet`, and these flags; the report as JSON.
fn workers_run(dir: &Path, flags: &[&str]) -> (Output, Value) {
    let json = dir.join("workers.json");
    let _ = std::fs::remove_file(&json);
    let out = xinvoke(
        &[
            &[
                "load",
                "--via",
                "lambda-workers",
                "--quiet",
                "--json",
                json.to_str().unwrap(),
            ],
            flags,
        ]
        .concat(),
    );
    let report = match std::fs::read_to_string(&json) {
        Ok(text) if !text.is_empty() => serde_json::from_str(&text).unwrap(),
        _ => Value::Null,
    };
    (out, report)
}

/// Workers run in slices, so Ctrl-C is heard within one slice (5 s by default) even though the
/// phase would last a minute: exit 130, the partial report, every request sent by a worker
/// counted once.
#[test]
fn lambda_workers_stop_within_one_slice_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let child = Command::new(bin())
        .args([
            "load",
            "--via",
            "lambda-workers",
            "--workers",
            "2",
            "--rate",
            "20",
            "--duration",
            "60s",
        ])
        .args(["--payload", "{}", "--quiet", "--json"])
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    let kill = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        waited < Duration::from_secs(10),
        "stopped {waited:?} after Ctrl-C, more than a slice"
    );
    assert!(text.contains("STOPPED EARLY (interrupted)"), "{text}");
    let report = read_json(&json);
    assert!(
        schema_errors(&schema(), &report).is_empty(),
        "{:?}",
        schema_errors(&schema(), &report)
    );
    assert_accounted(&report);
    let p = &report["phases"][0];
    let sent = p["sent"].as_u64().unwrap();
    // The first slice (5 s at 20/s) is whole; the second was not started.
    assert_eq!(sent, 100, "{p}");
    assert_eq!(p["end"], "interrupted");
    let concurrency_sampled = p["series"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["gauges"]["concurrency_peak"].as_u64().unwrap_or(0) > 0);
    assert!(
        concurrency_sampled,
        "the harness samples account 2's gauges during worker runs: {p}"
    );
}

/// `--max-errors` applies to the whole run, split among the workers' slices: 4 workers stop at
/// about 10 failures, not 4 × 10. The overshoot is the requests each worker had in flight when
/// its share was used up (as in one process): on the built-in scenario's target (no VPC cold
/// start) at 5 requests a second per worker, a failure is back long before the next is due.
#[test]
fn lambda_workers_max_errors_count_for_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = concat!(env!("CARGO_MANIFEST_DIR"), "/src/local/builtin.toml");
    let (out, report) = workers_run(
        dir.path(),
        &[
            "--scenario",
            builtin,
            "--workers",
            "4",
            "--rate",
            "20",
            "--duration",
            "20s",
            "--max-errors",
            "10",
            "--payload",
            r#"{"fail":"boom"}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_accounted(&report);
    let p = &report["phases"][0];
    assert_eq!(p["end"], "max_errors");
    let failed = p["errors"].as_u64().unwrap();
    assert!(
        (10..20).contains(&failed),
        "stopped after {failed} failures (4 workers × 10 would be 40): {p}"
    );
}

/// The slice length fits the invoker's timeout as GetFunctionConfiguration gives it: with an
/// invoker of 8 s and a 1 s grace, slices of at most 2 s, and the schedule shared exactly
/// across them; an invoker too short for any slice is refused before the run, naming the fix.
#[test]
fn lambda_workers_slices_fit_the_invokers_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = |timeout: u32| {
        let builtin = include_str!("../../src/local/builtin.toml");
        let account2 = builtin.find("\n[[accounts]]\nid = \"222222222222\"").unwrap();
        let text = format!(
            "{}\n[[accounts.functions]]\nname = \"xinvoke-invoker\"\ntimeout_s = {timeout}\n{}",
            &builtin[..account2],
            &builtin[account2..]
        );
        let path = dir.path().join(format!("invoker-{timeout}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let eight = scenario(8);
    let (out, report) = workers_run(
        dir.path(),
        &[
            "--scenario",
            eight.to_str().unwrap(),
            "--workers",
            "3",
            "--rate",
            "30",
            "--duration",
            "5s",
        ]
        .iter()
        .copied()
        .chain(["--grace", "1s", "--slice", "30s", "--payload", "{}"])
        .collect::<Vec<_>>(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let notes = report["run"]["notes"].to_string();
    assert!(
        notes.contains("slices of 2 s, shortened from 30 s (the invoker's timeout is 8 s"),
        "{notes}"
    );
    let p = &report["phases"][0];
    assert_eq!(p["sent"], 150, "5 s at 30/s, cut in slices of 2 s among 3 workers: {p}");
    // One row a second of the schedule sent requests (a last gauge sample may add a row when
    // the slices ended after the fifth second on a busy machine).
    let sending: Vec<u64> = p["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["sent"].as_u64().filter(|n| *n > 0))
        .collect();
    assert_eq!(sending, vec![30; 5], "30 requests in each of the 5 seconds: {p}");

    let six = scenario(6);
    let (out, _) = workers_run(
        dir.path(),
        &[
            "--scenario",
            six.to_str().unwrap(),
            "--rate",
            "5",
            "--duration",
            "5s",
            "--grace",
            "1s",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains("the invoker's timeout is 6 s") && err.contains("raise the invoker function's Timeout"),
        "{err}"
    );
}

/// `xinvoke load`'s duration flags share the one syntax: a bad value exits 2 naming the flag and
/// showing an example, before anything runs.
#[test]
fn load_duration_flags_name_the_flag_and_an_example() {
    for (flag, value) in [
        ("--deadline", "soon"),
        ("--duration", "10x"),
        ("--grace", "1w"),
        ("--slice", "2m"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_xinvoke"))
            .args(["load", "--local", "--requests", "1", flag, value])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(&format!("{flag} <")), "{flag} {value}: {err}");
        assert!(err.contains("e.g."), "{flag} {value}: {err}");
    }
}
