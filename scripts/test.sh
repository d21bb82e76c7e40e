#!/usr/bin/env bash
# xinvoke's whole test suite, runnable on a fresh machine: it installs what it needs (a Python
# venv with pinned tools, Debian's chromium for the HTML report test, curl with HTTP/2 for the
# gateway's TLS tests), checks formatting and lints, runs every Rust test (unit, wire, handler,
# CLI, load harness), cross-checks the local endpoint with boto3, runs the end-to-end chains and
# checks the SAM template (cfn-lint, sam validate, our rules, sam build). Servers it starts listen
# on 127.0.0.1 only and are stopped on exit, also on failure.
#
#   scripts/test.sh                 # everything; the summary ends with the wall time
#   scripts/test.sh --record-time   # the same, then writes that time into README.md and
#                                   # docs/testing.md (tests/it/docs.rs checks they agree)
#
# Where the minutes go on 2 cores, and how they overlap (docs/testing.md, "How long"): one debug
# build of every target serves clippy, the tests, boto3's endpoint and the end-to-end chains
# (clippy runs as the workspace's compiler wrapper, so its lints and the build are one pass); the
# Python tools and Debian's packages install while Rust compiles; `sam build`'s release build of
# the Lambda functions runs beside the tests at the lowest CPU priority, since most tests wait
# on timers and sockets.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$(date +%s)
record_time=0
for arg in "$@"; do
  case "$arg" in
    --record-time) record_time=1 ;;
    *) echo "scripts/test.sh: unknown argument '$arg' (known: --record-time)" >&2; exit 2 ;;
  esac
done
cold="warm"; [ -d target ] || cold="clean"
# A full run builds every test binary once: incremental artefacts would only fill the disk
# (they reached 14 GB here). Set CARGO_INCREMENTAL=1 to keep them while iterating.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
set -m # background jobs get process groups of their own, so cleanup stops their children too

