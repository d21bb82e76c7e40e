//! Bounded fuzzing (proptest) of everything xinvoke parses from the outside: invoker events
//! (direct, SQS, EventBridge, load, HTTP API and Function URL requests; random and mutated JSON), ARNs and qualifiers, the
//! configuration variables, and scenario files (mutated TOML). Nothing panics, and every error
//! names what is wrong: the field, the variable or the file. Interesting inputs are kept in
//! `tests/corpus/` and replayed first.

use futures_util::FutureExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use xinvoke::adapters::config::Settings;
use xinvoke::domain::arn::{FunctionArn, Qualifier, RoleArn};
use xinvoke::lambdas::event::InvokerEvent;
use xinvoke::local::Scenario;

/// `cases` cases from a fixed seed, so CI runs are reproducible; `PROPTEST_CASES` and
/// `PROPTEST_RNG_SEED` override both to explore further.
fn config(cases: u32) -> Config {
    let default = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            default.cases
        } else {
            cases
        },
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            default.rng_seed
        } else {
            RngSeed::Fixed(20261123)
        },
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..default
    }
}

const FIXTURES: [&str; 9] = [
    include_str!("../../events/direct-sync.json"),
    include_str!("../../events/direct-async.json"),
    include_str!("../../events/direct-dryrun.json"),
    include_str!("../../events/named-target.json"),
    include_str!("../../events/sqs-batch.json"),
    include_str!("../../events/schedule.json"),
    include_str!("../../events/load.json"),
    include_str!("../../events/apigw-http-api.json"),
    include_str!("../../events/function-url.json"),
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("payload"),
            Just("target"),
            Just("Records"),
            Just("aws:sqs"),
            Just("detail-type"),
            Just("load"),
            Just("$LATEST"),
            Just("RequestResponse"),
            Just("2.0"),
            Just("/target")
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("payload".to_string()),
                    Just("target".to_string()),
                    Just("qualifier".to_string()),
                    Just("invocation_type".to_string()),
                    Just("Records".to_string()),
                    Just("eventSource".to_string()),
                    Just("body".to_string()),
                    Just("detail-type".to_string()),
                    Just("source".to_string()),
                    Just("load".to_string()),
                    Just("version".to_string()),
                    Just("requestContext".to_string()),
                    Just("rawPath".to_string()),
                    Just("isBase64Encoded".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replace the value at a random path of `v` with `with`.
fn mutate(v: &mut Value, mut path: Vec<usize>, with: Value) {
    let Some(step) = path.pop() else {
        *v = with;
        return;
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(step % m.len()).unwrap().clone();
            mutate(m.get_mut(&key).unwrap(), path, with)
        }
        Value::Array(a) if !a.is_empty() => {
            let i = step % a.len();
            mutate(&mut a[i], path, with)
        }
        _ => *v = with,
    }
}

/// The event property: decoding never panics; an error says it is an invalid event, what is
/// wrong, and what a valid event looks like.
fn check_event(v: Value) -> Result<(), TestCaseError> {
    match InvokerEvent::from_value(v.clone()) {
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("invalid event: "), "{msg}");
            prop_assert!(!e.problem.trim().is_empty(), "{v}: empty problem");
            prop_assert!(msg.contains("expected a direct event"), "{msg}");
        }
        // An HTTP request that decodes is one the routes can take: a path, and an answer
        // (here without routes: the 500 naming the variables) whatever else the event held.
        Ok(InvokerEvent::Http(r)) => {
            prop_assert!(r.path.starts_with('/'), "{v}: path {:?}", r.path);
            let wrapped = xinvoke::gateway::answer::api_gateway_event(&r.as_request("rid"), "ANY /");
            prop_assert_eq!(wrapped["rawPath"].as_str(), Some(r.path.as_str()));
            let proxy = xinvoke::lambdas::http::answer(None, &r, "rid", None, None)
                .now_or_never()
                .expect("answered without waiting");
            prop_assert_eq!(&proxy["statusCode"], &json!(500));
        }
        Ok(_) => {}
    }
    Ok(())
}

