//! The console transcripts in README.md and docs/ are what the binaries print today. Each
//! ```console block that starts with `$ cargo run --bin xinvoke -- ARGS` (or `$ xinvoke ARGS`)
//! and shows output is run with the built `xinvoke`, and its output must equal the block modulo
//! what changes run to run: ports, times and numbers (a count, a latency), a zero shown as `·`,
//! runs of rows that differ only in their numbers, and the order of classes first seen in the
//! same second. A block after `<!-- transcript: scenario FILE -->` runs against the local
//! endpoint serving FILE, as account 1's `xinvoke-source`.

use regex_lite::Regex;
use std::path::{Path, PathBuf};
use std::process::Command;
use xinvoke::local::{builtin, LocalServer, Scenario};

struct Transcript {
    /// `FILE:LINE` of the command.
    at: String,
    args: Vec<String>,
    scenario: Option<PathBuf>,
    output: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The transcripts of one markdown file.
fn transcripts(file: &Path) -> Vec<Transcript> {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let name = file.strip_prefix(root()).unwrap().display().to_string();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "```console" {
            i += 1;
            continue;
        }
        let scenario = i
            .checked_sub(1)
            .and_then(|p| lines[p].trim().strip_prefix("<!-- transcript: scenario "))
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(|path| root().join(path.trim()));
        let end = (i + 1..lines.len())
            .find(|j| lines[*j].trim() == "```")
            .unwrap_or_else(|| panic!("{name}:{}: a console block that never closes", i + 1));
        let block = &lines[i + 1..end];
        let command = block.first().and_then(|l| l.strip_prefix("$ "));
        let args = command.and_then(|c| {
            c.strip_prefix("cargo run --bin xinvoke -- ")
                .or_else(|| c.strip_prefix("xinvoke "))
        });
        // A block with a command and no output is an example to type, not a transcript.
        if let (Some(args), true) = (args, block.len() > 1) {
            out.push(Transcript {
                at: format!("{name}:{}", i + 2),
                args: args.split_whitespace().map(str::to_string).collect(),
                scenario,
                output: block[1..].join("\n"),
            });
        }
        i = end + 1;
    }
    out
}

/// The output as compared: see the module's comment.
fn normalize(text: &str) -> Vec<String> {
    let rules = [
        (Regex::new(r"127\.0\.0\.1:(\d+|PORT)").unwrap(), "HOST"),
        (Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap(), "TIME"),
        (Regex::new(r"\d+(\.\d+)?").unwrap(), "N"),
        (Regex::new(r"(^|\s)·(\s|$)").unwrap(), "${1}N${2}"),
        (Regex::new(r"\s+").unwrap(), " "),
    ];
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut line = line.to_string();
        for (re, with) in &rules {
            line = re.replace_all(&line, *with).into_owned();
        }
        let mut line = line.trim_end().to_string();
        if let Some((head, breaks)) = line.split_once("where it breaks: ") {
            let mut items: Vec<&str> = breaks.split(" → ").collect();
            items.sort();
            line = format!("{head}where it breaks: {}", items.join(" → "));
        }
        if out.last() != Some(&line) {
            out.push(line);
        }
    }
    out
}

/// Run one transcript's command as a user would, the local endpoint serving its scenario if
/// it names one; its standard output.
async fn run(t: &Transcript) -> String {
    let server = match &t.scenario {
        Some(path) => {
            let scenario = Scenario::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", t.at));
            Some(
                LocalServer::start(scenario, "127.0.0.1:0".parse().unwrap())
                    .await
                    .unwrap(),
            )
        }
        None => None,
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xinvoke"));
    cmd.args(&t.args).current_dir(root());
    for (k, _) in std::env::vars() {
        if k.starts_with("XINVOKE_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    if let Some(server) = &server {
        cmd.env("AWS_ENDPOINT_URL", server.url())
            .env("AWS_REGION", builtin::REGION)
            .env("AWS_ACCESS_KEY_ID", builtin::SOURCE_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", builtin::SOURCE_SECRET_KEY)
            .env("AWS_SESSION_TOKEN", builtin::SOURCE_SESSION_TOKEN);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    if let Some(server) = server {
        server.shutdown().await;
    }
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transcripts_in_the_docs_are_what_the_binaries_print() {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let all: Vec<Transcript> = files.iter().flat_map(|f| transcripts(f)).collect();
    let found: Vec<String> = all.iter().map(|t| format!("{} {}", t.at, t.args.join(" "))).collect();
    for expected in ["README.md", "docs/load.md", "docs/doctor.md"] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "no transcript found in {expected}: {found:?}"
        );
    }
    let mut stale = Vec::new();
    for t in &all {
        let actual = run(t).await;
        let (want, got) = (normalize(&t.output), normalize(&actual));
        if want != got {
            let first = want
                .iter()
                .zip(&got)
                .position(|(a, b)| a != b)
                .unwrap_or(want.len().min(got.len()));
            stale.push(format!(
                "{} ({}): first difference at normalized line {}:\n  doc:    {:?}\n  binary: {:?}\nthe binary printed:\n{actual}",
                t.at,
                t.args.join(" "),
                first + 1,
                want.get(first),
                got.get(first),
            ));
        }
    }
    assert!(stale.is_empty(), "transcripts out of date:\n{}", stale.join("\n\n"));
}

#[test]
fn normalizing_keeps_words_and_drops_what_varies() {
    let a = normalize("listening on http://127.0.0.1:4590\n 1 ok  12ms\n 2 ok 7ms\n  ec2_throttled     ·\n  where it breaks: b at 2s (9/s) → a at 2s (9/s)");
    let b = normalize("listening on http://127.0.0.1:PORT\n 3 ok 1009ms\n  ec2_throttled 4\n  where it breaks: a at 3s (11/s) → b at 3s (11/s)");
    assert_eq!(a, b);
    assert_ne!(normalize("invoke path: fast"), normalize("invoke path: signed"));
    assert_ne!(normalize("ok 1\nthrottled 2"), normalize("ok 1"));
}
