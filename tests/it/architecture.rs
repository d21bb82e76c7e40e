//! The arrows between the parts (docs/architecture.md): each part of `src/` names only the
//! parts it may use, and the pure core names no runtime, SDK, HTTP stack or environment.
//! A new `use` that points the wrong way fails here, naming the file and the line. Within a
//! part, no files import each other in a ring (each can be read alone), and a module is
//! written one way: `name/mod.rs`, never `name.rs` beside `name/`.

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

/// Every library file of `src/` (not the binaries, not the in-crate tests) by its module
/// path (`src/local/scenario/mod.rs` is `local::scenario`), with its code: comments blanked,
/// its `#[cfg(test)] mod tests` left out, so line numbers hold.
fn library_files() -> Vec<(String, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().with_extension("");
        let mut segs: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        if matches!(segs[0].as_str(), "bin" | "main" | "tests") {
            continue;
        }
        if matches!(segs.last().map(String::as_str), Some("mod" | "lib")) {
            segs.pop();
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let text = match text.find("#[cfg(test)]\nmod tests") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        let code: Vec<&str> = text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect();
        let name = format!("src/{}", f.strip_prefix(&src).unwrap().display());
        out.push((segs.join("::"), name, code.join("\n")));
    }
    out
}

/// The paths a file's code names through `crate::`, `super::` or `self::`, made absolute
/// (`a::b::c` for `super::c` in `a/b/x.rs`), each with its line; a group `x::{y, z::W}`
/// gives `x::y` and `x::z::W`.
fn named_paths(module: &str, code: &str) -> Vec<(usize, Vec<String>)> {
    let here: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(start) {
            if code[..i].ends_with(|c: char| ident(c) || c == ':') {
                continue;
            }
            let line = code[..i].matches('\n').count() + 1;
            // `self` is the module itself, `super` its parent (`a/b.rs` is module `a::b`).
            let mut base: Vec<String> = match start {
                "crate::" => Vec::new(),
                _ => here.iter().map(|s| s.to_string()).collect(),
            };
            let mut rest = &code[i..];
            if start == "crate::" {
                rest = &rest["crate::".len()..];
            }
            loop {
                if let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                } else if let Some(r) = rest.strip_prefix("self::") {
                    rest = r;
                } else {
                    break;
                }
            }
            let mut prefix = base;
            loop {
                let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
                if end == 0 {
                    break;
                }
                prefix.push(rest[..end].to_string());
                rest = &rest[end..];
                if rest.starts_with("::*") {
                    prefix.push("*".to_string());
                }
                match rest.strip_prefix("::") {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item = String::new();
                let mut items = Vec::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            items.push(std::mem::take(&mut item));
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                items.push(item);
                for item in items {
                    let mut path = prefix.clone();
                    path.extend(
                        item.split("::")
                            .map(str::trim)
                            .take_while(|s| *s == "*" || (!s.is_empty() && s.chars().all(ident)))
                            .map(str::to_string),
                    );
                    out.push((line, path));
                }
            } else {
                out.push((line, prefix));
            }
        }
    }
    out
}

/// What each module re-exports (`pub use file::Item;`, `pub use file::*;`): the item's name
/// (`*` for a glob) to the file it comes from, so a path through a module's re-export counts
/// as naming the file that holds the item.
fn reexports(
    files: &[(String, String, String)],
    modules: &std::collections::BTreeSet<&str>,
) -> std::collections::BTreeMap<(String, String), Vec<String>> {
    let mut out: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for (module, _, code) in files {
        for statement in code.split(';') {
            let statement = statement.trim_start();
            let Some(rest) = ["pub use ", "pub(crate) use ", "pub(super) use "]
                .iter()
                .find_map(|p| statement.strip_prefix(p))
            else {
                continue;
            };
            // `use child::X` names the child module relative to this one.
            let first = rest.split("::").next().unwrap_or_default();
            let child = [module.as_str(), first]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("::");
            let rest = match modules.contains(child.as_str()) {
                true => format!("self::{rest}"),
                false => rest.to_string(),
            };
            for (_, path) in named_paths(module, &rest) {
                let Some(n) = (1..=path.len())
                    .rev()
                    .find(|n| modules.contains(path[..*n].join("::").as_str()))
                else {
                    continue;
                };
                if let Some(name) = path.get(n) {
                    out.entry((module.clone(), name.clone()))
                        .or_default()
                        .push(path[..n].join("::"));
                }
            }
        }
    }
    out
}