#[test]
fn random_json_never_panics_the_event_decoder() {
    proptest!(config(1500), |(v in json_value())| check_event(v)?);
}

#[test]
fn mutated_fixtures_never_panic_the_event_decoder() {
    let fixtures: Vec<Value> = FIXTURES.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
    proptest!(config(1500), |(i in 0..FIXTURES.len(), path in prop::collection::vec(any::<usize>(), 0..5), with in json_value())| {
        let mut v = fixtures[i].clone();
        mutate(&mut v, path, with);
        check_event(v)?;
    });
}

#[test]
fn a_direct_event_field_of_the_wrong_type_is_named_in_the_error() {
    let wrong = prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::Bool),
        Just(json!([1, 2])),
        Just(json!({"a": 1})),
    ];
    let field = prop_oneof![Just("target"), Just("qualifier"), Just("invocation_type")];
    proptest!(config(300), |(field in field, with in wrong)| {
        let mut v = json!({"payload": {"x": 1}});
        v[field] = with;
        // The problem itself, not the shape appended to every error (which names every field).
        let problem = InvokerEvent::from_value(v.clone()).unwrap_err().problem;
        prop_assert!(problem.contains(field), "{v}: the problem does not name {field}: {problem}");
    });
}

fn arn_like() -> impl Strategy<Value = String> {
    let valid = prop_oneof![
        Just("arn:aws:lambda:us-east-1:222222222222:function:target".to_string()),
        Just("arn:aws:lambda:us-east-1:222222222222:function:target:live".to_string()),
        Just("arn:aws:lambda:eu-west-1:222222222222:function:my-fn_2:7".to_string()),
        Just("arn:aws:iam::222222222222:role/xinvoke-invoke".to_string()),
        Just("arn:aws-cn:iam::222222222222:role/path/to/r".to_string()),
    ];
    prop_oneof![
        ".{0,80}",
        "[a-z:0-9/$*-]{0,80}",
        (valid, any::<usize>(), ".{0,3}", 0usize..3).prop_map(|(s, at, with, cut)| {
            let mut chars: Vec<char> = s.chars().collect();
            let at = at % (chars.len() + 1);
            let end = (at + cut).min(chars.len());
            chars.splice(at..end, with.chars());
            chars.into_iter().collect()
        }),
    ]
}

fn check_arn(s: &str) -> Result<(), TestCaseError> {
    match s.parse::<FunctionArn>() {
        Ok(a) => prop_assert_eq!(a.to_string().parse::<FunctionArn>().unwrap(), a, "round trip of {}", s),
        Err(e) => prop_assert!(e.to_string().contains("is not a function ARN"), "{e}"),
    }
    match s.parse::<RoleArn>() {
        Ok(a) => prop_assert_eq!(a.to_string().parse::<RoleArn>().unwrap(), a, "round trip of {}", s),
        Err(e) => prop_assert!(e.to_string().contains("is not an IAM role ARN"), "{e}"),
    }
    match s.parse::<Qualifier>() {
        Ok(q) => {
            prop_assert!(q.as_str() != "$LATEST");
            prop_assert_eq!(q.as_str(), s);
        }
        Err(e) => prop_assert!(e.to_string().contains("qualifier"), "{e}"),
    }
    Ok(())
}

#[test]
fn arns_and_qualifiers_parse_or_say_what_a_valid_one_is() {
    proptest!(config(3000), |(s in arn_like())| check_arn(&s)?);
}

/// The Lambda service model's patterns (botocore `data/lambda/2015-03-31/service-2.json`,
/// anchored as the service applies them): Invoke's `FunctionName` (`NamespacedFunctionName`,
/// 1-256 characters) and the `Qualifier` of an alias (`Alias`, 1-128, not all digits, a
/// lookahead `(?!^[0-9]+$)` regex-lite has not: checked apart) or a version (`Version`).
const MODEL_FUNCTION_NAME: &str = r"^(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9\-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9\-_]+))?$";
const MODEL_ALIAS_CHARS: &str = r"^[a-zA-Z0-9\-_]+$";
const MODEL_VERSION: &str = r"^(\$LATEST|[0-9]+)$";

