#!/usr/bin/env bash
# xinvoke's whole test suite, runnable on a fresh machine: it installs what it needs (a Python
# venv with pinned tools, Debian's chromium for the HTML report test, curl with HTTP/2 for the
# gateway's TLS tests), checks formatting and
# lints, runs every Rust test (unit, wire, handler, CLI, load harness), cross-checks the local
# endpoint with boto3, checks the SAM template (cfn-lint, sam validate, our rules, sam build)
# and runs the end-to-end chains. Servers it starts listen on 127.0.0.1 only and are stopped on
# exit, also on failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$(date +%s)
# A full run builds every test binary once: incremental artefacts would only fill the disk
# (they reached 14 GB here). Set CARGO_INCREMENTAL=1 to keep them while iterating.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
failures=()
step() { printf '\n==> [%ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
record() { # name, exit code
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

step "Python tools (venv at ${XINVOKE_VENV:-.venv})"
venv="${XINVOKE_VENV:-$root/.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt

step "headless Chromium (for the HTML report test)"
if ! command -v chromium >/dev/null 2>&1 && [ -z "${XINVOKE_CHROMIUM:-}" ]; then
  as_root=""; [ "$(id -u)" -eq 0 ] || as_root="sudo"
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
fi
command -v chromium || echo "XINVOKE_CHROMIUM=${XINVOKE_CHROMIUM:-}"

step "curl with HTTP/2 (the gateway's TLS and h2 tests)"
if ! curl -V 2>/dev/null | grep -q HTTP2; then
  as_root=""; [ "$(id -u)" -eq 0 ] || as_root="sudo"
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null 2>&1 \
    || { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl; }
fi
curl -V | head -1

step "cargo fmt --check"
rc=0; cargo fmt --all -- --check || rc=$?; record "cargo fmt" $rc

step "cargo clippy --all-targets -- -D warnings"
rc=0; cargo clippy --locked --all-targets --quiet -- -D warnings || rc=$?; record "cargo clippy" $rc

step "cargo test (unit, wire, handler, CLI, load, reliability, security and fuzz tests)"
# Most tests wait on timers and sockets, not the CPU: 8 at a time halve the run on 2 cores.
# The venv holds moto's server (tests/it/delivery.rs) and cargo-lambda (deploy_metadata.rs).
rc=0; XINVOKE_VENV="$venv" RUST_TEST_THREADS="${RUST_TEST_THREADS:-8}" cargo test --locked --no-fail-fast 2>&1 | tee "$work/cargo-test.log" || rc=${PIPESTATUS[0]}
record "cargo test" $rc

step "cargo doc --no-deps (the public API's docs, warning-free)"
rc=0; RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --lib --quiet || rc=$?; record "cargo doc" $rc

step "cargo build --examples (the example a user copies: examples/cross_account.rs)"
rc=0; cargo build --locked --quiet --examples || rc=$?; record "cargo build --examples" $rc

step "cargo package --list (what a publish would upload)"
rc=0; cargo package --locked --list >"$work/package.list" || rc=$?
if [ $rc -eq 0 ] && grep -E '^(tests|scripts|docs|rules|template\.yaml|src/tests)/' "$work/package.list"; then
  echo "the package holds tests, scripts or deployment files (Cargo.toml's include)"; rc=1
fi
record "cargo package --list" $rc

step "MSRV build (rust-version in Cargo.toml)"
msrv="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
rc=0
rustup toolchain install "$msrv" --profile minimal --no-self-update >/dev/null 2>&1 || rc=$?
[ $rc -eq 0 ] && { CARGO_TARGET_DIR="$root/target/msrv" cargo "+$msrv" check --locked --quiet --lib --bins || rc=$?; }
record "MSRV build ($msrv)" $rc

step "boto3 against xinvoke local"
rc=0
cargo build --locked --quiet --bin xinvoke
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
rc=0; XINVOKE_VENV="$venv" scripts/e2e.sh || rc=$?
record "e2e chains" $rc

step "template checks (cfn-lint, sam validate, rules, sam build)"
rc=0; scripts/check-template.sh || rc=$?
record "template checks" $rc

elapsed=$(( $(date +%s) - started ))
echo
echo "==> summary (${elapsed}s)"
grep -E '^test result:' "$work/cargo-test.log" | awk '{p+=$4; f+=$6} END {printf "rust tests: %d passed, %d failed\n", p, f}'
for f in "${failures[@]:-}"; do [ -n "$f" ] && echo "FAILED: $f"; done
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