/// The file that holds what `path` names: the longest prefix that is a file, followed through
/// the re-exports of that module (a glob's file only when it declares the name).
fn owner(
    path: &[String],
    modules: &std::collections::BTreeSet<&str>,
    reexports: &std::collections::BTreeMap<(String, String), Vec<String>>,
    code_of: &std::collections::BTreeMap<&str, &str>,
) -> Option<String> {
    let mut path = path.to_vec();
    for _ in 0..8 {
        let n = (0..=path.len())
            .rev()
            .find(|n| modules.contains(path[..*n].join("::").as_str()))?;
        let file = path[..n].join("::");
        let Some(name) = path.get(n).cloned() else {
            return Some(file);
        };
        let declares = |m: &String| {
            let code = code_of.get(m.as_str()).copied().unwrap_or_default();
            [
                "struct ", "enum ", "fn ", "const ", "static ", "type ", "trait ", "mod ",
            ]
            .iter()
            .any(|kind| {
                code.match_indices(&format!("{kind}{name}")).any(|(i, _)| {
                    !code[i + kind.len() + name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
        };
        let from = reexports
            .get(&(file.clone(), name.clone()))
            .and_then(|f| f.first().cloned())
            .or_else(|| {
                reexports
                    .get(&(file.clone(), "*".to_string()))
                    .and_then(|globs| globs.iter().find(|g| declares(g)).cloned())
            });
        match from {
            Some(from) if from != file => {
                path = from
                    .split("::")
                    .map(str::to_string)
                    .chain(path[n..].iter().cloned())
                    .collect();
            }
            _ => return Some(file),
        }
    }
    None
}

/// Which files import which: for each file, the other files it names, with the line of the
/// first mention. A path through a module's re-export counts as naming the file the item is
/// in. A module's own `mod.rs` and its parents' are not counted (declaring a child, or a
/// child naming what its module itself holds, is no ring).
fn imports(
    files: &[(String, String, String)],
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, (String, usize)>> {
    let modules: std::collections::BTreeSet<&str> = files.iter().map(|(m, _, _)| m.as_str()).collect();
    let code_of = files.iter().map(|(m, _, c)| (m.as_str(), c.as_str())).collect();
    let reexports = reexports(files, &modules);
    let within = |outer: &str, inner: &str| outer.is_empty() || inner.starts_with(&format!("{outer}::"));
    let mut out = std::collections::BTreeMap::new();
    for (module, name, code) in files {
        let mut to: std::collections::BTreeMap<String, (String, usize)> = Default::default();
        for (line, path) in named_paths(module, code) {
            let Some(file) = owner(&path, &modules, &reexports, &code_of) else {
                continue;
            };
            if file != *module && !within(&file, module) && !within(module, &file) {
                to.entry(file).or_insert((name.clone(), line));
            }
        }
        out.insert(module.clone(), to);
    }
    out
}

/// The rings among `edges`: each set of two or more nodes that reach each other, sorted.
fn rings(edges: &std::collections::BTreeMap<String, Vec<String>>) -> Vec<Vec<String>> {
    let reach = |from: &str| {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            for next in edges.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: std::collections::BTreeMap<&String, _> = edges.keys().map(|k| (k, reach(k))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for (node, from_node) in &reached {
        let ring: Vec<String> = from_node
            .iter()
            .filter(|other| reached.get(other).is_some_and(|r| r.contains(*node)))
            .cloned()
            .collect();
        if ring.len() > 1 && !out.contains(&ring) {
            out.push(ring);
        }
    }
    out
}

#[test]
fn no_files_import_each_other_in_a_ring() {
    let imports = imports(&library_files());
    let edges = imports
        .iter()
        .map(|(from, to)| (from.clone(), to.keys().cloned().collect()))
        .collect();
    let mut wrong = Vec::new();
    for ring in rings(&edges) {
        let how: Vec<String> = ring
            .iter()
            .flat_map(|from| {
                imports[from]
                    .iter()
                    .filter(|(to, _)| ring.contains(to))
                    .map(move |(to, (file, line))| format!("  {file}:{line}: {from} uses {to}"))
            })
            .collect();
        wrong.push(format!("{}:\n{}", ring.join(" <-> "), how.join("\n")));
    }
    assert!(
        wrong.is_empty(),
        "files that import each other (move the shared type to the file that owns it, or down a layer):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_ring_check_sees_a_ring_and_resolves_super() {
    assert_eq!(
        named_paths("a::b", "use super::c::{D, e::F};\nlet x = crate::g::H;"),
        vec![
            (2, vec!["g".to_string(), "H".to_string()]),
            (1, vec!["a".to_string(), "c".to_string(), "D".to_string()]),
            (
                1,
                vec!["a".to_string(), "c".to_string(), "e".to_string(), "F".to_string()]
            ),
        ]
    );
    let edges = [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec!["a"])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
        .collect();
    assert_eq!(
        rings(&edges),
        vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]
    );
}

#[test]
fn one_module_style_no_name_rs_beside_a_name_directory() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let both: Vec<String> = files
        .iter()
        .filter(|f| f.with_extension("").is_dir())
        .map(|f| {
            let dir = f.with_extension("");
            format!(
                "{} beside {}/: move it to {}/mod.rs",
                f.display(),
                dir.display(),
                dir.display()
            )
        })
        .collect();
    assert!(both.is_empty(), "two module styles:\n{}", both.join("\n"));
}
