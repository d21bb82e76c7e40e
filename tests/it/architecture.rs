//! The arrows between the parts (docs/architecture.md): each part of `src/` names only the
//! parts it may use, and the pure core names no runtime, SDK, HTTP stack or environment.
//! A new `use` that points the wrong way fails here, naming the file and the line.

use std::path::{Path, PathBuf};

/// Each part and the parts it must never name (`crate::PART`).
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "domain",
        &[
            "adapters", "invoke", "lambdas", "load", "local", "gateway", "serve", "cli",
        ],
    ),
    (
        "serve",
        &[
            "domain", "adapters", "invoke", "lambdas", "load", "local", "gateway", "cli",
        ],
    ),
    (
        "adapters",
        &["invoke", "lambdas", "load", "local", "gateway", "serve", "cli"],
    ),
    ("invoke", &["lambdas", "load", "local", "gateway", "serve", "cli"]),
    ("lambdas", &["local", "cli"]),
    ("local", &["adapters", "invoke", "lambdas", "load", "gateway", "cli"]),
    ("gateway", &["lambdas", "load", "local", "cli"]),
    ("load", &["lambdas", "gateway", "cli"]),
    ("demo", &["cli"]),
];

/// What the core must not touch: it is plain data in, plain data out.
const NOT_IN_CORE: &[&str] = &[
    "tokio",
    "aws_config",
    "aws_sdk_lambda",
    "aws_sdk_sts",
    "aws_smithy",
    "hyper",
    "axum",
    "lambda_runtime",
    "tracing",
    "std::env",
    "std::net",
    "std::fs",
];

/// What `load` and `demo` may take from `local`: its public face (the server, scenarios, the built-in
/// names, the control client), never the internals.
const LOCAL_FACE: &[&str] = &[
    "LocalServer",
    "Scenario",
    "ScenarioError",
    "LocalError",
    "builtin",
    "scenario",
    "client",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each code line of the part's files (comments left out): (file, line number, text).
fn lines(part: &str) -> Vec<(String, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(part);
    let mut files = Vec::new();
    match root.with_extension("rs") {
        single if single.is_file() => files.push(single),
        _ => rust_files(&root, &mut files),
    }
    assert!(!files.is_empty(), "src/{part} has no Rust files");
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if !code.trim().is_empty() {
                out.push((name.clone(), i + 1, code.to_string()));
            }
        }
    }
    out
}

/// The parts a line names through `crate::PART`, with what follows (`crate::local::{a, b}`
/// gives ("local", "{a, b}...")).
fn crate_paths(line: &str) -> Vec<(&str, &str)> {
    line.match_indices("crate::")
        .filter(|(i, _)| *i == 0 || !line[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(i, _)| {
            let rest = &line[i + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], rest[end..].trim_start_matches("::"))
        })
        .collect()
}

#[test]
fn no_part_names_a_part_it_must_not_use() {
    let mut wrong = Vec::new();
    for (part, forbidden) in FORBIDDEN {
        for (file, n, line) in lines(part) {
            for (used, _) in crate_paths(&line) {
                if forbidden.contains(&used) {
                    wrong.push(format!("{file}:{n}: {part} uses {used}: {}", line.trim()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "arrows that must not exist:\n{}", wrong.join("\n"));
}

#[test]
fn the_core_touches_no_runtime_sdk_http_or_environment() {
    let mut wrong = Vec::new();
    for (file, n, line) in lines("domain") {
        for name in NOT_IN_CORE {
            let hit = line.match_indices(name).any(|(i, _)| {
                let before = line[..i].chars().last();
                let after = line[i + name.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if hit {
                wrong.push(format!("{file}:{n}: domain uses {name}: {}", line.trim()));
            }
        }
    }
    assert!(wrong.is_empty(), "the core must stay pure:\n{}", wrong.join("\n"));
}

/// The first names of the items a text takes from `crate::local` (`crate::local::{builtin,
/// world::World}` gives builtin and world), with the line each is on.
fn local_names(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::local::") {
        let line = text[..i].matches('\n').count() + 1;
        let rest = &text[i + "crate::local::".len()..];
        let items = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())].split(',').collect(),
            None => vec![rest],
        };
        for item in items {
            let item = item.trim();
            let end = item
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(item.len());
            if end > 0 {
                out.push((line, item[..end].to_string()));
            }
        }
    }
    out
}

#[test]
fn load_and_the_demo_reach_the_local_endpoint_through_its_public_face_only() {
    let mut wrong = Vec::new();
    for part in ["load", "demo"] {
        let mut by_file: std::collections::BTreeMap<String, Vec<(usize, String)>> = Default::default();
        for (file, n, line) in lines(part) {
            by_file.entry(file).or_default().push((n, line));
        }
        for (file, lines) in by_file {
            // The code of the file, one line a line (comments are blank), so line numbers hold.
            let last = lines.last().map_or(0, |(n, _)| *n);
            let mut text = vec![String::new(); last];
            for (n, line) in lines {
                text[n - 1] = line;
            }
            for (n, name) in local_names(&text.join("\n")) {
                if !LOCAL_FACE.contains(&name.as_str()) && name != "self" {
                    wrong.push(format!("{file}:{n}: {part} uses local::{name}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a part reaches into the local endpoint:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checks_see_a_wrong_arrow() {
    assert_eq!(
        crate_paths("use crate::local::{builtin, world::World};"),
        vec![("local", "{builtin, world::World};")]
    );
    assert_eq!(crate_paths("let x = mycrate::load::x;"), vec![]);
    let names = local_names("use crate::local::{\n    builtin,\n    world::World,\n};\nlet c = crate::local::client::ControlClient::new(a);");
    assert_eq!(
        names,
        vec![
            (1, "builtin".to_string()),
            (1, "world".to_string()),
            (5, "client".to_string())
        ]
    );
    assert_eq!(
        crate_paths("crate::domain::arn::FunctionArn"),
        vec![("domain", "arn::FunctionArn")]
    );
}
