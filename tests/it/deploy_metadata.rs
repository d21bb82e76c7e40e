//! `cargo lambda deploy` and SAM deploy the same functions: Cargo.toml's
//! `[package.metadata.lambda.bin.*]` (what cargo-lambda reads) must say what template.yaml says
//! of each function (runtime, memory, timeout, tracing, alias, log retention, tags, the fixed
//! environment), and both leave the CLI's profile kinds out of the Lambda builds. Then
//! cargo-lambda itself (`cargo lambda deploy --dry`, the pinned 1.9.2) reads the metadata and
//! prints the configuration it would deploy, so a key it does not know cannot pass unseen.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What differs per account and is given at deploy time (docs/deploy.md's env file): never in
/// Cargo.toml.
const PER_ACCOUNT: &[&str] = &[
    "XINVOKE_TARGET_ARN",
    "XINVOKE_ROLE_ARN",
    "XINVOKE_EXTERNAL_ID",
    "XINVOKE_SESSION_NAME",
    // The routes of the invoker's HTTP requests (GatewayRoutes, GatewayRoutesParameter,
    // GatewayRoutesFile in the template).
    "XINVOKE_GATEWAY_CONFIG_TEXT",
    "XINVOKE_GATEWAY_CONFIG_SSM",
    "XINVOKE_GATEWAY_CONFIG",
    // The stack's own failure queue, and whether it is a load worker (LoadWorker).
    "XINVOKE_FAILURE_QUEUE_URL",
    "XINVOKE_LOAD_WORKER",
];

/// Each Lambda binary, its resource in template.yaml and the `Side` that deploys it.
const FUNCTIONS: &[(&str, &str, &str)] = &[
    ("invoker", "InvokerFunction", "source"),
    ("target", "TargetFunction", "target"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cargo_toml() -> Value {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    serde_json::to_value(value).unwrap()
}

/// template.yaml as JSON. The YAML reader drops CloudFormation's short tags and keeps their
/// operand: `!Ref InvocationType` reads as "InvocationType", resolved by [`resolve`].
fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("template.yaml: {e}"))
}