fn model(pattern: &str) -> regex_lite::Regex {
    regex_lite::Regex::new(pattern).expect("the model's pattern compiles")
}

/// A full function ARN the model accepts: every part drawn from the model's own pattern.
fn model_full_arn() -> impl Strategy<Value = String> {
    (
        "aws[a-zA-Z-]{0,6}",
        "(eusc-)?[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]{1,9}-[0-9]",
        "[0-9]{12}",
        "[a-zA-Z0-9_.-]{1,64}",
        proptest::option::of("[a-zA-Z0-9_-]{1,128}"),
    )
        .prop_map(|(partition, region, account, name, qualifier)| {
            let mut arn = format!("arn:{partition}:lambda:{region}:{account}:function:{name}");
            if let Some(q) = qualifier {
                arn.push(':');
                arn.push_str(&q);
            }
            arn
        })
}

#[test]
fn every_full_arn_the_model_accepts_is_accepted() {
    let pattern = model(MODEL_FUNCTION_NAME);
    proptest!(config(3000), |(s in model_full_arn())| {
        prop_assert!(pattern.is_match(&s), "the generator left the model's pattern: {}", s);
        let arn = s.parse::<FunctionArn>();
        prop_assert!(arn.is_ok(), "{}: {}", s, arn.unwrap_err());
        prop_assert_eq!(arn.unwrap().to_string(), s);
    });
}

#[test]
fn every_qualifier_the_model_accepts_as_an_alias_or_version_is_accepted_and_told_apart() {
    let alias_chars = model(MODEL_ALIAS_CHARS);
    let version = model(MODEL_VERSION);
    proptest!(config(3000), |(s in prop_oneof!["[a-zA-Z0-9_-]{1,128}", "[0-9]{1,12}", "[0-9]{1,4}-[a-z]{1,8}"])| {
        let is_version = version.is_match(&s);
        let is_alias = alias_chars.is_match(&s) && !s.bytes().all(|b| b.is_ascii_digit());
        prop_assert!(is_version || is_alias);
        let q = s.parse::<Qualifier>();
        prop_assert!(q.is_ok(), "{}: {}", s, q.unwrap_err());
        prop_assert_eq!(q.unwrap().is_version(), is_version, "{}", s);
    });
}

#[test]
fn nothing_the_model_refuses_is_accepted_and_short_forms_ask_for_the_full_arn() {
    let pattern = model(MODEL_FUNCTION_NAME);
    proptest!(config(3000), |(s in arn_like())| {
        if let Ok(arn) = s.parse::<FunctionArn>() {
            prop_assert!(pattern.is_match(&s) && s.len() <= 256, "accepted what the model refuses: {}", s);
            prop_assert!(arn.qualifier.as_ref().is_none_or(|q| !q.as_str().starts_with('$')));
        }
    });
    for short in [
        "target",
        "target:live",
        "222222222222:function:target",
        "222222222222:function:target:2024-prod",
    ] {
        assert!(pattern.is_match(short), "{short} is one of the model's forms");
        let e = short.parse::<FunctionArn>().unwrap_err().to_string();
        assert!(e.contains("full ARN"), "{short}: {e}");
    }
}

const VARS: [&str; 13] = [
    "XINVOKE_TARGET_ARN",
    "XINVOKE_ROLE_ARN",
    "XINVOKE_EXTERNAL_ID",
    "XINVOKE_SESSION_NAME",
    "XINVOKE_INVOCATION_TYPE",
    "XINVOKE_TARGETS",
    "XINVOKE_DEFAULT_TARGET",
    "XINVOKE_RETRY",
    "XINVOKE_NO_RETRY",
    "XINVOKE_IDEMPOTENT",
    "XINVOKE_RETRY_BUDGET",
    "XINVOKE_CONNECT_TIMEOUT_MS",
    "XINVOKE_PAYLOAD",
];