passed=0
failed=0
failures=()
step() { printf '\n==> [%ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
record() { # name, exit code
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}
# timed NAME CMD...: run CMD (a command or a function), noting its wall and CPU seconds (its
# children included) in $work/time.NAME for the summary.
timed() {
  local name="$1"; shift
  local TIMEFORMAT="%R %U %S"
  { time "$@" 2>&3 3>&-; } 3>&2 2>"$work/time.$name"
}
# background NAME CMD...: run CMD with its output in $work/NAME.log; `finish NAME` waits for it
# and prints that output.
declare -A jobs_pid
background() {
  local name="$1"; shift
  timed "$name" "$@" >"$work/$name.log" 2>&1 &
  jobs_pid[$name]=$!
  pids+=($!)
}
finish() { # name -> the job's exit code
  local rc=0
  wait "${jobs_pid[$1]}" || rc=$?
  cat "$work/$1.log"
  return $rc
}

venv="${XINVOKE_VENV:-$root/.venv}"
as_root=""; [ "$(id -u)" -eq 0 ] || as_root="sudo"
python_tools() {
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r scripts/requirements-test.txt -r scripts/requirements-e2e.txt
}
template_tools() {
  [ -x "$venv/template-tools/bin/python" ] || python3 -m venv "$venv/template-tools"
  "$venv/template-tools/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-template.txt
}
debian_packages() { # chromium for the HTML report test, curl with HTTP/2 for the gateway's TLS tests
  local want=()
  command -v chromium >/dev/null 2>&1 || [ -n "${XINVOKE_CHROMIUM:-}" ] || want+=(chromium)
  curl -V 2>/dev/null | grep -q HTTP2 || want+=(curl)
  if [ ${#want[@]} -gt 0 ]; then
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null 2>&1 \
      || { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}"; }
  fi
  command -v chromium || echo "XINVOKE_CHROMIUM=${XINVOKE_CHROMIUM:-}"
  curl -V | head -1
}

msrv_and_docs() { # the library and binaries on rust-version's toolchain, then the API's docs
  local msrv
  msrv="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
  echo "rust-version $msrv"
  rustup toolchain install "$msrv" --profile minimal --no-self-update >/dev/null 2>&1 \
    || { echo "rustup could not install toolchain $msrv (Cargo.toml's rust-version)"; return 1; }
  # Its own target dir: another compiler's artefacts. `cargo doc` reuses this check's
  # dependency builds (both are metadata-only), so the docs cost no second build of the SDK.
  export CARGO_TARGET_DIR="$root/target/msrv"
  cargo "+$msrv" check --locked --quiet --lib --bins || { echo "FAILED: cargo +$msrv check"; return 1; }
  echo "ok  cargo +$msrv check --lib --bins"
  RUSTDOCFLAGS="-D warnings" cargo "+$msrv" doc --locked --quiet --no-deps --lib \
    || { echo "FAILED: cargo doc (warnings are errors)"; return 1; }
  echo "ok  cargo +$msrv doc --no-deps --lib: no warnings"
}

step "set-up, in the background while Rust compiles: Python tools (venv at $venv), the template tools, Debian's chromium and curl"
background python-tools python_tools
background template-tools template_tools
background debian-packages debian_packages

step "cargo fmt --check"
rc=0; cargo fmt --all -- --check || rc=$?; record "cargo fmt" $rc

# Every cargo command below builds with clippy as the workspace's compiler wrapper (what `cargo
# clippy` does), so the build that lints is the build that is tested: one build, not two.
clippy_driver="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
if [ -z "$clippy_driver" ]; then
  echo "clippy-driver not found: install it with 'rustup component add clippy'" >&2; exit 1
fi
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "cargo clippy on every target (lib, binaries, tests, examples; -D warnings), built once for the tests"
rc=0; timed build cargo test --locked --no-run --quiet || rc=$?; record "cargo clippy" $rc

step "Python tools ready"
rc=0; finish python-tools || rc=$?; record "Python tools" $rc
rc=0; finish template-tools || rc=$?; record "template tools" $rc

step "MSRV build and cargo doc started beside the tests, at the lowest CPU priority"
background msrv-docs nice -n 19 env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS bash -c "$(declare -f msrv_and_docs); root='$root'; msrv_and_docs"

step "template checks started beside the tests, at the lowest CPU priority (their output follows the e2e chains)"
# Not under clippy: sam build's release build is the one that deploys.
background template-checks nice -n 19 env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS \
  XINVOKE_VENV="$venv" scripts/check-template.sh

step "Debian's packages ready"
rc=0; finish debian-packages || rc=$?; record "Debian packages" $rc

step "cargo test (unit, wire, handler, CLI, load, reliability, security and fuzz tests)"
# Most tests wait on timers and sockets, not the CPU: 8 at a time halve the run on 2 cores.
# The venv holds moto's server (tests/it/delivery.rs) and cargo-lambda (deploy_metadata.rs).
rc=0; XINVOKE_VENV="$venv" RUST_TEST_THREADS="${RUST_TEST_THREADS:-8}" timed tests cargo test --locked --no-fail-fast 2>&1 | tee "$work/cargo-test.log" || rc=${PIPESTATUS[0]}
record "cargo test" $rc

step "cargo build --examples (the example a user copies: examples/cross_account.rs)"
rc=0; cargo build --locked --quiet --examples || rc=$?; record "cargo build --examples" $rc

step "cargo package --list (what a publish would upload)"
rc=0; cargo package --locked --list >"$work/package.list" || rc=$?
if [ $rc -eq 0 ] && grep -E '^(tests|scripts|docs|rules|template\.yaml|src/tests)/' "$work/package.list"; then
  echo "the package holds tests, scripts or deployment files (Cargo.toml's include)"; rc=1
fi
record "cargo package --list" $rc

step "boto3 against xinvoke local"
rc=0
# --tests: the features `cargo test` built it with (nothing to build; a plain `cargo build`
# would select other features of tokio and getrandom and rebuild most of the SDK)
cargo build --locked --quiet --bin xinvoke --tests
./target/debug/xinvoke local --listen 127.0.0.1:0 >"$work/local.out" 2>"$work/local.err" &
pids+=($!)
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$work/local.out" | head -1)"
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "xinvoke local did not start:"; cat "$work/local.err"; rc=1
else
  XINVOKE_LOCAL_URL="$url" "$venv/bin/python" tests/boto3_local.py || rc=$?
  [ $rc -eq 0 ] || { echo "--- xinvoke local's log:"; cat "$work/local.err"; }
fi
record "boto3 cross-check" $rc

step "end-to-end chains (scripts/e2e.sh)"
rc=0; XINVOKE_VENV="$venv" timed e2e scripts/e2e.sh || rc=$?
record "e2e chains" $rc

step "MSRV build and cargo doc (the public API's docs, warning-free): waiting for them"
rc=0; finish msrv-docs || rc=$?; record "MSRV build and cargo doc" $rc

step "template checks (cfn-lint, sam validate, rules, StackSet, sam build): waiting for them"
rc=0; finish template-checks || rc=$?; record "template checks" $rc

elapsed=$(( $(date +%s) - started ))
took="$((elapsed / 60)) min $((elapsed % 60)) s"
echo
echo "==> summary (${elapsed}s)"
grep -E '^test result:' "$work/cargo-test.log" | awk '{p+=$4; f+=$6} END {printf "rust tests: %d passed, %d failed\n", p, f}'
for f in "${failures[@]:-}"; do [ -n "$f" ] && echo "FAILED: $f"; done
echo "suites: $passed passed, $failed failed"
for f in "$work"/time.*; do # wall, user, sys seconds per part
  [ -f "$f" ] && awk -v part="${f##*/time.}" 'NF == 3 {printf "  %-16s %4.0f s wall, %5.0f s CPU\n", part, $1, $2 + $3}' "$f"
done
echo "wall time: $took (from a $cold checkout, $(nproc) cores)"
if [ "$record_time" -eq 1 ]; then
  if [ "$failed" -eq 0 ]; then
    line="**$took** ($(date -u +%Y-%m-%d), from a $cold checkout, $(nproc) cores, Python tools and Debian packages included)"
    for doc in README.md docs/testing.md; do
      sed -i "s|<!-- test-time -->.*<!-- /test-time -->|<!-- test-time -->$line<!-- /test-time -->|" "$doc"
    done
    echo "recorded in README.md and docs/testing.md: $took"
  else
    echo "not recorded: the run failed"
  fi
fi
[ "$failed" -eq 0 ]