/// A template value as text: a plain scalar, or (a `!Ref` of) a parameter's default.
fn resolve(template: &Value, v: &Value) -> Option<String> {
    match v {
        Value::String(s) => match template["Parameters"].get(s) {
            Some(param) => resolve(template, &param["Default"]),
            None => Some(s.clone()),
        },
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn lambda_metadata(cargo: &Value) -> &Value {
    &cargo["package"]["metadata"]["lambda"]
}

#[test]
fn the_lambda_builds_leave_out_the_clis_default_features() {
    let cargo = cargo_toml();
    let lambda = lambda_metadata(&cargo);
    let default: Vec<&str> = cargo["features"]["default"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        default.contains(&"aws-profiles"),
        "the CLI has every profile kind by default"
    );
    // `cargo lambda build` without --bin reads the package's table; `sam build` runs it with
    // --bin NAME, which reads the binary's table instead (the two are not merged).
    assert_eq!(lambda["build"]["no_default_features"], true, "{lambda}");
    let template = template();
    for (bin, resource, _) in FUNCTIONS {
        assert_eq!(
            lambda["bin"][bin]["build"]["no_default_features"], true,
            "{bin}: {lambda}"
        );
        let r = &template["Resources"][resource];
        assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda", "{resource}");
        assert_eq!(r["Metadata"]["BuildProperties"]["Binary"], *bin, "{resource}");
    }
}

#[test]
fn cargo_tomls_function_settings_are_the_templates() {
    let cargo = cargo_toml();
    let lambda = lambda_metadata(&cargo);
    let template = template();
    let globals = &template["Globals"]["Function"];
    for (bin, resource, side) in FUNCTIONS {
        let deploy = &lambda["bin"][bin]["deploy"];
        let r = &template["Resources"][resource];
        let props = &r["Properties"];
        let either = |key: &str| {
            let v = if props[key].is_null() {
                &globals[key]
            } else {
                &props[key]
            };
            resolve(&template, v)
        };
        let text = |v: &Value| resolve(&template, v);
        assert_eq!(text(&deploy["runtime"]), either("Runtime"), "{bin}: runtime");
        assert_eq!(text(&deploy["memory"]), either("MemorySize"), "{bin}: memory");
        assert_eq!(text(&deploy["timeout"]), either("Timeout"), "{bin}: timeout");
        // No Tracing in the template is Lambda's PassThrough.
        let tracing = either("Tracing").unwrap_or_else(|| "PassThrough".into());
        assert_eq!(
            text(&deploy["tracing"]).map(|t| t.to_lowercase()),
            Some(tracing.to_lowercase()),
            "{bin}: tracing"
        );
        assert_eq!(text(&deploy["alias"]), either("AutoPublishAlias"), "{bin}: alias");
        assert!(either("Layers").is_none() && deploy["layer"].is_null() && deploy["layers"].is_null());
        // The function's log group (its DependsOn) keeps logs as long.
        let group = r["DependsOn"]
            .as_str()
            .unwrap_or_else(|| panic!("{resource}: DependsOn its log group"));
        assert_eq!(
            text(&deploy["log_retention"]),
            text(&template["Resources"][group]["Properties"]["RetentionInDays"]),
            "{bin}: log retention"
        );
        assert_eq!(
            text(&deploy["tags"]["project"]),
            text(&globals["Tags"]["project"]),
            "{bin}: tags"
        );
        assert_eq!(
            text(&deploy["tags"]["xinvoke:side"]).as_deref(),
            Some(*side),
            "{bin}: tags"
        );
        assert_eq!(r["Condition"], format!("Is{}{}", side[..1].to_uppercase(), &side[1..]));

        // The environment: every fixed variable with the template's value (or its parameter's
        // default); the rest are exactly the per-account ones, given at deploy time.
        let vars = props["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let fixed: BTreeMap<String, String> = deploy["env"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in &fixed {
            let in_template = vars
                .get(k)
                .unwrap_or_else(|| panic!("{bin}: {k} is not in the template"));
            assert_eq!(Some(v.clone()), text(in_template), "{bin}: {k}");
        }
        let rest: BTreeSet<&str> = vars
            .keys()
            .map(String::as_str)
            .filter(|k| !fixed.contains_key(*k))
            .collect();
        let expected: BTreeSet<&str> = match vars.is_empty() {
            true => BTreeSet::new(),
            false => PER_ACCOUNT.iter().copied().collect(),
        };
        assert_eq!(rest, expected, "{bin}: the variables left to deploy time");
    }
    // The architecture is the build's (`cargo lambda build --arm64`), the template's default.
    let arch = &template["Parameters"]["Architecture"];
    assert_eq!(arch["Default"], "arm64");
    assert_eq!(globals["Architectures"][0], "Architecture", "[!Ref Architecture]");
    let guide = std::fs::read_to_string(root().join("docs/deploy.md")).unwrap();
    assert!(
        guide.contains("cargo lambda build --release --arm64"),
        "docs/deploy.md builds as the template deploys"
    );
    for var in PER_ACCOUNT {
        assert!(guide.contains(var), "docs/deploy.md's env file names {var}");
    }
}

/// cargo-lambda: $XINVOKE_CARGO_LAMBDA, the test venv's (scripts/test.sh installs it from
/// scripts/requirements-test.txt), the template tools' venv's, or on PATH.
fn cargo_lambda() -> PathBuf {
    if let Ok(p) = std::env::var("XINVOKE_CARGO_LAMBDA") {
        return PathBuf::from(p);
    }
    let venv = std::env::var("XINVOKE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".venv"));
    for p in [
        venv.join("bin/cargo-lambda"),
        venv.join("template-tools/bin/cargo-lambda"),
    ] {
        if p.is_file() {
            return p;
        }
    }
    if let Some(p) = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|d| d.join("cargo-lambda"))
        .find(|p| p.is_file())
    {
        return p;
    }
    panic!("this test needs cargo-lambda 1.9.2: scripts/test.sh installs it (pip install cargo-lambda==1.9.2), or set XINVOKE_CARGO_LAMBDA");
}

#[test]
fn cargo_lambda_deploy_reads_the_same_settings() {
    let tool = cargo_lambda();
    let cargo = cargo_toml();
    let lambda = lambda_metadata(&cargo);
    let dir = tempfile::tempdir().unwrap();
    // The per-account variables, as docs/deploy.md's env file gives them.
    let env_file = dir.path().join("invoker.env");
    std::fs::write(
        &env_file,
        "XINVOKE_TARGET_ARN=arn:aws:lambda:us-east-1:222222222222:function:xinvoke-target:live\n",
    )
    .unwrap();
    for (bin, exe) in [
        ("invoker", env!("CARGO_BIN_EXE_invoker")),
        ("target", env!("CARGO_BIN_EXE_target")),
    ] {
        // Where `cargo lambda build` puts it: LAMBDA_DIR/NAME/bootstrap.
        let lambda_dir = dir.path().join("lambda");
        std::fs::create_dir_all(lambda_dir.join(bin)).unwrap();
        std::fs::copy(exe, lambda_dir.join(bin).join("bootstrap")).unwrap();
        let function = format!("xinvoke-{bin}");
        let out = Command::new(&tool)
            .args(["lambda", "deploy", "--dry", "--output-format", "json", "--lambda-dir"])
            .arg(&lambda_dir)
            .args(["--binary-name", bin, "--env-file"])
            .arg(&env_file)
            .arg(&function)
            .current_dir(root())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{bin}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // cargo-lambda draws its progress line on stdout before the JSON.
        let json = stdout.find("\n{").map_or(&stdout[..], |at| &stdout[at + 1..]);
        let shown: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{bin}: {e}: {stdout}"));
        let config = &shown["config"];
        let deploy = &lambda["bin"][bin]["deploy"];
        for key in ["memory", "timeout", "runtime", "log_retention"] {
            assert_eq!(config[key], deploy[key], "{bin}: {key}: {stdout}");
        }
        assert_eq!(config["tracing"], "Active", "{bin}: {stdout}");
        assert_eq!(config["layer"], Value::Null, "{bin}");
        let mut tags: Vec<String> = deploy["tags"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        tags.sort();
        let mut printed: Vec<&str> = shown["tags"].as_str().unwrap_or_default().split('&').collect();
        printed.sort();
        assert_eq!(printed, tags, "{bin}: tags");
        let mut env: Vec<String> = config["env_var"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        env.sort();
        let mut expected: Vec<String> = deploy["env"]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap())).collect())
            .unwrap_or_default();
        expected.sort();
        assert_eq!(env, expected, "{bin}: the fixed environment");
        assert_eq!(
            config["env_file"],
            env_file.display().to_string(),
            "{bin}: the env file beside it"
        );
    }
}