fn check_settings(vars: &HashMap<String, String>) -> Result<(), TestCaseError> {
    if let Err(e) = Settings::from_lookup(|k| vars.get(k).cloned()) {
        let msg = e.to_string();
        prop_assert!(msg.contains("XINVOKE_"), "the error names no variable: {msg}");
        // (Unless another variable holds the same text: that one's error may echo it.)
        let secret = vars.get("XINVOKE_EXTERNAL_ID").filter(|x| {
            x.len() >= 6
                && !vars
                    .iter()
                    .any(|(k, v)| k != "XINVOKE_EXTERNAL_ID" && v.contains(x.as_str()))
        });
        if let Some(secret) = secret {
            prop_assert!(!msg.contains(secret.as_str()), "the external id leaked: {msg}");
        }
    }
    Ok(())
}

#[test]
fn random_configuration_is_accepted_or_refused_naming_the_variable() {
    let base: HashMap<String, String> = [
        (
            "XINVOKE_TARGET_ARN",
            "arn:aws:lambda:us-east-1:222222222222:function:target",
        ),
        ("XINVOKE_ROLE_ARN", "arn:aws:iam::222222222222:role/xinvoke-invoke"),
        ("XINVOKE_EXTERNAL_ID", "xinvoke-local-external-id"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let value = prop_oneof![
        ".{0,40}",
        Just("true".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just(r#"{"classes": {"throttled": {"max_retries": -1}}}"#.to_string()),
        Just(r#"{"classes": {"nope": {}}}"#.to_string()),
        Just(r#"{"orders": "arn:aws:lambda:us-east-1:222222222222:function:o"}"#.to_string()),
        arn_like(),
    ];
    let edits = prop::collection::vec((0..VARS.len(), prop::option::of(value)), 1..4);
    proptest!(config(2000), |(edits in edits)| {
        let mut vars = base.clone();
        for (i, v) in edits {
            match v {
                Some(v) => vars.insert(VARS[i].to_string(), v),
                None => vars.remove(VARS[i]),
            };
        }
        check_settings(&vars)?;
    });
}

const BUILTIN: &str = include_str!("../../src/local/builtin.toml");

fn check_scenario(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = Scenario::from_toml_str(text, Path::new("fuzzed.toml")) {
        let msg = e.to_string();
        prop_assert!(msg.contains("fuzzed.toml"), "the error does not name the file: {msg}");
    }
    Ok(())
}

#[test]
fn mutated_scenarios_parse_or_name_the_file_and_problem() {
    let lines: Vec<&str> = BUILTIN.lines().collect();
    let n = lines.len();
    let edit = prop_oneof![
        // Delete a line.
        (0..n).prop_map(|i| (i, None)),
        // Replace a line's value (after its `=`) with something else.
        (
            0..n,
            prop_oneof![
                Just("\"\"".to_string()),
                Just("0".to_string()),
                Just("-1".to_string()),
                Just("[]".to_string()),
                Just("{}".to_string()),
                Just("\"*\"".to_string()),
                Just("\"arn:aws:lambda:us-east-1:222222222222:function:nope\"".to_string()),
                "[ -~]{0,12}",
            ]
        )
            .prop_map(|(i, v)| (i, Some(v))),
    ];
    proptest!(config(800), |(edits in prop::collection::vec(edit, 1..4))| {
        let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for (i, with) in edits {
            let i = i % lines.len();
            match with {
                None => {
                    lines.remove(i);
                }
                Some(v) => {
                    if let Some((key, _)) = lines[i].split_once('=') {
                        lines[i] = format!("{key}= {v}");
                    } else {
                        lines[i] = v;
                    }
                }
            }
        }
        check_scenario(&lines.join("\n"))?;
    });
}

#[test]
fn the_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(dir.join("events")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        check_event(v).unwrap();
        n += 1;
    }
    for line in std::fs::read_to_string(dir.join("arns.txt")).unwrap().lines() {
        check_arn(line).unwrap();
        n += 1;
    }
    for entry in std::fs::read_dir(dir.join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let err = Scenario::from_toml_str(&text, &path).expect_err("every kept scenario is broken");
        assert!(err.to_string().contains(path.file_name().unwrap().to_str().unwrap()));
        n += 1;
    }
    assert!(n >= 10, "{n} corpus inputs");
}
