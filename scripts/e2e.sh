#!/usr/bin/env bash
# xinvoke's end-to-end chains, offline: the real `invoker` and `target` binaries under
# `cargo lambda watch` (the Lambda Runtime API), the local endpoint (`xinvoke local`) between
# them, and moto's server as a third-party STS. Runnable on a fresh machine: it makes or reuses
# the venv ${XINVOKE_VENV:-.venv}, installs the pinned tools of scripts/requirements-e2e.txt, and
# builds the binaries. Prints `ok NAME` / `FAIL NAME: why` per check and
# `e2e: N passed, N failed`; exits non-zero on any failure. See README.md, "End-to-end chains".
#
#   scripts/e2e.sh                     # every chain
#   scripts/e2e.sh --only role,moto    # some of: resource, faults, deadline, role, moto
#
# Servers listen on free 127.0.0.1 ports and are stopped on exit, also on failure or Ctrl-C
# (each in its own process group; the runner also stops the function processes watch starts).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/xinvoke-e2e.XXXXXX")"
pgids="$work/pgids"
: >"$pgids"
runner=""
cleanup() {
  rc=$?
  # the runner stops its servers (and their function processes) itself on SIGTERM
  if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
    kill -TERM "$runner" 2>/dev/null || true
    wait "$runner" 2>/dev/null || true
  fi
  # a safety net: kill whatever server group is left
  while read -r pg; do
    [ -n "$pg" ] && kill -TERM -- "-$pg" 2>/dev/null || true
  done <"$pgids"
  sleep 0.2
  while read -r pg; do
    [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null || true
  done <"$pgids"
  [ -n "${XINVOKE_E2E_KEEP:-}" ] || rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> e2e: Python tools (venv at ${XINVOKE_VENV:-.venv})"
venv="${XINVOKE_VENV:-$root/.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-e2e.txt

echo "==> e2e: building xinvoke, invoker and target (debug)"
# With the tests' features (--tests: tokio's paused clock, the dev-dependencies'), so that after
# `cargo test` (scripts/test.sh) this builds nothing: a plain `cargo build` of the binaries
# selects other features of tokio and getrandom and rebuilds most of the SDK.
cargo build --locked --quiet --bin xinvoke --bin invoker --bin target --tests
target_dir="$(cargo metadata --format-version 1 --no-deps --locked | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
mkdir -p "$work/bin"
# private copies: another build in the same target dir cannot change them under the run
for bin in xinvoke invoker target; do cp "$target_dir/debug/$bin" "$work/bin/$bin"; done

echo "==> e2e: chains (logs in $work; XINVOKE_E2E_KEEP=1 keeps them)"
# in the background, so that a SIGTERM to this script reaches the trap at once
"$venv/bin/python" tests/e2e/run.py --root "$root" --work "$work" --xinvoke "$work/bin/xinvoke" --functions "$work/bin" \
  --cargo-lambda "$venv/bin/cargo-lambda" --moto-server "$venv/bin/moto_server" \
  --pgid-file "$pgids" --started "$started" "$@" &
runner=$!
rc=0
wait "$runner" || rc=$?
runner=""
exit "$rc"
